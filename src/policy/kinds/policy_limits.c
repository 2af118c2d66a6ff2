/* spend-limit and rate-limit: request-level policies. They scan no text (no `scan`, no
 * directions), so the chain runner passes over them; their options are validated and compiled here
 * like any kind's, and the governance layer enforces them (kt/gov_opts.h). */
#include <stdlib.h>
#include <string.h>

#include "../policy_priv.h"
#include "kt/gov_opts.h"

static kt_gov_scope scope_opt(kt_yread *x, const kt_policy_cfg *pc, kt_gov_scope dflt)
{
    const kt_ynode *v = kt__popt_get(pc, "scope");
    if (!v) return dflt;
    const char *s = kt_yr_want_str(x, v, "scope");
    if (s && strcmp(s, "gateway") == 0) return KT_SCOPE_GATEWAY;
    if (s && strcmp(s, "consumer") == 0) return KT_SCOPE_CONSUMER;
    if (s && strcmp(s, "model") == 0) return KT_SCOPE_MODEL;
    if (s) kt_yr_err(x, v, "policy %s: scope must be gateway, consumer or model", pc->name);
    return dflt;
}

static double usd_opt(kt_yread *x, const kt_policy_cfg *pc, const char *key)
{
    const kt_ynode *v = kt__popt_get(pc, key);
    double d = 0;
    if (v) kt_yr_decimal(x, v, key, 0, 1e9, &d);
    return d;
}

static int spend_compile(kt_yread *x, const kt_policy_cfg *pc, void **state)
{
    static const char *const keys[] = { "max_daily_usd", "max_monthly_usd", "scope",
                                        "default_output_tokens", "reservation_ttl_seconds",
                                        "unpriced", NULL };
        kt_spend_opts *o = kt_calloc(1, sizeof *o);
    if (!o) return KT_ENOMEM;
    kt__popt_keys(x, pc, keys);
    o->max_daily_usd = usd_opt(x, pc, "max_daily_usd");
    o->max_monthly_usd = usd_opt(x, pc, "max_monthly_usd");
    o->scope = scope_opt(x, pc, KT_SCOPE_GATEWAY);
    o->default_output_tokens = kt__popt_uint(x, pc, "default_output_tokens", 1, 10000000, 1024);
    o->reservation_ttl_ms = 1000 * kt__popt_uint(x, pc, "reservation_ttl_seconds", 1, 86400, 900);
    const kt_ynode *u = kt__popt_get(pc, "unpriced");
    const char *s = u ? kt_yr_want_str(x, u, "unpriced") : NULL;
    if (s && strcmp(s, "allow") == 0) o->allow_unpriced = true;
    else if (s && strcmp(s, "deny") != 0)
        kt_yr_err(x, u, "policy %s: unpriced must be deny or allow", pc->name);
    *state = o;
    return KT_OK;
}

static int rate_compile(kt_yread *x, const kt_policy_cfg *pc, void **state)
{
    static const char *const keys[] = { "requests_per_minute", "tokens_per_minute", "scope", NULL };
        kt_rate_opts *o = kt_calloc(1, sizeof *o);
    if (!o) return KT_ENOMEM;
    kt__popt_keys(x, pc, keys);
    o->requests_per_minute = kt__popt_uint(x, pc, "requests_per_minute", 1, 100000000, 0);
    o->tokens_per_minute = kt__popt_uint(x, pc, "tokens_per_minute", 1, 100000000000ull, 0);
    o->scope = scope_opt(x, pc, KT_SCOPE_CONSUMER);
    *state = o;
    return KT_OK;
}

static void opts_destroy(void *state) { free(state); }

const kt_policy_kind kt_policy_spend = {
    .name = "spend-limit",
    .default_dirs = 0,
    .compile = spend_compile,
    .destroy = opts_destroy,
};

const kt_policy_kind kt_policy_rate = {
    .name = "rate-limit",
    .default_dirs = 0,
    .compile = rate_compile,
    .destroy = opts_destroy,
};
