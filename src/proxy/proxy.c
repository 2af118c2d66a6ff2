/* Proxying one request: route, run the input policies (redact or block before anything leaves),
 * build the upstream request, and relay the response as it arrives. With output policies the
 * response is scanned: SSE streams through the stream filter (holdback, chunk for chunk), other
 * bodies are buffered (bounded), scanned and then sent. Upstream failures become 502s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/conn.h"
#include "kt/log.h"
#include "kt/router.h"

#define KT_MAX_SCANNED_RESPONSE (32u << 20)

static void on_ready(void *owner, kt_upconn *up);
static void on_head(void *owner, int status, const kt_headers *hs, bool has_length);
static void on_body(void *owner, const char *data, size_t len);
static void on_done(void *owner);
static void on_error(void *owner, const char *code, const char *msg, bool retryable);
static void on_flush(void *owner);

static const kt_upstream_handler kt__proxy_handler = { on_ready, on_head, on_body, on_done,
                                                       on_error, on_flush };

static void on_flush(void *owner) { kt_conn_uncork(owner); }

void kt_proxy_reset(kt_conn *c)
{
    if (c->sf) {
        kt_stream_filter_free(c->sf);
        free(c->sf);
        c->sf = NULL;
    }
    if (c->has_decision) kt_decision_free(&c->decision);
    c->has_decision = false;
    c->out_mode = KT_OUT_PASS;
    kt_buf_free(&c->sf_out);
    kt_buf_free(&c->resp_head);
    kt_buf_free(&c->resp_body);
}

static void drop_upstream(kt_conn *c)
{
    kt_upconn *up = c->up;
    c->up = NULL;
    if (up) kt_upconn_release(up);
}

static void send_request(kt_conn *c)
{
    const kt_buf *body = &c->in.body;
    c->obs.up_sent_ns = uv_hrtime();
    if (kt_upconn_send(c->up, c->req_head.p, c->req_head.len, body->p, body->len, c->is_head)) {
        drop_upstream(c);
        kt_conn_error(c, 502, "upstream_error", "upstream_closed", "cannot send to the upstream");
    }
}

static void connect_upstream(kt_conn *c)
{
    kt_upconn *up = NULL;
    if (!c->obs.up_start_ns) c->obs.up_start_ns = uv_hrtime();
    int rc = kt_upstream_acquire(&c->gw->pools, c->target, &kt__proxy_handler, c, &up);
    if (rc < 0) {
        if (rc == KT_ELIMIT)
            kt_conn_error(c, 503, "unavailable", "overloaded",
                          "too many concurrent upstream connections for this target");
        else
            kt_conn_error(c, 502, "upstream_error", "upstream_connect",
                          "cannot start an upstream connection");
        return;
    }
    c->up = up;
    if (rc == 1) send_request(c);
}

/* 409 policy_violation naming the policy that blocked (`code`: input_blocked/output_blocked). */
static void respond_blocked(kt_conn *c, const char *what, const char *code)
{
    const kt_decision *d = &c->decision;
    const kt_policy_cfg *pc = &d->cfg->chain[d->block_policy];
    char msg[300];
    snprintf(msg, sizeof msg, "the %s was blocked by policy '%s' (%s: %s)", what, pc->name,
             pc->kind, kt_decision_label(d, (uint16_t)d->block_policy, d->block_label));
    KT_INFO(code, "policy %s", pc->name);
    kt_conn_error_policy(c, 409, "policy_violation", code, msg, pc->name);
}

/* The gateway's clean-text cache, unless the request's config turned it off. */
static kt_scan_cache *scan_cache(kt_conn *c)
{
    return c->cfg->gateway.policy_cache ? &c->gw->scan_cache : NULL;
}

/* Input policies. Returns true when the request may go on (possibly with a redacted body). */
static bool check_input(kt_conn *c)
{
    if (!kt_chain_has(c->cfg, KT_DIR_INPUT) || c->in.body.len == 0) return true;
    kt_buf out;
    kt_buf_init(&out, (size_t)c->in.body.max + (1u << 20));
    bool changed = false;
    /* The walk notes the top-level "model" for the request's event (request_obs.c). */
    int rc = kt_policy_json_ex(c->cfg, KT_DIR_INPUT, c->in.body.p, c->in.body.len, &out, &changed,
                               &c->decision, &c->obs.model, scan_cache(c));
    if (rc == KT_EPARSE || rc == KT_ELIMIT) {
        kt_buf_free(&out);
        kt_conn_error(c, 400, "validation_error", "invalid_json",
                      "the request body is not valid JSON, so policies cannot check it");
        return false;
    }
    if (rc) {
        kt_buf_free(&out);
        kt_conn_error(c, 503, "unavailable", "internal_error", "cannot check the request");
        return false;
    }
    if (c->decision.verdict == KT_ACT_BLOCK) {
        kt_buf_free(&out);
        respond_blocked(c, "request", "input_blocked");
        return false;
    }
    if (changed) {   /* the redacted body replaces the original */
        kt_buf_free(&c->in.body);
        c->in.body = out;
    } else {
        kt_buf_free(&out);
    }
    return true;
}

void kt_proxy_start(kt_conn *c, kt_str path, kt_str query)
{
    char err[160];
    const kt_headers *hs = &c->in.headers;
    const kt_target *t = kt_route(c->cfg, hs, c->in.body.p, c->in.body.len, err, sizeof err);
    if (!t) {
        kt_conn_error(c, 400, "validation_error", "unknown_target", err);
        return;
    }
    if (!t->key) {
        char msg[256];
        snprintf(msg, sizeof msg, "no API key for target '%s': %s", t->id,
                 t->key_error[0] ? t->key_error : "not configured");
        kt_conn_error(c, 503, "unavailable", "provider_key_missing", msg);
        return;
    }
    c->target = t;
    kt_str rest = { path.p + 3, path.n - 3 };
    c->api = kt_api_from_path(rest);
    if (c->cfg->nchain) {
        if (kt_decision_init(&c->decision, c->cfg)) {
            kt_conn_error(c, 503, "unavailable", "internal_error", "out of memory");
            return;
        }
        c->has_decision = true;
        if (!check_input(c)) return;
    }
    bool identity = kt_chain_has(c->cfg, KT_DIR_OUTPUT);
    int method = kt_http_in_method(&c->in);
    bool send_length = c->in.body.len > 0 || method == HTTP_POST || method == HTTP_PUT ||
                       method == HTTP_PATCH;
    if (kt_build_upstream_head(t, kt_http_in_method_name(&c->in), rest, query, hs,
                               c->in.body.len, send_length, identity, &c->req_head)) {
        kt_conn_error(c, 431, "validation_error", "headers_too_large",
                      "request headers are too large to forward");
        return;
    }
    c->gw->stats.proxied++;
    connect_upstream(c);
}

static kt_conn *conn_of(void *owner) { return owner; }

static void on_ready(void *owner, kt_upconn *up)
{
    kt_conn *c = conn_of(owner);
    c->up = up;
    if (up->t_connected_ns) c->obs.connect_ns = up->t_connected_ns - up->t_start_ns;
    if (up->use_tls && up->t_connected_ns) c->obs.tls_ns = up->t_ready_ns - up->t_connected_ns;
    send_request(c);
}

/* The response head towards the client, without framing headers when `reframe`. */
static int build_head(kt_conn *c, int status, const kt_headers *hs, bool keep_length,
                      kt_buf *b)
{
    int rc = kt_buf_puts(b, "HTTP/1.1 ");
    if (!rc) rc = kt_buf_append_u64(b, (uint64_t)status);
    if (!rc) rc = kt_buf_append(b, " ", 1);
    if (!rc) rc = kt_buf_puts(b, kt_http_reason(status));
    if (!rc) rc = kt_buf_append(b, "\r\n", 2);
    for (uint32_t i = 0; i < hs->n && !rc; i++) {
        kt_str n = kt_headers_name(hs, i), v = kt_headers_value(hs, i);
        if (kt_http_is_hop_by_hop(hs, n)) continue;
        if (!keep_length && kt_str_eq_ci(n, "content-length")) continue;
        rc = kt_buf_append(b, n.p, n.n);
        if (!rc) rc = kt_buf_append(b, ": ", 2);
        if (!rc) rc = kt_buf_append(b, v.p, v.n);
        if (!rc) rc = kt_buf_append(b, "\r\n", 2);
    }
    (void)c;
    return rc;
}

static int write_head(kt_conn *c, int status, const kt_headers *hs, bool has_length)
{
    kt_buf b;
    kt_buf_init(&b, 256 * 1024);
    int rc = build_head(c, status, hs, has_length, &b);
    bool bodyless = c->is_head || status == 204 || status == 304;
    if (!rc && !has_length && !bodyless) {
        if (kt_http_in_minor(&c->in) >= 1) {
            c->resp_chunked = true;
            rc = kt_buf_puts(&b, "Transfer-Encoding: chunked\r\n");
        } else {
            c->close_after = true;   /* HTTP/1.0: the body ends when we close */
        }
    }
    if (c->gw->stopping) c->close_after = true;
    if (!rc && c->close_after) rc = kt_buf_puts(&b, "Connection: close\r\n");
    if (!rc) rc = kt_buf_puts(&b, "\r\n");
    if (!rc) rc = kt_conn_write(c, b.p, b.len, NULL, 0);
    kt_buf_free(&b);
    return rc;
}

static bool is_event_stream(const kt_headers *hs)
{
    int i = kt_headers_find(hs, "content-type", 0);
    if (i < 0) return false;
    kt_str v = kt_headers_value(hs, (uint32_t)i);
    return v.n >= 17 && kt_str_eq_ci((kt_str){ v.p, 17 }, "text/event-stream");
}

static bool encoded(const kt_headers *hs)
{
    int i = kt_headers_find(hs, "content-encoding", 0);
    return i >= 0 && !kt_str_eq_ci(kt_headers_value(hs, (uint32_t)i), "identity");
}

static void fail_response(kt_conn *c, int status, const char *type, const char *code,
                          const char *msg)
{
    drop_upstream(c);
    c->close_after = true;
    kt_conn_error(c, status, type, code, msg);
}

static void on_head(void *owner, int status, const kt_headers *hs, bool has_length)
{
    kt_conn *c = conn_of(owner);
    c->resp_status = status;
    c->obs.up_head_ns = uv_hrtime();
    c->obs.stream = is_event_stream(hs);
    kt_conn_cork(c);   /* head and body of this read leave in one write */
    bool scan = status >= 200 && status < 300 && !c->is_head && kt_chain_has(c->cfg, KT_DIR_OUTPUT);
    if (!scan) {
        c->resp_started = true;
        write_head(c, status, hs, has_length);
        return;
    }
    if (encoded(hs)) {   /* policies read text: an encoding they cannot read fails closed */
        fail_response(c, 502, "upstream_error", "upstream_encoding",
                      "the upstream sent an encoded body that output policies cannot read");
        return;
    }
    if (is_event_stream(hs)) {
        c->sf = kt_calloc(1, sizeof *c->sf);
        if (!c->sf) {
            fail_response(c, 503, "unavailable", "internal_error", "out of memory");
            return;
        }
        kt_buf_init(&c->sf_out, 8u << 20);
        kt_stream_filter_init(c->sf, c->cfg, c->api, &c->decision, &c->sf_out);
        c->out_mode = KT_OUT_STREAM;
        c->resp_started = true;
        write_head(c, status, hs, false);
        return;
    }
    c->out_mode = KT_OUT_BUFFER;
    kt_buf_init(&c->resp_head, 256 * 1024);
    kt_buf_init(&c->resp_body, KT_MAX_SCANNED_RESPONSE);
    if (build_head(c, status, hs, false, &c->resp_head))
        fail_response(c, 502, "upstream_error", "upstream_protocol", "response head too large");
}

static void check_backpressure(kt_conn *c)
{
    if (!c->up || c->up_paused) return;
    if (kt_conn_backlog(c) > c->gw->limits.max_response_buffer) {
        c->up_paused = true;
        kt_upconn_pause(c->up);
        kt_conn_set_stalled(c, true);
    }
}

static int send_body(kt_conn *c, const char *data, size_t len)
{
    return c->resp_chunked ? kt_conn_write_chunk(c, data, len) : kt_conn_write(c, data, len, NULL, 0);
}

static void end_blocked_stream(kt_conn *c)
{
    KT_INFO("output_blocked", "stream cut by policy");
    drop_upstream(c);
    if (c->resp_chunked && kt_conn_write(c, "0\r\n\r\n", 5, NULL, 0)) return;
    if (!c->resp_chunked) c->close_after = true;
    kt_conn_finish(c);
}

static void on_body(void *owner, const char *data, size_t len)
{
    kt_conn *c = conn_of(owner);
    if (c->resp_status >= 200 && c->resp_status < 300) kt_usage_feed(&c->obs.usage, data, len);
    if (c->out_mode == KT_OUT_BUFFER) {
        if (kt_buf_append(&c->resp_body, data, len))
            fail_response(c, 502, "upstream_error", "upstream_too_large",
                          "the response is larger than output policies can check");
        return;
    }
    if (c->out_mode == KT_OUT_STREAM) {
        kt_stream_filter_feed(c->sf, data, len);
        int rc = c->sf_out.len ? send_body(c, c->sf_out.p, c->sf_out.len) : 0;
        kt_buf_reset(&c->sf_out);
        if (rc) return;
        if (c->sf->blocked) {
            end_blocked_stream(c);
            return;
        }
        check_backpressure(c);
        return;
    }
    if (send_body(c, data, len)) return;
    check_backpressure(c);
}

void kt_proxy_client_drained(kt_conn *c)
{
    if (!c->up_paused) return;
    c->up_paused = false;
    kt_conn_set_stalled(c, false);
    if (c->up) kt_upconn_resume(c->up);
}

static void finish_buffered(kt_conn *c)
{
    kt_buf out;
    kt_buf_init(&out, KT_MAX_SCANNED_RESPONSE + (1u << 20));
    bool changed = false;
    int rc = kt_policy_json_ex(c->cfg, KT_DIR_OUTPUT, c->resp_body.p ? c->resp_body.p : "",
                               c->resp_body.len, &out, &changed, &c->decision, NULL,
                               scan_cache(c));
    if (rc == KT_EPARSE) rc = KT_OK;   /* not JSON (plain text, empty): nothing model-written to find */
    if (rc) {
        kt_buf_free(&out);
        kt_conn_error(c, 502, "upstream_error", "upstream_unscannable",
                      "the response could not be checked by output policies");
        return;
    }
    if (c->decision.verdict == KT_ACT_BLOCK) {
        kt_buf_free(&out);
        respond_blocked(c, "response", "output_blocked");
        return;
    }
    const kt_buf *body = changed ? &out : &c->resp_body;
    if (c->gw->stopping) c->close_after = true;
    rc = kt_buf_printf(&c->resp_head, "Content-Length: %zu\r\n%s\r\n", body->len,
                       c->close_after ? "Connection: close\r\n" : "");
    c->resp_started = true;
    if (!rc) rc = kt_conn_write(c, c->resp_head.p, c->resp_head.len, body->p, body->len);
    kt_buf_free(&out);
    if (!rc) kt_conn_finish(c);
}

static void on_done(void *owner)
{
    kt_conn *c = conn_of(owner);
    c->obs.up_end_ns = uv_hrtime();
    drop_upstream(c);
    if (c->out_mode == KT_OUT_BUFFER) {
        finish_buffered(c);
        return;
    }
    if (c->out_mode == KT_OUT_STREAM) {
        kt_stream_filter_finish(c->sf);
        int rc = c->sf_out.len ? send_body(c, c->sf_out.p, c->sf_out.len) : 0;
        kt_buf_reset(&c->sf_out);
        if (rc) return;
    }
    if (c->resp_chunked && kt_conn_write(c, "0\r\n\r\n", 5, NULL, 0)) return;
    if (c->up_paused) {
        c->up_paused = false;
        kt_conn_set_stalled(c, false);
    }
    KT_DEBUG("proxied", "%s %s -> %s %d in %llu ms", kt_http_in_method_name(&c->in),
             c->target ? c->target->id : "-", c->target ? c->target->host : "-", c->resp_status,
             (unsigned long long)(uv_now(&c->gw->loop) - c->req_start_ms));
    kt_conn_finish(c);
}

static void on_error(void *owner, const char *code, const char *msg, bool retryable)
{
    kt_conn *c = conn_of(owner);
    c->up = NULL;   /* the connection is gone */
    if (retryable && !c->retried && !c->resp_started && c->out_mode == KT_OUT_PASS) {
        /* A pooled connection the upstream had already closed: one fresh attempt. */
        c->retried = true;
        connect_upstream(c);
        return;
    }
    c->gw->stats.upstream_errors++;
    c->obs.up_end_ns = uv_hrtime();
    KT_WARN("upstream_error", "target %s: %s: %s", c->target ? c->target->id : "-", code, msg);
    if (!c->resp_started) {
        kt_conn_error(c, 502, "upstream_error", code, msg);
        return;
    }
    if (c->out_mode == KT_OUT_STREAM && c->sf && !c->sf->blocked) {
        /* What was held back is still checked before the stream is cut. */
        kt_stream_filter_finish(c->sf);
        if (c->sf_out.len) send_body(c, c->sf_out.p, c->sf_out.len);
        kt_buf_reset(&c->sf_out);
    }
    kt_conn_abort(c);   /* mid-response: the client sees a truncated body, never a fake end */
}

void kt_proxy_abort(kt_conn *c) { drop_upstream(c); }
