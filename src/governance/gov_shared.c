/* gateway.shared_state: the check-and-reserve and the settle of gov_store.h done in Redis, so
 * every instance of a fleet counts against the same limits. One EVALSHA before a request is
 * forwarded (the reserve script, all checks at once) and one after it ends (settle); hiredis
 * pipelines the calls of every exchange on one connection. Request ids are "<instance>-<n>", the
 * instance part random at start, so ids never collide across the fleet and a settle sent twice
 * (retried after a lost reply) counts once. While Redis cannot be reached, on_unavailable
 * decides: local (this process's counters), deny (503) or allow (no limits). Settles that could
 * not be sent wait (bounded) for the connection to come back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <hiredis/hiredis.h>
#pragma GCC diagnostic pop

#include "gov_priv.h"
#include "gov_redis.h"
#include "kt/fmath.h"
#include "kt/log.h"

#define KT_SETTLE_MARKER_TTL_MS 172800000ull   /* 2 days: outlives every retry */
#define KT_SETTLE_ATTEMPTS 5
#define KT_NANO 1e9

static int64_t nano(double usd) { return usd > 0 ? (int64_t)kt_round_i64(usd * KT_NANO) : 0; }

static char kind_of(uint8_t what)
{
    return what == KT_HOLD_SPEND ? 's' : what == KT_HOLD_TOKENS ? 't' : 'r';
}

/* The keys of one counter: rate -> its TAT; spend -> day, month, holds hash, holds zset. */
static int counter_keys(kt_rds_op *op, const kt_gov *g, const kt_gov_entry *e, uint8_t what,
                        int64_t day, int64_t month, int *nkeys)
{
    if (what != KT_HOLD_SPEND) {
        (*nkeys)++;
        return kt__rds_argf(op, "%s%s", g->key_prefix, e->key);
    }
    *nkeys += 4;
    int rc = kt__rds_argf(op, "%s%s|d%lld", g->key_prefix, e->key, (long long)day);
    if (!rc) rc = kt__rds_argf(op, "%s%s|m%lld", g->key_prefix, e->key, (long long)month);
    if (!rc) rc = kt__rds_argf(op, "%s%s|h", g->key_prefix, e->key);
    if (!rc) rc = kt__rds_argf(op, "%s%s|z", g->key_prefix, e->key);
    return rc;
}

static const redisReply *elem(const redisReply *r, size_t i, int type)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements) return NULL;
    const redisReply *e = r->element[i];
    return e && e->type == type ? e : NULL;
}

static long long int_at(const redisReply *r, size_t i)
{
    const redisReply *e = elem(r, i, REDIS_REPLY_INTEGER);
    return e ? e->integer : -1;
}

/* ---- settle ----------------------------------------------------------------------------------- */

/* Room for one more waiting settle: the list grows with an outage (doubling from 16), not
 * preallocated (KT_GOV_RETRY_MAX pointers are 32 KiB of every kt's idle RSS). */
static bool retry_room(kt_gov *g)
{
    if (g->nretry < g->retry_cap) return true;
    if (g->retry_cap >= KT_GOV_RETRY_MAX) return false;
    size_t ncap = g->retry_cap ? KT_MIN(g->retry_cap * 2, (size_t)KT_GOV_RETRY_MAX) : 16;
    kt_rds_op **nv = realloc(g->retry, ncap * sizeof *nv);
    if (!nv) return false;
    g->retry = nv;
    g->retry_cap = ncap;
    return true;
}

static bool on_settled(void *arg, const redisReply *reply)
{
    kt_rds_op *op = arg;
    kt_gov *g = op->owner->on_up_arg;
    if (reply) {
        if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) g->shared.settles++;
        else if (reply->type == REDIS_REPLY_INTEGER) g->shared.settles_duplicate++;
        else g->shared.settles_lost++;
        return false;
    }
    bool young = uv_now(g->loop) - op->born_ms < KT_GOV_RETRY_AGE_MS;
    if (op->attempts < KT_SETTLE_ATTEMPTS && young && !op->owner->closing && retry_room(g)) {
        g->retry[g->nretry++] = op;   /* sent again when Redis is back */
        return true;
    }
    g->shared.settles_lost++;
    return false;
}

static void flush_retries(void *arg)
{
    kt_gov *g = arg;
    size_t n = g->nretry;
    if (!n) return;
    kt_rds_op **ops = g->retry;   /* taken whole: a settle that fails again starts a new list */
    g->retry = NULL;
    g->nretry = g->retry_cap = 0;
    KT_INFO("shared_state_settles_resent", "%zu settles that waited for Redis are sent again", n);
    for (size_t i = 0; i < n; i++) kt__rds_send(ops[i], ops[i]->nkeys);
    free(ops);
}

void kt__shared_settle(kt_gov *g, const kt_gov_req *r, double usd, double tokens)
{
    kt_rds_op *op = kt__rds_op_new(g->rds, KT_RDS_SETTLE, on_settled, NULL);
    if (!op) {
        g->shared.settles_lost++;
        return;
    }
    op->arg = op;
    int64_t day, month;
    kt__gov_windows(&day, &month);
    int nkeys = 1;
    int rc = kt__rds_argf(op, "%ssettled:%s-%llu", g->key_prefix, g->instance,
                          (unsigned long long)r->reservation_id);
    for (size_t i = 0; !rc && i < r->nholds; i++)
        rc = counter_keys(op, g, r->holds[i].entry, r->holds[i].what, day, month, &nkeys);
    if (!rc) rc = kt__rds_argf(op, "%s-%llu", g->instance, (unsigned long long)r->reservation_id);
    if (!rc) rc = kt__rds_argf(op, "%llu", KT_SETTLE_MARKER_TTL_MS);
    if (!rc) rc = kt__rds_argf(op, "%lld", (long long)nano(usd));
    if (!rc) rc = kt__rds_argf(op, "%lld", tokens >= 0 ? (long long)kt_round_i64(tokens) : -1LL);
    if (!rc) rc = kt__rds_argf(op, "%zu", r->nholds);
    for (size_t i = 0; !rc && i < r->nholds; i++) {
        const kt_gov_hold *h = &r->holds[i];
        rc = kt__rds_argf(op, "%c", kind_of(h->what));
        if (!rc) rc = kt__rds_argf(op, "%lld", h->what == KT_HOLD_SPEND
                                                   ? (long long)nano(h->amount)
                                                   : (long long)kt_round_i64(h->amount));
        if (!rc) rc = kt__rds_argf(op, "%.0f", h->limit);
    }
    if (rc) {
        kt__rds_op_free(op);
        g->shared.settles_lost++;
        return;
    }
    kt__rds_send(op, nkeys);
}

/* A reservation whose exchange went away before Redis answered: given back at once. */
static void release(kt__admit *p)
{
    kt_gov_req tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.reservation_id = p->rid;
    tmp.nholds = p->n;
    for (size_t i = 0; i < p->n; i++) {
        tmp.holds[i].entry = p->checks[i].entry;
        tmp.holds[i].what = p->checks[i].what;
        tmp.holds[i].amount = p->checks[i].cost;
        tmp.holds[i].limit = p->checks[i].limit;
    }
    p->g->shared.releases++;
    kt__shared_settle(p->g, &tmp, 0, 0);
}

/* ---- reserve ---------------------------------------------------------------------------------- */

static bool refuse_unavailable(kt_gov_refusal *out)
{
    out->status = 503;
    out->type = "unavailable";
    out->code = "shared_state_unavailable";
    out->chain_index = -1;
    snprintf(out->msg, sizeof out->msg, "the shared limit counters (Redis) cannot be reached "
             "and gateway.shared_state.redis.on_unavailable is deny; retry shortly");
    return false;
}

int kt__shared_unavailable(kt__admit *a, kt_gov_refusal *out)
{
    kt_gov *g = a->g;
    switch (g->on_unavailable) {
    case KT_UNAVAIL_DENY:
        g->shared.fallback_deny++;
        refuse_unavailable(out);
        return KT_GOV_REFUSED;
    case KT_UNAVAIL_ALLOW:
        g->shared.fallback_allow++;
        a->r->nholds = 0;
        a->r->unlimited = true;
        kt__gov_admitted(a, kt__gov_wall_ms(), false);
        return KT_GOV_ADMITTED;
    case KT_UNAVAIL_LOCAL:
    default:
        g->shared.fallback_local++;
        return kt__gov_reserve_local(a, NULL, out);
    }
}

/* What the reserve's answer says of the fleet's spend, for the budget gauges (gov_budget.c):
 * on admission every spend check's day total at 2 + i and its month total after the n slots;
 * on refusal the refused check's window. */
static void note_fleet_spend(const kt__admit *p, const redisReply *reply, bool ok)
{
    int64_t day = p->day, month = p->month;
    if (!ok) {
        long long idx = int_at(reply, 1);
        if (idx < 1 || (size_t)idx > p->n || p->checks[idx - 1].what != KT_HOLD_SPEND) return;
        kt_gov_entry *e = p->checks[idx - 1].entry;
        double used = (double)(int_at(reply, 2) + int_at(reply, 3)) / KT_NANO;
        if (int_at(reply, 5) == 1) e->fleet_month = month, e->fleet_used_month = used;
        else e->fleet_day = day, e->fleet_used_day = used;
        return;
    }
    size_t m = 2 + p->n;
    for (size_t i = 0; i < p->n; i++) {
        if (p->checks[i].what != KT_HOLD_SPEND) continue;
        kt_gov_entry *e = p->checks[i].entry;
        long long d = int_at(reply, 2 + i), mo = int_at(reply, m++);
        if (d >= 0) e->fleet_day = day, e->fleet_used_day = (double)d / KT_NANO;
        if (mo >= 0) e->fleet_month = month, e->fleet_used_month = (double)mo / KT_NANO;
    }
}

/* The reserve's answer: {1, now, x...} admitted, {0, index, spent, held, retry, monthly}
 * refused; anything else (no answer in time, an error) is "unavailable". */
static bool on_reserved(void *arg, const redisReply *reply)
{
    kt__admit *p = arg;
    kt_gov *g = p->g;
    kt_gov_req *r = p->r;
    if (r) r->pending = NULL;
    long long verdict = int_at(reply, 0);
    bool ok = verdict == 1 && reply->elements >= 2 + p->n;
    bool no = verdict == 0 && reply->elements >= 6;
    kt_gov_refusal out;
    memset(&out, 0, sizeof out);
    out.chain_index = -1;
    if (!ok && !no) {
        if (r) {
            int v = kt__shared_unavailable(p, &out);
            p->cb(p->cb_arg, v, &out);
        }
        free(p);
        return false;
    }
    note_fleet_spend(p, reply, ok);
    if (ok) {
        g->shared.reserves++;
        if (!r) {
            release(p);
        } else {
            int64_t now = int_at(reply, 1);
            r->nholds = 0;
            for (size_t i = 0; i < p->n; i++) {
                const kt_gov_check *c = &p->checks[i];
                kt_gov_hold *h = &r->holds[r->nholds++];
                h->entry = c->entry;
                h->what = c->what;
                h->amount = c->cost;
                h->limit = c->limit;
                if (c->what != KT_HOLD_SPEND) kt__store_note_rate(r, c, int_at(reply, 2 + i), now);
            }
            kt__gov_admitted(p, kt__gov_wall_ms(), true);
            p->cb(p->cb_arg, KT_GOV_ADMITTED, NULL);
        }
    } else if (r) {
        long long idx = int_at(reply, 1);
        kt_gov_denial d;
        memset(&d, 0, sizeof d);
        d.index = idx >= 1 && (size_t)idx <= p->n ? (size_t)idx - 1 : 0;
        d.spent = (double)int_at(reply, 2) / KT_NANO;
        d.held = (double)int_at(reply, 3) / KT_NANO;
        long long retry = int_at(reply, 4);
        d.retry_us = retry > 0 ? (uint64_t)retry : 0;
        d.monthly = int_at(reply, 5) == 1;
        kt__gov_refusal(p, &d, &out);
        p->cb(p->cb_arg, KT_GOV_REFUSED, &out);
    }
    free(p);
    return false;
}

int kt__shared_reserve(kt__admit *a)
{
    kt_gov *g = a->g;
    kt__admit *p = kt_malloc(sizeof *p);
    if (!p) return KT_ENOMEM;
    *p = *a;
    p->f = NULL;
    for (size_t i = 0; i < p->n; i++) p->checks[i].label = p->labels[i];
    kt_rds_op *op = kt__rds_op_new(g->rds, KT_RDS_RESERVE, on_reserved, p);
    if (!op) {
        free(p);
        return KT_ENOMEM;
    }
    kt_gov_req *r = a->r;
    r->reservation_id = p->rid = ++g->next_id;
    kt__gov_windows(&p->day, &p->month);
    int nkeys = 0, rc = 0;
    for (size_t i = 0; !rc && i < p->n; i++)
        rc = counter_keys(op, g, p->checks[i].entry, p->checks[i].what, p->day, p->month,
                          &nkeys);
    if (!rc) rc = kt__rds_argf(op, "%s-%llu", g->instance, (unsigned long long)r->reservation_id);
    if (!rc) rc = kt__rds_argf(op, "%llu", (unsigned long long)p->ttl_ms);
    if (!rc) rc = kt__rds_argf(op, "%zu", p->n);
    for (size_t i = 0; !rc && i < p->n; i++) {
        const kt_gov_check *c = &p->checks[i];
        bool spend = c->what == KT_HOLD_SPEND;
        rc = kt__rds_argf(op, "%c", kind_of(c->what));
        if (!rc) rc = spend ? kt__rds_argf(op, "%lld", (long long)nano(c->limit))
                            : kt__rds_argf(op, "%.0f", c->limit);
        if (!rc) rc = kt__rds_argf(op, "%lld", spend ? (long long)nano(c->limit_month) : 0LL);
        if (!rc) rc = kt__rds_argf(op, "%lld", spend ? (long long)nano(c->cost)
                                                     : (long long)kt_round_i64(c->cost));
    }
    if (rc) {
        kt__rds_op_free(op);
        free(p);
        return KT_ENOMEM;
    }
    r->pending = p;
    kt__rds_send(op, nkeys);
    return KT_OK;
}

void kt__shared_detach(kt_gov_req *r)
{
    kt__admit *p = r->pending;
    r->pending = NULL;
    if (p) p->r = NULL;
}

bool kt__shared_ready(const kt_gov *g) { return g->rds && kt__rds_up(g->rds); }

/* ---- life ------------------------------------------------------------------------------------- */

static void instance_id(char out[17])
{
    unsigned char b[8] = { 0 };
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {   /* unique enough: time and pid */
        uint64_t v = uv_hrtime() ^ ((uint64_t)getpid() << 40);
        memcpy(b, &v, sizeof b);
    }
    for (size_t i = 0; i < 8; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

int kt__shared_new(kt_gov *g, const kt_config *cfg)
{
    const kt_shared_state_opts *o = &cfg->gateway.shared_state;
    char err[160], *pw = NULL;
    if (kt_config_shared_password(o, kt_env_process(), &pw, err, sizeof err)) return KT_ENOMEM;
    if (o->password_source != KT_KEY_NONE && !pw)
        KT_WARN("shared_state_password", "the Redis password cannot be read (%s); connecting "
                "without AUTH", err);
    g->rds = kt_calloc(1, sizeof *g->rds);
    if (!g->rds) {
        kt_config_free_secret(pw);
        return KT_ENOMEM;
    }
    g->on_unavailable = o->on_unavailable;
    snprintf(g->key_prefix, sizeof g->key_prefix, "%s", o->key_prefix);
    instance_id(g->instance);
    static const char *const modes[] = { "local", "deny", "allow" };
    KT_INFO("shared_state", "limits are kept in Redis %s:%u db %u (prefix '%s', instance %s, "
            "on_unavailable: %s, timeout %u ms)", o->host, o->port, o->db, o->key_prefix,
            g->instance, modes[o->on_unavailable], o->timeout_ms);
    int rc = kt__rds_init(g->rds, g->loop, o, pw);
    g->rds->on_up = flush_retries;   /* the connection completes on the loop, later */
    g->rds->on_up_arg = g;
    return rc;
}

void kt__shared_close(kt_gov *g)
{
    if (!g->rds || g->rds->closing) return;
    kt__rds_close(g->rds);
    if (g->nretry)
        KT_WARN("shared_state_settles_lost", "%zu settles could not reach Redis before exit; "
                "their reservations expire by themselves", g->nretry);
    for (size_t i = 0; i < g->nretry; i++) kt__rds_op_free(g->retry[i]);
    g->shared.settles_lost += g->nretry;
    g->nretry = 0;
}

void kt__shared_free(kt_gov *g)
{
    if (!g->rds) return;
    for (size_t i = 0; i < g->nretry; i++) kt__rds_op_free(g->retry[i]);
    g->nretry = 0;
    free(g->retry);
    g->retry = NULL;
    g->retry_cap = 0;
    kt__rds_free(g->rds);
    free(g->rds);
    g->rds = NULL;
}
