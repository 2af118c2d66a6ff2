/* The event shipper: batches from the memory ring, or with a spool from its write-ahead log
 * (event_durable.c), to POST {api}/v1/events, one request in flight, over the upstream module's
 * keep-alive pool (its own, so the proxy's shutdown does not take it away). Each batch has a
 * random batch_id, sent as Idempotency-Key too; a retry sends the same bytes, so a control plane
 * that answered too late can de-duplicate by batch_id, and by event id across restarts (delivery
 * is at least once). Failures back off exponentially with full jitter and honour Retry-After;
 * every attempt has a timeout. The request path only appends to the ring or the log's buffer. */
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

typedef enum { EV_IDLE, EV_READING, EV_SENDING, EV_BACKOFF, EV_CLOSED } ev_state;

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
    kt_event_rec *batch;       /* from the ring; the log keeps its own until acknowledged */
    size_t batch_n;
    bool batch_open;           /* a body is built and not settled (it may hold no events) */
    uint64_t batch_dropped;    /* drop count the batch reports (ring) */
    char batch_id[37];
    kt_buf body, head;
    unsigned attempt;
    kt_upconn *up;
    int status;
    uint32_t retry_after_ms;
    bool fresh_retry;
    bool shutting_down;
    bool durable;              /* spool_dir: every event goes through the write-ahead log */
    kt_durable dur;
    kt_ship_shape shape;       /* the body's framing and the counters (events or OTLP spans) */
    uint64_t *n_sent, *n_dropped, *n_retries;   /* into the metrics, or into `uncounted` */
    uint64_t uncounted[3];
    uint64_t no_drops;         /* a shape without a drop count: always 0 */
};

static void start_batch(kt_events *ev);
static void send_attempt(kt_events *ev);
static void attempt_failed(kt_events *ev, const char *why);
static void finish_shutdown(kt_events *ev);

static const kt_upstream_handler kt__ev_handler;
static void on_flush_timer(uv_timer_t *t);

static void count_drops(kt_events *ev, uint64_t before)
{
    *ev->n_dropped += ev->ring.dropped - before;
}

/* Drops not yet carried by a batch, and the count the batch in flight carries: in the log's
 * mapped state page with a spool (so a kill does not lose them), else in memory. */
static uint64_t *unreported(kt_events *ev)
{
    if (ev->shape.body_open) {   /* OTLP: drops are counted in the metrics only */
        ev->no_drops = 0;
        return &ev->no_drops;
    }
    return ev->durable ? kt_durable_dropped(&ev->dur) : &ev->ring.dropped_unreported;
}

static uint64_t *carried(kt_events *ev)
{
    return ev->durable ? kt_durable_dropped_inflight(&ev->dur) : &ev->batch_dropped;
}

static uint64_t waiting(const kt_events *ev)
{
    return ev->durable ? kt_durable_waiting(&ev->dur) : ev->ring.count;
}

/* ---- queueing -------------------------------------------------------------------------------- */

static void kick(kt_events *ev)
{
    if (ev->state != EV_IDLE) return;
    /* Drop counts with no event left to carry them (lost in a crash, evicted, or given back by
     * a refused batch) still leave, in a batch without events. */
    uint64_t n = waiting(ev) + (*unreported(ev) ? 1 : 0);
    if (n >= ev->o.batch_size || (ev->shutting_down && n)) {
        uv_timer_start(&ev->timer, on_flush_timer, 0, 0);
        return;
    }
    if (n && !uv_is_active((uv_handle_t *)&ev->timer))
        uv_timer_start(&ev->timer, on_flush_timer, ev->o.flush_interval_ms, 0);
}

void kt_events_push(kt_events *ev, const char *json, size_t len)
{
    if (!ev) return;
    if (ev->state == EV_CLOSED) {   /* after the final flush: nothing can carry it any more */
        (*ev->n_dropped)++;
        if (ev->durable) (*unreported(ev))++;   /* but a count in the spool reaches the next start */
        return;
    }
    if (ev->to_stderr) {   /* gathered: one write per 100 ms or 64 KiB, not one per request */
        if (kt_buf_reserve(&ev->body, len + 1)) {
            (*ev->n_dropped)++;
            return;
        }
        kt_buf_append(&ev->body, json, len);
        kt_buf_append(&ev->body, "\n", 1);
        (*ev->n_sent)++;
        if (ev->body.len >= 64 * 1024) uv_timer_start(&ev->timer, on_flush_timer, 0, 0);
        else if (!uv_is_active((uv_handle_t *)&ev->timer))
            uv_timer_start(&ev->timer, on_flush_timer, 100, 0);
        return;
    }
    if (ev->durable) {
        kt_durable_push(&ev->dur, json, len);   /* a refusal is counted there */
        kick(ev);
        return;
    }
    uint64_t before = ev->ring.dropped;
    kt_event_ring_push(&ev->ring, json, len);
    count_drops(ev, before);
    kick(ev);
}

void kt_events_queued(const kt_events *ev, uint64_t *count, uint64_t *bytes)
{
    *count = *bytes = 0;
    if (!ev) return;
    *count = waiting(ev) + ev->batch_n;
    *bytes = (ev->durable ? ev->dur.pending.len : ev->ring.bytes) + ev->body.len;
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
    ev->batch_open = false;
    kt_buf_reset(&ev->body);
}

/* {"batch_id":..,"events":[ : the id is new for each batch and stays with its retries. */
static int open_body(kt_events *ev)
{
    if (kt_uuid4(ev->tls, ev->batch_id)) return KT_EIO;
    kt_buf_reset(&ev->body);
    ev->batch_open = true;
    if (ev->shape.body_open) return kt_buf_puts(&ev->body, ev->shape.body_open);
    int rc = kt_buf_puts(&ev->body, "{\"batch_id\":\"");
    if (!rc) rc = kt_buf_puts(&ev->body, ev->batch_id);
    if (!rc) rc = kt_buf_puts(&ev->body, "\",\"events\":[");
    return rc;
}

/* ],"dropped":N} : the drops not yet reported ride with this batch (and its retries). */
static int close_body(kt_events *ev)
{
    if (ev->shape.body_open) {
        ev->attempt = 0;
        return kt_buf_puts(&ev->body, ev->shape.body_close);
    }
    uint64_t *unrep = unreported(ev), *carry = carried(ev);
    *carry = *unrep;
    *unrep = 0;
    if (kt_buf_printf(&ev->body, "],\"dropped\":%llu}", (unsigned long long)*carry)) {
        *unrep += *carry;
        *carry = 0;
        return KT_ENOMEM;
    }
    ev->attempt = 0;
    return KT_OK;
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
    int rc = open_body(ev);
    for (kt_event_rec *e = ev->batch; e && !rc; e = e->next) {
        if (e != ev->batch) rc = kt_buf_append(&ev->body, ",", 1);
        if (!rc) rc = kt_buf_append(&ev->body, e->data, e->len);
    }
    if (!rc) rc = close_body(ev);
    return rc;
}

/* A batch read from the log (event_durable.c calls this on the loop). */
static void on_log_batch(void *owner, const char *events, size_t len, uint32_t n, uint64_t last)
{
    kt_events *ev = owner;
    (void)last;
    if (ev->state != EV_READING) return;   /* shut down meanwhile: the events stay in the log */
    ev->state = EV_IDLE;
    if (!n && !*unreported(ev)) {
        if (ev->shutting_down && !waiting(ev)) finish_shutdown(ev);
        return;
    }
    ev->batch_n = n;
    int rc = open_body(ev);
    if (!rc) rc = kt_buf_append(&ev->body, events, len);
    if (!rc) rc = close_body(ev);
    if (rc) {   /* the body buffer is bounded above any batch read: never in practice */
        KT_WARN("events_batch", "cannot build an event batch; retrying");
        free_batch(ev);
        ev->state = EV_BACKOFF;
        uv_timer_start(&ev->timer, on_flush_timer, ev->o.max_backoff_ms, 0);
        return;
    }
    send_attempt(ev);
}

static void on_log_commit(void *owner) { kick(owner); }

static void start_batch(kt_events *ev)
{
    if (ev->state != EV_IDLE) return;
    if (ev->batch_open) {   /* a retry: the same bytes */
        send_attempt(ev);
        return;
    }
    if (!waiting(ev) && *unreported(ev)) {   /* only a count to report */
        if (open_body(ev) || close_body(ev)) {   /* close_body gave the count back */
            free_batch(ev);
            return;
        }
        send_attempt(ev);
        return;
    }
    if (ev->durable) {
        if (!waiting(ev)) {
            if (ev->shutting_down) finish_shutdown(ev);
            return;
        }
        ev->state = EV_READING;
        kt_durable_read(&ev->dur, ev->o.batch_size, ev->body.max - 256);
        return;
    }
    if (!ev->ring.count) {
        if (ev->shutting_down) finish_shutdown(ev);
        return;
    }
    if (build_body_from_ring(ev)) {
        KT_WARN("events_batch", "cannot build an event batch; dropping it");
        *ev->n_dropped += ev->batch_n;
        *unreported(ev) += *carried(ev) + ev->batch_n;
        *carried(ev) = 0;
        free_batch(ev);
        kick(ev);
        return;
    }
    send_attempt(ev);
}

/* The batch is settled (delivered, or refused for good): the log may forget its events. */
static void batch_settled(kt_events *ev)
{
    if (ev->durable) kt_durable_ack(&ev->dur);
    free_batch(ev);
    ev->attempt = 0;
    ev->state = EV_IDLE;
}

static void batch_delivered(kt_events *ev)
{
    *ev->n_sent += ev->batch_n;
    *carried(ev) = 0;
    batch_settled(ev);
    if (ev->shutting_down && !waiting(ev)) {
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
    *ev->n_dropped += ev->batch_n;
    if (ev->m && !ev->shape.body_open) ev->m->events_rejected++;   /* /health: events only */
    if (ev->batch_n) *unreported(ev) += *carried(ev);   /* the count rides with the next one */
    else KT_WARN("events_rejected", "control plane refused a drop count of %llu",
                 (unsigned long long)*carried(ev));   /* nothing else to send it with */
    *carried(ev) = 0;
    batch_settled(ev);
    if (ev->shutting_down && !waiting(ev)) {
        finish_shutdown(ev);
        return;
    }
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
    if (!rc && ev->shape.headers) rc = kt_buf_puts(h, ev->shape.headers);
    if (!rc)
        rc = kt_buf_printf(h, "Content-Type: application/json\r\nUser-Agent: kt/%s\r\n"
                              "Idempotency-Key: %s\r\nContent-Length: %zu\r\n\r\n",
                           KT_VERSION, ev->batch_id, ev->body.len);
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
    (*ev->n_retries)++;
    uint64_t cap = KT_EV_BACKOFF_BASE_MS;
    for (unsigned i = 1; i < ev->attempt && cap < ev->o.max_backoff_ms; i++) cap *= 2;
    if (cap > ev->o.max_backoff_ms) cap = ev->o.max_backoff_ms;
    uint32_t delay = jitter(ev, (uint32_t)cap);
    if (ev->retry_after_ms > delay) delay = ev->retry_after_ms;
    if (ev->attempt == 1 || ev->attempt % 20 == 0)
        KT_WARN("events_delivery", "%s batch (%zu %s) not delivered: %s (status %d); "
                "attempt %u, retrying in %u ms", ev->shape.body_open ? "span" : "event",
                ev->batch_n, ev->shape.body_open ? "spans" : "events", why, ev->status,
                ev->attempt, delay);
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

static void close_handles(kt_events *ev)
{
    kt_pools_close(&ev->pools);
    uv_close((uv_handle_t *)&ev->timer, on_closed);
    uv_close((uv_handle_t *)&ev->attempt_timer, on_closed);
    uv_close((uv_handle_t *)&ev->deadline_timer, on_closed);
}

static void on_log_closed(void *owner) { close_handles(owner); }

/* With a spool everything not delivered is in the log already (the batch in flight too: it is
 * only forgotten on acknowledgement), and its drop count goes back to the unreported count for
 * the next start. Without one, what is left is counted and logged as lost. */
static void leave_rest(kt_events *ev)
{
    if (ev->durable) {
        uint64_t left = waiting(ev) + ev->batch_n;
        *unreported(ev) += *carried(ev);
        *carried(ev) = 0;
        free_batch(ev);
        if (left)
            KT_INFO("events_spooled", "%llu decision events left in the spool for the next start",
                    (unsigned long long)left);
        return;
    }
    uint64_t lost = ev->batch_n + ev->ring.count;
    free_batch(ev);
    kt_event_ring_free(&ev->ring);
    *ev->n_dropped += lost;
    if (lost) KT_WARN("events_lost", "%llu decision events could not be delivered before exit",
                      (unsigned long long)lost);
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
    leave_rest(ev);
    ev->state = EV_CLOSED;
    if (ev->durable) kt_durable_close(&ev->dur);   /* commits what is pending, then closes */
    else close_handles(ev);
}

static void on_deadline(uv_timer_t *t)
{
    kt_events *ev = t->data;
    KT_WARN("events_deadline", "shutdown deadline: %llu events still queued",
            (unsigned long long)(waiting(ev) + ev->batch_n));
    finish_shutdown(ev);
}

void kt_events_shutdown(kt_events *ev, uint32_t deadline_ms)
{
    if (!ev || ev->shutting_down) return;
    ev->shutting_down = true;
    if (ev->to_stderr || (ev->state == EV_IDLE && !waiting(ev) && !ev->batch_open &&
                          !*unreported(ev))) {
        finish_shutdown(ev);
        return;
    }
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
    const char *what = ev->shape.url_name ? ev->shape.url_name : "KEEPTRUSTS_API_URL";
    const char *suffix = ev->shape.path_suffix ? ev->shape.path_suffix : "/v1/events";
    if (kt_url_parse(api_url, !ev->shape.body_open, &u, uerr, sizeof uerr)) {
        snprintf(err, errlen, "%s: %s", what, uerr);
        return KT_EINVAL;
    }
    size_t n = strlen(u.path) + strlen(suffix) + 1;
    ev->path = kt_malloc(n);
    ev->target.id = kt_strdup(ev->shape.body_open ? "otlp-collector" : "control-plane");
    ev->target.host = u.host;
    ev->target.port = u.port;
    ev->target.tls = u.tls;
    u.host = NULL;
    if (ev->path) snprintf(ev->path, n, "%s%s", *u.path || *suffix ? u.path : "/", suffix);
    kt_url_parts_free(&u);
    if (!ev->path || !ev->target.id || !ev->target.host) return KT_ENOMEM;
    return KT_OK;
}

int kt_events_new(uv_loop_t *loop, const kt_events_opts *o, const char *api_url,
                  const char *token, kt_tls_ctx *tls, kt_metrics *m, kt_events **out, char *err,
                  size_t errlen)
{
    kt_ship_shape shape = { 0 };
    if (m) {
        shape.sent = &m->events_sent;
        shape.dropped = &m->events_dropped;
        shape.retries = &m->events_retries;
    }
    return kt_ship_new(loop, o, api_url, token, &shape, tls, m, out, err, errlen);
}

int kt_ship_new(uv_loop_t *loop, const kt_events_opts *o, const char *api_url, const char *token,
                const kt_ship_shape *shape, kt_tls_ctx *tls, kt_metrics *m, kt_events **out,
                char *err, size_t errlen)
{
    *out = NULL;
    kt_events *ev = kt_calloc(1, sizeof *ev);
    if (!ev) return KT_ENOMEM;
    ev->loop = loop;
    ev->o = *o;
    ev->o.spool_dir = NULL;
    ev->m = m;
    ev->shape = *shape;
    ev->n_sent = shape->sent ? shape->sent : &ev->uncounted[0];
    ev->n_dropped = shape->dropped ? shape->dropped : &ev->uncounted[1];
    ev->n_retries = shape->retries ? shape->retries : &ev->uncounted[2];
    ev->tls = tls;
    kt_event_ring_init(&ev->ring, o->ring_bytes);
    kt_buf_init(&ev->body, (size_t)o->ring_bytes + (8u << 20));
    kt_buf_init(&ev->head, 8192);
    int rc = KT_OK;
    ev->to_stderr = !api_url || !*api_url;
    if (!ev->to_stderr) {
        rc = set_target(ev, api_url, err, errlen);
        if (!rc && token && *token) ev->token = kt_strdup(token);
        if (!rc && o->spool_dir && !shape->body_open) {
            static const kt_durable_cb cb = { on_log_batch, on_log_commit, on_log_closed };
            rc = kt_durable_open(&ev->dur, loop, o, m, &cb, ev, err, errlen);
            ev->durable = rc == KT_OK;
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
    kick(ev);   /* events replayed from the spool */
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
    kt_buf_wipe(&ev->head);   /* it held the token or the OTLP headers */
    kt_buf_free(&ev->head);
    if (ev->target.host) kt_pools_free(&ev->pools);
    if (ev->durable) kt_durable_free(&ev->dur);
    free(ev->target.id);
    free(ev->target.host);
    free(ev->path);
    if (ev->token) {
        memset(ev->token, 0, strlen(ev->token));
        free(ev->token);
    }
    free(ev);
}
