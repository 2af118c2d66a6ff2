/* Listener and client connection lifecycle: accept, read, parse, dispatch, write, time out, close.
 * A connection is freed only after both of its handles have closed. The request itself is answered
 * by the handler the owner's route hook picks (kt/conn.h); this file never names one. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/common.h"
#include "kt/conn.h"
#include "kt/log.h"
#include "net_priv.h"

#define KT_READ_BUF (64 * 1024)
#define KT_PENDING_MAX (1u << 20)
#define KT_PENDING_PAUSE (64u * 1024)
#define KT_LINGER_MS 2000
#define KT_REFUSAL_LOG_MS 10000   /* at most one "connection_refused" line per 10 s */
/* A waiting connection younger than this is not closed to keep the budget of waiting ones: a
 * burst of real clients is accepted before any of their heads is read. */
#define KT_EVICT_MIN_AGE_MS 100

typedef struct kt_wreq {
    uv_write_t req;
    kt_conn *c;
    char data[];
} kt_wreq;

static void conn_process(kt_conn *c);
static void pending_del(kt_conn *c);
static void conn_close(kt_conn *c);
static void start_reading(kt_conn *c);

static uint32_t lim_ms(uint32_t v) { return v ? v : 1; }

/* ---- connections waiting for a request head, oldest first ---------------------------------- */

static void pending_add(kt_conn *c)
{
    kt_server *s = c->srv;
    if (c->pending_listed) return;
    c->pending_listed = true;
    c->pending_since_ms = uv_now(s->loop);
    c->pprev = s->pend_tail;
    c->pnext = NULL;
    if (s->pend_tail) s->pend_tail->pnext = c;
    else s->pend_head = c;
    s->pend_tail = c;
    s->npending++;
}

static void pending_del(kt_conn *c)
{
    kt_server *s = c->srv;
    if (!c->pending_listed) return;
    c->pending_listed = false;
    if (c->pprev) c->pprev->pnext = c->pnext;
    else s->pend_head = c->pnext;
    if (c->pnext) c->pnext->pprev = c->pprev;
    else s->pend_tail = c->pprev;
    c->pprev = c->pnext = NULL;
    s->npending--;
}

/* ---- closing -------------------------------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    kt_conn *c = h->data;
    if (--c->open_handles > 0) return;
    kt_server *s = c->srv;
    if (c->prev) c->prev->next = c->next;
    else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    s->nclosing--;
    kt_buf_free(&c->wq);
    kt_http_in_free(&c->in);
    kt_buf_free(&c->pending);
    free(c);
    s->conn_gone(s->owner);
}

/* The handler's finish, once per request; `c->x` belongs to the handler until then. */
static void end_request(kt_conn *c)
{
    const kt_conn_handler *h = c->h;
    if (!h) return;
    c->h = NULL;
    c->srv->stats.active--;
    h->finish(c);
    assert(c->x == NULL);
}

static void conn_close(kt_conn *c)
{
    if (c->state == KT_CONN_CLOSING) return;
    c->state = KT_CONN_CLOSING;
    c->srv->nclosing++;
    pending_del(c);
    if (c->h) c->h->abort(c);
    end_request(c);
    uv_close((uv_handle_t *)&c->timer, on_closed);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void kt_conn_abort(kt_conn *c) { conn_close(c); }

static void on_timer(uv_timer_t *t)
{
    kt_conn *c = t->data;
    switch (c->state) {
    case KT_CONN_READ_HEAD:
    case KT_CONN_READ_BODY:
        if (!c->in.started) {       /* idle keep-alive connection, or nothing sent at all */
            conn_close(c);
            return;
        }
        KT_INFO("client_timeout", "request %s not received in time; closing",
                c->state == KT_CONN_READ_HEAD ? "head" : "body");
        c->close_after = true;
        c->state = KT_CONN_BUSY;
        kt_conn_error(c, 408, "validation_error", "request_timeout",
                      "the request was not received in time");
        return;
    case KT_CONN_BUSY:              /* client stopped reading a response for too long */
        KT_INFO("client_stalled", "client did not read the response in time; closing");
        conn_close(c);
        return;
    case KT_CONN_FLUSHING:
        conn_close(c);
        return;
    case KT_CONN_CLOSING:
        return;
    }
}

static void arm(kt_conn *c, uint32_t ms) { uv_timer_start(&c->timer, on_timer, lim_ms(ms), 0); }

static void on_shutdown(uv_shutdown_t *req, int status)
{
    kt_conn *c = req->data;
    (void)status;
    if (c->state != KT_CONN_FLUSHING) return;
    /* Lingering close: keep reading (and discarding) briefly so the peer sees our response
     * instead of a reset caused by unread input. */
    arm(c, KT_LINGER_MS);
    start_reading(c);
}

static void conn_flush_and_close(kt_conn *c)
{
    if (c->state == KT_CONN_CLOSING || c->state == KT_CONN_FLUSHING) return;
    c->state = KT_CONN_FLUSHING;
    c->shutdown_req.data = c;
    arm(c, c->srv->limits->idle_timeout_ms);
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown)) conn_close(c);
}

/* ---- writing -------------------------------------------------------------------------------- */

size_t kt_conn_backlog(const kt_conn *c) { return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp); }

static void on_written(uv_write_t *req, int status)
{
    kt_wreq *w = (kt_wreq *)req;
    kt_conn *c = w->c;
    free(w);
    if (c->state == KT_CONN_CLOSING) return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->h && c->h->drained && kt_conn_backlog(c) <= c->srv->limits->max_response_buffer / 2)
        c->h->drained(c);
}

#define KT_CORK_MAX (256u * 1024)

void kt_conn_cork(kt_conn *c)
{
    if (!c->wq.max) kt_buf_init(&c->wq, KT_CORK_MAX);
    c->corked = true;
}

static int write_now(kt_conn *c, const char *a, size_t alen, const char *b, size_t blen);

int kt_conn_uncork(kt_conn *c)
{
    if (!c->corked) return KT_OK;
    c->corked = false;
    if (!c->wq.len) return KT_OK;
    int rc = write_now(c, c->wq.p, c->wq.len, NULL, 0);
    kt_buf_reset(&c->wq);
    if (c->wq.cap > 64 * 1024) kt_buf_free(&c->wq);
    return rc;
}

static int corked_append(kt_conn *c, const char *a, size_t alen, const char *b, size_t blen)
{
    if (c->wq.len + alen + blen > KT_CORK_MAX) {
        int rc = kt_conn_uncork(c);
        c->corked = true;
        if (rc) return rc;
        if (alen + blen > KT_CORK_MAX) {
            c->corked = false;
            rc = write_now(c, a, alen, b, blen);
            c->corked = true;
            return rc;
        }
    }
    int rc = kt_buf_append(&c->wq, a, alen);
    if (!rc && blen) rc = kt_buf_append(&c->wq, b, blen);
    if (rc) conn_close(c);
    return rc;
}

int kt_conn_write(kt_conn *c, const char *a, size_t alen, const char *b, size_t blen)
{
    if (c->state == KT_CONN_CLOSING) return KT_EIO;
    if (alen + blen == 0) return KT_OK;
    if (c->corked) return corked_append(c, a, alen, b, blen);
    return write_now(c, a, alen, b, blen);
}

static int write_now(kt_conn *c, const char *a, size_t alen, const char *b, size_t blen)
{
    /* Straight to the socket when it takes everything: no request, no copy, and no watcher
     * re-arm (which libuv does after every queued write). The rest, if any, is queued. */
    if (kt__try_write2((uv_stream_t *)&c->tcp, &a, &alen, &b, &blen)) {
        conn_close(c);
        return KT_EIO;
    }
    if (alen + blen == 0) return KT_OK;
    kt_wreq *w = kt_malloc(sizeof *w + alen + blen);
    if (!w) {
        conn_close(c);
        return KT_ENOMEM;
    }
    w->c = c;
    memcpy(w->data, a, alen);
    if (blen) memcpy(w->data + alen, b, blen);
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)(alen + blen));
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written)) {
        free(w);
        conn_close(c);
        return KT_EIO;
    }
    return KT_OK;
}

int kt_conn_write_chunk(kt_conn *c, const char *data, size_t len)
{
    if (len == 0) return KT_OK;   /* an empty chunk would end the body */
    if (c->state == KT_CONN_CLOSING) return KT_EIO;
    char pre[24];
    int n = snprintf(pre, sizeof pre, "%zx\r\n", len);
    bool was_corked = c->corked;
    kt_conn_cork(c);   /* size line, data and CRLF leave together */
    int rc = corked_append(c, pre, (size_t)n, data, len);
    if (!rc) rc = corked_append(c, "\r\n", 2, NULL, 0);
    if (!rc && !was_corked) rc = kt_conn_uncork(c);
    return rc;
}

void kt_conn_set_stalled(kt_conn *c, bool stalled)
{
    if (c->state != KT_CONN_BUSY) return;
    if (stalled) arm(c, c->srv->limits->idle_timeout_ms);
    else uv_timer_stop(&c->timer);
}

void kt_conn_respond(kt_conn *c, int status, const char *ctype, const char *body, size_t blen,
                     const char *extra)
{
    char head[1024];
    if (c->srv->stopping) c->close_after = true;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n%s%s\r\n",
                     status, kt_http_reason(status), ctype, blen, extra ? extra : "",
                     c->close_after ? "Connection: close\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof head) {
        conn_close(c);
        return;
    }
    c->resp_status = status;
    if (kt_conn_write(c, head, (size_t)n, c->is_head ? NULL : body, c->is_head ? 0 : blen)) return;
    kt_conn_finish(c);
}

void kt_conn_error(kt_conn *c, int status, const char *type, const char *code, const char *msg)
{
    kt_conn_error_policy(c, status, type, code, msg, NULL);
}

void kt_conn_error_policy(kt_conn *c, int status, const char *type, const char *code,
                          const char *msg, const char *policy)
{
    kt_conn_error_ex(c, status, type, code, msg, policy, NULL);
}

void kt_conn_error_ex(kt_conn *c, int status, const char *type, const char *code, const char *msg,
                      const char *policy, const char *extra)
{
    char mem[1024];
    kt_buf b = { mem, 0, sizeof mem, sizeof mem - 1 };
    kt_buf_puts(&b, "{\"error\":{\"type\":");
    kt_buf_json_str(&b, type, strlen(type));
    kt_buf_puts(&b, ",\"code\":");
    kt_buf_json_str(&b, code, strlen(code));
    kt_buf_puts(&b, ",\"message\":");
    kt_buf_json_str(&b, msg, strlen(msg));
    kt_buf_puts(&b, ",\"policy\":");
    if (policy) kt_buf_json_str(&b, policy, strlen(policy));
    else kt_buf_puts(&b, "null");
    kt_buf_puts(&b, "}}");
    if (status >= 400 && status < 500) c->srv->stats.rejected++;
    snprintf(c->resp_code, sizeof c->resp_code, "%s", code);
    char lines[256];
    snprintf(lines, sizeof lines, "%s%s", status == 503 ? "Retry-After: 1\r\n" : "",
             extra ? extra : "");
    kt_conn_respond(c, status, "application/json", b.p, b.len, lines[0] ? lines : NULL);
}

/* ---- request dispatch ----------------------------------------------------------------------- */

/* A complete request: the owner picks its handler and the handler answers it. When it answers at
 * once (kt_conn_respond -> kt_conn_finish) we are still inside conn_process's loop: kt_conn_finish
 * then only resets the parser, and the loop itself goes on with any pipelined request, so a
 * synchronous answer never re-enters the loop (in_process guards that). When it answers later
 * (an upstream callback), kt_conn_finish starts the loop over the pending bytes itself. */
static void dispatch(kt_conn *c)
{
    kt_server *s = c->srv;
    c->state = KT_CONN_BUSY;
    pending_del(c);
    uv_timer_stop(&c->timer);
    s->stats.requests++;
    s->stats.active++;
    c->is_head = kt_http_in_method(&c->in) == HTTP_HEAD;
    c->close_after = !c->in.keep_alive || s->stopping;
    c->resp_status = 0;
    c->resp_code[0] = '\0';
    c->h = s->route(s->owner, c);
    assert(c->h && c->x == NULL);
    c->h->start(c);
}

void kt_conn_finish(kt_conn *c)
{
    if (c->state == KT_CONN_CLOSING || c->state == KT_CONN_FLUSHING) return;
    if (kt_conn_uncork(c)) return;
    end_request(c);
    if (c->close_after || c->srv->stopping) {
        conn_flush_and_close(c);
        return;
    }
    kt_http_in_next(&c->in);
    c->state = KT_CONN_READ_HEAD;
    pending_add(c);
    c->continue_sent = false;
    c->head_timer_armed = false;
    arm(c, c->srv->limits->idle_timeout_ms);
    start_reading(c);
    if (c->pending.len && !c->in_process) conn_process(c);
}

static void reject(kt_conn *c)
{
    KT_INFO("request_rejected", "%d %s: %s", c->in.err_status, c->in.err_code, c->in.err_msg);
    c->close_after = true;
    c->state = KT_CONN_BUSY;
    uv_timer_stop(&c->timer);
    kt_conn_error(c, c->in.err_status, "validation_error", c->in.err_code, c->in.err_msg);
}

static void after_progress(kt_conn *c)
{
    const kt_limits *lim = c->srv->limits;
    if (c->in.started && !c->head_timer_armed) {
        c->head_timer_armed = true;
        arm(c, lim->header_timeout_ms);
    }
    if (c->in.head_done && c->state == KT_CONN_READ_HEAD) {
        c->state = KT_CONN_READ_BODY;
        pending_del(c);
        arm(c, lim->body_timeout_ms);
        if (c->in.expect_continue && !c->continue_sent) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            c->continue_sent = true;
            kt_conn_write(c, cont, sizeof cont - 1, NULL, 0);
        }
    }
}

static void conn_process(kt_conn *c)
{
    c->in_process = true;
    while ((c->state == KT_CONN_READ_HEAD || c->state == KT_CONN_READ_BODY) && c->pending.len) {
        size_t used = 0;
        int rc = kt_http_in_feed(&c->in, c->pending.p, c->pending.len, &used);
        kt_buf_consume(&c->pending, used);
        if (rc == KT_HTTP_IN_ERROR) {
            kt_buf_reset(&c->pending);
            reject(c);
        } else if (rc == KT_HTTP_IN_DONE) {
            dispatch(c);
        } else {
            after_progress(c);
        }
    }
    c->in_process = false;
}

/* ---- reading -------------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    kt_conn *c = h->data;
    (void)suggested;
    kt_server *s = c->srv;
    if (!s->read_buf) s->read_buf = kt_malloc(KT_READ_BUF);
    *buf = uv_buf_init(s->read_buf, s->read_buf ? KT_READ_BUF : 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    kt_conn *c = s->data;
    if (nread == 0 || c->state == KT_CONN_CLOSING) return;
    if (nread < 0) {
        conn_close(c);   /* EOF or error: in BUSY this aborts the upstream exchange too */
        return;
    }
    if (c->state == KT_CONN_FLUSHING) return;   /* lingering: discard */
    if (kt_buf_append(&c->pending, buf->base, (size_t)nread)) {
        conn_close(c);
        return;
    }
    if (c->state == KT_CONN_BUSY) {
        /* Pipelined bytes wait for the current response; stop reading past a bound. */
        if (c->pending.len > KT_PENDING_PAUSE) {
            uv_read_stop(s);
            c->reading = false;
        }
        return;
    }
    conn_process(c);
}

static void start_reading(kt_conn *c)
{
    if (c->reading) return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = true;
}

/* ---- accepting ------------------------------------------------------------------------------ */

/* The cap on connections that have not sent a complete request head: silent or slow
 * connections cannot take the room real requests need (see on_connection). */
static uint32_t pending_max(const kt_server *s)
{
    uint32_t m = s->limits->max_idle_connections;
    return m ? m : KT_MAX(s->limits->max_connections / 2, 1u);
}

/* Refusals are logged once per interval, with how many there were. */
static void note_refusal(kt_server *s)
{
    uint64_t now = uv_now(s->loop);
    s->refused_unlogged++;
    if (s->refused_logged_ms && now - s->refused_logged_ms < KT_REFUSAL_LOG_MS) return;
    KT_WARN("connection_refused", "connection cap %u reached; %llu connection(s) refused since the "
            "last report", s->limits->max_connections, (unsigned long long)s->refused_unlogged);
    s->refused_logged_ms = now;
    s->refused_unlogged = 0;
}

static void refuse(kt_conn *c)
{
    c->close_after = true;
    c->state = KT_CONN_BUSY;
    pending_del(c);
    note_refusal(c->srv);
    kt_conn_error(c, 503, "unavailable", "overloaded", "too many connections; retry shortly");
}

/* Makes room by closing the oldest connection still waiting for a request head (never `keep`;
 * with `min_age_ms`, only one that has waited that long). Returns whether one was closed. */
static bool evict_oldest_pending(kt_server *s, const kt_conn *keep, uint64_t min_age_ms)
{
    kt_conn *old = s->pend_head;
    if (old == keep) old = old ? old->pnext : NULL;
    if (!old || uv_now(s->loop) - old->pending_since_ms < min_age_ms) return false;
    s->stats.evicted++;
    conn_close(old);
    return true;
}

static void on_connection(uv_stream_t *server, int status)
{
    kt_server *s = server->data;
    if (status < 0) return;
    kt_conn *c = kt_calloc(1, sizeof *c);
    if (!c) return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    kt_buf_init(&c->pending, KT_PENDING_MAX);
    int rc = kt_http_in_init(&c->in, s->limits);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) || rc) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->state = KT_CONN_READ_HEAD;
    pending_add(c);
    /* Connections that sent no complete head yet have a budget of their own, and give way
     * (oldest first) when the total cap is reached: 1,024 silent sockets cannot keep a real
     * client out until header_timeout. */
    while (s->npending > pending_max(s) && evict_oldest_pending(s, c, KT_EVICT_MIN_AGE_MS)) {
    }
    if (s->nconns - s->nclosing > s->limits->max_connections && !evict_oldest_pending(s, c, 0)) {
        refuse(c);
        return;
    }
    arm(c, s->limits->header_timeout_ms);
    c->head_timer_armed = true;
    start_reading(c);
}

static int parse_hostport(const char *hp, char *host, size_t hlen, int *port)
{
    const char *colon = strrchr(hp, ':');
    if (!colon || colon == hp) return KT_EINVAL;
    const char *h = hp;
    size_t n = (size_t)(colon - hp);
    if (h[0] == '[' && n >= 2 && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= hlen) return KT_EINVAL;
    memcpy(host, h, n);
    host[n] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535 || end == colon + 1) return KT_EINVAL;
    *port = (int)p;
    return KT_OK;
}

int kt_server_listen(kt_server *s, const char *hostport, char *err, size_t errlen)
{
    char host[64];
    int port;
    struct sockaddr_storage ss;
    if (parse_hostport(hostport, host, sizeof host, &port)) {
        snprintf(err, errlen, "invalid listen address '%s' (expected HOST:PORT)", hostport);
        return KT_EINVAL;
    }
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss)) {
        snprintf(err, errlen, "invalid listen host '%s' (expected an IP address)", host);
        return KT_EINVAL;
    }
    uv_tcp_init(s->loop, &s->listener);
    s->listener.data = s;
    s->listening = true;
    int rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (!rc) rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    if (rc) {
        snprintf(err, errlen, "cannot listen on %s: %s", hostport, uv_strerror(rc));
        return KT_EIO;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
    char ip[64] = "";
    if (bound.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof ip);
        snprintf(s->listen_addr, sizeof s->listen_addr, "[%s]:%d", ip,
                 ntohs(((struct sockaddr_in6 *)&bound)->sin6_port));
    } else {
        uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof ip);
        snprintf(s->listen_addr, sizeof s->listen_addr, "%s:%d", ip,
                 ntohs(((struct sockaddr_in *)&bound)->sin_port));
    }
    return KT_OK;
}

void kt_server_init(kt_server *s, uv_loop_t *loop, const kt_limits *limits)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->limits = limits;
}

void kt_server_free(kt_server *s)
{
    free(s->read_buf);
    s->read_buf = NULL;
}

void kt_server_stop_accepting(kt_server *s)
{
    if (!s->listening) return;
    s->listening = false;
    uv_close((uv_handle_t *)&s->listener, NULL);
}

void kt_server_close_idle(kt_server *s)
{
    for (kt_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == KT_CONN_READ_HEAD && !c->in.started) conn_close(c);
    }
}

void kt_server_close_all(kt_server *s)
{
    for (kt_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c);
    }
}

/* ---- libuv write helper shared with the upstream side (net_priv.h) ------------------------------- */

int kt__try_write2(uv_stream_t *s, const char **a, size_t *alen, const char **b, size_t *blen)
{
    uv_buf_t bufs[2] = { uv_buf_init((char *)*a, (unsigned)*alen),
                         uv_buf_init((char *)*b, (unsigned)*blen) };
    int n = uv_try_write(s, bufs, *blen ? 2 : 1);
    if (n < 0) return n == UV_EAGAIN ? 0 : n;
    size_t done = (size_t)n, skip_a = KT_MIN(done, *alen);
    *a += skip_a;
    *alen -= skip_a;
    if (*blen) {
        *b += done - skip_a;
        *blen -= done - skip_a;
    }
    return 0;
}
