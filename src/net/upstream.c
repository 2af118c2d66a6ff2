/* Upstream connections and their keep-alive pools. One connection serves one request at a time;
 * the owner hears about it through kt_upstream_handler and lets go with kt_upconn_release(). */
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2_priv.h"
#include "kt/log.h"
#include "kt/upstream.h"
#include "net_priv.h"

#define KT_UP_READ_BUF (64 * 1024)
#define KT_UP_MAX_HEADERS 200
#define KT_UP_MAX_HEADER_BYTES (64 * 1024)

typedef struct kt_up_wreq {
    uv_write_t req;
    kt_upconn *up;
    size_t len;
    char data[];
} kt_up_wreq;

static void up_fail(kt_upconn *up, const char *code, const char *msg, bool retryable);
static void up_parse(kt_upconn *up, const char *data, size_t len);
static const llhttp_settings_t kt__resp_settings;

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void up_free_if_done(kt_upconn *up)
{
    if (up->open_handles > 0 || up->gai_pending) return;
    kt_pool *pool = up->pool;
    pool->nconns--;
    pool->pools->nconns--;
    if (up->role == KT_UP_H2_CARRIER) kt__h2_carrier_free(up);
    if (up->use_tls) kt_tls_conn_free(&up->io->tls);
    kt_headers_free(&up->resp_headers);
    free(up);
}

static void on_handle_closed(uv_handle_t *h)
{
    kt_upconn *up = h->data;
    up->open_handles--;
    up_free_if_done(up);
}

static void idle_remove(kt_upconn *up)
{
    for (kt_upconn **pp = &up->pool->idle; *pp; pp = &(*pp)->next_idle) {
        if (*pp == up) {
            *pp = up->next_idle;
            up->next_idle = NULL;
            return;
        }
    }
}

static void up_close(kt_upconn *up)
{
    if (up->state == KT_UP_CLOSING) return;
    if (up->role == KT_UP_H2_CARRIER)
        kt__h2_carrier_lost(up, "upstream_closed", "the HTTP/2 connection closed");
    if (up->state == KT_UP_IDLE) idle_remove(up);
    up->state = KT_UP_CLOSING;
    up->h = NULL;
    up->owner = NULL;
    if (up->gai_pending) uv_cancel((uv_req_t *)&up->io->gai);
    uv_close((uv_handle_t *)&up->timer, on_handle_closed);
    if (up->tcp_inited) uv_close((uv_handle_t *)&up->io->tcp, on_handle_closed);
}

static void up_fail(kt_upconn *up, const char *code, const char *msg, bool retryable)
{
    const kt_upstream_handler *h = up->h;
    void *owner = up->owner;
    KT_DEBUG("upstream_fail", "%s:%u %s: %s", up->pool->host, up->pool->port, code, msg);
    if (up->role == KT_UP_H2_CARRIER) kt__h2_carrier_lost(up, code, msg);
    up_close(up);
    if (h) h->on_error(owner, code, msg, retryable);
}

/* ---- timers --------------------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
    kt_upconn *up = t->data;
    char msg[160];
    switch (up->state) {
    case KT_UP_IDLE:
        up_close(up);
        break;
    case KT_UP_RESOLVING:
    case KT_UP_CONNECTING:
    case KT_UP_HANDSHAKE:
        snprintf(msg, sizeof msg, "timed out connecting to %s:%u", up->pool->host, up->pool->port);
        up_fail(up, "upstream_connect", msg, false);
        break;
    case KT_UP_BUSY:
        if (up->role == KT_UP_H2_CARRIER) {
            kt__h2_carrier_timer(up);
            break;
        }
        snprintf(msg, sizeof msg, up->got_bytes ? "upstream %s:%u stalled mid-response"
                                                : "no response from upstream %s:%u in time",
                 up->pool->host, up->pool->port);
        up_fail(up, "upstream_timeout", msg, false);
        break;
    case KT_UP_CLOSING:
        break;
    }
}

static void arm(kt_upconn *up, uint32_t ms)
{
    /* Before the first response byte no timer runs past the owner's deadline. */
    if (up->deadline_ns && !up->got_bytes && up->state != KT_UP_IDLE) {
        uint64_t now = uv_hrtime();
        uint64_t left = up->deadline_ns > now ? (up->deadline_ns - now) / 1000000 : 0;
        if (left < ms) ms = left ? (uint32_t)left : 1;
    }
    uv_timer_start(&up->timer, on_timer, ms, 0);
}

/* ---- writing -------------------------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
    kt_up_wreq *w = (kt_up_wreq *)req;
    kt_upconn *up = w->up;
    mbedtls_platform_zeroize(w->data, w->len);   /* a plaintext request head holds the key */
    free(w);
    if (status < 0 && up->state != KT_UP_CLOSING) {
        char msg[160];
        snprintf(msg, sizeof msg, "write to upstream failed: %s", uv_strerror(status));
        up_fail(up, "upstream_closed", msg, up->reused && !up->got_bytes);
    }
}

static int up_write_raw(kt_upconn *up, const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen + blen == 0) return KT_OK;
    /* As for clients: write directly when the socket takes it all, queue only the rest. */
    if (kt__try_write2((uv_stream_t *)&up->io->tcp, &a, &alen, &b, &blen)) return KT_EIO;
    if (alen + blen == 0) return KT_OK;
    kt_up_wreq *w = kt_malloc(sizeof *w + alen + blen);
    if (!w) return KT_ENOMEM;
    w->up = up;
    w->len = alen + blen;
    memcpy(w->data, a, alen);
    if (blen) memcpy(w->data + alen, b, blen);
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)(alen + blen));
    int rc = uv_write(&w->req, (uv_stream_t *)&up->io->tcp, &buf, 1, on_written);
    if (rc) {
        mbedtls_platform_zeroize(w->data, w->len);
        free(w);
        return KT_EIO;
    }
    return KT_OK;
}

static int tls_flush(kt_upconn *up)
{
    if (!up->io->tls.out.len) return KT_OK;
    int rc = up_write_raw(up, up->io->tls.out.p, up->io->tls.out.len, NULL, 0);
    kt_buf_reset(&up->io->tls.out);
    return rc;
}

int kt_upconn_send(kt_upconn *up, const char *head, size_t hlen, const char *body, size_t blen,
                   bool no_body)
{
    if (up->role == KT_UP_H2_STREAM) return kt__h2_send(up, head, hlen, body, blen);
    llhttp_init(&up->io->parser, HTTP_RESPONSE, &kt__resp_settings);
    up->io->parser.data = up;
    kt_headers_reset(&up->resp_headers);
    up->status = 0;
    up->head_seen = up->done = up->got_bytes = false;
    up->no_body = no_body;
    int rc;
    if (up->use_tls) {
        rc = kt_tls_write2(&up->io->tls, head, hlen, body, blen);
        if (!rc) rc = tls_flush(up);
    } else {
        rc = up_write_raw(up, head, hlen, body, blen);
    }
    if (rc) return rc;
    arm(up, up->pool->pools->lim->upstream_first_byte_timeout_ms);
    return KT_OK;
}

/* ---- response parsing ----------------------------------------------------------------------- */

static kt_upconn *self(llhttp_t *p) { return (kt_upconn *)p->data; }

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    return kt_headers_add_name(&self(p)->resp_headers, at, n) ? HPE_USER : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    return kt_headers_add_value(&self(p)->resp_headers, at, n) ? HPE_USER : 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    return kt_headers_value_done(&self(p)->resp_headers) ? HPE_USER : 0;
}

static int on_headers_complete(llhttp_t *p)
{
    kt_upconn *up = self(p);
    up->status = p->status_code;
    if (up->status < 200) {
        if (up->status == 101) return HPE_USER;
        return 0;   /* informational: skipped, the final response follows */
    }
    up->head_seen = true;
    bool has_length = kt_headers_find(&up->resp_headers, "content-length", 0) >= 0;
    if (up->h) up->h->on_head(up->owner, up->status, &up->resp_headers, has_length);
    if (up->state == KT_UP_CLOSING) return HPE_USER;
    return up->no_body ? 1 : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    kt_upconn *up = self(p);
    if (up->h) up->h->on_body(up->owner, at, n);
    return up->state == KT_UP_CLOSING ? HPE_USER : 0;
}

static int on_message_complete(llhttp_t *p)
{
    kt_upconn *up = self(p);
    if (up->status < 200) {
        kt_headers_reset(&up->resp_headers);
        return 0;
    }
    up->done = true;
    up->keep_alive = llhttp_should_keep_alive(p) != 0;
    return HPE_PAUSED;
}

static const llhttp_settings_t kt__resp_settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void finish_response(kt_upconn *up)
{
    uv_timer_stop(&up->timer);
    if (up->h) up->h->on_done(up->owner);
}

static void up_parse(kt_upconn *up, const char *data, size_t len)
{
    up->got_bytes = true;
    if (!up->paused) arm(up, up->pool->pools->lim->upstream_idle_timeout_ms);
    llhttp_errno_t e = llhttp_execute(&up->io->parser, data, len);
    if (up->state == KT_UP_CLOSING) return;
    if (e == HPE_OK) return;
    if (e == HPE_PAUSED && up->done) {
        if ((size_t)(llhttp_get_error_pos(&up->io->parser) - data) != len) up->keep_alive = false;
        finish_response(up);
        return;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "malformed response from upstream: %s", llhttp_errno_name(e));
    up_fail(up, "upstream_protocol", msg, false);
}

static void up_eof(kt_upconn *up, int status)
{
    char msg[160];
    if (up->state == KT_UP_IDLE) {
        up_close(up);
        return;
    }
    /* A body that ends with the connection is whole only if the close is authenticated: over TLS
     * that is close_notify, and a bare TCP FIN (truncation, or a crashed front end) is an error. */
    bool clean_close = status == UV_EOF && (!up->use_tls || up->io->tls.closed);
    if (up->state == KT_UP_BUSY && up->head_seen && !up->done &&
        llhttp_message_needs_eof(&up->io->parser) && clean_close) {
        up->keep_alive = false;
        if (llhttp_finish(&up->io->parser) == HPE_OK || up->done) {
            up->done = true;
            finish_response(up);
            return;
        }
    }
    if (up->state == KT_UP_HANDSHAKE) {
        snprintf(msg, sizeof msg, "upstream %s:%u closed the connection during the TLS handshake",
                 up->pool->host, up->pool->port);
        up_fail(up, "upstream_tls", msg, false);
        return;
    }
    snprintf(msg, sizeof msg, "upstream %s:%u closed the connection%s (%s)", up->pool->host,
             up->pool->port, up->got_bytes ? " mid-response" : " before responding",
             status == UV_EOF && up->use_tls && !up->io->tls.closed ? "TCP FIN without TLS close_notify"
                                                                : uv_strerror(status));
    up_fail(up, "upstream_closed", msg, up->reused && !up->got_bytes);
}

/* ---- TLS ------------------------------------------------------------------------------------ */

static void became_ready(kt_upconn *up)
{
    up->t_ready_ns = uv_hrtime();
    up->state = KT_UP_BUSY;
    uv_timer_stop(&up->timer);
    if (up->h) up->h->on_ready(up->owner, up);
}

/* Keeps the connection's session for later connections to the same origin; a failed export
 * (mbedTLS 3 exports each session once) keeps the pool's previous one. */
static void save_session(kt_upconn *up)
{
    if (!up->io->tls.session_ready) return;
    up->io->tls.session_ready = false;
    kt_pool *pool = up->pool;
    mbedtls_ssl_session s;
    mbedtls_ssl_session_init(&s);
    if (kt_tls_save_session(&up->io->tls, &s) != KT_OK) {
        mbedtls_ssl_session_free(&s);
        return;
    }
    if (pool->has_session) mbedtls_ssl_session_free(&pool->session);
    pool->session = s;
    pool->has_session = true;
}

static void do_handshake(kt_upconn *up)
{
    char err[300];
    int rc = kt_tls_handshake(&up->io->tls, err, sizeof err);
    if (tls_flush(up)) {
        up_fail(up, "upstream_tls", "cannot write to upstream", false);
        return;
    }
    if (rc == KT_TLS_WANT) return;
    if (rc) {
        char msg[400];
        snprintf(msg, sizeof msg, "TLS to %s:%u failed: %s", up->pool->host, up->pool->port, err);
        up_fail(up, "upstream_tls", msg, false);
        return;
    }
    save_session(up);
    kt_pool *pool = up->pool;
    if (pool->http2 != KT_HTTP2_OFF) {
        bool h2 = kt_tls_alpn_h2(&up->io->tls);
        if (!h2 && pool->http2 == KT_HTTP2_ON) {
            snprintf(err, sizeof err, "%s:%u did not negotiate HTTP/2 (http2: on)", pool->host,
                     pool->port);
            up_fail(up, "upstream_protocol", err, false);
            return;
        }
        up->t_ready_ns = uv_hrtime();
        if (kt__h2_handshake_done(up, h2)) return;
    }
    became_ready(up);
}

static void tls_pump(kt_upconn *up, char *scratch, size_t cap)
{
    if (up->state == KT_UP_HANDSHAKE) {
        do_handshake(up);
        if (up->state != KT_UP_BUSY) return;
    }
    while (up->state == KT_UP_BUSY && !up->done) {
        int n = kt_tls_read(&up->io->tls, scratch, cap);
        save_session(up);
        if (tls_flush(up)) {
            up_fail(up, "upstream_tls", "cannot write to upstream", false);
            return;
        }
        if (n < 0) {
            up_fail(up, "upstream_tls", "TLS error while reading the response", false);
            return;
        }
        if (n == 0) {
            if (up->io->tls.closed) up_eof(up, UV_EOF);
            return;
        }
        if (up->role == KT_UP_H2_CARRIER) kt__h2_input(up, scratch, (size_t)n);
        else up_parse(up, scratch, (size_t)n);
    }
}

/* ---- reading -------------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    kt_upconn *up = h->data;
    kt_pools *ps = up->pool->pools;
    (void)suggested;
    /* One read buffer for all upstream connections: the loop is single-threaded and every read
     * is consumed (copied into TLS input, or parsed) before the read callback returns. */
    if (!ps->rbuf) ps->rbuf = kt_malloc(KT_UP_READ_BUF);
    *buf = uv_buf_init(ps->rbuf, ps->rbuf ? KT_UP_READ_BUF : 0);
}

static void handle_read(kt_upconn *up, ssize_t nread, const uv_buf_t *buf);

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    kt_upconn *up = s->data;
    handle_read(up, nread, buf);
    if (up->h && up->h->on_flush) up->h->on_flush(up->owner);
}

static void handle_read(kt_upconn *up, ssize_t nread, const uv_buf_t *buf)
{
    if (up->state == KT_UP_CLOSING || nread == 0) return;
    if (nread < 0) {
        up_eof(up, (int)nread);
        return;
    }
    if (up->state == KT_UP_IDLE) {   /* unsolicited bytes on an idle connection */
        up_close(up);
        return;
    }
    if (!up->use_tls) {
        up_parse(up, buf->base, (size_t)nread);
        return;
    }
    if (kt_tls_feed(&up->io->tls, buf->base, (size_t)nread)) {
        up_fail(up, "upstream_tls", "TLS input buffer overflow", false);
        return;
    }
    /* The ciphertext now lives in the TLS input: the read buffer is free for plaintext. */
    tls_pump(up, buf->base, KT_UP_READ_BUF);
}

void kt_upconn_pause(kt_upconn *up)
{
    if (up->role == KT_UP_H2_STREAM) {
        kt__h2_pause(up);
        return;
    }
    if (up->paused || up->state != KT_UP_BUSY) return;
    up->paused = true;
    uv_read_stop((uv_stream_t *)&up->io->tcp);
    uv_timer_stop(&up->timer);
}

void kt_upconn_resume(kt_upconn *up)
{
    if (up->role == KT_UP_H2_STREAM) {
        kt__h2_resume(up);
        return;
    }
    if (!up->paused || up->state != KT_UP_BUSY) return;
    up->paused = false;
    uv_read_start((uv_stream_t *)&up->io->tcp, on_alloc, on_read);
    arm(up, up->pool->pools->lim->upstream_idle_timeout_ms);
    /* Records already decrypted-but-unread stay inside mbedTLS: drain them now, since no socket
     * event will announce them. */
    kt_pools *ps = up->pool->pools;
    if (up->use_tls && kt_tls_pending(&up->io->tls)) {
        if (!ps->rbuf) ps->rbuf = kt_malloc(KT_UP_READ_BUF);
        if (!ps->rbuf) {
            up_fail(up, "upstream_protocol", "out of memory", false);
            return;
        }
        tls_pump(up, ps->rbuf, KT_UP_READ_BUF);
    }
}

/* ---- connecting ----------------------------------------------------------------------------- */

static void on_connected(uv_connect_t *req, int status)
{
    kt_upconn *up = req->data;
    if (up->state == KT_UP_CLOSING) return;
    if (status < 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "cannot connect to %s:%u: %s", up->pool->host, up->pool->port,
                 uv_strerror(status));
        up_fail(up, "upstream_connect", msg, false);
        return;
    }
    up->t_connected_ns = uv_hrtime();
    uv_read_start((uv_stream_t *)&up->io->tcp, on_alloc, on_read);
    if (!up->use_tls) {
        became_ready(up);
        return;
    }
    up->state = KT_UP_HANDSHAKE;
    kt_pool *pool = up->pool;
    if (kt_tls_conn_init(&up->io->tls, pool->pools->tls, pool->host,
                         pool->has_session ? &pool->session : NULL,
                         pool->http2 != KT_HTTP2_OFF)) {
        up_fail(up, "upstream_tls", "cannot set up TLS", false);
        return;
    }
    do_handshake(up);
}

static const struct sockaddr *pick_addr(const struct addrinfo *res)
{
    /* Prefer IPv4: "localhost" often resolves to ::1 first while servers bind 127.0.0.1. */
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) return a->ai_addr;
    return res ? res->ai_addr : NULL;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    kt_upconn *up = req->data;
    up->gai_pending = false;
    if (up->state == KT_UP_CLOSING) {
        if (res) uv_freeaddrinfo(res);
        up_free_if_done(up);
        return;
    }
    char msg[200];
    const struct sockaddr *addr = status == 0 ? pick_addr(res) : NULL;
    if (!addr) {
        snprintf(msg, sizeof msg, "cannot resolve %s: %s", up->pool->host,
                 status ? uv_strerror(status) : "no address");
        if (res) uv_freeaddrinfo(res);
        up_fail(up, "upstream_connect", msg, false);
        return;
    }
    uv_tcp_init(up->pool->pools->loop, &up->io->tcp);
    up->io->tcp.data = up;
    up->tcp_inited = true;
    up->open_handles++;
    uv_tcp_nodelay(&up->io->tcp, 1);
    up->state = KT_UP_CONNECTING;
    up->io->connect_req.data = up;
    int rc = uv_tcp_connect(&up->io->connect_req, &up->io->tcp, addr, on_connected);
    uv_freeaddrinfo(res);
    if (rc) {
        snprintf(msg, sizeof msg, "cannot connect to %s:%u: %s", up->pool->host, up->pool->port,
                 uv_strerror(rc));
        up_fail(up, "upstream_connect", msg, false);
    }
}

/* ---- pools ---------------------------------------------------------------------------------- */

void kt_pools_init(kt_pools *ps, uv_loop_t *loop, kt_tls_ctx *tls, const kt_limits *lim)
{
    memset(ps, 0, sizeof *ps);
    ps->loop = loop;
    ps->tls = tls;
    ps->lim = lim;
}

static kt_pool *pool_get(kt_pools *ps, const kt_target *t)
{
    for (kt_pool *p = ps->head; p; p = p->next)
        if (p->port == t->port && p->tls == t->tls && p->http2 == t->http2 &&
            strcmp(p->host, t->host) == 0)
            return p;
    kt_pool *p = kt_calloc(1, sizeof *p);
    if (!p) return NULL;
    p->host = kt_strdup(t->host);
    if (!p->host) {
        free(p);
        return NULL;
    }
    p->port = t->port;
    p->tls = t->tls;
    p->http2 = t->tls ? t->http2 : KT_HTTP2_OFF;
    p->pools = ps;
    p->next = ps->head;
    ps->head = p;
    return p;
}

/* A connection and its I/O state in one allocation. */
typedef struct kt_up_alloc {
    kt_upconn up;
    kt_up_io io;
} kt_up_alloc;

static int up_new(kt_pool *pool, kt_upconn **out)
{
    kt_pools *ps = pool->pools;
    kt_up_alloc *a = kt_calloc(1, sizeof *a);
    if (!a) return KT_ENOMEM;
    kt_upconn *up = &a->up;
    up->io = &a->io;
    if (kt_headers_init(&up->resp_headers, KT_UP_MAX_HEADERS, KT_UP_MAX_HEADER_BYTES)) {
        kt_headers_free(&up->resp_headers);
        free(up);
        return KT_ENOMEM;
    }
    up->pool = pool;
    up->use_tls = pool->tls;
    up->t_start_ns = uv_hrtime();
    pool->nconns++;
    ps->nconns++;
    uv_timer_init(ps->loop, &up->timer);
    up->timer.data = up;
    up->open_handles = 1;
    up->state = KT_UP_RESOLVING;
    up->io->gai.data = up;
    char port[8];
    snprintf(port, sizeof port, "%u", pool->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    arm(up, ps->lim->upstream_connect_timeout_ms);
    int rc = uv_getaddrinfo(ps->loop, &up->io->gai, on_resolved, pool->host, port, &hints);
    if (rc) {
        up_close(up);
        return KT_EIO;
    }
    up->gai_pending = true;
    *out = up;
    return KT_OK;
}

void kt_upconn_set_deadline(kt_upconn *up, uint64_t deadline_ns)
{
    up->deadline_ns = deadline_ns;
    if (up->state == KT_UP_RESOLVING || up->state == KT_UP_CONNECTING ||
        up->state == KT_UP_HANDSHAKE)
        arm(up, up->pool->pools->lim->upstream_connect_timeout_ms);
}

int kt_upstream_acquire(kt_pools *ps, const kt_target *t, const kt_upstream_handler *h,
                        void *owner, kt_upconn **out)
{
    kt_pool *pool = pool_get(ps, t);
    if (!pool) return KT_ENOMEM;
    /* HTTP/2 once the origin chose it (auto), or from the start (on). While the protocol is not
     * known yet, a connection offers both and its owner gets whichever the origin picks. */
    if (pool->http2 == KT_HTTP2_ON || (pool->http2 == KT_HTTP2_AUTO &&
                                       pool->proto == KT_POOL_PROTO_H2))
        return kt__h2_acquire(pool, h, owner, out);
    kt_upconn *up = pool->idle;
    if (up) {
        pool->idle = up->next_idle;
        up->next_idle = NULL;
        uv_timer_stop(&up->timer);
        up->state = KT_UP_BUSY;
        up->reused = true;
        up->h = h;
        up->owner = owner;
        *out = up;
        return 1;   /* ready now: the caller sends at once */
    }
    if (pool->nconns >= ps->lim->upstream_pool_max) return KT_ELIMIT;
    int rc = up_new(pool, &up);
    if (rc) return rc;
    up->h = h;
    up->owner = owner;
    *out = up;
    return KT_OK;
}

void kt_upconn_release(kt_upconn *up)
{
    if (up->role == KT_UP_H2_STREAM) {
        kt__h2_release(up);
        return;
    }
    if (up->role == KT_UP_H2_CARRIER) {
        kt__h2_carrier_release(up);
        return;
    }
    if (up->state == KT_UP_CLOSING) return;
    up->h = NULL;
    up->owner = NULL;
    bool reusable = up->state == KT_UP_BUSY && up->done && up->keep_alive &&
                    !up->pool->pools->closing && !(up->use_tls && up->io->tls.closed);
    if (!reusable) {
        up_close(up);
        return;
    }
    up->state = KT_UP_IDLE;
    up->reused = true;
    up->deadline_ns = 0;
    if (up->paused) {
        up->paused = false;
        uv_read_start((uv_stream_t *)&up->io->tcp, on_alloc, on_read);
    }
    up->next_idle = up->pool->idle;
    up->pool->idle = up;
    arm(up, up->pool->pools->lim->upstream_pool_idle_ms);
}

void kt_pools_close(kt_pools *ps)
{
    ps->closing = true;
    for (kt_pool *p = ps->head; p; p = p->next) {
        while (p->idle) up_close(p->idle);
        kt__h2_pool_closing(p);
    }
}

/* ---- for h2.c --------------------------------------------------------------------------------- */

int kt__up_new(kt_pool *pool, kt_upconn **out) { return up_new(pool, out); }
void kt__up_close(kt_upconn *up) { up_close(up); }
int kt__up_tls_flush(kt_upconn *up) { return tls_flush(up); }
void kt__up_arm(kt_upconn *up, uint32_t ms) { arm(up, ms); }

void kt__up_idle(kt_upconn *up)
{
    uv_timer_stop(&up->timer);
    up->h = NULL;
    up->owner = NULL;
    up->state = KT_UP_IDLE;
    up->next_idle = up->pool->idle;
    up->pool->idle = up;
    arm(up, up->pool->pools->lim->upstream_pool_idle_ms);
}

void kt_pools_free(kt_pools *ps)
{
    kt_pool *p = ps->head;
    while (p) {
        kt_pool *next = p->next;
        if (p->has_session) mbedtls_ssl_session_free(&p->session);
        free(p->host);
        free(p);
        p = next;
    }
    ps->head = NULL;
    free(ps->rbuf);
    ps->rbuf = NULL;
}
