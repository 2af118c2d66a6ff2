/* The event shipper: batches from the ring (or the spool) to POST {api}/v1/events, one request
 * in flight, over the upstream module's keep-alive pool (its own, so the proxy's shutdown does
 * not take it away). Failures back off exponentially with full jitter and honour Retry-After;
 * every attempt has a timeout. The request path only appends to the ring. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_priv.h"
#include "kt/limits.h"
#include "kt/log.h"
#include "kt/metrics.h"
#include "kt/upstream.h"
#include "kt/url.h"

#define KT_EV_BACKOFF_BASE_MS 100

typedef enum { EV_IDLE, EV_SENDING, EV_BACKOFF, EV_CLOSED } ev_state;

struct kt_events {
    uv_loop_t *loop;
    kt_events_opts o;
    kt_metrics *m;
    kt_tls_ctx *tls;
    kt_event_ring ring;
    bool to_stderr;
    kt_target target;
    char *path;                /* "/.../v1/events" */
    char *token;
    kt_limits lim;
    kt_pools pools;
    uv_timer_t timer;          /* flush interval or backoff */
    uv_timer_t attempt_timer;
    uv_timer_t deadline_timer;
    int open_handles;
    ev_state state;
    /* the batch being delivered */
    kt_event_rec *batch;
    size_t batch_n;
    bool batch_from_spool;
    uint64_t batch_seq;
    uint64_t batch_dropped;    /* drop count the batch reports */
    kt_buf body, head;
    unsigned attempt;
    kt_upconn *up;
    int status;
    uint32_t retry_after_ms;
    bool fresh_retry;
    bool shutting_down;
    bool has_spool;
    kt_spool spool;
};

static void start_batch(kt_events *ev);
static void send_attempt(kt_events *ev);
static void attempt_failed(kt_events *ev, const char *why);
static void finish_shutdown(kt_events *ev);

static const kt_upstream_handler kt__ev_handler;
static void on_flush_timer(uv_timer_t *t);

static void count_drops(kt_events *ev, uint64_t before)
{
    if (ev->m) ev->m->events_dropped += ev->ring.dropped - before;
}

/* Events the spool had to evict to stay within spool_max_bytes: reported like ring drops. */
static void spool_drops(kt_events *ev, uint64_t n)
{
    ev->ring.dropped += n;
    ev->ring.dropped_unreported += n;
    if (ev->m) ev->m->events_dropped += n;
}

/* ---- queueing -------------------------------------------------------------------------------- */

static void spill(kt_events *ev, size_t want_bytes)
{
    /* The ring is full while the control plane is away: move the oldest to disk. */
    while (ev->ring.head && ev->ring.bytes + want_bytes > ev->ring.max_bytes / 2) {
        uint64_t dropped = 0;
        int n = kt_spool_write(&ev->spool, ev->ring.head, ev->o.batch_size, &dropped);
        spool_drops(ev, dropped);
        if (n <= 0) {
            KT_WARN("events_spool", "cannot write the event spool; dropping the oldest instead");
            return;
        }
        for (int i = 0; i < n; i++) free(kt_event_ring_pop(&ev->ring));
        if (ev->m) ev->m->events_spooled += (uint64_t)n;
    }
}

static void kick(kt_events *ev)
{
    if (ev->state != EV_IDLE) return;
    bool now = ev->ring.count >= ev->o.batch_size || (ev->has_spool && ev->spool.n) ||
               (ev->shutting_down && ev->ring.count);
    if (now) {
        uv_timer_start(&ev->timer, on_flush_timer, 0, 0);
        return;
    }
    if (ev->ring.count && !uv_is_active((uv_handle_t *)&ev->timer))
        uv_timer_start(&ev->timer, on_flush_timer, ev->o.flush_interval_ms, 0);
}

void kt_events_push(kt_events *ev, const char *json, size_t len)
{
    if (!ev) return;
    if (ev->state == EV_CLOSED) {   /* after the final flush: nothing can carry it any more */
        if (ev->m) ev->m->events_dropped++;
        return;
    }
    if (ev->to_stderr) {   /* gathered: one write per 100 ms or 64 KiB, not one per request */
        if (kt_buf_reserve(&ev->body, len + 1)) {
            if (ev->m) ev->m->events_dropped++;
            return;
        }
        kt_buf_append(&ev->body, json, len);
        kt_buf_append(&ev->body, "\n", 1);
        if (ev->m) ev->m->events_sent++;
        if (ev->body.len >= 64 * 1024) uv_timer_start(&ev->timer, on_flush_timer, 0, 0);
        else if (!uv_is_active((uv_handle_t *)&ev->timer))
            uv_timer_start(&ev->timer, on_flush_timer, 100, 0);
        return;
    }
    size_t cost = len + KT_EVENT_REC_OVERHEAD;
    if (ev->has_spool && ev->ring.bytes + cost > ev->ring.max_bytes) spill(ev, cost);
    uint64_t before = ev->ring.dropped;
    kt_event_ring_push(&ev->ring, json, len);
    count_drops(ev, before);
    kick(ev);
}

void kt_events_queued(const kt_events *ev, uint64_t *count, uint64_t *bytes)
{
    *count = *bytes = 0;
    if (!ev) return;
    *count = ev->ring.count + ev->batch_n;
    *bytes = ev->ring.bytes + ev->body.len;
}

/* ---- batches --------------------------------------------------------------------------------- */

static void free_batch(kt_events *ev)
{
    kt_event_rec *e = ev->batch;
    while (e) {
        kt_event_rec *n = e->next;
        free(e);
        e = n;
    }
    ev->batch = NULL;
    ev->batch_n = 0;
    ev->batch_from_spool = false;
    kt_buf_reset(&ev->body);
}

static int build_body_from_ring(kt_events *ev)
{
    kt_event_rec **tail = &ev->batch;
    while (ev->batch_n < ev->o.batch_size) {
        kt_event_rec *e = kt_event_ring_pop(&ev->ring);
        if (!e) break;
        *tail = e;
        tail = &e->next;
        ev->batch_n++;
    }
    int rc = kt_buf_puts(&ev->body, "{\"events\":[");
    for (kt_event_rec *e = ev->batch; e && !rc; e = e->next) {
        if (e != ev->batch) rc = kt_buf_append(&ev->body, ",", 1);
        if (!rc) rc = kt_buf_append(&ev->body, e->data, e->len);
    }
    return rc;
}

static void start_batch(kt_events *ev)
{
    if (ev->state != EV_IDLE) return;
    if (!ev->batch_n) {
        kt_buf_reset(&ev->body);
        int rc;
        if (ev->has_spool && ev->spool.n) {
            uint32_t n = 0;
            rc = kt_buf_puts(&ev->body, "{\"events\":[");
            if (!rc) rc = kt_spool_read_oldest(&ev->spool, &ev->body, &ev->batch_seq, &n);
            ev->batch_from_spool = true;
            ev->batch_n = n;
            if (rc || !n) {   /* unreadable or empty: nothing to deliver from it */
                kt_spool_remove(&ev->spool, ev->batch_seq);
                free_batch(ev);
                kick(ev);
                return;
            }
        } else {
            if (!ev->ring.count) {
                if (ev->shutting_down) finish_shutdown(ev);
                return;
            }
            rc = build_body_from_ring(ev);
            if (rc) {
                KT_WARN("events_batch", "cannot build an event batch; dropping it");
                if (ev->m) ev->m->events_dropped += ev->batch_n;
                free_batch(ev);
                kick(ev);
                return;
            }
        }
        ev->batch_dropped = ev->ring.dropped_unreported;
        ev->ring.dropped_unreported = 0;
        if (kt_buf_printf(&ev->body, "],\"dropped\":%llu}",
                          (unsigned long long)ev->batch_dropped)) {
            ev->ring.dropped_unreported += ev->batch_dropped;
            free_batch(ev);
            return;
        }
        ev->attempt = 0;
    }
    send_attempt(ev);
}

static void batch_delivered(kt_events *ev)
{
    if (ev->m) ev->m->events_sent += ev->batch_n;
    if (ev->batch_from_spool) kt_spool_remove(&ev->spool, ev->batch_seq);
    free_batch(ev);
    ev->attempt = 0;
    ev->state = EV_IDLE;
    if (ev->shutting_down && !ev->ring.count && !(ev->has_spool && ev->spool.n)) {
        finish_shutdown(ev);
        return;
    }
    kick(ev);
}

static void batch_rejected(kt_events *ev)
{
    /* The control plane refused the batch itself (400/413/422): resending cannot help. */
    KT_WARN("events_rejected", "control plane refused a batch of %zu events (status %d)",
            ev->batch_n, ev->status);
    if (ev->m) ev->m->events_dropped += ev->batch_n;
    if (ev->batch_from_spool) kt_spool_remove(&ev->spool, ev->batch_seq);
    free_batch(ev);
    ev->state = EV_IDLE;
    kick(ev);
}

/* ---- one attempt ----------------------------------------------------------------------------- */

static int build_head(kt_events *ev)
{
    kt_buf *h = &ev->head;
    kt_buf_reset(h);
    bool v6 = strchr(ev->target.host, ':') != NULL;
    int rc = kt_buf_printf(h, "POST %s HTTP/1.1\r\nHost: %s%s%s:%u\r\n", ev->path, v6 ? "[" : "",
                           ev->target.host, v6 ? "]" : "", ev->target.port);
    if (!rc && ev->token) rc = kt_buf_printf(h, "Authorization: Bearer %s\r\n", ev->token);
    if (!rc)
        rc = kt_buf_printf(h, "Content-Type: application/json\r\nUser-Agent: kt/%s\r\n"
                              "Content-Length: %zu\r\n\r\n", KT_VERSION, ev->body.len);
    return rc;
}

static void on_attempt_timeout(uv_timer_t *t)
{
    kt_events *ev = t->data;
    if (ev->state != EV_SENDING) return;
    if (ev->up) {
        kt_upconn *up = ev->up;
        ev->up = NULL;
        kt_upconn_release(up);   /* mid-exchange: closes it; no handler call follows */
    }
    attempt_failed(ev, "timed out");
}

static void send_now(kt_events *ev)
{
    if (kt_upconn_send(ev->up, ev->head.p, ev->head.len, ev->body.p, ev->body.len, false)) {
        kt_upconn *up = ev->up;
        ev->up = NULL;
        kt_upconn_release(up);
        attempt_failed(ev, "cannot send");
    }
}

static void send_attempt(kt_events *ev)
{
    ev->state = EV_SENDING;
    ev->status = 0;
    ev->retry_after_ms = 0;
    ev->fresh_retry = false;
    if (build_head(ev)) {
        attempt_failed(ev, "request head too large");
        return;
    }
    uv_timer_start(&ev->attempt_timer, on_attempt_timeout, ev->o.timeout_ms, 0);
    kt_upconn *up = NULL;
    int rc = kt_upstream_acquire(&ev->pools, &ev->target, &kt__ev_handler, ev, &up);
    if (rc < 0) {
        attempt_failed(ev, "cannot start a connection");
        return;
    }
    ev->up = up;
    if (rc == 1) send_now(ev);
}

static uint32_t jitter(kt_events *ev, uint32_t cap)
{
    uint32_t r = 0;
    if (kt_tls_random(ev->tls, &r, sizeof r) != KT_OK)
        r = (uint32_t)uv_hrtime();
    return cap ? r % (cap + 1) : 0;
}

static void on_backoff_done(uv_timer_t *t);

static void attempt_failed(kt_events *ev, const char *why)
{
    uv_timer_stop(&ev->attempt_timer);
    ev->attempt++;
    if (ev->m) ev->m->events_retries++;
    uint64_t cap = KT_EV_BACKOFF_BASE_MS;
    for (unsigned i = 1; i < ev->attempt && cap < ev->o.max_backoff_ms; i++) cap *= 2;
    if (cap > ev->o.max_backoff_ms) cap = ev->o.max_backoff_ms;
    uint32_t delay = jitter(ev, (uint32_t)cap);
    if (ev->retry_after_ms > delay) delay = ev->retry_after_ms;
    if (ev->attempt == 1 || ev->attempt % 20 == 0)
        KT_WARN("events_delivery", "event batch (%zu events) not delivered: %s (status %d); "
                "attempt %u, retrying in %u ms", ev->batch_n, why, ev->status, ev->attempt, delay);
    ev->state = EV_BACKOFF;
    uv_timer_start(&ev->timer, on_backoff_done, delay, 0);
}

/* ---- upstream handler ------------------------------------------------------------------------ */

static void on_ready(void *owner, kt_upconn *up)
{
    kt_events *ev = owner;
    ev->up = up;
    send_now(ev);
}

static void on_head(void *owner, int status, const kt_headers *hs, bool has_length)
{
    kt_events *ev = owner;
    (void)has_length;
    ev->status = status;
    int i = kt_headers_find(hs, "retry-after", 0);
    if (i >= 0) {
        kt_str v = kt_headers_value(hs, (uint32_t)i);
        uint64_t secs = 0;
        size_t k = 0;
        for (; k < v.n && v.p[k] >= '0' && v.p[k] <= '9' && secs < 86400; k++)
            secs = secs * 10 + (uint64_t)(v.p[k] - '0');
        if (k && k == v.n) ev->retry_after_ms = (uint32_t)KT_MIN(secs * 1000, 3600u * 1000);
    }
}

static void on_body(void *owner, const char *data, size_t len)
{
    (void)owner;
    (void)data;
    (void)len;
}

static void on_done(void *owner)
{
    kt_events *ev = owner;
    kt_upconn *up = ev->up;
    ev->up = NULL;
    if (up) kt_upconn_release(up);
    uv_timer_stop(&ev->attempt_timer);
    if (ev->status >= 200 && ev->status < 300) batch_delivered(ev);
    else if (ev->status == 400 || ev->status == 413 || ev->status == 422) batch_rejected(ev);
    else attempt_failed(ev, "control plane error");
}

static void on_error(void *owner, const char *code, const char *msg, bool retryable)
{
    kt_events *ev = owner;
    ev->up = NULL;
    (void)msg;
    if (retryable && !ev->fresh_retry) {   /* a pooled connection the server had closed */
        ev->fresh_retry = true;
        kt_upconn *up = NULL;
        int rc = kt_upstream_acquire(&ev->pools, &ev->target, &kt__ev_handler, ev, &up);
        if (rc >= 0) {
            ev->up = up;
            if (rc == 1) send_now(ev);
            return;
        }
    }
    attempt_failed(ev, code);
}

static const kt_upstream_handler kt__ev_handler = { on_ready, on_head, on_body, on_done, on_error,
                                                    NULL };

/* ---- timers and lifecycle -------------------------------------------------------------------- */

static void on_backoff_done(uv_timer_t *t)
{
    kt_events *ev = t->data;
    if (ev->state != EV_BACKOFF) return;
    ev->state = EV_IDLE;
    start_batch(ev);
}

static void write_stderr(kt_events *ev)
{
    if (!ev->body.len) return;
    fwrite(ev->body.p, 1, ev->body.len, stderr);
    fflush(stderr);
    kt_buf_reset(&ev->body);
    if (ev->body.cap > 256 * 1024) kt_buf_free(&ev->body);
}

static void on_flush_timer(uv_timer_t *t)
{
    kt_events *ev = t->data;
    if (ev->to_stderr) {
        write_stderr(ev);
        return;
    }
    if (ev->state == EV_BACKOFF) {
        on_backoff_done(t);
        return;
    }
    start_batch(ev);
}

static void on_closed(uv_handle_t *h)
{
    kt_events *ev = h->data;
    ev->open_handles--;
}

static void spool_rest(kt_events *ev)
{
    uint64_t lost = 0;
    if (ev->batch_n && !ev->batch_from_spool) {
        if (ev->has_spool) {
            uint64_t dropped = 0;
            int n = kt_spool_write(&ev->spool, ev->batch, ev->batch_n, &dropped);
            if (n > 0 && ev->m) ev->m->events_spooled += (uint64_t)n;
            lost += dropped + (n > 0 ? ev->batch_n - (size_t)n : ev->batch_n);
        } else {
            lost += ev->batch_n;
        }
    }
    free_batch(ev);
    while (ev->ring.head) {
        if (!ev->has_spool) {
            lost += ev->ring.count;
            kt_event_ring_free(&ev->ring);
            break;
        }
        uint64_t dropped = 0;
        int n = kt_spool_write(&ev->spool, ev->ring.head, ev->o.batch_size, &dropped);
        lost += dropped;
        if (n <= 0) {
            lost += ev->ring.count;
            kt_event_ring_free(&ev->ring);
            break;
        }
        for (int i = 0; i < n; i++) free(kt_event_ring_pop(&ev->ring));
        if (ev->m) ev->m->events_spooled += (uint64_t)n;
    }
    if (ev->m) ev->m->events_dropped += lost;
    if (lost) KT_WARN("events_lost", "%llu decision events could not be delivered before exit",
                      (unsigned long long)lost);
    else if (ev->has_spool && ev->spool.n)
        KT_INFO("events_spooled", "%zu spool segments left for the next start", ev->spool.n);
}

static void finish_shutdown(kt_events *ev)
{
    if (ev->state == EV_CLOSED) return;
    if (ev->to_stderr) write_stderr(ev);
    if (ev->up) {
        kt_upconn *up = ev->up;
        ev->up = NULL;
        kt_upconn_release(up);
    }
    spool_rest(ev);
    ev->state = EV_CLOSED;
    kt_pools_close(&ev->pools);
    uv_close((uv_handle_t *)&ev->timer, on_closed);
    uv_close((uv_handle_t *)&ev->attempt_timer, on_closed);
    uv_close((uv_handle_t *)&ev->deadline_timer, on_closed);
}

static void on_deadline(uv_timer_t *t)
{
    kt_events *ev = t->data;
    KT_WARN("events_deadline", "shutdown deadline: %zu events still queued",
            ev->ring.count + ev->batch_n);
    finish_shutdown(ev);
}

void kt_events_shutdown(kt_events *ev, uint32_t deadline_ms)
{
    if (!ev || ev->shutting_down) return;
    ev->shutting_down = true;
    if (ev->to_stderr || (ev->state == EV_IDLE && !ev->ring.count && !ev->batch_n &&
                          !(ev->has_spool && ev->spool.n))) {
        finish_shutdown(ev);
        return;
    }
    /* A spool keeps what is left for the next start, so only queued memory needs a try. */
    uv_timer_start(&ev->deadline_timer, on_deadline, deadline_ms ? deadline_ms : 1, 0);
    if (ev->state == EV_IDLE) {
        uv_timer_stop(&ev->timer);
        start_batch(ev);
    }
}

static int set_target(kt_events *ev, const char *api_url, char *err, size_t errlen)
{
    kt_url_parts u = { 0 };
    char uerr[160];
    if (kt_url_parse(api_url, true, &u, uerr, sizeof uerr)) {
        snprintf(err, errlen, "KEEPTRUSTS_API_URL: %s", uerr);
        return KT_EINVAL;
    }
    size_t n = strlen(u.path) + sizeof "/v1/events";
    ev->path = kt_malloc(n);
    ev->target.id = kt_strdup("control-plane");
    ev->target.host = u.host;
    ev->target.port = u.port;
    ev->target.tls = u.tls;
    u.host = NULL;
    if (ev->path) snprintf(ev->path, n, "%s/v1/events", u.path);
    kt_url_parts_free(&u);
    if (!ev->path || !ev->target.id || !ev->target.host) return KT_ENOMEM;
    return KT_OK;
}

int kt_events_new(uv_loop_t *loop, const kt_events_opts *o, const char *api_url,
                  const char *token, kt_tls_ctx *tls, kt_metrics *m, kt_events **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    kt_events *ev = kt_calloc(1, sizeof *ev);
    if (!ev) return KT_ENOMEM;
    ev->loop = loop;
    ev->o = *o;
    ev->o.spool_dir = NULL;
    ev->m = m;
    ev->tls = tls;
    kt_event_ring_init(&ev->ring, o->ring_bytes);
    kt_buf_init(&ev->body, (size_t)o->ring_bytes + (8u << 20));
    kt_buf_init(&ev->head, 8192);
    int rc = KT_OK;
    ev->to_stderr = !api_url || !*api_url;
    if (!ev->to_stderr) {
        rc = set_target(ev, api_url, err, errlen);
        if (!rc && token && *token) ev->token = kt_strdup(token);
        if (!rc && o->spool_dir) {
            rc = kt_spool_open(&ev->spool, o->spool_dir, o->spool_max_bytes, err, errlen);
            ev->has_spool = rc == KT_OK;
        }
        if (rc) goto fail;
    }
    kt_limits_defaults(&ev->lim);
    ev->lim.upstream_connect_timeout_ms = o->timeout_ms;
    ev->lim.upstream_first_byte_timeout_ms = o->timeout_ms;
    ev->lim.upstream_idle_timeout_ms = o->timeout_ms;
    ev->lim.upstream_pool_max = 4;
    kt_pools_init(&ev->pools, loop, tls, &ev->lim);
    uv_timer_init(loop, &ev->timer);
    uv_timer_init(loop, &ev->attempt_timer);
    uv_timer_init(loop, &ev->deadline_timer);
    ev->timer.data = ev->attempt_timer.data = ev->deadline_timer.data = ev;
    ev->open_handles = 3;
    ev->state = EV_IDLE;
    *out = ev;
    if (ev->has_spool && ev->spool.n) {
        KT_INFO("events_replay", "%zu spooled segments to deliver", ev->spool.n);
        kick(ev);
    }
    return KT_OK;
fail:
    kt_events_free(ev);
    return rc;
}

void kt_events_free(kt_events *ev)
{
    if (!ev) return;
    free_batch(ev);
    kt_event_ring_free(&ev->ring);
    kt_buf_free(&ev->body);
    kt_buf_free(&ev->head);
    if (ev->target.host) kt_pools_free(&ev->pools);
    if (ev->has_spool) kt_spool_close(&ev->spool);
    free(ev->target.id);
    free(ev->target.host);
    free(ev->path);
    if (ev->token) {
        memset(ev->token, 0, strlen(ev->token));
        free(ev->token);
    }
    free(ev);
}
