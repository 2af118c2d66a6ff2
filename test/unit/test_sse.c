/* SSE parser and writer: fields, line endings, chunking independence, caps, end of stream. */
#include <stdlib.h>
#include <string.h>

#include "kt/sse.h"
#include "kt_test.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* Records every delivered block as one line "event|data|id|retry|dispatch|complete" plus the
 * concatenation of the raw bytes. */
typedef struct rec {
    kt_buf log;
    kt_buf raw;
    kt_buf cat; /* raw blocks concatenated, no separators */
    int count;
    int stop_at; /* return 42 from this block (1-based), 0: never */
} rec;

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    kt_buf_init(&r->log, 1 << 20);
    kt_buf_init(&r->raw, 1 << 20);
    kt_buf_init(&r->cat, 1 << 20);
}

static void rec_free(rec *r)
{
    kt_buf_free(&r->log);
    kt_buf_free(&r->raw);
    kt_buf_free(&r->cat);
}

static int rec_fn(void *ud, const kt_sse_event *ev)
{
    rec *r = ud;
    r->count++;
    kt_buf_printf(&r->log, "%.*s|%.*s|%.*s|%lld|%d|%d\n", (int)ev->event.n, ev->event.p,
                  (int)ev->data.n, ev->data.p, (int)ev->id.n, ev->id.p, (long long)ev->retry,
                  ev->dispatch, ev->complete);
    kt_buf_printf(&r->raw, "[%.*s]", (int)ev->raw.n, ev->raw.p);
    kt_buf_append(&r->cat, ev->raw.p, ev->raw.n);
    return r->stop_at && r->count == r->stop_at ? 42 : 0;
}

static const char *log_str(const rec *r) { return r->log.p ? r->log.p : ""; }
static const char *raw_str(const rec *r) { return r->raw.p ? r->raw.p : ""; }

/* Parses `in` in one feed plus finish; returns the finish code. */
static int parse_all(const char *in, size_t n, size_t max_event, rec *r)
{
    kt_sse_parser p;
    kt_sse_init(&p, max_event, rec_fn, r);
    int rc = kt_sse_feed(&p, in, n);
    if (!rc) rc = kt_sse_finish(&p);
    kt_sse_free(&p);
    return rc;
}

KT_TEST(basic_events)
{
    rec r;
    rec_init(&r);
    const char *in = "data: hello\n\n"
                     "event: delta\ndata: {\"a\":1}\nid: 7\n\n"
                     "data: line1\ndata: line2\ndata\n\n"
                     "data: [DONE]\n\n";
    KT_ASSERT_EQ_INT(parse_all(in, strlen(in), 0, &r), 0);
    KT_ASSERT_EQ_STR(log_str(&r), "message|hello||-1|1|1\n"
                                  "delta|{\"a\":1}|7|-1|1|1\n"
                                  "message|line1\nline2\n|7|-1|1|1\n"
                                  "message|[DONE]|7|-1|1|1\n");
    KT_ASSERT_EQ_STR(raw_str(&r), "[data: hello\n\n]"
                                  "[event: delta\ndata: {\"a\":1}\nid: 7\n\n]"
                                  "[data: line1\ndata: line2\ndata\n\n]"
                                  "[data: [DONE]\n\n]");
    rec_free(&r);
}

KT_TEST(field_rules)
{
    rec r;
    rec_init(&r);
    const char *in = "data:nospace\n\n"
                     "data:  two spaces\n\n"
                     ": a comment\ndata: x\n: another\n\n"
                     "unknown: y\ndata: z\nDATA: upper\n\n"
                     "event: first\nevent: second\ndata: t\n\n"
                     "event: e\nevent\ndata: reset\n\n"
                     "data: a:b: c\n\n"
                     "data\n\n"
                     "data:\n\n"
                     "id: 5\ndata: a\n\n"
                     "id\ndata: b\n\n"
                     "id: n\0ul\ndata: c\n\n"
                     "retry: 3000\ndata: d\n\n"
                     "retry: 30x\ndata: e\n\n"
                     "retry:\ndata: f\n\n"
                     "retry: 99999999999999999999999\ndata: g\n\n";
    size_t n = 0;
    /* the literal holds a NUL: measure up to the final "\n\n" */
    const char *end = "retry: 99999999999999999999999\ndata: g\n\n";
    for (const char *q = in + strlen(in) + 1;; q++)
        if (memcmp(q, end, strlen(end)) == 0) {
            n = (size_t)(q - in) + strlen(end);
            break;
        }
    KT_ASSERT_EQ_INT(parse_all(in, n, 0, &r), 0);
    KT_ASSERT_EQ_STR(log_str(&r), "message|nospace||-1|1|1\n"
                                  "message| two spaces||-1|1|1\n"
                                  "message|x||-1|1|1\n"
                                  "message|z||-1|1|1\n"
                                  "second|t||-1|1|1\n"
                                  "message|reset||-1|1|1\n"
                                  "message|a:b: c||-1|1|1\n"
                                  "message|||-1|1|1\n"
                                  "message|||-1|1|1\n"
                                  "message|a|5|-1|1|1\n"
                                  "message|b||-1|1|1\n"
                                  "message|c||-1|1|1\n"
                                  "message|d||3000|1|1\n"
                                  "message|e||-1|1|1\n"
                                  "message|f||-1|1|1\n"
                                  "message|g||-1|1|1\n");
    rec_free(&r);
}

KT_TEST(undispatched_blocks_still_delivered)
{
    rec r;
    rec_init(&r);
    const char *in = ": keepalive\n\nevent: ping\n\n\n\nretry: 10\n\ndata: x\n\n";
    KT_ASSERT_EQ_INT(parse_all(in, strlen(in), 0, &r), 0);
    KT_ASSERT_EQ_STR(log_str(&r), "message|||-1|0|1\n"
                                  "ping|||-1|0|1\n"
                                  "message|||-1|0|1\n"
                                  "message|||-1|0|1\n"
                                  "message|||10|0|1\n"
                                  "message|x||-1|1|1\n");
    KT_ASSERT_EQ_STR(raw_str(&r),
                     "[: keepalive\n\n][event: ping\n\n][\n][\n][retry: 10\n\n][data: x\n\n]");
    rec_free(&r);
}

KT_TEST(line_endings)
{
    rec r;
    rec_init(&r);
    const char *in = "data: a\r\ndata: b\r\n\r\n"
                     "data: c\rdata: d\r\r"
                     "data: e\ndata: f\r\n\n"
                     "data: g\r\r\n";
    KT_ASSERT_EQ_INT(parse_all(in, strlen(in), 0, &r), 0);
    KT_ASSERT_EQ_STR(log_str(&r), "message|a\nb||-1|1|1\n"
                                  "message|c\nd||-1|1|1\n"
                                  "message|e\nf||-1|1|1\n"
                                  "message|g||-1|1|1\n");
    KT_ASSERT_EQ_STR(raw_str(&r), "[data: a\r\ndata: b\r\n\r\n][data: c\rdata: d\r\r]"
                                  "[data: e\ndata: f\r\n\n][data: g\r\r\n]");
    rec_free(&r);
}

KT_TEST(bom_only_at_stream_start)
{
    rec r;
    rec_init(&r);
    const char *in = "\xEF\xBB\xBF" "data: a\n\n\xEF\xBB\xBF" "data: b\n\ndata: c\n\n";
    KT_ASSERT_EQ_INT(parse_all(in, strlen(in), 0, &r), 0);
    /* The second BOM is part of a field name "\xEF\xBB\xBFdata", which is ignored. */
    KT_ASSERT_EQ_STR(log_str(&r), "message|a||-1|1|1\nmessage|||-1|0|1\nmessage|c||-1|1|1\n");
    KT_ASSERT_EQ_STR(raw_str(&r), "[\xEF\xBB\xBF" "data: a\n\n][\xEF\xBB\xBF" "data: b\n\n]"
                                  "[data: c\n\n]");
    rec_free(&r);
    /* BOM split byte by byte over chunks. */
    rec_init(&r);
    kt_sse_parser p;
    kt_sse_init(&p, 0, rec_fn, &r);
    for (size_t i = 0; i < strlen(in); i++) KT_ASSERT_EQ_INT(kt_sse_feed(&p, in + i, 1), 0);
    KT_ASSERT_EQ_INT(kt_sse_finish(&p), 0);
    KT_ASSERT_EQ_STR(log_str(&r), "message|a||-1|1|1\nmessage|||-1|0|1\nmessage|c||-1|1|1\n");
    kt_sse_free(&p);
    rec_free(&r);
    /* A BOM alone on the first line makes that line blank. */
    rec_init(&r);
    KT_ASSERT_EQ_INT(parse_all(S("\xEF\xBB\xBF\ndata: x\n\n"), 0, &r), 0);
    KT_ASSERT_EQ_STR(log_str(&r), "message|||-1|0|1\nmessage|x||-1|1|1\n");
    rec_free(&r);
}

KT_TEST(crlf_split_across_chunks)
{
    rec r;
    rec_init(&r);
    kt_sse_parser p;
    kt_sse_init(&p, 0, rec_fn, &r);
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("data: a\r")), 0);
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("\n\r")), 0);
    /* Blank line ended by CR at the chunk end: held until we know whether an LF follows. */
    KT_ASSERT_EQ_INT(r.count, 0);
    KT_ASSERT(kt_sse_pending(&p));
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("\ndata: b\n")), 0);
    KT_ASSERT_EQ_INT(r.count, 1);
    KT_ASSERT_EQ_STR(raw_str(&r), "[data: a\r\n\r\n]");
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("\r")), 0);
    KT_ASSERT_EQ_INT(r.count, 1);
    /* Not followed by an LF: delivered as soon as the next byte arrives, which starts a block. */
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("d")), 0);
    KT_ASSERT_EQ_INT(r.count, 2);
    KT_ASSERT_EQ_STR(raw_str(&r), "[data: a\r\n\r\n][data: b\n\r]");
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("ata: c\n\r")), 0);
    KT_ASSERT_EQ_INT(kt_sse_finish(&p), 0); /* the pending CR ends the block at finish */
    KT_ASSERT_EQ_STR(log_str(&r), "message|a||-1|1|1\nmessage|b||-1|1|1\nmessage|c||-1|1|1\n");
    KT_ASSERT_EQ_STR(raw_str(&r), "[data: a\r\n\r\n][data: b\n\r][data: c\n\r]");
    KT_ASSERT(!kt_sse_pending(&p));
    kt_sse_free(&p);
    rec_free(&r);
}

KT_TEST(lf_events_delivered_immediately)
{
    rec r;
    rec_init(&r);
    kt_sse_parser p;
    kt_sse_init(&p, 0, rec_fn, &r);
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("data: 1\n\n")), 0);
    KT_ASSERT_EQ_INT(r.count, 1);
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("data: 2\r\n\r\n")), 0);
    KT_ASSERT_EQ_INT(r.count, 2);
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("data: 3\n")), 0);
    KT_ASSERT_EQ_INT(r.count, 2);
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("\n")), 0);
    KT_ASSERT_EQ_INT(r.count, 3);
    KT_ASSERT(!kt_sse_pending(&p));
    kt_sse_free(&p);
    rec_free(&r);
}

KT_TEST(finish_reports_incomplete)
{
    rec r;
    rec_init(&r);
    KT_ASSERT_EQ_INT(parse_all(S("data: a\n\nevent: x\ndata: partial\ndata: last"), 0, &r), 0);
    KT_ASSERT_EQ_STR(log_str(&r), "message|a||-1|1|1\nx|partial\nlast||-1|1|0\n");
    KT_ASSERT_EQ_STR(raw_str(&r), "[data: a\n\n][event: x\ndata: partial\ndata: last]");
    rec_free(&r);
    rec_init(&r);
    KT_ASSERT_EQ_INT(parse_all(S("data: a\n"), 0, &r), 0);
    KT_ASSERT_EQ_STR(log_str(&r), "message|a||-1|1|0\n");
    rec_free(&r);
    rec_init(&r);
    KT_ASSERT_EQ_INT(parse_all(S(""), 0, &r), 0);
    KT_ASSERT_EQ_INT(r.count, 0);
    rec_free(&r);
    rec_init(&r);
    KT_ASSERT_EQ_INT(parse_all(S("data: a\n\n: trailing comment"), 0, &r), 0);
    KT_ASSERT_EQ_STR(log_str(&r), "message|a||-1|1|1\nmessage|||-1|0|0\n");
    rec_free(&r);
}

KT_TEST(caps)
{
    rec r;
    rec_init(&r);
    /* "data: 0123456789\n\n" is 18 bytes. */
    KT_ASSERT_EQ_INT(parse_all(S("data: 0123456789\n\n"), 18, &r), 0);
    KT_ASSERT_EQ_INT(r.count, 1);
    rec_free(&r);
    rec_init(&r);
    KT_ASSERT_EQ_INT(parse_all(S("data: a\n\ndata: 0123456789\n\ndata: b\n\n"), 17, &r),
                     KT_ELIMIT);
    KT_ASSERT_EQ_STR(log_str(&r), "message|a||-1|1|1\n");
    rec_free(&r);
    /* Byte-by-byte feeding hits the same cap; the error is sticky. */
    rec_init(&r);
    kt_sse_parser p;
    kt_sse_init(&p, 17, rec_fn, &r);
    const char *in = "data: 0123456789\n\n";
    int rc = 0;
    for (size_t i = 0; i < strlen(in) && !rc; i++) rc = kt_sse_feed(&p, in + i, 1);
    KT_ASSERT_EQ_INT(rc, KT_ELIMIT);
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("data: x\n\n")), KT_ELIMIT);
    KT_ASSERT_EQ_INT(kt_sse_finish(&p), KT_ELIMIT);
    KT_ASSERT_EQ_INT(r.count, 0);
    kt_sse_free(&p);
    rec_free(&r);
    /* An endless line without a terminator is capped too. */
    rec_init(&r);
    kt_sse_init(&p, 1024, rec_fn, &r);
    char chunk[100];
    memset(chunk, 'x', sizeof chunk);
    rc = 0;
    int feeds = 0;
    while (!rc && feeds < 100) {
        rc = kt_sse_feed(&p, chunk, sizeof chunk);
        feeds++;
    }
    KT_ASSERT_EQ_INT(rc, KT_ELIMIT);
    KT_ASSERT_EQ_INT(feeds, 11);
    kt_sse_free(&p);
    rec_free(&r);
}

KT_TEST(callback_stop_is_sticky)
{
    rec r;
    rec_init(&r);
    r.stop_at = 2;
    kt_sse_parser p;
    kt_sse_init(&p, 0, rec_fn, &r);
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("data: 1\n\ndata: 2\n\ndata: 3\n\n")), 42);
    KT_ASSERT_EQ_INT(r.count, 2);
    KT_ASSERT_EQ_INT(kt_sse_feed(&p, S("data: 4\n\n")), 42);
    KT_ASSERT_EQ_INT(r.count, 2);
    kt_sse_free(&p);
    rec_free(&r);
}

/* A stream exercising every rule; used by the chunking property tests. */
static const char prop_stream[] =
    "\xEF\xBB\xBF: hello\r\n"
    "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n"
    "data: a\rdata: b\r\r"
    "id: 42\nretry: 100\ndata:x\n\n"
    "data\n\n"
    "\n"
    ": ping\n\n"
    "event: content_block_delta\ndata: {\"delta\":{\"text\":\"jane.doe@example.com\"}}\n\n"
    "data: line one\r\ndata:  line two\r\n\r\n"
    "data: [DONE]\n\n"
    "data: trailing partial\r";

static void chunked(const char *in, size_t n, const size_t *cuts, size_t ncuts, rec *r, int *rc)
{
    kt_sse_parser p;
    kt_sse_init(&p, 0, rec_fn, r);
    size_t from = 0;
    *rc = 0;
    for (size_t k = 0; k <= ncuts && !*rc; k++) {
        size_t to = k < ncuts ? cuts[k] : n;
        *rc = kt_sse_feed(&p, in + from, to - from);
        from = to;
    }
    if (!*rc) *rc = kt_sse_finish(&p);
    kt_sse_free(&p);
}

KT_TEST(property_two_chunks)
{
    size_t n = sizeof prop_stream - 1;
    rec ref;
    int rc;
    rec_init(&ref);
    chunked(prop_stream, n, NULL, 0, &ref, &rc);
    KT_ASSERT_EQ_INT(rc, 0);
    KT_ASSERT_EQ_INT(ref.count, 10);
    int bad = 0;
    for (size_t i = 0; i <= n; i++) {
        rec r;
        rec_init(&r);
        chunked(prop_stream, n, &i, 1, &r, &rc);
        if (rc || r.log.len != ref.log.len || memcmp(r.log.p, ref.log.p, r.log.len) ||
            r.raw.len != ref.raw.len || memcmp(r.raw.p, ref.raw.p, r.raw.len))
            bad++;
        rec_free(&r);
    }
    KT_ASSERT_EQ_INT(bad, 0);
    /* Concatenated raw blocks are the input exactly. */
    KT_ASSERT_EQ_MEM(ref.cat.p, ref.cat.len, prop_stream, n);
    rec_free(&ref);
}

KT_TEST(property_three_chunks)
{
    size_t n = sizeof prop_stream - 1;
    rec ref;
    int rc;
    rec_init(&ref);
    chunked(prop_stream, n, NULL, 0, &ref, &rc);
    int bad = 0, runs = 0;
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j++) {
            size_t cuts[2] = { i, j };
            rec r;
            rec_init(&r);
            chunked(prop_stream, n, cuts, 2, &r, &rc);
            if (rc || r.log.len != ref.log.len || memcmp(r.log.p, ref.log.p, r.log.len) ||
                r.raw.len != ref.raw.len || memcmp(r.raw.p, ref.raw.p, r.raw.len))
                bad++;
            runs++;
            rec_free(&r);
        }
    }
    KT_ASSERT(runs > 10000);
    KT_ASSERT_EQ_INT(bad, 0);
    rec_free(&ref);
}

KT_TEST(property_byte_at_a_time)
{
    size_t n = sizeof prop_stream - 1;
    rec ref, r;
    int rc;
    size_t cuts[sizeof prop_stream];
    for (size_t i = 0; i < n; i++) cuts[i] = i + 1;
    rec_init(&ref);
    rec_init(&r);
    chunked(prop_stream, n, NULL, 0, &ref, &rc);
    chunked(prop_stream, n, cuts, n - 1, &r, &rc);
    KT_ASSERT_EQ_INT(rc, 0);
    KT_ASSERT_EQ_STR(log_str(&r), log_str(&ref));
    KT_ASSERT_EQ_STR(raw_str(&r), raw_str(&ref));
    rec_free(&ref);
    rec_free(&r);
}

KT_TEST(writer)
{
    kt_buf b;
    kt_buf_init(&b, 4096);
    KT_ASSERT_EQ_INT(kt_sse_write_event(&b, NULL, S("{\"a\":1}")), 0);
    KT_ASSERT_EQ_STR(b.p, "data: {\"a\":1}\n\n");
    kt_buf_reset(&b);
    KT_ASSERT_EQ_INT(kt_sse_write_event(&b, "delta", S("one\ntwo\r\nthree\rfour")), 0);
    KT_ASSERT_EQ_STR(b.p, "event: delta\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
    kt_buf_reset(&b);
    KT_ASSERT_EQ_INT(kt_sse_write_event(&b, "", "", 0), 0);
    KT_ASSERT_EQ_STR(b.p, "data:\n\n");
    kt_buf_reset(&b);
    KT_ASSERT_EQ_INT(kt_sse_write_event(&b, NULL, S("\n x\n")), 0);
    KT_ASSERT_EQ_STR(b.p, "data:\ndata:  x\ndata:\n\n");
    kt_buf_reset(&b);
    kt_buf_puts(&b, "keep");
    KT_ASSERT_EQ_INT(kt_sse_write_event(&b, "bad\nevent", S("x")), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_sse_write_event(&b, "bad\revent", S("x")), KT_EINVAL);
    KT_ASSERT_EQ_STR(b.p, "keep");
    kt_buf small;
    kt_buf_init(&small, 10);
    kt_buf_puts(&small, "ab");
    KT_ASSERT_EQ_INT(kt_sse_write_event(&small, "e", S("0123456789")), KT_ELIMIT);
    KT_ASSERT_EQ_STR(small.p, "ab");
    kt_buf_free(&small);
    kt_buf_free(&b);
}

KT_TEST(writer_round_trip)
{
    const char *datas[] = { "", "x", "\n", "a\nb", " lead", "  two", "trail\n", "\n\n",
                            "{\"t\":\"a\\nb\"}", ":colon", "data: nested" };
    int bad = 0;
    for (size_t k = 0; k < KT_ARRAY_LEN(datas); k++) {
        kt_buf b;
        rec r;
        kt_buf_init(&b, 4096);
        rec_init(&r);
        kt_sse_write_event(&b, "ev", datas[k], strlen(datas[k]));
        kt_sse_parser p;
        kt_sse_init(&p, 0, rec_fn, &r);
        kt_sse_feed(&p, b.p, b.len);
        kt_buf want;
        kt_buf_init(&want, 4096);
        kt_buf_printf(&want, "ev|%s||-1|1|1\n", datas[k]);
        if (r.count != 1 || strcmp(log_str(&r), want.p) != 0) {
            KT_FAILF("round trip %zu: %s", k, log_str(&r));
            bad++;
        }
        kt_sse_free(&p);
        kt_buf_free(&want);
        kt_buf_free(&b);
        rec_free(&r);
    }
    KT_ASSERT_EQ_INT(bad, 0);
}

int main(void)
{
    KT_RUN(basic_events);
    KT_RUN(field_rules);
    KT_RUN(undispatched_blocks_still_delivered);
    KT_RUN(line_endings);
    KT_RUN(bom_only_at_stream_start);
    KT_RUN(crlf_split_across_chunks);
    KT_RUN(lf_events_delivered_immediately);
    KT_RUN(finish_reports_incomplete);
    KT_RUN(caps);
    KT_RUN(callback_stop_is_sticky);
    KT_RUN(property_two_chunks);
    KT_RUN(property_three_chunks);
    KT_RUN(property_byte_at_a_time);
    KT_RUN(writer);
    KT_RUN(writer_round_trip);
    return KT_DONE();
}
