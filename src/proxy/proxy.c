/* Proxying one request (one kt_exchange, exchange.h): read the body's facts and run the input
 * policies in the same pass, route, build the upstream request, and relay the response as it
 * arrives. With output policies the response is scanned: SSE streams through the stream filter
 * (holdback, chunk for chunk), other bodies are buffered (bounded), scanned and then sent.
 * Upstream failures become 502s. The connection calls in only through kt_proxy_handler; the
 * exchange is allocated in x_start and freed in x_finish, nowhere else. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange.h"
#include "kt/log.h"
#include "kt/proxy.h"
#include "kt/router.h"

#define KT_MAX_SCANNED_RESPONSE (32u << 20)   /* a buffered body output policies read */
#define KT_BODY_EDIT_SLACK (1u << 20)         /* growth a redacted body may have over its cap */
#define KT_HEAD_BUF_MAX (256u * 1024)         /* a response head towards the client */
#define KT_STREAM_OUT_MAX (8u << 20)          /* the stream filter's output per upstream read */
#define KT_REQ_HEAD_SLACK 4096                /* upstream head beyond the client's header cap */

static void on_ready(void *owner, kt_upconn *up);
static void on_head(void *owner, int status, const kt_headers *hs, bool has_length);
static void on_body(void *owner, const char *data, size_t len);
static void on_done(void *owner);
static void on_error(void *owner, const char *code, const char *msg, bool retryable);
static void on_flush(void *owner);

static const kt_upstream_handler kt__proxy_upstream = { on_ready, on_head, on_body, on_done,
                                                        on_error, on_flush };

static kt_exchange *xof(void *owner) { return owner; }

static void on_flush(void *owner) { kt_conn_uncork(xof(owner)->c); }

static void drop_upstream(kt_exchange *x)
{
    kt_upconn *up = x->up;
    x->up = NULL;
    if (up) kt_upconn_release(up);
}

/* Answers with an error; the exchange is over (and may already be freed when this returns). */
static void fail(kt_exchange *x, int status, const char *type, const char *code, const char *msg)
{
    x->phase = KT_X_DONE;
    kt_conn_error(x->c, status, type, code, msg);
}

/* A kt-made answer to an upstream failure: x-should-retry: false when kt already retried (or its
 * retry budget said no), so the SDKs' own retries do not multiply kt's. */
static void fail_upstream(kt_exchange *x, int status, const char *code, const char *msg)
{
    x->phase = KT_X_DONE;
    kt_conn_error_ex(x->c, status, "upstream_error", code, msg, NULL,
                     kt__fo_no_retry(x) ? "x-should-retry: false\r\n" : NULL);
}

static void send_request(kt_exchange *x)
{
    x->obs.up_sent_ns = uv_hrtime();
    x->phase = KT_X_WAIT_HEAD;
    if (kt_upconn_send(x->up, x->req_head.p, x->req_head.len, x->fo.out_p, x->fo.out_n,
                       x->c->is_head)) {
        drop_upstream(x);
        fail_upstream(x, 502, "upstream_closed", "cannot send to the upstream");
    }
}

static void connect_upstream(kt_exchange *x)
{
    kt_upconn *up = NULL;
    if (!x->obs.up_start_ns) x->obs.up_start_ns = uv_hrtime();
    x->phase = KT_X_CONNECT;
    int rc = kt_upstream_acquire(&x->gw->pools, x->target, &kt__proxy_upstream, x, &up);
    if (rc < 0) {
        if (rc == KT_ELIMIT)
            fail(x, 503, "unavailable", "overloaded",
                 "too many concurrent upstream connections for this target");
        else
            fail_upstream(x, 502, "upstream_connect", "cannot start an upstream connection");
        return;
    }
    x->up = up;
    if (x->fo.deadline_ns) kt_upconn_set_deadline(up, x->fo.deadline_ns);
    if (rc == 1) send_request(x);   /* a pooled connection, ready now */
}

/* 409 policy_violation naming the policy that blocked (`code`: input_blocked/output_blocked). */
static void respond_blocked(kt_exchange *x, const char *what, const char *code)
{
    const kt_decision *d = &x->decision;
    const kt_policy_cfg *pc = &d->cfg->chain[d->block_policy];
    char msg[300];
    snprintf(msg, sizeof msg, "the %s was blocked by policy '%s' (%s: %s)", what, pc->name,
             pc->kind, kt_decision_label(d, (uint16_t)d->block_policy, d->block_label));
    KT_INFO(code, "policy %s", pc->name);
    x->phase = KT_X_DONE;
    /* The SDKs retry a 409 (a lock timeout to them): the same content is blocked again. */
    kt_conn_error_ex(x->c, 409, "policy_violation", code, msg, pc->name,
                     "x-should-retry: false\r\n");
}

/* The gateway's clean-text cache, unless the request's config turned it off. */
static kt_scan_cache *scan_cache(kt_exchange *x)
{
    return x->cfg->gateway.policy_cache ? &x->gw->scan_cache : NULL;
}

/* ---- start: one look at the body, route, input policies, upstream head ------------------------ */

/* Reads the body once: the input policies walk it and collect the facts in the same pass; with
 * no input policy a facts-only pass does. A walk a block cut short saw only part of the body, so
 * the facts (for the event) then take a pass of their own. */
static void read_body(kt_exchange *x, kt_input_result *in)
{
    const kt_buf *body = &x->c->in.body;
    if (!body->len) return;
    if (!x->has_decision || !kt_chain_has(x->cfg, KT_DIR_INPUT)) {
        kt__facts_read(&x->facts, body->p, body->len);
        return;
    }
    kt_json_top top;
    kt_json_top_begin(&top, kt__fact_keys, kt__nfact_keys);
    kt_policy_walk w = { .cfg = x->cfg, .dir = KT_DIR_INPUT, .decision = &x->decision,
                         .cache = scan_cache(x), .top = &top };
    kt_buf_init(&in->out, (size_t)body->max + KT_BODY_EDIT_SLACK);
    in->walked = true;
    in->rc = kt__model_walk(x, KT_DIR_INPUT, &w);   /* model tier: collect undecided texts */
    if (in->rc) return;
    in->rc = kt_policy_json_walk(&w, body->p, body->len, &in->out, &in->changed);
    if (top.complete) kt__facts_from_top(&x->facts, &top, body->p);
    else if (!in->rc) kt__facts_read(&x->facts, body->p, body->len);
}

/* Whether the client says its body is JSON (no Content-Type: kt has always read it as JSON). */
static bool body_is_json(const kt_headers *hs)
{
    int i = kt_headers_find(hs, "content-type", 0);
    if (i < 0) return true;
    kt_str v = kt_headers_value(hs, (uint32_t)i);
    for (size_t k = 0; k + 4 <= v.n; k++)
        if (kt_str_eq_ci((kt_str){ v.p + k, 4 }, "json")) return true;
    return false;
}

/* Acts on the input walk. Returns true when the request may go on (the body possibly redacted).
 * A body the input policies could not read is refused (fail_mode: closed), or forwarded as it
 * came and marked unscanned (fail_mode: open, kt__unscanned_input). One that does not even claim
 * to be JSON (multipart audio, an image upload on a forwarded path) is refused with a 415 that
 * says so, not as broken JSON. */
static bool apply_input(kt_exchange *x, kt_input_result *in)
{
    if (!in->walked) return true;
    if (in->rc && kt__unscanned_input(x, in->rc)) return true;
    if (in->rc == KT_EPARSE && !body_is_json(&x->c->in.headers) && !kt__request_encoded(x)) {
        fail(x, 415, "validation_error", "unscannable_body",
             "the request body is not JSON, so input policies cannot check it; gateway.fail_mode: "
             "closed refuses it (fail_mode: open forwards such bodies unscanned)");
        return false;
    }
    if (in->rc == KT_EPARSE || in->rc == KT_ELIMIT) {
        fail(x, 400, "validation_error", "invalid_json",
             kt__request_encoded(x) ? "the request body is encoded (Content-Encoding), so "
                                      "policies cannot check it"
                                    : "the request body is not valid JSON, so policies cannot "
                                      "check it");
        return false;
    }
    if (in->rc) {
        fail(x, 503, "unavailable", "internal_error", "cannot check the request");
        return false;
    }
    if (x->decision.verdict == KT_ACT_BLOCK) {
        respond_blocked(x, "request", "input_blocked");
        return false;
    }
    if (in->changed) {   /* the redacted body replaces the original */
        kt_buf_free(&x->c->in.body);
        x->c->in.body = in->out;
        kt_buf_init(&in->out, 0);
    }
    return true;
}

/* Routing failures come before policy answers, as they did when routing ran first: such a
 * request is answered without the walk's decision. */
static bool route(kt_exchange *x)
{
    char err[160];
    const char *code = "unknown_target";
    const kt_target *t = kt_route(x->cfg, &x->c->in.headers, x->rest,
                                  x->facts.has_model ? x->facts.model : NULL, &code, err,
                                  sizeof err);
    if (t && t->key) {
        x->target = t;
        return true;
    }
    if (x->has_decision) kt_decision_free(&x->decision);
    x->has_decision = false;
    if (!t) {
        fail(x, 400, "validation_error", code, err);
        return false;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "no API key for target '%s': %s", t->id,
             t->key_error[0] ? t->key_error : "not configured");
    fail(x, 503, "unavailable", "provider_key_missing", msg);
    return false;
}

/* The upstream request for x->target (every attempt renders its own: key, path, model). */
static bool build_request(kt_exchange *x)
{
    kt_conn *c = x->c;
    bool identity = kt_chain_has(x->cfg, KT_DIR_OUTPUT) || x->gov_models_list;
    int method = kt_http_in_method(&c->in);
    if (kt__fo_prepare(x, &x->fo.out_p, &x->fo.out_n)) {
        fail(x, 503, "unavailable", "internal_error", "out of memory");
        return false;
    }
    bool send_length = x->fo.out_n > 0 || method == HTTP_POST || method == HTTP_PUT ||
                       method == HTTP_PATCH;
    kt_buf_wipe(&x->req_head);   /* a previous attempt's head held its key */
    kt__trace_attempt_begin(x);   /* tracing: the attempt's span is the upstream's parent */
    if (kt_build_upstream_head(x->target, x->fo.up_model, kt_http_in_method_name(&c->in),
                               x->rest, x->query, &c->in.headers, x->fo.out_n, send_length,
                               identity, &x->req_head) ||
        kt__trace_upstream_header(x, &x->req_head)) {
        fail(x, 431, "validation_error", "headers_too_large",
             "request headers are too large to forward");
        return false;
    }
    return true;
}

/* 405 for a method no provider API defines: answered before routing, nothing goes upstream. */
static void method_not_allowed(kt_exchange *x)
{
    static const char body[] = "{\"error\":{\"type\":\"validation_error\",\"code\":"
                               "\"method_not_allowed\",\"message\":\"only " KT_ROUTE_ALLOW
                               " are forwarded under /v1\",\"policy\":null}}";
    kt_conn *c = x->c;
    x->phase = KT_X_DONE;
    c->srv->stats.rejected++;
    snprintf(c->resp_code, sizeof c->resp_code, "method_not_allowed");
    kt_conn_respond(c, 405, "application/json", body, sizeof body - 1,
                    "Allow: " KT_ROUTE_ALLOW "\r\n");
}

/* 404 for a path outside the forwarded APIs (kt_route_path_allowed): nothing goes upstream. */
static void path_not_forwarded(kt_exchange *x)
{
    x->phase = KT_X_DONE;
    kt_conn_error(x->c, 404, "not_found", "path_not_forwarded",
                  "kt does not forward this path (only the inference and model APIs are; "
                  "gateway.forward_paths adds others)");
}

/* The input is checked (the model tier's answers included): refuse, or go upstream. */
static void forward(kt_exchange *x)
{
    if (x->has_decision && x->decision.verdict == KT_ACT_BLOCK) {   /* model tier */
        respond_blocked(x, "request", "input_blocked");
        return;
    }
    kt__usage_prepare(x);   /* governance: stream usage the client did not ask for */
    kt__fo_plan(x);         /* failover: the candidates, and the first to try */
    if (!build_request(x)) return;
    x->gw->stats.proxied++;
    connect_upstream(x);
}

static void proxy_exchange(kt_exchange *x)
{
    if (!kt_route_method_allowed(kt_http_in_method(&x->c->in))) {
        method_not_allowed(x);
        return;
    }
    const kt_conn *c = x->c;
    const char *url = c->in.url.p;
    const char *q = memchr(url, '?', c->in.url.len);
    kt_str path = { url, q ? (size_t)(q - url) : c->in.url.len };
    x->query = (kt_str){ q ? q + 1 : "", q ? c->in.url.len - path.n - 1 : 0 };
    x->rest = (kt_str){ path.p + 3, path.n - 3 };   /* after "/v1" (the gateway routed on it) */
    if (!kt_route_path_allowed(x->cfg, path)) {
        path_not_forwarded(x);
        return;
    }
    x->api = kt_api_from_path(x->rest);
    if (!kt__gov_start(x)) return;   /* governance: the gateway key */
    if (x->cfg->nchain) {
        if (kt_decision_init(&x->decision, x->cfg)) {
            fail(x, 503, "unavailable", "internal_error", "out of memory");
            return;
        }
        x->has_decision = true;
    }
    kt__trace_input(x, true);   /* tracing: the input policies' span is the walk */
    read_body(x, &x->in);
    kt__trace_input(x, false);
    if (route(x)) kt__gov_admit(x);   /* governance: check and reserve, then kt__proxy_admitted */
}

void kt__proxy_admitted(kt_exchange *x)
{
    x->phase = KT_X_CHECK_INPUT;
    if (!apply_input(x, &x->in)) return;   /* answered: x may be gone (x_finish frees in.out) */
    kt_buf_free(&x->in.out);
    if (kt__model_start(x, forward)) {   /* model tier: wait for the classifiers */
        x->phase = KT_X_CLASSIFY_INPUT;
        return;
    }
    forward(x);
}

static void x_start(kt_conn *c)
{
    kt_gateway *gw = c->srv->owner;
    kt_exchange *x = kt_calloc(1, sizeof *x);
    if (!x) {
        kt_conn_error(c, 503, "unavailable", "internal_error", "out of memory");
        return;
    }
    c->x = x;
    x->c = c;
    x->gw = gw;
    x->cfg = kt_config_ref(gw->cfg);
    x->phase = KT_X_ROUTE;
    x->facts.stream = x->facts.include_usage = -1;
    x->facts.max_tokens = -1;
    kt_buf_init(&x->req_head, gw->limits.max_header_bytes + KT_REQ_HEAD_SLACK);
    kt_usage_init(&x->obs.usage);
    x->obs.t0_ns = uv_hrtime();
    kt__trace_begin(x);
    kt__audit_begin(x);   /* audit-logger: the input digest, before any redaction */
    proxy_exchange(x);
}

/* ---- the response ------------------------------------------------------------------------------ */

static void on_ready(void *owner, kt_upconn *up)
{
    kt_exchange *x = xof(owner);
    assert(x->phase == KT_X_CONNECT);
    x->up = up;
    if (up->t_connected_ns) x->obs.connect_ns = up->t_connected_ns - up->t_start_ns;
    if (up->use_tls && up->t_connected_ns) x->obs.tls_ns = up->t_ready_ns - up->t_connected_ns;
    send_request(x);
}

/* The response head towards the client, without framing headers unless `keep_length`, and
 * without the upstream's x-should-retry when kt sets its own (`own_hint`). */
static int build_head(int status, const kt_headers *hs, bool keep_length, bool own_hint,
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
        if (own_hint && kt_str_eq_ci(n, "x-should-retry")) continue;
        rc = kt_buf_append(b, n.p, n.n);
        if (!rc) rc = kt_buf_append(b, ": ", 2);
        if (!rc) rc = kt_buf_append(b, v.p, v.n);
        if (!rc) rc = kt_buf_append(b, "\r\n", 2);
    }
    return rc;
}

/* Ends a head built by build_head: the framing towards the client (chunked when the upstream
 * sent no length and the client speaks HTTP/1.1, else close-delimited) and Connection: close. */
static int end_head(kt_exchange *x, int status, bool has_length, kt_buf *b)
{
    kt_conn *c = x->c;
    int rc = KT_OK;
    bool bodyless = c->is_head || status == 204 || status == 304;
    if (!has_length && !bodyless) {
        if (kt_http_in_minor(&c->in) >= 1) {
            x->resp_chunked = true;
            rc = kt_buf_puts(b, "Transfer-Encoding: chunked\r\n");
        } else {
            c->close_after = true;   /* HTTP/1.0: the body ends when we close */
        }
    }
    if (c->srv->stopping) c->close_after = true;
    if (!rc && c->close_after) rc = kt_buf_puts(b, "Connection: close\r\n");
    if (!rc) rc = kt_buf_puts(b, "\r\n");
    return rc;
}

/* Sends a head (the whole of `b`) and counts a stream. A failed write closes the connection,
 * whose finish frees the exchange: the write is the last use of x. */
static int send_head(kt_exchange *x, const kt_buf *b)
{
    if (x->obs.stream && !x->counted_stream) {
        x->counted_stream = true;
        x->gw->stats.streams++;
    }
    return kt_conn_write(x->c, b->p, b->len, NULL, 0);
}

static int write_head(kt_exchange *x, int status, const kt_headers *hs, bool has_length)
{
    kt_buf b;
    kt_buf_init(&b, KT_HEAD_BUF_MAX);
    int rc = build_head(status, hs, has_length, kt__fo_sets_hint(x), &b);
    if (!rc) rc = kt__gov_headers(x, &b);   /* governance: x-ratelimit-* */
    if (!rc) rc = kt__fo_headers(x, &b);    /* failover: x-should-retry */
    if (!rc) rc = end_head(x, status, has_length, &b);
    if (!rc) rc = send_head(x, &b);
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

static void fail_response(kt_exchange *x, int status, const char *type, const char *code,
                          const char *msg)
{
    drop_upstream(x);
    x->c->close_after = true;
    fail(x, status, type, code, msg);
}

/* Enters RELAY_STREAM with a fresh stream filter. False (answered 503) when out of memory. */
static bool begin_stream(kt_exchange *x)
{
    x->sf = kt_calloc(1, sizeof *x->sf);
    if (!x->sf) {
        fail_response(x, 503, "unavailable", "internal_error", "out of memory");
        return false;
    }
    kt_buf_init(&x->sf_out, KT_STREAM_OUT_MAX);
    kt_stream_filter_init(x->sf, x->cfg, x->api, &x->decision, &x->sf_out);
    x->phase = KT_X_RELAY_STREAM;
    return true;
}

static void start_stream_filter(kt_exchange *x, int status, const kt_headers *hs)
{
    if (begin_stream(x)) write_head(x, status, hs, false);
}

static void on_head(void *owner, int status, const kt_headers *hs, bool has_length)
{
    kt_exchange *x = xof(owner);
    assert(x->phase == KT_X_WAIT_HEAD);   /* one head per attempt, after the request went out */
    if (kt_failover_on_status(&x->cfg->gateway.failover, status)) {
        if (kt__fo_failed(x, KT_ATTEMPT_STATUS, status)) {   /* nothing was sent: next target */
            kt__trace_attempt_end(x, status, NULL);   /* tracing: this attempt's span ends */
            KT_INFO("failover", "status %d: trying target %s", status, x->target->id);
            drop_upstream(x);
            if (build_request(x)) connect_upstream(x);
            return;
        }
    } else {
        kt__fo_settle(x, KT_ATTEMPT_OK, status);
    }
    /* No attempt follows an answered head: the request head (with the provider key) is not
     * needed while the body relays, often for minutes (2 KiB a stream). */
    kt_buf_wipe(&x->req_head);
    kt_buf_free(&x->req_head);
    kt_conn *c = x->c;
    c->resp_status = status;
    x->up_status = status;
    x->obs.up_head_ns = uv_hrtime();
    x->obs.stream = is_event_stream(hs);
    if (!x->obs.stream || status < 200 || status >= 300) x->usage_added = false;
    if (x->usage_added) has_length = false;   /* governance strips bytes: no length */
    kt_conn_cork(c);   /* head and body of this read leave in one write */
    /* Every body the model may have written is read, error bodies too (they echo prompts). */
    bool bodyless = c->is_head || status == 204 || status == 304;
    bool scan = !bodyless && (kt_chain_has(x->cfg, KT_DIR_OUTPUT) || x->gov_models_list);
    if (!scan) {
        x->phase = KT_X_RELAY_PASS;
        write_head(x, status, hs, has_length);
        return;
    }
    if (encoded(hs) && x->cfg->fail_open_output) {   /* fail_mode: open: out as it came */
        x->unscanned = "encoded_body";
        x->phase = KT_X_RELAY_PASS;
        write_head(x, status, hs, has_length);
        return;
    }
    if (encoded(hs)) {   /* policies read text: an encoding they cannot read fails closed */
        fail_response(x, 502, "upstream_error", "upstream_encoding",
                      "the upstream sent an encoded body that output policies cannot read");
        return;
    }
    if (x->obs.stream) {
        start_stream_filter(x, status, hs);
        return;
    }
    /* Anything else is buffered until its first bytes say what it is: SSE framing is
     * recognised by content, whatever the Content-Type says (SDKs read it either way). */
    x->phase = KT_X_RELAY_BUFFER;
    kt_buf_init(&x->resp_head, KT_HEAD_BUF_MAX);
    kt_buf_init(&x->resp_body, KT_MAX_SCANNED_RESPONSE);
    if (build_head(status, hs, false, kt__fo_sets_hint(x), &x->resp_head) ||
        kt__gov_headers(x, &x->resp_head) ||
        kt__fo_headers(x, &x->resp_head))
        fail_response(x, 502, "upstream_error", "upstream_protocol", "response head too large");
}

static void check_backpressure(kt_exchange *x)
{
    if (!x->up || x->up_paused) return;
    if (kt_conn_backlog(x->c) > x->gw->limits.max_response_buffer) {
        x->up_paused = true;
        kt_upconn_pause(x->up);
        kt_conn_set_stalled(x->c, true);
    }
}

static int send_body(kt_exchange *x, const char *data, size_t len)
{
    return x->resp_chunked ? kt_conn_write_chunk(x->c, data, len)
                           : kt_conn_write(x->c, data, len, NULL, 0);
}

static void end_blocked_stream(kt_exchange *x)
{
    KT_INFO("output_blocked", "stream cut by policy");
    drop_upstream(x);
    x->phase = KT_X_DONE;
    if (x->resp_chunked && kt_conn_write(x->c, "0\r\n\r\n", 5, NULL, 0)) return;
    if (!x->resp_chunked) x->c->close_after = true;
    kt_conn_finish(x->c);
}

/* Feeds the stream filter and sends what it let through. False when the exchange is over. */
static bool relay_stream(kt_exchange *x, const char *data, size_t len)
{
    kt_stream_filter_feed(x->sf, data, len);
    int rc = x->sf_out.len ? send_body(x, x->sf_out.p, x->sf_out.len) : 0;
    kt_buf_reset(&x->sf_out);
    if (rc) return false;
    if (x->sf->blocked) {
        end_blocked_stream(x);
        return false;
    }
    return true;
}

#define KT_BOM "\xEF\xBB\xBF"

/* 1 when a body starts like an event stream (after a BOM and blank lines, a line beginning with
 * an SSE field name and ':' or a ':' comment), 0 when it does not, -1 when more bytes are
 * needed to tell. */
static int sniff_sse(const char *p, size_t n)
{
    static const char *const fields[] = { "data:", "event:", "id:", "retry:", ":" };
    if (n < 3 && memcmp(p, KT_BOM, n) == 0) return -1;
    size_t i = n >= 3 && memcmp(p, KT_BOM, 3) == 0 ? 3 : 0;
    while (i < n && (p[i] == '\r' || p[i] == '\n')) i++;
    if (i == n) return -1;
    bool partial = false;
    for (size_t f = 0; f < KT_ARRAY_LEN(fields); f++) {
        size_t fl = strlen(fields[f]), have = KT_MIN(fl, n - i);
        if (memcmp(p + i, fields[f], have) != 0) continue;
        if (have == fl) return 1;
        partial = true;
    }
    return partial ? -1 : 0;
}

/* A buffered body turned out to be an event stream: send the head now and relay it through the
 * stream filter like one that said so. */
static void switch_to_stream(kt_exchange *x)
{
    if (!begin_stream(x)) return;
    x->obs.stream = true;
    kt_buf body = x->resp_body, head = x->resp_head;
    kt_buf_init(&x->resp_body, 0);
    kt_buf_init(&x->resp_head, 0);
    int rc = end_head(x, x->c->resp_status, false, &head);
    if (!rc) rc = send_head(x, &head);   /* may free x */
    kt_buf_free(&head);
    if (!rc && relay_stream(x, body.p, body.len)) check_backpressure(x);
    kt_buf_free(&body);
}

static void on_body(void *owner, const char *data, size_t len)
{
    kt_exchange *x = xof(owner);
    int status = x->c->resp_status;
    kt__audit_output(x, data, len);   /* audit-logger: the output digest */
    if (status >= 200 && status < 300) kt_usage_feed(&x->obs.usage, data, len);
    kt__trace_body(x, data, len);   /* tracing: response model, finish reasons */
    if (x->usage_added && !kt__usage_strip(x, &data, &len)) return;   /* governance */
    switch (x->phase) {
    case KT_X_RELAY_BUFFER:
        if (kt_buf_append(&x->resp_body, data, len)) {
            fail_response(x, 502, "upstream_error", "upstream_too_large",
                          "the response is larger than output policies can check");
            return;
        }
        if (!x->sniffed) {
            int sse = sniff_sse(x->resp_body.p, x->resp_body.len);
            x->sniffed = sse >= 0;
            if (sse == 1) switch_to_stream(x);
        }
        return;
    case KT_X_RELAY_STREAM:
        if (relay_stream(x, data, len)) check_backpressure(x);
        return;
    case KT_X_RELAY_PASS:
        if (!send_body(x, data, len)) check_backpressure(x);
        return;
    default:
        return;   /* no body before a head; none after the end */
    }
}

static void x_drained(kt_conn *c)
{
    kt_exchange *x = c->x;
    if (!x || !x->up_paused) return;
    x->up_paused = false;
    kt_conn_set_stalled(c, false);
    if (x->up) kt_upconn_resume(x->up);
}

/* Whether the body holds only JSON whitespace (an empty answer: nothing the model wrote). */
static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') return false;
    return true;
}

/* Sends the buffered answer: the head with its length, then `pre` (a BOM kept) and `body`. */
static void send_buffered(kt_exchange *x, const char *pre, size_t plen, const kt_buf *body)
{
    kt_conn *c = x->c;
    if (c->srv->stopping) c->close_after = true;
    int rc = kt_buf_printf(&x->resp_head, "Content-Length: %zu\r\n%s\r\n", plen + body->len,
                           c->close_after ? "Connection: close\r\n" : "");
    if (!rc && plen) rc = kt_buf_append(&x->resp_head, pre, plen);
    x->phase = KT_X_DONE;
    if (rc) {
        fail(x, 502, "upstream_error", "upstream_protocol", "response head too large");
        return;
    }
    if (!kt_conn_write(c, x->resp_head.p, x->resp_head.len, body->p, body->len)) kt_conn_finish(c);
}

/* A body output policies cannot read. Fail closed: 502. With gateway.fail_mode: open it goes out
 * as it came, and the event says it was not scanned. */
static void unreadable(kt_exchange *x)
{
    if (!x->cfg->fail_open_output) {
        KT_WARN("upstream_unreadable", "target %s: a %d body output policies cannot read",
                x->target ? x->target->id : "-", x->c->resp_status);
        fail(x, 502, "upstream_error", "upstream_protocol",
             "the upstream's response is not JSON or SSE that output policies can read");
        return;
    }
    x->unscanned = "unreadable_body";
    send_buffered(x, NULL, 0, &x->resp_body);
}

/* The output walk is over (the model tier's answers included): refuse, or send. */
static void send_output(kt_exchange *x, kt_buf *out, bool changed, size_t bom)
{
    if (x->decision.verdict == KT_ACT_BLOCK) respond_blocked(x, "response", "output_blocked");
    else if (changed) send_buffered(x, x->resp_body.p, bom, out);
    else send_buffered(x, NULL, 0, &x->resp_body);
    kt_buf_free(out);
}

static void resume_output(kt_exchange *x)
{
    kt_buf out;
    bool changed;
    size_t bom;
    kt__model_take(x, &out, &changed, &bom);
    send_output(x, &out, changed, bom);
}

static void finish_buffered(kt_exchange *x)
{
    kt__gov_filter_list(x);   /* governance: GET /v1/models */
    const char *p = x->resp_body.p ? x->resp_body.p : "";
    size_t n = x->resp_body.len;
    size_t bom = n >= 3 && memcmp(p, KT_BOM, 3) == 0 ? 3 : 0;   /* SDKs skip one; so do we */
    if (blank(p + bom, n - bom)) {
        send_buffered(x, NULL, 0, &x->resp_body);
        return;
    }
    kt_buf out;
    kt_buf_init(&out, KT_MAX_SCANNED_RESPONSE + KT_BODY_EDIT_SLACK);
    bool changed = false;
    kt_policy_walk w = { .cfg = x->cfg, .dir = KT_DIR_OUTPUT, .decision = &x->decision,
                         .cache = scan_cache(x) };
    int rc = kt__model_walk(x, KT_DIR_OUTPUT, &w);   /* model tier: collect undecided texts */
    if (!rc) rc = kt_policy_json_walk(&w, p + bom, n - bom, &out, &changed);
    if (rc == KT_EPARSE) {   /* not JSON: trailing bytes, invalid UTF-8, plain text */
        kt_buf_free(&out);
        unreadable(x);
        return;
    }
    if (rc && x->cfg->fail_open_output) {   /* fail_mode: open: a policy that failed */
        kt_buf_free(&out);
        x->unscanned = rc == KT_ELIMIT ? "too_large" : "policy_error";
        send_buffered(x, NULL, 0, &x->resp_body);
        return;
    }
    if (rc) {
        kt_buf_free(&out);
        fail(x, 502, "upstream_error", "upstream_unscannable",
             "the response could not be checked by output policies");
        return;
    }
    if (x->decision.verdict != KT_ACT_BLOCK && kt__model_start(x, resume_output)) {
        kt__model_keep(x, &out, changed, bom);   /* model tier: wait for the classifiers */
        x->phase = KT_X_CLASSIFY_OUTPUT;
        return;
    }
    send_output(x, &out, changed, bom);
}

static void on_done(void *owner)
{
    kt_exchange *x = xof(owner);
    kt_conn *c = x->c;
    x->obs.up_end_ns = uv_hrtime();
    drop_upstream(x);
    kt__trace_attempt_end(x, x->up_status, NULL);
    const char *rest = NULL;   /* governance: a last event held by the usage stripper */
    size_t nrest = 0;
    if (x->usage_added && kt__usage_strip(x, &rest, &nrest)) {
        if (x->phase == KT_X_RELAY_PASS && send_body(x, rest, nrest)) return;
        if (x->phase == KT_X_RELAY_STREAM) kt_stream_filter_feed(x->sf, rest, nrest);
        if (x->phase == KT_X_RELAY_BUFFER && kt_buf_append(&x->resp_body, rest, nrest)) {
            fail_response(x, 502, "upstream_error", "upstream_too_large",
                          "the response is larger than output policies can check");
            return;
        }
    }
    if (x->phase == KT_X_RELAY_BUFFER) {
        finish_buffered(x);
        return;
    }
    if (x->phase == KT_X_RELAY_STREAM) {
        kt_stream_filter_finish(x->sf);
        int rc = x->sf_out.len ? send_body(x, x->sf_out.p, x->sf_out.len) : 0;
        kt_buf_reset(&x->sf_out);
        if (rc) return;
    }
    x->phase = KT_X_DONE;
    if (x->resp_chunked && kt_conn_write(c, "0\r\n\r\n", 5, NULL, 0)) return;
    if (x->up_paused) {
        x->up_paused = false;
        kt_conn_set_stalled(c, false);
    }
    KT_DEBUG("proxied", "%s %s -> %s %d in %llu ms", kt_http_in_method_name(&c->in),
             x->target ? x->target->id : "-", x->target ? x->target->host : "-", c->resp_status,
             (unsigned long long)((uv_hrtime() - x->obs.t0_ns) / 1000000));
    kt_conn_finish(c);
}

static void on_error(void *owner, const char *code, const char *msg, bool retryable)
{
    kt_exchange *x = xof(owner);
    x->up = NULL;   /* the connection is gone */
    if (retryable && !x->retried && x->phase <= KT_X_WAIT_HEAD) {
        /* A pooled connection the upstream had already closed: one fresh attempt. */
        x->retried = true;
        connect_upstream(x);
        return;
    }
    x->gw->stats.upstream_errors++;
    x->obs.up_end_ns = uv_hrtime();
    kt__trace_attempt_end(x, x->up_status, code);
    KT_WARN("upstream_error", "target %s: %s: %s", x->target ? x->target->id : "-", code, msg);
    if (x->phase <= KT_X_WAIT_HEAD && kt__fo_failed(x, kt__fo_outcome_of(code), 0)) {
        KT_INFO("failover", "%s: trying target %s", code, x->target->id);
        if (build_request(x)) connect_upstream(x);
        return;
    }
    x->obs.up_end_ns = uv_hrtime();
    bool head_sent = x->phase == KT_X_RELAY_PASS || x->phase == KT_X_RELAY_STREAM;
    if (!head_sent) {
        fail_upstream(x, 502, code, msg);
        return;
    }
    if (x->phase == KT_X_RELAY_STREAM && !x->sf->blocked) {
        /* What was held back is still checked before the stream is cut. */
        kt_stream_filter_finish(x->sf);
        if (x->sf_out.len && send_body(x, x->sf_out.p, x->sf_out.len)) return;   /* closed */
        kt_buf_reset(&x->sf_out);
    }
    x->phase = KT_X_DONE;
    kt_conn_abort(x->c);   /* mid-response: the client sees a truncated body, never a fake end */
}

/* ---- the connection's side: abort and finish ------------------------------------------------ */

static void x_abort(kt_conn *c)
{
    kt_exchange *x = c->x;
    if (x) drop_upstream(x);
}

static void x_finish(kt_conn *c)
{
    kt_exchange *x = c->x;
    if (!x) return;
    c->x = NULL;
    drop_upstream(x);
    kt__model_free(x);   /* model tier: calls still out are detached */
    assert(!x->counted_stream || x->gw->stats.streams > 0);
    kt__gov_finish(x);   /* governance: settle */
    kt__fo_finish(x);    /* failover: a probe that never ended is let go */
    kt__exchange_report(x, c->state == KT_CONN_CLOSING);
    kt__trace_free(x);
    if (x->counted_stream) x->gw->stats.streams--;
    if (x->sf) {
        kt_stream_filter_free(x->sf);
        free(x->sf);
    }
    if (x->has_decision) kt_decision_free(&x->decision);
    kt_buf_free(&x->sf_out);
    kt_buf_free(&x->resp_head);
    kt_buf_free(&x->resp_body);
    kt_buf_wipe(&x->req_head);   /* it held the provider key */
    kt_buf_free(&x->req_head);
    kt_buf_free(&x->strip_pending);
    kt_buf_free(&x->strip_out);
    kt_buf_free(&x->in.out);   /* a client that left during KT_X_GOV_WAIT */
    kt_config_release(&x->cfg);
    free(x);
}

const kt_conn_handler kt_proxy_handler = { x_start, x_abort, x_drained, x_finish };
