/* HTTP/2 to the provider (nghttp2 does the framing, HPACK and flow-control bookkeeping). One
 * session per TLS connection multiplexes the requests of many clients; each request is a stream
 * kt_upconn its owner drives like an HTTP/1.1 connection (a head, body bytes, done or error), so
 * the proxy, its policies and streaming do not know which protocol carried the response.
 *
 * Flow control follows the client: DATA is credited back to the connection at once (one slow
 * client never stalls the others) but to the stream only while its owner is not paused, so a
 * client that stops reading stops its stream after one window (KT_H2_STREAM_WINDOW).
 * GOAWAY drains: the session takes no new stream, the streams the server refused fail
 * retryable (the proxy retries them on a new connection), the others finish. RST_STREAM maps
 * to the upstream error kinds of the HTTP/1.1 path. */
#include <mbedtls/platform_util.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2_priv.h"
#include "kt/log.h"
#include "net_priv.h"

#define KT_H2_STREAM_WINDOW (256 * 1024)        /* per stream: what a stalled client may hold */
#define KT_H2_CONN_WINDOW (16 * 1024 * 1024)    /* per connection: credited back at once */
#define KT_H2_MAX_STREAMS 256                   /* per session, under the peer's own limit */
#define KT_H2_MAX_HEADER_LIST (64 * 1024)
#define KT_H2_UP_MAX_HEADERS 200
#define KT_H2_UP_MAX_HEADER_BYTES (64 * 1024)
#define KT_H2_WBUF (16 * 1024)                  /* frames gathered into one TLS record */
#define KT_H2_PING_MS 10000    /* an idle session is pinged this often (or 3 times per pool idle) */

/* nghttp2 1.60 replaced the ssize_t API by nghttp2_ssize ("2" functions) and deprecated the old
 * one (Debian 12 ships 1.52, Debian 13 1.64). */
#if NGHTTP2_VERSION_NUM >= 0x013c00
typedef nghttp2_ssize kt__ngssize;
typedef nghttp2_data_provider2 kt__ngdata;
#define KT__NG_MEM_RECV nghttp2_session_mem_recv2
#define KT__NG_MEM_SEND nghttp2_session_mem_send2
#define KT__NG_SUBMIT nghttp2_submit_request2
#else
typedef ssize_t kt__ngssize;
typedef nghttp2_data_provider kt__ngdata;
#define KT__NG_MEM_RECV nghttp2_session_mem_recv
#define KT__NG_MEM_SEND nghttp2_session_mem_send
#define KT__NG_SUBMIT nghttp2_submit_request
#endif

struct kt_h2 {
    kt_h2 *next;            /* the pool's sessions */
    kt_pool *pool;
    kt_upconn *carrier;
    nghttp2_session *ng;    /* NULL until the handshake chose h2 */
    kt_upconn *streams;     /* streams on this session (waiting for it, or submitted) */
    uint32_t nstreams;      /* all of them */
    uint32_t nactive;       /* those submitted (or about to be): at most stream_cap() */
    int busy;               /* inside nghttp2 or a batch: flush at the end instead */
    bool ready;             /* h2 negotiated, the preface sent */
    bool settled;           /* the peer's first SETTINGS arrived: its stream limit is known */
    bool settle_due;        /* ... inside nghttp2: waiters are readied after it returns */
    bool readying;          /* inside ready_waiters */
    /* The stream of the owner whose HTTP/1.1 connection became this session's carrier: until
     * its on_ready that owner still holds the carrier (and may release it: kt__h2_carrier_release). */
    kt_upconn *adopted;
    uint64_t idle_since;    /* uv_now() when the last stream left */
    bool ping_out;          /* a PING is unanswered */
    bool goaway;            /* no new streams (GOAWAY received or sent) */
    bool dead;              /* the carrier is gone */
    kt_buf wbuf;            /* frames not yet encrypted */
};

static void stream_fail(kt_upconn *s, const char *code, const char *msg, bool retryable);
static void session_flush(kt_h2 *h2);

/* ---- the pool's list -------------------------------------------------------------------------- */

static void pool_unlink(kt_h2 *h2)
{
    for (kt_h2 **pp = &h2->pool->h2; *pp; pp = &(*pp)->next)
        if (*pp == h2) {
            *pp = h2->next;
            h2->next = NULL;
            return;
        }
}

static uint32_t stream_cap(const kt_h2 *h2)
{
    if (!h2->ng || !h2->settled) return KT_H2_MAX_STREAMS;
    uint32_t peer = nghttp2_session_get_remote_settings(h2->ng,
                                                        NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return peer < KT_H2_MAX_STREAMS ? peer : KT_H2_MAX_STREAMS;
}

static bool has_room(const kt_h2 *h2)
{
    return !h2->goaway && !h2->dead && h2->nstreams < stream_cap(h2);
}

/* ---- streams ---------------------------------------------------------------------------------- */

static void stream_closed_cb(uv_handle_t *h)
{
    kt_upconn *s = h->data;
    kt_headers_free(&s->resp_headers);
    free(s);
}

static void list_add(kt_h2 *h2, kt_upconn *s)
{
    s->h2 = h2;
    s->h2_prev = NULL;
    s->h2_next = h2->streams;
    if (h2->streams) h2->streams->h2_prev = s;
    h2->streams = s;
    h2->nstreams++;
}

static void list_remove(kt_upconn *s)
{
    kt_h2 *h2 = s->h2;
    if (!h2) return;
    if (s->h2_prev) s->h2_prev->h2_next = s->h2_next;
    else h2->streams = s->h2_next;
    if (s->h2_next) s->h2_next->h2_prev = s->h2_prev;
    s->h2_prev = s->h2_next = NULL;
    s->h2 = NULL;
    h2->nstreams--;
}

static void stream_timer(uv_timer_t *t);
static void ready_waiters(kt_h2 *h2);

/* No stream left: the carrier's timer pings the peer every KT_H2_PING_MS (a session whose PING is
 * not answered by the next one is closed, so no request is put on a dead connection) and closes
 * the session after upstream_pool_idle. */
static uint32_t ping_interval(const kt_h2 *h2)
{
    return KT_MIN((uint32_t)KT_H2_PING_MS, h2->pool->pools->lim->upstream_pool_idle_ms / 3 + 1);
}

static void session_idle(kt_h2 *h2)
{
    h2->idle_since = uv_now(h2->pool->pools->loop);
    h2->ping_out = false;
    kt__up_arm(h2->carrier, ping_interval(h2));
}

/* A new stream, waiting (KT_UP_CONNECTING) until ready_waiters() gives it a place. */
static kt_upconn *stream_new(kt_h2 *h2, const kt_upstream_handler *h, void *owner)
{
    kt_upconn *s = kt_calloc(1, sizeof *s);
    if (!s) return NULL;
    if (kt_headers_init(&s->resp_headers, KT_H2_UP_MAX_HEADERS, KT_H2_UP_MAX_HEADER_BYTES)) {
        kt_headers_free(&s->resp_headers);
        free(s);
        return NULL;
    }
    s->role = KT_UP_H2_STREAM;
    s->pool = h2->pool;
    s->use_tls = true;
    s->h = h;
    s->owner = owner;
    s->t_start_ns = uv_hrtime();
    uv_timer_init(h2->pool->pools->loop, &s->timer);
    s->timer.data = s;
    s->open_handles = 1;
    s->state = KT_UP_CONNECTING;
    s->reused = h2->settled;
    list_add(h2, s);
    return s;
}

/* The stream leaves its session (and nghttp2 forgets it); no handler call after this. */
static void stream_detach(kt_upconn *s, uint32_t rst_code)
{
    kt_h2 *h2 = s->h2;
    if (h2 && h2->ng && s->sid > 0) {
        nghttp2_session_set_stream_user_data(h2->ng, s->sid, NULL);
        if (rst_code != (uint32_t)-1 && !s->done)
            nghttp2_submit_rst_stream(h2->ng, NGHTTP2_FLAG_NONE, s->sid, rst_code);
        if (s->paused && s->unconsumed)   /* what the stream held back is the connection's too */
            nghttp2_session_consume_stream(h2->ng, s->sid, s->unconsumed);
    }
    if (h2 && s->state == KT_UP_BUSY) h2->nactive--;
    if (h2 && h2->adopted == s) h2->adopted = NULL;
    list_remove(s);
    s->state = KT_UP_CLOSING;
    s->h = NULL;
    s->owner = NULL;
    uv_close((uv_handle_t *)&s->timer, stream_closed_cb);
    if (!h2) return;
    if (!h2->nstreams && !h2->dead) {
        if (h2->goaway || h2->pool->pools->closing) kt__up_close(h2->carrier);
        else if (h2->ready) session_idle(h2);
    }
    if (!h2->dead && h2->nstreams > h2->nactive) ready_waiters(h2);
    if (!h2->dead) session_flush(h2);
}

static void stream_fail(kt_upconn *s, const char *code, const char *msg, bool retryable)
{
    const kt_upstream_handler *h = s->h;
    void *owner = s->owner;
    KT_DEBUG("upstream_fail", "%s:%u h2 stream %d %s: %s", s->pool->host, s->pool->port,
             (int)(s->sid < 0 ? -s->sid : s->sid), code, msg);
    stream_detach(s, NGHTTP2_CANCEL);
    if (h) h->on_error(owner, code, msg, retryable);
}

static void stream_timer(uv_timer_t *t)
{
    kt_upconn *s = t->data;
    if (s->state != KT_UP_BUSY) return;
    char msg[160];
    snprintf(msg, sizeof msg, s->got_bytes ? "upstream %s:%u stalled mid-response"
                                           : "no response from upstream %s:%u in time",
             s->pool->host, s->pool->port);
    stream_fail(s, "upstream_timeout", msg, false);
}

static void stream_arm(kt_upconn *s, uint32_t ms)
{
    uv_timer_start(&s->timer, stream_timer, ms, 0);
}

static kt_upconn *stream_of(nghttp2_session *ng, int32_t sid)
{
    return sid > 0 ? nghttp2_session_get_stream_user_data(ng, sid) : NULL;
}

/* ---- writing ---------------------------------------------------------------------------------- */

static int wbuf_out(kt_h2 *h2)
{
    if (!h2->wbuf.len) return KT_OK;
    int rc = kt_tls_write(&h2->carrier->io->tls, h2->wbuf.p, h2->wbuf.len);
    kt_buf_wipe(&h2->wbuf);   /* header blocks carry the provider key as a literal */
    kt_buf_reset(&h2->wbuf);
    return rc;
}

static void session_lost(kt_h2 *h2, const char *code, const char *msg)
{
    kt_upconn *c = h2->carrier;
    kt__h2_carrier_lost(c, code, msg);
    kt__up_close(c);
}

/* Serialises what nghttp2 has to send, encrypts it and writes it to the socket. */
static void session_flush(kt_h2 *h2)
{
    if (h2->busy || h2->dead || !h2->ng) return;
    h2->busy++;
    int rc = KT_OK;
    for (;;) {
        const uint8_t *data;
        kt__ngssize n = KT__NG_MEM_SEND(h2->ng, &data);
        if (n < 0) {
            rc = KT_EIO;
            break;
        }
        if (n == 0) break;
        if (h2->wbuf.len + (size_t)n > KT_H2_WBUF && (rc = wbuf_out(h2))) break;
        if ((size_t)n > KT_H2_WBUF) rc = kt_tls_write(&h2->carrier->io->tls, (const char *)data,
                                                      (size_t)n);
        else rc = kt_buf_append(&h2->wbuf, data, (size_t)n);
        if (rc) break;
    }
    if (!rc) rc = wbuf_out(h2);
    if (!rc) rc = kt__up_tls_flush(h2->carrier);
    h2->busy--;
    if (rc) {
        session_lost(h2, "upstream_closed", "cannot write to the upstream");
        return;
    }
    if (!nghttp2_session_want_read(h2->ng) && !nghttp2_session_want_write(h2->ng))
        session_lost(h2, "upstream_closed", "the upstream ended the HTTP/2 session");
}

/* ---- nghttp2 callbacks ------------------------------------------------------------------------ */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    (void)ud;
    kt_upconn *s = stream_of(ng, f->hd.stream_id);
    if (s && f->hd.type == NGHTTP2_HEADERS && !s->head_seen) kt_headers_reset(&s->resp_headers);
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    kt_upconn *s = stream_of(ng, f->hd.stream_id);
    if (!s || s->head_seen) return 0;   /* trailers are dropped, as over HTTP/1.1 */
    if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
        int st = 0;
        for (size_t i = 0; i < vlen && i < 3; i++) st = st * 10 + (value[i] - '0');
        s->status = st;
        return 0;
    }
    if (nlen && name[0] == ':') return 0;
    kt_headers *hs = &s->resp_headers;
    if (kt_headers_add_name(hs, (const char *)name, nlen) ||
        kt_headers_add_value(hs, (const char *)value, vlen) || kt_headers_value_done(hs))
        stream_fail(s, "upstream_protocol", "malformed response from upstream: head too large",
                    false);
    return 0;
    return 0;
}

static void stream_done(kt_upconn *s)
{
    s->done = true;
    uv_timer_stop(&s->timer);
    if (s->h) s->h->on_done(s->owner);
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    kt_h2 *h2 = ud;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        h2->goaway = true;
        KT_DEBUG("upstream_goaway", "%s:%u GOAWAY last stream %d error %u", h2->pool->host,
                 h2->pool->port, (int)f->goaway.last_stream_id, f->goaway.error_code);
        return 0;
    }
    if (f->hd.type == NGHTTP2_PING && (f->hd.flags & NGHTTP2_FLAG_ACK)) {
        h2->ping_out = false;
        return 0;
    }
    if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK) && !h2->settled) {
        h2->settled = true;
        h2->settle_due = true;
        return 0;
    }
    kt_upconn *s = stream_of(ng, f->hd.stream_id);
    if (!s || s->state != KT_UP_BUSY) return 0;
    if (f->hd.type == NGHTTP2_HEADERS && !s->head_seen) {
        if (s->status < 200) {   /* informational: skipped, the final response follows */
            kt_headers_reset(&s->resp_headers);
            s->status = 0;
            return 0;
        }
        s->head_seen = true;
        s->got_bytes = true;
        s->flush_pending = true;
        if (!s->paused) stream_arm(s, s->pool->pools->lim->upstream_idle_timeout_ms);
        bool has_length = kt_headers_find(&s->resp_headers, "content-length", 0) >= 0;
        if (s->h) s->h->on_head(s->owner, s->status, &s->resp_headers, has_length);
        if (s->state != KT_UP_BUSY) return 0;
    }
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM) && s->head_seen && !s->done)
        stream_done(s);
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t sid, const uint8_t *data,
                         size_t len, void *ud)
{
    (void)flags;
    (void)ud;
    nghttp2_session_consume_connection(ng, len);
    kt_upconn *s = stream_of(ng, sid);
    if (!s) {
        nghttp2_session_consume_stream(ng, sid, len);
        return 0;
    }
    if (s->state != KT_UP_BUSY || !s->head_seen) return 0;
    if (s->paused) s->unconsumed += len;
    else nghttp2_session_consume_stream(ng, sid, len);
    s->got_bytes = true;
    s->flush_pending = true;
    if (!s->paused) stream_arm(s, s->pool->pools->lim->upstream_idle_timeout_ms);
    if (s->h) s->h->on_body(s->owner, (const char *)data, len);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t sid, uint32_t error_code, void *ud)
{
    (void)ud;
    kt_upconn *s = stream_of(ng, sid);
    if (!s || s->state != KT_UP_BUSY) return 0;
    nghttp2_session_set_stream_user_data(ng, sid, NULL);
    s->sid = -sid;   /* nghttp2 forgot it (negative: kept for the log only) */
    if (s->done) return 0;
    char msg[200];
    if (error_code == NGHTTP2_NO_ERROR) {
        snprintf(msg, sizeof msg, "upstream %s:%u ended the stream %s", s->pool->host,
                 s->pool->port, s->head_seen ? "mid-response" : "without a response");
        stream_fail(s, "upstream_closed", msg, false);
        return 0;
    }
    snprintf(msg, sizeof msg, "upstream %s:%u reset the stream (%s)%s", s->pool->host,
             s->pool->port, nghttp2_http2_strerror(error_code),
             s->got_bytes ? " mid-response" : "");
    /* REFUSED_STREAM (also every stream a GOAWAY excluded) promises the request was not
     * processed: safe to send again. */
    bool refused = error_code == NGHTTP2_REFUSED_STREAM && !s->got_bytes;
    const char *code = error_code == NGHTTP2_PROTOCOL_ERROR ||
                       error_code == NGHTTP2_COMPRESSION_ERROR ||
                       error_code == NGHTTP2_FRAME_SIZE_ERROR
                           ? "upstream_protocol" : "upstream_closed";
    stream_fail(s, code, msg, refused);
    return 0;
}

static kt__ngssize read_body(nghttp2_session *ng, int32_t sid, uint8_t *buf, size_t len,
                             uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    (void)src;
    (void)ud;
    kt_upconn *s = stream_of(ng, sid);
    if (!s || !s->body) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;   /* its owner left */
    size_t n = KT_MIN(len, s->body_len - s->body_off);
    memcpy(buf, s->body + s->body_off, n);
    s->body_off += n;
    if (s->body_off == s->body_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (kt__ngssize)n;
}

/* ---- the session ------------------------------------------------------------------------------ */

static int session_start(kt_h2 *h2)
{
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    if (nghttp2_session_callbacks_new(&cb)) return KT_ENOMEM;
    if (nghttp2_option_new(&opt)) {
        nghttp2_session_callbacks_del(cb);
        return KT_ENOMEM;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_send_header_block_length(opt, KT_H2_MAX_HEADER_LIST + 4096);
    int rc = nghttp2_session_client_new2(&h2->ng, cb, h2, opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    if (rc) return KT_ENOMEM;
    const nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
        { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, KT_H2_MAX_STREAMS },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, KT_H2_STREAM_WINDOW },
        { NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, KT_H2_MAX_HEADER_LIST },
    };
    if (nghttp2_submit_settings(h2->ng, NGHTTP2_FLAG_NONE, iv, KT_ARRAY_LEN(iv)) ||
        nghttp2_session_set_local_window_size(h2->ng, NGHTTP2_FLAG_NONE, 0, KT_H2_CONN_WINDOW))
        return KT_ENOMEM;
    h2->ready = true;
    return KT_OK;
}

static kt_h2 *session_new(kt_pool *pool, kt_upconn *carrier)
{
    kt_h2 *h2 = kt_calloc(1, sizeof *h2);
    if (!h2) return NULL;
    h2->pool = pool;
    h2->carrier = carrier;
    kt_buf_init(&h2->wbuf, KT_H2_WBUF);
    carrier->role = KT_UP_H2_CARRIER;
    carrier->h2 = h2;
    h2->next = pool->h2;
    pool->h2 = h2;
    return h2;
}

static kt_upconn *first_waiter(kt_h2 *h2)
{
    kt_upconn *s = h2->streams;
    while (s && s->state != KT_UP_CONNECTING) s = s->h2_next;
    return s;
}

/* Waiters beyond the peer's stream limit move to another session with room (a new one while the
 * pool may open connections); the rest wait here for a stream to end. */
static void spill(kt_h2 *h2)
{
    uint32_t cap = stream_cap(h2);
    while (h2->nstreams > cap && !h2->dead) {
        kt_upconn *s = first_waiter(h2);
        if (!s) return;
        kt_h2 *o = h2->pool->h2;
        while (o && (o == h2 || !has_room(o))) o = o->next;
        if (!o) {
            kt_upconn *c = NULL;
            if (h2->pool->nconns >= h2->pool->pools->lim->upstream_pool_max ||
                kt__up_new(h2->pool, &c))
                return;
            if (!(o = session_new(h2->pool, c))) {
                kt__up_close(c);
                return;
            }
        }
        list_remove(s);
        list_add(o, s);
        s->reused = o->settled;
        if (o->settled) ready_waiters(o);
    }
}

/* Waiting streams get a place while the peer's limit allows: their owners hear on_ready (and
 * send), in one batch of writes. */
static void ready_waiters(kt_h2 *h2)
{
    if (!h2->settled || h2->dead || h2->readying) return;
    h2->readying = true;
    h2->busy++;
    kt_upconn *s;
    while (!h2->dead && h2->nactive < stream_cap(h2) && (s = first_waiter(h2))) {
        s->state = KT_UP_BUSY;
        h2->nactive++;
        if (h2->adopted == s) h2->adopted = NULL;   /* its owner holds the stream from now on */
        if (!s->reused) {   /* it waited for this connection: the connection's timings are its */
            s->t_connected_ns = h2->carrier->t_connected_ns;
            s->t_start_ns = h2->carrier->t_start_ns;
            s->t_ready_ns = h2->carrier->t_ready_ns;
        }
        if (s->h) s->h->on_ready(s->owner, s);
    }
    h2->busy--;
    h2->readying = false;
    session_flush(h2);
}

/* The peer's first SETTINGS arrived (seen inside nghttp2; acted on after it returned). */
static void settle(kt_h2 *h2)
{
    h2->settle_due = false;
    uv_timer_stop(&h2->carrier->timer);
    spill(h2);
    ready_waiters(h2);
    if (!h2->nstreams && !h2->dead) session_idle(h2);
}

int kt__h2_acquire(kt_pool *pool, const kt_upstream_handler *h, void *owner, kt_upconn **out)
{
    kt_h2 *h2 = pool->h2;
    while (h2 && !has_room(h2)) h2 = h2->next;
    if (!h2) {
        if (pool->nconns >= pool->pools->lim->upstream_pool_max) return KT_ELIMIT;
        kt_upconn *c = NULL;
        int rc = kt__up_new(pool, &c);
        if (rc) return rc;
        h2 = session_new(pool, c);
        if (!h2) {
            kt__up_close(c);
            return KT_ENOMEM;
        }
    }
    kt_upconn *s = stream_new(h2, h, owner);
    if (!s) return KT_ENOMEM;
    *out = s;
    if (!h2->settled || h2->nactive >= stream_cap(h2)) return KT_OK;   /* on_ready follows */
    uv_timer_stop(&h2->carrier->timer);   /* no longer idle */
    s->state = KT_UP_BUSY;
    h2->nactive++;
    return 1;
}

bool kt__h2_handshake_done(kt_upconn *up, bool alpn_h2)
{
    kt_pool *pool = up->pool;
    kt_h2 *h2 = up->role == KT_UP_H2_CARRIER ? up->h2 : NULL;
    if (!alpn_h2) {
        pool->proto = KT_POOL_PROTO_H1;
        if (!h2) return false;
        /* A carrier opened for HTTP/2 that got HTTP/1.1: an idle HTTP/1.1 connection now, and
         * its waiters try again (as HTTP/1.1; the first one takes this connection). */
        pool_unlink(h2);
        up->role = KT_UP_H1;
        up->h2 = NULL;
        h2->dead = true;
        kt__up_idle(up);
        while (h2->streams)
            stream_fail(h2->streams, "upstream_protocol",
                        "the upstream did not negotiate HTTP/2", true);
        kt_buf_free(&h2->wbuf);
        free(h2);
        return true;
    }
    pool->proto = KT_POOL_PROTO_H2;
    const kt_upstream_handler *h = up->h;
    void *owner = up->owner;
    if (!h2) {   /* an owned connection: it becomes a carrier, its owner gets a stream */
        up->h = NULL;
        up->owner = NULL;
        h2 = session_new(pool, up);
    }
    if (!h2 || session_start(h2)) {
        if (h2) session_lost(h2, "upstream_protocol", "cannot start an HTTP/2 session");
        else kt__up_close(up);
        if (h) h->on_error(owner, "upstream_protocol", "cannot start an HTTP/2 session", false);
        return true;
    }
    /* The connect timer keeps running until the peer's SETTINGS arrive (settle). */
    up->state = KT_UP_BUSY;
    if (h && !(h2->adopted = stream_new(h2, h, owner)))
        h->on_error(owner, "upstream_protocol", "out of memory", false);
    KT_DEBUG("upstream_h2", "%s:%u speaks HTTP/2", pool->host, pool->port);
    session_flush(h2);   /* the preface and our SETTINGS */
    return true;
}

/* After a read: the owners whose streams got bytes gather their writes now. */
static void flush_owners(kt_h2 *h2)
{
    for (kt_upconn *s = h2->streams; s;) {
        kt_upconn *next = s->h2_next;
        if (s->flush_pending) {
            s->flush_pending = false;
            if (s->h && s->h->on_flush) s->h->on_flush(s->owner);
        }
        s = next;
    }
}

void kt__h2_input(kt_upconn *carrier, const char *data, size_t len)
{
    kt_h2 *h2 = carrier->h2;
    if (!h2 || !h2->ng || h2->dead) return;
    h2->busy++;
    kt__ngssize n = KT__NG_MEM_RECV(h2->ng, (const uint8_t *)data, len);
    h2->busy--;
    if (h2->dead) return;
    if (n < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "malformed HTTP/2 from upstream: %s",
                 nghttp2_strerror((int)n));
        session_lost(h2, "upstream_protocol", msg);
        return;
    }
    if (h2->settle_due) settle(h2);
    if (h2->dead) return;
    flush_owners(h2);
    if (h2->dead) return;
    session_flush(h2);
    if (h2->dead) return;
    if (h2->goaway && !h2->nstreams) kt__up_close(carrier);
}

void kt__h2_carrier_lost(kt_upconn *carrier, const char *code, const char *msg)
{
    kt_h2 *h2 = carrier->h2;
    if (!h2 || h2->dead) return;
    h2->dead = true;
    pool_unlink(h2);
    /* Streams the server never answered on a session that served before may be sent again, as
     * a request on a reused HTTP/1.1 connection may. */
    while (h2->streams) {
        kt_upconn *s = h2->streams;
        stream_fail(s, code, msg, s->reused && !s->got_bytes);
    }
}

void kt__h2_carrier_timer(kt_upconn *carrier)
{
    kt_h2 *h2 = carrier->h2;
    if (h2 && !h2->settled && !h2->dead) {
        char msg[160];
        snprintf(msg, sizeof msg, "timed out waiting for the HTTP/2 settings of %s:%u",
                 h2->pool->host, h2->pool->port);
        session_lost(h2, "upstream_connect", msg);
        return;
    }
    if (!h2 || h2->nstreams || h2->dead) return;
    uint32_t idle = h2->pool->pools->lim->upstream_pool_idle_ms;
    uint64_t gone = uv_now(h2->pool->pools->loop) - h2->idle_since;
    if (gone >= idle || !h2->ng) {   /* idle for upstream_pool_idle: GOAWAY and close */
        h2->goaway = true;
        if (h2->ng) {
            nghttp2_session_terminate_session(h2->ng, NGHTTP2_NO_ERROR);
            session_flush(h2);   /* sends the GOAWAY */
        }
        if (!h2->dead) session_lost(h2, "upstream_closed", "idle");
        return;
    }
    if (h2->ping_out) {
        session_lost(h2, "upstream_closed", "no answer to an HTTP/2 PING");
        return;
    }
    nghttp2_submit_ping(h2->ng, NGHTTP2_FLAG_NONE, NULL);
    h2->ping_out = true;
    session_flush(h2);
    if (!h2->dead) kt__up_arm(carrier, (uint32_t)KT_MIN(idle - gone, (uint64_t)ping_interval(h2)));
}

void kt__h2_carrier_release(kt_upconn *carrier)
{
    kt_h2 *h2 = carrier->h2;
    if (h2 && h2->adopted) stream_detach(h2->adopted, NGHTTP2_CANCEL);
}

void kt__h2_carrier_free(kt_upconn *carrier)
{
    kt_h2 *h2 = carrier->h2;
    if (!h2) return;
    carrier->h2 = NULL;
    if (!h2->dead) {
        h2->dead = true;
        pool_unlink(h2);
    }
    while (h2->streams) stream_detach(h2->streams, (uint32_t)-1);
    if (h2->ng) nghttp2_session_del(h2->ng);
    kt_buf_wipe(&h2->wbuf);
    kt_buf_free(&h2->wbuf);
    free(h2);
}

void kt__h2_pool_closing(kt_pool *pool)
{
    for (kt_h2 *h2 = pool->h2, *next; h2; h2 = next) {
        next = h2->next;
        h2->goaway = true;
        if (!h2->nstreams) kt__up_close(h2->carrier);
    }
}

/* ---- the owner's side ------------------------------------------------------------------------- */

int kt__h2_send(kt_upconn *s, const char *head, size_t hlen, const char *body, size_t blen)
{
    kt_h2 *h2 = s->h2;
    if (!h2 || !h2->ng || h2->dead || s->state != KT_UP_BUSY || s->sid) return KT_EIO;
    char *scratch = kt_malloc(hlen ? hlen : 1);
    kt_h2_field *f = kt_malloc(KT_H2_HEAD_MAX_FIELDS * sizeof *f);
    nghttp2_nv *nv = kt_malloc(KT_H2_HEAD_MAX_FIELDS * sizeof *nv);
    size_t n = 0;
    int rc = scratch && f && nv ? KT_OK : KT_ENOMEM;
    if (!rc) rc = kt_h2_head_convert(head, hlen, true, scratch, f, KT_H2_HEAD_MAX_FIELDS, &n);
    if (!rc) {
        for (size_t i = 0; i < n; i++)
            nv[i] = (nghttp2_nv){ (uint8_t *)f[i].name, (uint8_t *)f[i].value, f[i].nlen,
                                  f[i].vlen,
                                  (uint8_t)(f[i].sensitive ? NGHTTP2_NV_FLAG_NO_INDEX
                                                           : NGHTTP2_NV_FLAG_NONE) };
        s->body = body;
        s->body_len = blen;
        s->body_off = 0;
        kt__ngdata dp = { .source = { .ptr = NULL }, .read_callback = read_body };
        int32_t sid = KT__NG_SUBMIT(h2->ng, NULL, nv, n, blen ? &dp : NULL, s);
        if (sid < 0) rc = KT_EIO;
        else s->sid = sid;
    }
    if (scratch) mbedtls_platform_zeroize(scratch, hlen);   /* it held the provider key */
    free(scratch);
    free(f);
    free(nv);
    if (rc) return rc;
    kt_headers_reset(&s->resp_headers);
    s->status = 0;
    s->head_seen = s->done = s->got_bytes = false;
    stream_arm(s, s->pool->pools->lim->upstream_first_byte_timeout_ms);
    session_flush(h2);
    return KT_OK;
}

void kt__h2_pause(kt_upconn *s)
{
    if (s->paused || s->state != KT_UP_BUSY) return;
    s->paused = true;
    uv_timer_stop(&s->timer);
}

void kt__h2_resume(kt_upconn *s)
{
    if (!s->paused || s->state != KT_UP_BUSY) return;
    s->paused = false;
    stream_arm(s, s->pool->pools->lim->upstream_idle_timeout_ms);
    kt_h2 *h2 = s->h2;
    if (h2 && h2->ng && s->sid > 0 && s->unconsumed) {
        nghttp2_session_consume_stream(h2->ng, s->sid, s->unconsumed);
        s->unconsumed = 0;
        session_flush(h2);
    }
}

void kt__h2_release(kt_upconn *s)
{
    if (s->state == KT_UP_CLOSING) return;
    stream_detach(s, NGHTTP2_CANCEL);
}
