/* Budgets for the metrics: for each spend-limit policy of the chain (and consumers[].limits),
 * per window, the budget and the least that any of its scopes has left (settled plus held
 * spend counted), so a dashboard and an alert see the scope nearest its limit with a bounded
 * number of series: one per policy and window, never one per consumer or model. With
 * gateway.shared_state the counters are the fleet's, in Redis: each entry then carries what
 * this instance's latest reserve read there (gov_shared.c), so the gauges show the fleet's spend
 * as of this instance's latest request of that scope, without a Redis call per scrape. */
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "gov_priv.h"
#include "kt/civil.h"
#include "gov_store.h"
#include "kt/gov_opts.h"

typedef struct windows_now {
    int64_t day, month;
} windows_now;

static windows_now now_windows(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    uint64_t days = (uint64_t)tv.tv_sec / 86400;
    kt_civil c = kt_civil_from_days(days);
    return (windows_now){ (int64_t)days, (int64_t)c.year * 12 + (c.month - 1) };
}

/* What an entry has used in the window: its own counters, or the fleet's under shared state. */
static double used(const kt_gov_entry *e, bool shared, bool monthly, windows_now w)
{
    if (shared)
        return monthly ? (e->fleet_month == w.month ? e->fleet_used_month : 0)
                       : (e->fleet_day == w.day ? e->fleet_used_day : 0);
    double spent = monthly ? (e->month == w.month ? e->spent_month : 0)
                           : (e->day == w.day ? e->spent_day : 0);
    return spent + e->held;
}

/* The most any entry whose key starts with `prefix` has used in the window (0 when none). */
static double most_used(const kt_gov *g, const char *prefix, bool monthly, windows_now w)
{
    size_t pl = strlen(prefix);
    double most = 0;
    for (size_t b = 0; b < KT_GOV_BUCKETS; b++)
        for (const kt_gov_entry *e = g->store.buckets[b]; e; e = e->next) {
            if (strncmp(e->key, prefix, pl) != 0) continue;
            double u = used(e, g->rds != NULL, monthly, w);
            if (u > most) most = u;
        }
    return most;
}

static size_t put(kt_gov_budget *out, size_t n, size_t max, const char *policy, const char *window,
                  double limit, double used)
{
    if (n >= max || limit <= 0) return n;
    out[n] = (kt_gov_budget){ policy, window, limit, limit - used };
    return n + 1;
}

/* consumers[].limits.max_daily_usd: the consumer with the least left. */
static size_t consumer_budgets(const kt_gov *g, const kt_config *cfg, kt_gov_budget *out,
                               size_t n, size_t max, windows_now w)
{
    double least = 0, limit = 0;
    bool any = false;
    for (size_t i = 0; i < cfg->nconsumers; i++) {
        const kt_consumer *k = &cfg->consumers[i];
        if (k->limits.max_daily_usd <= 0) continue;
        char prefix[KT_GOV_KEY_MAX];
        snprintf(prefix, sizeof prefix, "s::consumer:%s", k->name);
        double left = k->limits.max_daily_usd - most_used(g, prefix, false, w);
        if (!any || left < least) least = left, limit = k->limits.max_daily_usd;
        any = true;
    }
    if (!any || n >= max) return n;
    out[n] = (kt_gov_budget){ "consumer-limits", "day", limit, least };
    return n + 1;
}

size_t kt_gov_budgets(const kt_gov *g, const kt_config *cfg, kt_gov_budget *out, size_t max)
{
    if (!g || !cfg) return 0;
    windows_now w = now_windows();
    size_t n = 0;
    for (size_t i = 0; i < cfg->nchain; i++) {
        const kt_policy_cfg *pc = &cfg->chain[i];
        if (strcmp(pc->kind, "spend-limit") != 0 || !pc->state) continue;
        const kt_spend_opts *o = pc->state;
        char prefix[KT_GOV_KEY_MAX];
        snprintf(prefix, sizeof prefix, "s:%s:", pc->name);
        n = put(out, n, max, pc->name, "day", o->max_daily_usd,
                most_used(g, prefix, false, w));
        n = put(out, n, max, pc->name, "month", o->max_monthly_usd,
                most_used(g, prefix, true, w));
    }
    return consumer_budgets(g, cfg, out, n, max, w);
}
