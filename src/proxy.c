/* Proxying one request: route, build the upstream request, relay the response as it arrives with
 * backpressure (a slow client pauses upstream reads), and turn upstream failures into 502s. */
#include <stdio.h>
#include <string.h>

#include "kt/conn.h"
#include "kt/log.h"
#include "kt/router.h"

static void on_ready(void *owner, kt_upconn *up);
static void on_head(void *owner, int status, const kt_headers *hs, bool has_length);
static void on_body(void *owner, const char *data, size_t len);
static void on_done(void *owner);
static void on_error(void *owner, const char *code, const char *msg, bool retryable);

static const kt_upstream_handler kt__proxy_handler = { on_ready, on_head, on_body, on_done,
                                                       on_error };

static void send_request(kt_conn *c)
{
    const kt_buf *body = &c->in.body;
    if (kt_upconn_send(c->up, c->req_head.p, c->req_head.len, body->p, body->len, c->is_head)) {
        kt_upconn *up = c->up;
        c->up = NULL;
        kt_upconn_release(up);
        kt_conn_error(c, 502, "upstream_error", "upstream_closed", "cannot send to the upstream");
    }
}

static void connect_upstream(kt_conn *c)
{
    kt_upconn *up = NULL;
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
    int method = kt_http_in_method(&c->in);
    bool send_length = c->in.body.len > 0 || method == HTTP_POST || method == HTTP_PUT ||
                       method == HTTP_PATCH;
    if (kt_build_upstream_head(t, kt_http_in_method_name(&c->in), rest, query, hs,
                               c->in.body.len, send_length, &c->req_head)) {
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
    send_request(c);
}

static int write_head(kt_conn *c, int status, const kt_headers *hs, bool has_length)
{
    kt_buf b;
    kt_buf_init(&b, 256 * 1024);
    int rc = kt_buf_printf(&b, "HTTP/1.1 %d %s\r\n", status, kt_http_reason(status));
    for (uint32_t i = 0; i < hs->n && !rc; i++) {
        kt_str n = kt_headers_name(hs, i), v = kt_headers_value(hs, i);
        if (kt_http_is_hop_by_hop(hs, n)) continue;
        if (!has_length && kt_str_eq_ci(n, "content-length")) continue;
        rc = kt_buf_append(&b, n.p, n.n);
        if (!rc) rc = kt_buf_append(&b, ": ", 2);
        if (!rc) rc = kt_buf_append(&b, v.p, v.n);
        if (!rc) rc = kt_buf_append(&b, "\r\n", 2);
    }
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

static void on_head(void *owner, int status, const kt_headers *hs, bool has_length)
{
    kt_conn *c = conn_of(owner);
    c->resp_status = status;
    c->resp_started = true;
    write_head(c, status, hs, has_length);
}

static void on_body(void *owner, const char *data, size_t len)
{
    kt_conn *c = conn_of(owner);
    int rc = c->resp_chunked ? kt_conn_write_chunk(c, data, len)
                             : kt_conn_write(c, data, len, NULL, 0);
    if (rc || !c->up) return;
    if (!c->up_paused && kt_conn_backlog(c) > c->gw->limits.max_response_buffer) {
        c->up_paused = true;
        kt_upconn_pause(c->up);
        kt_conn_set_stalled(c, true);
    }
}

void kt_proxy_client_drained(kt_conn *c)
{
    if (!c->up_paused) return;
    c->up_paused = false;
    kt_conn_set_stalled(c, false);
    if (c->up) kt_upconn_resume(c->up);
}

static void on_done(void *owner)
{
    kt_conn *c = conn_of(owner);
    kt_upconn *up = c->up;
    c->up = NULL;
    if (up) kt_upconn_release(up);
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
    if (retryable && !c->retried && !c->resp_started) {
        /* A pooled connection the upstream had already closed: one fresh attempt. */
        c->retried = true;
        connect_upstream(c);
        return;
    }
    c->gw->stats.upstream_errors++;
    KT_WARN("upstream_error", "target %s: %s: %s", c->target ? c->target->id : "-", code, msg);
    if (!c->resp_started) {
        kt_conn_error(c, 502, "upstream_error", code, msg);
        return;
    }
    kt_conn_abort(c);   /* mid-response: the client sees a truncated body, never a fake end */
}

void kt_proxy_abort(kt_conn *c)
{
    kt_upconn *up = c->up;
    c->up = NULL;
    if (up) kt_upconn_release(up);
}
