/* Ingress parsing: valid requests in every framing, and a table of malformed ones, each with the
 * status the client must get. Every request is also fed one byte at a time. */
#include <stdlib.h>

#include "kt/http_in.h"
#include "kt_test.h"

static kt_limits lim(void)
{
    kt_limits l;
    kt_limits_defaults(&l);
    l.max_header_bytes = 4096;
    l.max_headers = 20;
    l.max_body_bytes = 1024;
    l.max_chunk_ext_bytes = 32;
    return l;
}

/* Feeds `req` whole or byte by byte; returns KT_HTTP_IN_* and leaves the parser for inspection. */
static int feed(kt_http_in *in, const char *req, size_t len, int bytewise, size_t *used_total)
{
    size_t off = 0;
    int rc = KT_HTTP_IN_MORE;
    while (off < len) {
        size_t n = bytewise ? 1 : len - off, used = 0;
        rc = kt_http_in_feed(in, req + off, n, &used);
        off += used;
        if (rc != KT_HTTP_IN_MORE) break;
    }
    if (used_total) *used_total = off;
    return rc;
}

static int parse_status(const char *req, int bytewise)
{
    kt_limits l = lim();
    kt_http_in in;
    kt_http_in_init(&in, &l);
    int rc = feed(&in, req, strlen(req), bytewise, NULL);
    int status = rc == KT_HTTP_IN_DONE ? 200 : rc == KT_HTTP_IN_ERROR ? in.err_status : 0;
    kt_http_in_free(&in);
    return status;
}

KT_TEST(simple_post_with_length)
{
    const char *req = "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                      "Authorization: Bearer sk-client\r\n\r\nhello";
    for (int bw = 0; bw < 2; bw++) {
        kt_limits l = lim();
        kt_http_in in;
        kt_http_in_init(&in, &l);
        KT_ASSERT_EQ_INT(feed(&in, req, strlen(req), bw, NULL), KT_HTTP_IN_DONE);
        KT_ASSERT_EQ_STR(in.url.p, "/v1/chat/completions?x=1");
        KT_ASSERT_EQ_MEM(in.body.p, in.body.len, "hello", 5);
        KT_ASSERT_EQ_INT(in.headers.n, 3);
        KT_ASSERT(in.keep_alive);
        KT_ASSERT_EQ_STR(kt_http_in_method_name(&in), "POST");
        kt_str v = kt_headers_value(&in.headers, (uint32_t)kt_headers_find(&in.headers, "AUTHORIZATION", 0));
        KT_ASSERT_EQ_MEM(v.p, v.n, "Bearer sk-client", 16);
        kt_http_in_free(&in);
    }
}

KT_TEST(chunked_body_reassembled)
{
    const char *req = "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n";
    for (int bw = 0; bw < 2; bw++) {
        kt_limits l = lim();
        kt_http_in in;
        kt_http_in_init(&in, &l);
        KT_ASSERT_EQ_INT(feed(&in, req, strlen(req), bw, NULL), KT_HTTP_IN_DONE);
        KT_ASSERT_EQ_MEM(in.body.p, in.body.len, "abcde", 5);
        kt_http_in_free(&in);
    }
}

KT_TEST(pipelined_requests_split_exactly)
{
    const char *two = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /readyz HTTP/1.1\r\nHost: a\r\n\r\n";
    kt_limits l = lim();
    kt_http_in in;
    kt_http_in_init(&in, &l);
    size_t used = 0;
    KT_ASSERT_EQ_INT(kt_http_in_feed(&in, two, strlen(two), &used), KT_HTTP_IN_DONE);
    KT_ASSERT_EQ_INT(used, strlen("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"));
    KT_ASSERT_EQ_STR(in.url.p, "/healthz");
    kt_http_in_next(&in);
    size_t used2 = 0;
    KT_ASSERT_EQ_INT(kt_http_in_feed(&in, two + used, strlen(two) - used, &used2), KT_HTTP_IN_DONE);
    KT_ASSERT_EQ_STR(in.url.p, "/readyz");
    KT_ASSERT_EQ_INT(used2, strlen(two) - used);
    kt_http_in_free(&in);
}

KT_TEST(http10_and_connection_close)
{
    kt_limits l = lim();
    kt_http_in in;
    kt_http_in_init(&in, &l);
    const char *r = "GET /health HTTP/1.0\r\n\r\n";
    KT_ASSERT_EQ_INT(feed(&in, r, strlen(r), 0, NULL), KT_HTTP_IN_DONE);
    KT_ASSERT(!in.keep_alive);
    KT_ASSERT_EQ_INT(kt_http_in_minor(&in), 0);
    kt_http_in_free(&in);
    kt_http_in_init(&in, &l);
    r = "GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    KT_ASSERT_EQ_INT(feed(&in, r, strlen(r), 0, NULL), KT_HTTP_IN_DONE);
    KT_ASSERT(!in.keep_alive);
    kt_http_in_free(&in);
}

KT_TEST(expect_continue_flagged)
{
    kt_limits l = lim();
    kt_http_in in;
    kt_http_in_init(&in, &l);
    const char *r = "POST /v1/x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    KT_ASSERT_EQ_INT(feed(&in, r, strlen(r), 0, NULL), KT_HTTP_IN_MORE);
    KT_ASSERT(in.head_done);
    KT_ASSERT(in.expect_continue);
    kt_http_in_free(&in);
}

typedef struct bad_case {
    const char *name;
    const char *req;
    int status;
} bad_case;

static const bad_case kt__bad[] = {
    { "obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n", 400 },
    { "obs-fold tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400 },
    { "bare LF", "GET / HTTP/1.1\nHost: a\n\n", 400 },
    { "bare LF in headers", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400 },
    { "bare CR", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400 },
    { "duplicate host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
    { "missing host", "GET / HTTP/1.1\r\n\r\n", 400 },
    { "CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
    { "TE then CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400 },
    { "two CL equal", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400 },
    { "two CL differ", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", 400 },
    { "CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx", 400 },
    { "negative CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400 },
    { "CL with plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", 400 },
    { "TE gzip chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400 },
    { "TE chunked gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400 },
    { "TE xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400 },
    { "TE twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
    { "bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400 },
    { "chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", 400 },
    { "long chunk ext", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=b\r\nx\r\n0\r\n\r\n", 400 },
    { "chunk missing CRLF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy0\r\n\r\n", 400 },
    { "upgrade", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 400 },
    { "connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 400 },
    { "absolute form", "GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "asterisk form", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400 },
    { "bad header name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n", 400 },
    { "NUL in header", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400 },
    { "header without colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400 },
    { "HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400 },
    { "HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400 },
    { "lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400 },
    { "extra spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400 },
    { "tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "empty header name", "GET / HTTP/1.1\r\nHost: a\r\n: value\r\n\r\n", 400 },
    { "bad method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "empty line first", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "unsupported expect", "POST / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\nContent-Length: 0\r\n\r\n", 400 },
    { "body over cap", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 413 },
    { "too many headers", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\n"
                          "H: 1\r\nI: 1\r\nJ: 1\r\nK: 1\r\nL: 1\r\nM: 1\r\nN: 1\r\nO: 1\r\nP: 1\r\nQ: 1\r\n"
                          "R: 1\r\nS: 1\r\nT: 1\r\n\r\n", 431 },
    /* trailers follow the header rules */
    { "obs-fold in trailer", "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "1\r\nx\r\n0\r\nX-A: 1\r\n  folded\r\n\r\n", 400 },
    { "obs-fold tab in trailer", "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "0\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400 },
    { "bare LF in trailer", "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "0\r\nX: a\nY: b\r\n\r\n", 400 },
    { "ctl in trailer", "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "0\r\nX: a\x01b\r\n\r\n", 400 },
    { "bad trailer name", "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "0\r\nX(y): 1\r\n\r\n", 400 },
    /* the request target is normalised, or refused */
    { "encoded slash", "GET /v1/a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "encoded slash lower", "GET /v1/a%2fb HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "encoded dot-dot", "GET /v1/%2e%2e/x HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "half-encoded dot-dot", "GET /v1/.%2E/x HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "dot-dot leaves v1", "GET /v1/../x HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "dot-dot above root", "GET /v1/a/../../../x HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "backslash", "GET /v1/a\\..\\x HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    { "bad percent", "GET /v1/a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
};

KT_TEST(malformed_table)
{
    for (size_t i = 0; i < KT_ARRAY_LEN(kt__bad); i++) {
        for (int bw = 0; bw < 2; bw++) {
            /* Literal NUL: measure the case by its real length. */
            const char *r = kt__bad[i].req;
            int st;
            if (strcmp(kt__bad[i].name, "NUL in header") == 0) {
                static const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
                kt_limits l = lim();
                kt_http_in in;
                kt_http_in_init(&in, &l);
                int rc = feed(&in, nul, sizeof nul - 1, bw, NULL);
                st = rc == KT_HTTP_IN_ERROR ? in.err_status : 200;
                kt_http_in_free(&in);
            } else {
                st = parse_status(r, bw);
            }
            if (st != kt__bad[i].status)
                KT_FAILF("case '%s' (%s): got %d, want %d", kt__bad[i].name,
                         bw ? "bytewise" : "whole", st, kt__bad[i].status);
        }
    }
}

/* Trailers are checked and dropped: not in the headers, so nothing routes or authenticates by
 * them (x-keeptrusts-target, Authorization), and nothing forwards them. */
KT_TEST(trailers_are_dropped)
{
    const char *req = "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                      "Trailer: X-Keeptrusts-Target\r\n\r\n3\r\nabc\r\n0\r\n"
                      "X-Keeptrusts-Target: other\r\nAuthorization: Bearer sk-trailer\r\n\r\n"
                      "GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n";
    for (int bw = 0; bw < 2; bw++) {
        kt_limits l = lim();
        kt_http_in in;
        kt_http_in_init(&in, &l);
        size_t used = 0;
        KT_ASSERT_EQ_INT(feed(&in, req, strlen(req), bw, &used), KT_HTTP_IN_DONE);
        KT_ASSERT_EQ_MEM(in.body.p, in.body.len, "abc", 3);
        KT_ASSERT_EQ_INT(in.headers.n, 3);
        KT_ASSERT_EQ_INT(kt_headers_find(&in.headers, "x-keeptrusts-target", 0), -1);
        KT_ASSERT_EQ_INT(kt_headers_find(&in.headers, "authorization", 0), -1);
        /* the next request parses cleanly after a message with trailers */
        kt_http_in_next(&in);
        KT_ASSERT_EQ_INT(feed(&in, req + used, strlen(req) - used, bw, NULL), KT_HTTP_IN_DONE);
        KT_ASSERT_EQ_STR(in.url.p, "/v1/models");
        kt_http_in_free(&in);
    }
}

/* The target llhttp hands over is normalised before anything routes on it. */
KT_TEST(target_normalised)
{
    static const struct { const char *in, *want; } cases[] = {
        { "/v1/chat/completions#frag", "/v1/chat/completions" },
        { "/v1/models?a=1#x?y", "/v1/models?a=1" },
        { "/v1/./chat/./completions", "/v1/chat/completions" },
        { "/v1/x/../chat/completions", "/v1/chat/completions" },
        { "/v1//chat//completions/", "/v1/chat/completions" },
    };
    for (size_t i = 0; i < KT_ARRAY_LEN(cases); i++) {
        char req[256];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", cases[i].in);
        for (int bw = 0; bw < 2; bw++) {
            kt_limits l = lim();
            kt_http_in in;
            kt_http_in_init(&in, &l);
            KT_ASSERT_EQ_INT(feed(&in, req, strlen(req), bw, NULL), KT_HTTP_IN_DONE);
            KT_ASSERT_EQ_STR(in.url.p, cases[i].want);
            kt_http_in_free(&in);
        }
    }
    kt_limits l = lim();
    kt_http_in in;
    kt_http_in_init(&in, &l);
    const char *bad = "GET /v1/%2e%2e/x HTTP/1.1\r\nHost: a\r\n\r\n";
    KT_ASSERT_EQ_INT(feed(&in, bad, strlen(bad), 0, NULL), KT_HTTP_IN_ERROR);
    KT_ASSERT_EQ_STR(in.err_code, "invalid_path");
    kt_http_in_free(&in);
}

KT_TEST(chunked_body_over_cap)
{
    kt_limits l = lim();
    kt_http_in in;
    kt_http_in_init(&in, &l);
    char req[4096];
    int n = snprintf(req, sizeof req, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) n += snprintf(req + n, sizeof req - (size_t)n, "200\r\n%0512d\r\n", 0);
    KT_ASSERT_EQ_INT(feed(&in, req, (size_t)n, 0, NULL), KT_HTTP_IN_ERROR);
    KT_ASSERT_EQ_INT(in.err_status, 413);
    KT_ASSERT_EQ_STR(in.err_code, "body_too_large");
    kt_http_in_free(&in);
}

KT_TEST(header_bytes_cap_gives_431)
{
    kt_limits l = lim();
    kt_http_in in;
    kt_http_in_init(&in, &l);
    char req[8192];
    int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(req + n, 'a', 5000);
    n += 5000;
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n\r\n");
    KT_ASSERT_EQ_INT(feed(&in, req, (size_t)n, 0, NULL), KT_HTTP_IN_ERROR);
    KT_ASSERT_EQ_INT(in.err_status, 431);
    kt_http_in_free(&in);
}

KT_TEST(hop_by_hop_includes_connection_tokens)
{
    kt_headers hs;
    kt_headers_init(&hs, 10, 1024);
    kt_headers_add_name(&hs, "Connection", 10);
    kt_headers_add_value(&hs, "close, X-Secret-Hop", 19);
    kt_headers_value_done(&hs);
    KT_ASSERT(kt_http_is_hop_by_hop(&hs, KT_STR("x-secret-hop")));
    KT_ASSERT(kt_http_is_hop_by_hop(&hs, KT_STR("Keep-Alive")));
    KT_ASSERT(kt_http_is_hop_by_hop(&hs, KT_STR("transfer-encoding")));
    KT_ASSERT(!kt_http_is_hop_by_hop(&hs, KT_STR("traceparent")));
    KT_ASSERT(!kt_http_is_hop_by_hop(&hs, KT_STR("x-secret")));
    kt_headers_free(&hs);
}

static void add(kt_headers *hs, const char *n, const char *v)
{
    kt_headers_add_name(hs, n, strlen(n));
    kt_headers_add_value(hs, v, strlen(v));
    kt_headers_value_done(hs);
}

/* Tokens of every Connection header count, wherever it stands and however its name is cased;
 * a reset head forgets them. */
KT_TEST(hop_by_hop_every_connection_header)
{
    kt_headers hs;
    kt_headers_init(&hs, 10, 1024);
    add(&hs, "Host", "a");
    add(&hs, "Connectiom", "x-not");
    add(&hs, "connection", "keep-alive");
    add(&hs, "X-One", "1");
    add(&hs, "CONNECTION", "x-one, x-two");
    KT_ASSERT(kt_http_is_hop_by_hop(&hs, KT_STR("X-One")));
    KT_ASSERT(kt_http_is_hop_by_hop(&hs, KT_STR("x-two")));
    KT_ASSERT(!kt_http_is_hop_by_hop(&hs, KT_STR("x-not")));
    KT_ASSERT(!kt_http_is_hop_by_hop(&hs, KT_STR("host")));
    KT_ASSERT_EQ_INT(kt_headers_count(&hs, "Connection"), 2);
    kt_headers_reset(&hs);
    add(&hs, "X-One", "1");
    KT_ASSERT(!kt_http_is_hop_by_hop(&hs, KT_STR("x-one")));
    kt_headers_free(&hs);
}

KT_TEST(head_scan_split_crlf)
{
    kt_head_scan s;
    kt_head_scan_init(&s, 100);
    size_t used;
    KT_ASSERT_EQ_INT(kt_head_scan_feed(&s, "GET / HTTP/1.1\r", 15, &used), KT_HEAD_MORE);
    KT_ASSERT_EQ_INT(kt_head_scan_feed(&s, "\nHost: a\r\n\r", 11, &used), KT_HEAD_MORE);
    KT_ASSERT_EQ_INT(kt_head_scan_feed(&s, "\nBODY", 5, &used), KT_HEAD_DONE);
    KT_ASSERT_EQ_INT(used, 1);
}

/* The head scanner as it was before it skipped plain runs, one byte at a time: the reference the
 * fast path must agree with on every input and every split. */
static int ref_feed(kt_head_scan *s, const char *data, size_t len, size_t *used)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)data[i];
        if (++s->bytes > s->max_bytes) return KT_HEAD_TOO_BIG;
        if (c == 0) return KT_HEAD_BAD;
        if (s->prev == '\r' && c != '\n') return KT_HEAD_BAD;
        if (c == '\n') {
            if (s->prev != '\r') return KT_HEAD_BAD;
            if (s->line_start && !s->first_line) {
                s->done = 1;
                *used = i + 1;
                return KT_HEAD_DONE;
            }
            if (s->line_start && s->first_line) return KT_HEAD_BAD;
            s->line_start = 1;
            s->first_line = 0;
        } else if (s->first_line && (c == '\t' || (c == ' ' && s->prev == ' ') ||
                                     (c == '\r' && s->prev == ' '))) {
            return KT_HEAD_BAD;
        } else if (c != '\r') {
            if (s->line_start && (c == ' ' || c == '\t')) return KT_HEAD_BAD;
            s->line_start = 0;
        }
        s->prev = c;
    }
    *used = len;
    return KT_HEAD_MORE;
}

KT_TEST(head_scan_matches_byte_reference)
{
    static const char alpha[] = { 'a', 'Z', ':', '/', ' ', ' ', '\t', '\r', '\n', '\r', '\n',
                                  '\0', 1, (char)0x80, (char)0xff, '1' };
    uint32_t seed = 12345;
    int mismatches = 0;
    for (int round = 0; round < 40000 && !mismatches; round++) {
        char buf[96];
        size_t n = 0;
        /* mostly well-formed heads with noise, some pure noise */
        const char *base = (round & 3) ? "POST /v1/x HTTP/1.1\r\nHost: a\r\nX-Y:  z\t w\r\n\r\n" : "";
        for (; base[n] && n < sizeof buf; n++) buf[n] = base[n];
        if (!n) {   /* noise: random bytes of the alphabet */
            n = 1 + (seed = seed * 1103515245u + 12345u) % 60;
            for (size_t k = 0; k < n; k++) {
                seed = seed * 1103515245u + 12345u;
                buf[k] = alpha[(seed >> 16) % sizeof alpha];
            }
        }
        for (int k = 0; k < 3; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % n] = alpha[(seed >> 20) % sizeof alpha];
        }
        size_t max = 20 + (seed >> 3) % 80, step = 1 + (seed >> 11) % 17;
        kt_head_scan a, b;
        kt_head_scan_init(&a, max);
        kt_head_scan_init(&b, max);
        for (size_t off = 0; off < n;) {
            size_t len = n - off < step ? n - off : step, ua = 0, ub = 0;
            int ra = kt_head_scan_feed(&a, buf + off, len, &ua);
            int rb = ref_feed(&b, buf + off, len, &ub);
            if (ra != rb || (ra != KT_HEAD_BAD && ra != KT_HEAD_TOO_BIG && ua != ub) ||
                (ra == KT_HEAD_MORE && (a.prev != b.prev || a.line_start != b.line_start ||
                                         a.first_line != b.first_line || a.bytes != b.bytes))) {
                mismatches++;
                break;
            }
            if (ra != KT_HEAD_MORE) break;
            off += len;
        }
    }
    KT_ASSERT_EQ_INT(mismatches, 0);
}

/* Header names compare with ASCII case folding: every pair of byte values against the C locale's
 * tolower(), which folds exactly A-Z. */
KT_TEST(case_insensitive_compare_every_byte_pair)
{
    int wrong = 0;
    for (int x = 0; x < 256; x++)
        for (int y = 0; y < 256; y++) {
            char a = (char)x, b = (char)y;
            int lx = x >= 'A' && x <= 'Z' ? x + 32 : x, ly = y >= 'A' && y <= 'Z' ? y + 32 : y;
            kt_str s = { &a, 1 };
            wrong += kt_str_eq_ci_n(s, &b, 1) != (lx == ly);
        }
    KT_ASSERT_EQ_INT(wrong, 0);
    KT_ASSERT(kt_str_eq_ci(KT_STR("Content-Type"), "content-type"));
    KT_ASSERT(!kt_str_eq_ci(KT_STR("a^b"), "a~b"));   /* 0x5e and 0x7e differ by the case bit */
    KT_ASSERT(!kt_str_eq_ci(KT_STR("content-typ"), "content-type"));
}

int main(void)
{
    KT_RUN(simple_post_with_length);
    KT_RUN(case_insensitive_compare_every_byte_pair);
    KT_RUN(head_scan_matches_byte_reference);
    KT_RUN(chunked_body_reassembled);
    KT_RUN(pipelined_requests_split_exactly);
    KT_RUN(http10_and_connection_close);
    KT_RUN(expect_continue_flagged);
    KT_RUN(malformed_table);
    KT_RUN(chunked_body_over_cap);
    KT_RUN(header_bytes_cap_gives_431);
    KT_RUN(trailers_are_dropped);
    KT_RUN(target_normalised);
    KT_RUN(hop_by_hop_includes_connection_tokens);
    KT_RUN(hop_by_hop_every_connection_header);
    KT_RUN(head_scan_split_crlf);
    return KT_DONE();
}
