/* Server-sent events. The incremental parser accumulates one block's raw bytes, interprets each
 * line as it completes and delivers the block at its blank line; the writer emits one event as
 * `event:` and `data:` lines. */
#include <string.h>

#include "kt/sse.h"

#define BOM "\xEF\xBB\xBF"

void kt_sse_init(kt_sse_parser *p, size_t max_event, kt_sse_event_fn cb, void *ud)
{
    if (!max_event) max_event = KT_SSE_DEFAULT_MAX_EVENT;
    memset(p, 0, sizeof *p);
    p->cb = cb;
    p->ud = ud;
    kt_buf_init(&p->raw, max_event);
    kt_buf_init(&p->data, max_event);
    kt_buf_init(&p->type, max_event);
    kt_buf_init(&p->last_id, max_event);
    p->retry = -1;
    p->at_stream_start = 1;
}

void kt_sse_free(kt_sse_parser *p)
{
    kt_buf_free(&p->raw);
    kt_buf_free(&p->data);
    kt_buf_free(&p->type);
    kt_buf_free(&p->last_id);
}

int kt_sse_pending(const kt_sse_parser *p) { return p->raw.len > 0; }

static int parse_retry(const char *v, size_t n, int64_t *out)
{
    int64_t r = 0;
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return 0;
        if (r > (INT64_MAX - 9) / 10) return 0;
        r = r * 10 + (v[i] - '0');
    }
    *out = r;
    return 1;
}

static int field_is(const char *f, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(f, name, n) == 0;
}

/* Interprets one complete line (terminator excluded). Returns 1 for a blank line. */
static int process_line(kt_sse_parser *p, const char *line, size_t n, int *rc)
{
    *rc = KT_OK;
    if (p->at_stream_start) {
        p->at_stream_start = 0;
        if (n >= 3 && memcmp(line, BOM, 3) == 0) {
            line += 3;
            n -= 3;
        }
    }
    if (!n) return 1;
    if (line[0] == ':') return 0;
    const char *colon = memchr(line, ':', n);
    size_t flen = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    size_t vlen = (size_t)(line + n - v);
    if (vlen && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (field_is(line, flen, "event")) {
        kt_buf_reset(&p->type);
        *rc = kt_buf_append(&p->type, v, vlen);
    } else if (field_is(line, flen, "data")) {
        *rc = kt_buf_append(&p->data, v, vlen);
        if (!*rc) *rc = kt_buf_append(&p->data, "\n", 1);
        p->has_data = 1;
    } else if (field_is(line, flen, "id")) {
        if (!memchr(v, '\0', vlen)) {
            kt_buf_reset(&p->last_id);
            *rc = kt_buf_append(&p->last_id, v, vlen);
        }
    } else if (field_is(line, flen, "retry")) {
        parse_retry(v, vlen, &p->retry);
    }
    return 0;
}

static kt_str buf_str(const kt_buf *b) { return (kt_str){ b->p ? b->p : "", b->len }; }

static int deliver(kt_sse_parser *p, int complete)
{
    kt_sse_event ev;
    ev.event = p->type.len ? buf_str(&p->type) : KT_STR("message");
    ev.data = buf_str(&p->data);
    if (ev.data.n) ev.data.n--; /* the last "\n" */
    ev.id = buf_str(&p->last_id);
    ev.raw = buf_str(&p->raw);
    ev.retry = p->retry;
    ev.dispatch = p->has_data;
    ev.complete = complete;
    p->dispatch_pending = 0;
    int rc = p->cb ? p->cb(p->ud, &ev) : KT_OK;
    kt_buf_reset(&p->raw);
    kt_buf_reset(&p->data);
    kt_buf_reset(&p->type);
    p->line_start = 0;
    p->retry = -1;
    p->has_data = 0;
    return rc;
}

/* The line [line_start, raw.len - term_len) just ended. */
static int end_line(kt_sse_parser *p, size_t term_len)
{
    int rc;
    size_t end = p->raw.len - term_len;
    int blank = process_line(p, p->raw.p + p->line_start, end - p->line_start, &rc);
    p->line_start = p->raw.len;
    if (rc || !blank) return rc;
    if (p->saw_cr) {
        p->dispatch_pending = 1; /* an LF may still follow in the next chunk */
        return KT_OK;
    }
    return deliver(p, 1);
}

static int feed(kt_sse_parser *p, const char *d, size_t len)
{
    size_t i = 0;
    int rc = KT_OK;
    if (p->saw_cr && len) {
        p->saw_cr = 0;
        if (d[0] == '\n') {
            rc = kt_buf_append(&p->raw, "\n", 1);
            if (rc) return rc;
            p->line_start = p->raw.len;
            i = 1;
        }
        if (p->dispatch_pending) {
            rc = deliver(p, 1);
            if (rc) return rc;
        }
    }
    while (i < len) {
        size_t j = i;
        while (j < len && d[j] != '\n' && d[j] != '\r') j++;
        if (j == len) return kt_buf_append(&p->raw, d + i, len - i);
        size_t term = 1;
        if (d[j] == '\r') {
            if (j + 1 < len && d[j + 1] == '\n') term = 2;
            else if (j + 1 == len) p->saw_cr = 1;
        }
        rc = kt_buf_append(&p->raw, d + i, j - i + term);
        if (rc) return rc;
        i = j + term;
        rc = end_line(p, term);
        if (rc) return rc;
    }
    return KT_OK;
}

int kt_sse_feed(kt_sse_parser *p, const char *data, size_t len)
{
    if (p->err) return p->err;
    if (!data && len) return KT_EINVAL;
    int rc = feed(p, data, len);
    if (rc) p->err = rc;
    return rc;
}

int kt_sse_finish(kt_sse_parser *p)
{
    int rc = KT_OK;
    if (p->err) return p->err;
    p->saw_cr = 0;
    if (p->dispatch_pending) rc = deliver(p, 1);
    if (!rc && p->raw.len > p->line_start)
        process_line(p, p->raw.p + p->line_start, p->raw.len - p->line_start, &rc);
    if (!rc && p->raw.len) rc = deliver(p, 0);
    if (rc) p->err = rc;
    return rc;
}

/* ---- writer: one event as `event:` and `data:` lines, data split on every line ending -------- */

static int write_data_lines(kt_buf *out, const char *data, size_t n)
{
    size_t i = 0;
    int rc = KT_OK;
    do {
        size_t j = i;
        while (j < n && data[j] != '\n' && data[j] != '\r') j++;
        /* "data: " + a line starting with a space still round-trips: one space is stripped. */
        rc = kt_buf_append(out, j > i ? "data: " : "data:", j > i ? 6 : 5);
        if (!rc && j > i) rc = kt_buf_append(out, data + i, j - i);
        if (!rc) rc = kt_buf_append(out, "\n", 1);
        if (j < n && data[j] == '\r' && j + 1 < n && data[j + 1] == '\n') j++;
        i = j + 1;
    } while (!rc && i <= n);
    return rc;
}

int kt_sse_write_event(kt_buf *out, const char *event, const char *data, size_t n)
{
    size_t mark = out->len;
    int rc = KT_OK;
    if (!data && n) return KT_EINVAL;
    if (event && *event) {
        if (strpbrk(event, "\r\n")) return KT_EINVAL;
        rc = kt_buf_puts(out, "event: ");
        if (!rc) rc = kt_buf_puts(out, event);
        if (!rc) rc = kt_buf_append(out, "\n", 1);
        if (rc) goto fail;
    }
    rc = write_data_lines(out, data ? data : "", n);
    if (!rc) rc = kt_buf_append(out, "\n", 1);
    if (rc) goto fail;
    return KT_OK;
fail:
    out->len = mark;
    if (out->p) out->p[mark] = '\0';
    return rc;
}
