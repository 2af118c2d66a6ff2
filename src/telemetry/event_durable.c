/* The loop's side of the event write-ahead log. kt_durable_push gives an event its seq (stored
 * in the mapped state page: a memory store, no system call) and encodes it into `pending`; the
 * disk work (append + one fdatasync, trimming acknowledged segments, reading the next batch)
 * runs on libuv's threadpool, one task at a time, so the loop never waits on the disk. A commit
 * leaves within commit_ms of the first pending event (group commit), at once when a batch is
 * wanted, or when pending reaches KT_DURABLE_COMMIT_BYTES. */
#include <stdlib.h>
#include <string.h>

#include "event_priv.h"
#include "kt/log.h"
#include "kt/metrics.h"

#define KT_DURABLE_COMMIT_BYTES (256u << 10)
#define KT_DURABLE_LOG_MS 10000   /* one events_spool_full line per 10 s at most */

struct kt_durable_task {
    uv_work_t req;
    kt_durable *d;
    kt_buf recs;             /* records being committed (swapped with d->pending) */
    uint32_t nrecs;
    uint64_t acked;
    bool read, trim;
    uint32_t max;
    size_t max_bytes;
    kt_spool_out out;
    kt_buf events;
    uint32_t count;
    uint64_t first, last;
    int read_rc;
};

static void pump(kt_durable *d);

static void count_dropped(kt_durable *d, uint64_t n)
{
    d->spool.st->dropped += n;
    if (d->m) d->m->events_dropped += n;
}

/* ---- the threadpool side -------------------------------------------------------------------- */

static void task_work(uv_work_t *w)
{
    kt_durable_task *t = w->data;
    kt_spool *s = &t->d->spool;
    if (t->recs.len) kt_spool_append(s, t->recs.p, t->recs.len, t->acked, &t->out);
    if (t->trim) kt_spool_trim(s, t->acked);
    if (t->read)
        t->read_rc = kt_spool_read(s, t->acked, t->max, t->max_bytes, &t->events, &t->count,
                                   &t->first, &t->last);
}

/* ---- back on the loop ---------------------------------------------------------------------- */

static void committed(kt_durable *d, kt_durable_task *t)
{
    kt_wal_state *st = d->spool.st;
    const kt_spool_out *o = &t->out;
    uint64_t high = KT_MAX(o->last_written, o->last_failed);
    if (high > st->settled) st->settled = high;
    if (o->failed) {
        count_dropped(d, o->failed);
        KT_WARN("events_spool", "cannot write %u decision events to the spool (%s); counted as "
                "dropped", o->failed, strerror(o->err));
    } else if (o->err) {
        KT_WARN("events_spool", "fdatasync of the event spool failed: %s", strerror(o->err));
    }
    d->unread += o->written;
    if (d->m) d->m->events_spooled += o->written;
}

/* Unacknowledged events the bound deleted: into `dropped` (the worker counted them in
 * st->evicted before deleting). Those of the batch in flight are remembered: if it is delivered
 * after all, they were not lost. */
static void evictions(kt_durable *d, const kt_spool_out *o)
{
    kt_wal_state *st = d->spool.st;
    uint64_t n = st->evicted - st->evicted_seen, inflight = 0;
    st->evicted_seen = st->evicted;
    d->unread -= KT_MIN(d->unread, o->evicted_unread);
    if (d->read_last && o->evicted_upto >= d->read_first) {
        uint64_t k = KT_MIN(o->evicted_upto, d->read_last) - d->read_first + 1;
        if (k > d->precounted) {
            inflight = k - d->precounted;
            d->precounted = k;
        }
    }
    if (!n) return;
    st->dropped += n;
    if (d->m) d->m->events_dropped += n - KT_MIN(n, inflight);   /* a counter never goes back */
    d->full_unlogged += n;
    uint64_t now = uv_now(d->loop);
    if (d->full_logged_ms && now - d->full_logged_ms < KT_DURABLE_LOG_MS) return;
    KT_WARN("events_spool_full", "spool_max_bytes reached: %llu oldest decision events dropped "
            "(counted)", (unsigned long long)d->full_unlogged);
    d->full_unlogged = 0;
    d->full_logged_ms = now;
}

static void finish_close(kt_durable *d);

static void task_done(uv_work_t *w, int status)
{
    kt_durable_task *t = w->data;
    kt_durable *d = t->d;
    (void)status;
    d->busy = false;
    bool had_recs = t->nrecs != 0, had_read = t->read;
    if (had_recs) committed(d, t);
    evictions(d, &t->out);
    kt_buf_reset(&t->recs);
    if (t->recs.cap > 2 * KT_DURABLE_COMMIT_BYTES) kt_buf_free(&t->recs);
    if (had_read) {
        if (t->read_rc) {
            KT_WARN("events_spool", "cannot read the event spool");
            t->count = 0;
        }
        d->unread -= KT_MIN(d->unread, t->count);
        if (t->count) {
            d->read_first = t->first;
            d->read_last = t->last;
            d->precounted = 0;
        }
        if (d->cb.on_batch)
            d->cb.on_batch(d->owner, t->events.p, t->events.len, t->count, t->last);
    }
    if (had_recs && d->cb.on_commit) d->cb.on_commit(d->owner);
    pump(d);
}

static void start_task(kt_durable *d, bool commit)
{
    kt_durable_task *t = d->task;
    memset(&t->out, 0, sizeof t->out);
    t->nrecs = 0;
    t->count = 0;
    t->first = t->last = 0;
    t->read_rc = 0;
    kt_buf_reset(&t->events);
    if (commit) {
        kt_buf tmp = t->recs;   /* empty: swap, so the loop keeps appending to the other */
        t->recs = d->pending;
        d->pending = tmp;
        t->nrecs = d->pending_n;
        d->pending_n = 0;
        d->commit_due = false;
        uv_timer_stop(&d->commit_timer);
    }
    t->acked = d->spool.st->acked;
    t->trim = d->trim_due;
    d->trim_due = false;
    t->read = d->read_wanted && !d->closing;
    d->read_wanted = false;
    t->max = d->batch_max;
    t->max_bytes = d->batch_bytes;
    d->busy = true;
    t->req.data = t;
    if (uv_queue_work(d->loop, &t->req, task_work, task_done) != 0) {
        task_work(&t->req);   /* never with a valid loop and callback; stay correct anyway */
        task_done(&t->req, 0);
    }
}

static void pump(kt_durable *d)
{
    if (d->busy || d->closed) return;
    bool commit = d->pending.len && (d->commit_due || d->read_wanted || d->closing ||
                                     d->pending.len >= KT_DURABLE_COMMIT_BYTES);
    if (commit || (d->read_wanted && !d->closing) || d->trim_due) {
        start_task(d, commit);
        return;
    }
    if (d->read_wanted) {   /* closing: no more batches */
        d->read_wanted = false;
    }
    if (d->closing) finish_close(d);
}

static void on_commit_timer(uv_timer_t *t)
{
    kt_durable *d = t->data;
    d->commit_due = true;
    pump(d);
}

static void on_timer_closed(uv_handle_t *h)
{
    kt_durable *d = h->data;
    d->timer_open = false;
    if (d->cb.on_closed) d->cb.on_closed(d->owner);
}

static void finish_close(kt_durable *d)
{
    if (d->closed) return;
    d->closed = true;
    uv_close((uv_handle_t *)&d->commit_timer, on_timer_closed);
}

/* ---- API --------------------------------------------------------------------------------- */

int kt_durable_open(kt_durable *d, uv_loop_t *loop, const kt_events_opts *o, kt_metrics *m,
                    const kt_durable_cb *cb, void *owner, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->loop = loop;
    d->m = m;
    d->cb = *cb;
    d->owner = owner;
    d->pending_max = KT_MAX((size_t)o->ring_bytes, (size_t)KT_WAL_REC_MAX + KT_WAL_HDR);
    d->commit_ms = o->spool_commit_ms ? o->spool_commit_ms : 200;
    kt_spool_recovery rec;
    int rc = kt_spool_open(&d->spool, o->spool_dir, o->spool_max_bytes, &rec, err, errlen);
    if (rc) return rc;
    d->task = kt_calloc(1, sizeof *d->task);
    if (!d->task) {
        kt_spool_close(&d->spool);
        return KT_ENOMEM;
    }
    d->task->d = d;
    kt_buf_init(&d->pending, d->pending_max);
    kt_buf_init(&d->task->recs, d->pending_max);
    kt_buf_init(&d->task->events, (size_t)o->ring_bytes + (8u << 20));
    d->unread = rec.unread;
    uv_timer_init(loop, &d->commit_timer);
    d->commit_timer.data = d;
    d->timer_open = true;
    if (rec.state_reset)
        KT_WARN("events_spool", "the spool state in %s was unreadable and was reset; events "
                "lost before this start cannot be counted", o->spool_dir);
    if (rec.lost || rec.damaged)
        KT_WARN("events_recovered", "%llu decision events accepted before the previous exit were "
                "never written and %llu were damaged on disk; counted as dropped",
                (unsigned long long)rec.lost, (unsigned long long)rec.damaged);
    if (rec.unread)
        KT_INFO("events_replay", "%llu spooled decision events in %zu segments to deliver",
                (unsigned long long)rec.unread, rec.segments);
    if (m) m->events_dropped += rec.lost + rec.damaged;
    return KT_OK;
}

int kt_durable_push(kt_durable *d, const char *json, size_t len)
{
    if (d->closing || len > KT_WAL_REC_MAX || d->pending.len + len + KT_WAL_HDR > d->pending_max) {
        count_dropped(d, 1);   /* the disk is behind by pending_max bytes, or we are closing */
        return KT_ELIMIT;
    }
    kt_wal_state *st = d->spool.st;
    if (kt__wal_encode(&d->pending, st->produced, json, len)) {
        count_dropped(d, 1);
        return KT_ENOMEM;
    }
    st->produced++;   /* accepted: from here on it is delivered or counted, even after a kill */
    d->pending_n++;
    if (d->pending.len >= KT_DURABLE_COMMIT_BYTES) pump(d);
    else if (!uv_is_active((uv_handle_t *)&d->commit_timer))
        uv_timer_start(&d->commit_timer, on_commit_timer, d->commit_ms, 0);
    return KT_OK;
}

void kt_durable_read(kt_durable *d, uint32_t max, size_t max_bytes)
{
    d->batch_max = max;
    d->batch_bytes = max_bytes;
    d->read_wanted = true;
    pump(d);
}

void kt_durable_ack(kt_durable *d)
{
    if (!d->read_last) return;
    kt_wal_state *st = d->spool.st;
    if (d->read_last > st->acked) st->acked = d->read_last;
    st->dropped -= KT_MIN(st->dropped, d->precounted);
    d->read_first = d->read_last = d->precounted = 0;
    d->trim_due = true;
    pump(d);
}

uint64_t kt_durable_waiting(const kt_durable *d) { return d->unread + d->pending_n; }

uint64_t *kt_durable_dropped(kt_durable *d) { return &d->spool.st->dropped; }

uint64_t *kt_durable_dropped_inflight(kt_durable *d) { return &d->spool.st->dropped_inflight; }

void kt_durable_close(kt_durable *d)
{
    if (d->closing) return;
    d->closing = true;
    pump(d);
}

void kt_durable_free(kt_durable *d)
{
    if (d->task) {
        kt_buf_free(&d->task->recs);
        kt_buf_free(&d->task->events);
        free(d->task);
        d->task = NULL;
    }
    kt_buf_free(&d->pending);
    if (d->spool.dir) kt_spool_close(&d->spool);
}
