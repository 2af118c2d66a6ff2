/* Ingress request parser: llhttp callbacks fill a kt_http_in; validation happens once the headers
 * are complete. Every error carries the status and the code the client will see. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "kt/http_in.h"

static int fail(kt_http_in *in, int status, const char *code, const char *msg)
{
    if (!in->err_status) {
        in->err_status = status;
        in->err_code = code;
        snprintf(in->err_msg, sizeof in->err_msg, "%s", msg);
    }
    return HPE_USER;
}

static kt_http_in *self(llhttp_t *p) { return (kt_http_in *)p->data; }

static int on_message_begin(llhttp_t *p)
{
    self(p)->started = true;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    kt_http_in *in = self(p);
    if (kt_buf_append(&in->url, at, n))
        return fail(in, 431, "headers_too_large", "request target is too long");
    return 0;
}

/* Trailers (header lines after a chunked body) are never headers: they are not stored, so nothing
 * routes, authenticates or forwards by them. Their raw bytes are checked like a head's (obs-fold,
 * bare CR/LF, NUL, size) from where the first one starts; kt_http_in_feed runs that check. */
static void trailers_begin(kt_http_in *in, const char *at)
{
    if (in->in_trailers) return;
    in->in_trailers = true;
    in->trailer_off = (size_t)(at - in->feed_p);
    kt_head_scan_init(&in->tscan, in->scan.max_bytes);
    in->tscan.first_line = 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    kt_http_in *in = self(p);
    if (in->head_done) {
        trailers_begin(in, at);
        return 0;
    }
    if (kt_headers_add_name(&in->headers, at, n))
        return fail(in, 431, "headers_too_large", "too many request headers or header bytes");
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    kt_http_in *in = self(p);
    if (in->head_done) return 0;   /* a trailer */
    int rc = kt_headers_add_value(&in->headers, at, n);
    if (rc == KT_EPARSE) return fail(in, 400, "bad_request", "header value without a name");
    if (rc) return fail(in, 431, "headers_too_large", "request headers are too large");
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    kt_http_in *in = self(p);
    if (in->head_done) return 0;   /* a trailer */
    if (kt_headers_value_done(&in->headers))
        return fail(in, 400, "bad_request", "header field without a name");
    return 0;
}

static bool all_digits(kt_str s)
{
    if (s.n == 0 || s.n > 18) return false;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9') return false;
    return true;
}

static int check_framing(kt_http_in *in)
{
    const kt_headers *hs = &in->headers;
    int ncl = kt_headers_count(hs, "content-length");
    int nte = kt_headers_count(hs, "transfer-encoding");
    if (ncl > 1) return fail(in, 400, "bad_request", "more than one Content-Length");
    if (nte > 1) return fail(in, 400, "bad_request", "more than one Transfer-Encoding");
    if (ncl && nte)
        return fail(in, 400, "bad_request", "Content-Length together with Transfer-Encoding");
    if (nte && !kt_str_eq_ci(kt_headers_value(hs, (uint32_t)kt_headers_find(hs, "transfer-encoding", 0)), "chunked"))
        return fail(in, 400, "bad_request", "only Transfer-Encoding: chunked is accepted");
    if (ncl) {
        kt_str v = kt_headers_value(hs, (uint32_t)kt_headers_find(hs, "content-length", 0));
        if (!all_digits(v)) return fail(in, 400, "bad_request", "invalid Content-Length");
        unsigned long long cl = 0;
        for (size_t i = 0; i < v.n; i++) cl = cl * 10 + (unsigned)(v.p[i] - '0');
        if (cl > in->max_body)
            return fail(in, 413, "body_too_large", "request body exceeds the configured limit");
    }
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    kt_http_in *in = self(p);
    const kt_headers *hs = &in->headers;
    if (p->http_major != 1 || p->http_minor > 1)
        return fail(in, 400, "bad_request", "only HTTP/1.0 and HTTP/1.1 are supported");
    if (p->method == HTTP_CONNECT) return fail(in, 400, "bad_request", "CONNECT is not supported");
    if (in->url.len == 0 || in->url.p[0] != '/')
        return fail(in, 400, "bad_request", "request target must be a path (origin-form)");
    const char *why = NULL;   /* from here on the target is the normalised one */
    if (kt_http_target_normalize(in->url.p, &in->url.len, &why))
        return fail(in, 400, "invalid_path", why);
    int nhost = kt_headers_count(hs, "host");
    if (nhost > 1) return fail(in, 400, "bad_request", "more than one Host header");
    if (nhost == 0 && p->http_minor == 1) return fail(in, 400, "bad_request", "missing Host header");
    if (kt_headers_find(hs, "upgrade", 0) >= 0 || (p->flags & F_CONNECTION_UPGRADE))
        return fail(in, 400, "bad_request", "protocol upgrades are not supported");
    int rc = check_framing(in);
    if (rc) return rc;
    int ex = kt_headers_find(hs, "expect", 0);
    if (ex >= 0) {
        if (!kt_str_eq_ci(kt_headers_value(hs, (uint32_t)ex), "100-continue"))
            return fail(in, 400, "bad_request", "unsupported Expect header");
        in->expect_continue = true;
    }
    in->head_done = true;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    kt_http_in *in = self(p);
    if (in->body.len + n > in->max_body || kt_buf_append(&in->body, at, n))
        return fail(in, 413, "body_too_large", "request body exceeds the configured limit");
    return 0;
}

static int on_chunk_header(llhttp_t *p)
{
    self(p)->chunk_ext_bytes = 0;
    return 0;
}

static int on_chunk_ext(llhttp_t *p, const char *at, size_t n)
{
    kt_http_in *in = self(p);
    (void)at;
    in->chunk_ext_bytes += (uint32_t)n;
    if (in->chunk_ext_bytes > in->max_chunk_ext)
        return fail(in, 400, "bad_request", "chunk extension is too long");
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    kt_http_in *in = self(p);
    in->complete = true;
    in->keep_alive = llhttp_should_keep_alive(p) != 0;
    return HPE_PAUSED;
}

static const llhttp_settings_t kt__settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_chunk_extension_name = on_chunk_ext,
    .on_chunk_extension_value = on_chunk_ext,
    .on_message_complete = on_message_complete,
};

int kt_http_in_init(kt_http_in *in, const kt_limits *lim)
{
    memset(in, 0, sizeof *in);
    llhttp_init(&in->parser, HTTP_REQUEST, &kt__settings);
    in->parser.data = in;
    kt_head_scan_init(&in->scan, lim->max_header_bytes);
    kt_buf_init(&in->url, lim->max_header_bytes);
    kt_buf_init(&in->body, lim->max_body_bytes);
    in->max_body = lim->max_body_bytes;
    in->max_chunk_ext = lim->max_chunk_ext_bytes;
    return kt_headers_init(&in->headers, lim->max_headers, lim->max_header_bytes);
}

void kt_http_in_free(kt_http_in *in)
{
    kt_buf_free(&in->url);
    kt_buf_free(&in->body);
    kt_headers_free(&in->headers);
}

void kt_http_in_next(kt_http_in *in)
{
    kt_head_scan_init(&in->scan, in->scan.max_bytes);
    kt_buf_reset(&in->url);
    kt_headers_reset(&in->headers);
    /* Give back a large body's memory between requests; keep small ones for reuse. */
    if (in->body.cap > 64 * 1024) kt_buf_free(&in->body);
    kt_buf_reset(&in->body);
    in->head_done = in->complete = in->keep_alive = in->expect_continue = in->started = false;
    in->chunk_ext_bytes = 0;
    in->in_trailers = false;
    in->trailer_off = 0;
    in->err_status = 0;
    in->err_code = NULL;
    in->err_msg[0] = '\0';
    llhttp_resume(&in->parser);
}

/* The trailer section's bytes among the `used` first of `data` go through the head scanner.
 * True when they are refused (the error is set). */
static bool trailers_refused(kt_http_in *in, const char *data, size_t used)
{
    if (!in->in_trailers || in->tscan.done) return false;
    size_t from = in->trailer_off, seen = 0;
    in->trailer_off = 0;   /* later reads continue the section from their first byte */
    if (from >= used) return false;
    int s = kt_head_scan_feed(&in->tscan, data + from, used - from, &seen);
    if (s == KT_HEAD_TOO_BIG) {
        fail(in, 431, "headers_too_large", "request trailers exceed the header limit");
        return true;
    }
    if (s == KT_HEAD_BAD) {
        fail(in, 400, "bad_request", "malformed request trailers (bare CR/LF, obs-fold or NUL)");
        return true;
    }
    return false;
}

kt_http_in_rc kt_http_in_feed(kt_http_in *in, const char *data, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (len == 0) return KT_HTTP_IN_MORE;
    in->started = true;
    if (!in->scan.done) {
        size_t used = 0;
        int s = kt_head_scan_feed(&in->scan, data, len, &used);
        if (s == KT_HEAD_TOO_BIG) {
            fail(in, 431, "headers_too_large", "request headers exceed the configured limit");
            return KT_HTTP_IN_ERROR;
        }
        if (s == KT_HEAD_BAD) {
            fail(in, 400, "bad_request", "malformed request head (bare CR/LF, obs-fold or NUL)");
            return KT_HTTP_IN_ERROR;
        }
    }
    in->feed_p = data;
    llhttp_errno_t e = llhttp_execute(&in->parser, data, len);
    if (e == HPE_OK) {
        *consumed = len;
        return trailers_refused(in, data, len) ? KT_HTTP_IN_ERROR : KT_HTTP_IN_MORE;
    }
    if (e == HPE_PAUSED && in->complete) {
        *consumed = (size_t)(llhttp_get_error_pos(&in->parser) - data);
        return trailers_refused(in, data, *consumed) ? KT_HTTP_IN_ERROR : KT_HTTP_IN_DONE;
    }
    if (e != HPE_USER) {
        char msg[160];
        snprintf(msg, sizeof msg, "malformed HTTP request: %s", llhttp_errno_name(e));
        fail(in, 400, "bad_request", msg);
    }
    assert(in->err_status && in->err_code);   /* every refusal says what to answer */
    return KT_HTTP_IN_ERROR;
}

int kt_http_in_method(const kt_http_in *in) { return in->parser.method; }

const char *kt_http_in_method_name(const kt_http_in *in)
{
    return llhttp_method_name((llhttp_method_t)in->parser.method);
}

int kt_http_in_minor(const kt_http_in *in) { return in->parser.http_minor; }
