/* The in-process counters: a bounded hash table of entries, GCRA for request and token rates
 * (a request fits when the theoretical arrival time, advanced by its cost, stays within one
 * minute of now: no fixed windows, no double burst at a boundary) and reserve/settle for spend
 * in UTC day and month windows. Everything runs on the loop thread. */
#include <stdlib.h>
#include <string.h>

#include "gov_store.h"
#include "kt/fmath.h"

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void kt__store_init(kt_gov_store *s) { memset(s, 0, sizeof *s); }

void kt__store_free(kt_gov_store *s)
{
    for (size_t i = 0; i < KT_GOV_BUCKETS; i++) {
        kt_gov_entry *e = s->buckets[i];
        while (e) {
            kt_gov_entry *nx = e->next;
            free(e);
            e = nx;
        }
        s->buckets[i] = NULL;
    }
    s->n = 0;
}

kt_gov_entry *kt__store_entry(kt_gov_store *s, const char *key)
{
    if (strlen(key) >= KT_GOV_KEY_MAX) return NULL;
    uint64_t h = fnv(key);
    kt_gov_entry **b = &s->buckets[h % KT_GOV_BUCKETS];
    for (kt_gov_entry *e = *b; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0) return e;
    if (s->n >= KT_GOV_MAX_ENTRIES) return NULL;
    kt_gov_entry *e = kt_calloc(1, sizeof *e);
    if (!e) return NULL;
    strcpy(e->key, key);
    e->hash = h;
    e->day = e->month = -1;
    e->next = *b;
    *b = e;
    s->n++;
    return e;
}

static void roll(kt_gov_entry *e, int64_t day, int64_t month)
{
    if (e->day != day) {
        e->day = day;
        e->spent_day = 0;
    }
    if (e->month != month) {
        e->month = month;
        e->spent_month = 0;
    }
}

static int64_t *tat_of(kt_gov_entry *e, uint8_t what)
{
    return what == KT_HOLD_REQS ? &e->tat_reqs : &e->tat_tokens;
}

/* GCRA: the new theoretical arrival time if `c` fits now, else -1 with *retry_us. */
static int64_t gcra(const kt_gov_check *c, int64_t now, uint64_t *retry_us)
{
    double t = (double)KT_MINUTE_US / c->limit;   /* emission interval of one unit */
    int64_t tat = *tat_of(c->entry, c->what);
    int64_t base = tat > now ? tat : now;
    int64_t next = base + kt_ceil_i64(c->cost * t);
    if (next - now <= (int64_t)KT_MINUTE_US) return next;
    *retry_us = c->cost > c->limit ? KT_MINUTE_US : (uint64_t)(next - now - (int64_t)KT_MINUTE_US);
    return -1;
}

static bool spend_fits(const kt_gov_check *c, int64_t day, int64_t month, kt_gov_denial *d)
{
    kt_gov_entry *e = c->entry;
    roll(e, day, month);
    d->held = e->held;
    if (c->limit > 0 && e->spent_day + e->held + c->cost > c->limit) {
        d->spent = e->spent_day;
        d->monthly = false;
        return false;
    }
    if (c->limit_month > 0 && e->spent_month + e->held + c->cost > c->limit_month) {
        d->spent = e->spent_month;
        d->monthly = true;
        return false;
    }
    return true;
}

/* Rate state for the x-ratelimit-* headers: the tightest limit of each kind. */
void kt__store_note_rate(kt_gov_req *r, const kt_gov_check *c, int64_t next, int64_t now)
{
    double t = (double)KT_MINUTE_US / c->limit;
    double room = ((double)KT_MINUTE_US - (double)(next - now)) / t;
    uint64_t remaining = room > 0 ? (uint64_t)(room + 1e-9)   /* positive: truncating floors */ : 0;
    uint64_t reset_ms = (uint64_t)((next - now) / 1000);
    uint64_t *lim = c->what == KT_HOLD_REQS ? &r->rl_req_limit : &r->rl_tok_limit;
    uint64_t *rem = c->what == KT_HOLD_REQS ? &r->rl_req_remaining : &r->rl_tok_remaining;
    uint64_t *rst = c->what == KT_HOLD_REQS ? &r->rl_req_reset_ms : &r->rl_tok_reset_ms;
    if (*lim && *rem <= remaining) return;
    *lim = (uint64_t)c->limit;
    *rem = remaining;
    *rst = reset_ms;
}

bool kt__store_reserve(kt_gov_store *s, const kt_gov_check *c, size_t n, int64_t now_us,
                       int64_t day, int64_t month, kt_gov_req *r, kt_gov_denial *d)
{
    int64_t next[KT_GOV_MAX_HOLDS];
    if (n > KT_GOV_MAX_HOLDS) n = KT_GOV_MAX_HOLDS;
    memset(d, 0, sizeof *d);
    for (size_t i = 0; i < n; i++) {   /* check everything first: all or nothing */
        d->index = i;
        if (c[i].what == KT_HOLD_SPEND) {
            if (!spend_fits(&c[i], day, month, d)) return false;
            continue;
        }
        next[i] = gcra(&c[i], now_us, &d->retry_us);
        if (next[i] < 0) return false;
        for (size_t j = 0; j < i; j++)   /* two checks on one counter (not expected) */
            if (c[j].entry == c[i].entry && c[j].what == c[i].what) return false;
    }
    r->nholds = 0;
    for (size_t i = 0; i < n; i++) {
        kt_gov_hold *h = &r->holds[r->nholds++];
        h->entry = c[i].entry;
        h->what = c[i].what;
        h->amount = c[i].cost;
        h->limit = c[i].limit;
        if (c[i].what == KT_HOLD_SPEND) {
            c[i].entry->held += c[i].cost;
        } else {
            *tat_of(c[i].entry, c[i].what) = next[i];
            kt__store_note_rate(r, &c[i], next[i], now_us);
        }
    }
    if (n) s->version++;
    return true;
}

void kt__store_settle(kt_gov_store *s, kt_gov_req *r, double usd, double tokens, int64_t now_us,
                      int64_t day, int64_t month)
{
    (void)now_us;
    for (size_t i = 0; i < r->nholds; i++) {
        kt_gov_hold *h = &r->holds[i];
        kt_gov_entry *e = h->entry;
        if (h->what == KT_HOLD_SPEND) {
            roll(e, day, month);
            e->held -= h->amount;
            if (e->held < 1e-12) e->held = 0;   /* float dust: no phantom reservation */
            e->spent_day += usd;
            e->spent_month += usd;
            s->version++;
        } else if (h->what == KT_HOLD_TOKENS && tokens >= 0) {
            /* The token rate took the estimate; the difference is given back (or taken). */
            double t = (double)KT_MINUTE_US / h->limit;
            int64_t adj = (int64_t)((tokens - h->amount) * t);
            e->tat_tokens += adj;
            if (e->tat_tokens < now_us && adj < 0) e->tat_tokens = now_us;
        }
    }
    r->nholds = 0;
}

void kt__store_expire(kt_gov_store *s, kt_gov_req *r)
{
    for (size_t i = 0; i < r->nholds; i++) {
        kt_gov_hold *h = &r->holds[i];
        if (h->what != KT_HOLD_SPEND) continue;
        h->entry->held -= h->amount;
        if (h->entry->held < 1e-12) h->entry->held = 0;
        h->amount = 0;
        s->version++;
    }
}
