/* Fuzzes the SSE parser: the same input fed whole, in random chunks and byte by byte must give
 * identical blocks and the same result, and the raw blocks must concatenate to the input. Also
 * checks that the writer's output parses back to the data written. */
#include <stdlib.h>
#include <string.h>

#include "kt/sse.h"

typedef struct rec {
    kt_buf log;
    kt_buf cat;
} rec;

static void put(kt_buf *b, const void *p, size_t n)
{
    uint32_t l = (uint32_t)n;
    kt_buf_append(b, &l, sizeof l);
    kt_buf_append(b, p, n);
}

static int rec_fn(void *ud, const kt_sse_event *ev)
{
    rec *r = ud;
    put(&r->log, ev->event.p, ev->event.n);
    put(&r->log, ev->data.p, ev->data.n);
    put(&r->log, ev->id.p, ev->id.n);
    put(&r->log, ev->raw.p, ev->raw.n);
    kt_buf_append(&r->log, &ev->retry, sizeof ev->retry);
    kt_buf_append(&r->log, &ev->dispatch, sizeof ev->dispatch);
    kt_buf_append(&r->log, &ev->complete, sizeof ev->complete);
    if (ev->data.n > ev->raw.n || ev->event.n == 0) abort();
    kt_buf_append(&r->cat, ev->raw.p, ev->raw.n);
    return 0;
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* mode 0: whole; 1: random chunks; 2: byte by byte */
static int run(const char *in, size_t n, size_t max_event, int mode, uint32_t seed, rec *r)
{
    kt_sse_parser p;
    int rc = 0;
    size_t i = 0;
    kt_buf_init(&r->log, 1 << 24);
    kt_buf_init(&r->cat, 1 << 24);
    kt_sse_init(&p, max_event, rec_fn, r);
    while (i < n && !rc) {
        size_t step = mode == 0 ? n : mode == 2 ? 1 : 1 + rnd(&seed) % 16;
        if (step > n - i) step = n - i;
        rc = kt_sse_feed(&p, in + i, step);
        i += step;
    }
    if (!rc) rc = kt_sse_finish(&p);
    if (!rc && kt_sse_pending(&p)) abort();
    kt_sse_free(&p);
    return rc;
}

static void same(const rec *a, const rec *b)
{
    if (a->log.len != b->log.len || (a->log.len && memcmp(a->log.p, b->log.p, a->log.len)))
        abort();
}

static void check_writer(const char *in, size_t n)
{
    kt_buf out, want;
    rec r;
    kt_buf_init(&out, 1 << 24);
    kt_buf_init(&want, 1 << 24);
    if (kt_sse_write_event(&out, "e", in, n)) abort();
    /* what the parser must return: every CRLF / CR turned into LF */
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '\r') {
            kt_buf_append(&want, "\n", 1);
            if (i + 1 < n && in[i + 1] == '\n') i++;
        } else {
            kt_buf_append(&want, in + i, 1);
        }
    }
    kt_buf_init(&r.log, 1 << 24);
    kt_buf_init(&r.cat, 1 << 24);
    kt_sse_parser p;
    kt_sse_init(&p, 1 << 24, rec_fn, &r);
    if (kt_sse_feed(&p, out.p, out.len)) abort();
    if (kt_sse_pending(&p)) abort();
    /* log: event "e", then data */
    const char *q = r.log.p;
    uint32_t l;
    memcpy(&l, q, 4);
    if (l != 1 || q[4] != 'e') abort();
    q += 5;
    memcpy(&l, q, 4);
    if (l != want.len || memcmp(q + 4, want.p ? want.p : "", l)) abort();
    kt_sse_free(&p);
    kt_buf_free(&r.log);
    kt_buf_free(&r.cat);
    kt_buf_free(&out);
    kt_buf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t max_event = data[0] < 128 ? 16 + data[0] * 4 : (size_t)1 << 20;
    uint32_t seed = 0x9e3779b9u ^ data[1];
    const char *in = (const char *)data + 2;
    size_t n = size - 2;
    rec a, b, c;
    int ra = run(in, n, max_event, 0, seed, &a);
    int rb = run(in, n, max_event, 1, seed, &b);
    int rc = run(in, n, max_event, 2, seed, &c);
    if (ra != rb || ra != rc) abort();
    if (ra != 0 && ra != KT_ELIMIT) abort();
    same(&a, &b);
    same(&a, &c);
    if (ra == 0 && (a.cat.len != n || (n && memcmp(a.cat.p, in, n)))) abort();
    kt_buf_free(&a.log);
    kt_buf_free(&a.cat);
    kt_buf_free(&b.log);
    kt_buf_free(&b.cat);
    kt_buf_free(&c.log);
    kt_buf_free(&c.cat);
    check_writer(in, n);
    return 0;
}
