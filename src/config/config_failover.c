/* `gateway.failover` (which failures move a request to a target's fallbacks, the retry budget,
 * the circuit breaker) and `gateway.forward_paths` (client paths forwarded beyond the default
 * list). What they mean: docs/ROUTING.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

#define KT__CFG_MAX_FORWARD_PATHS 64

static void status_set(kt_failover_opts *o, int s)
{
    o->on_status[(s - 100) / 64] |= 1ull << ((s - 100) % 64);
}

void kt_failover_opts_defaults(kt_failover_opts *o)
{
    static const int statuses[] = { 429, 500, 502, 503, 504 };
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < KT_ARRAY_LEN(statuses); i++) status_set(o, statuses[i]);
    o->max_attempts = 3;
    o->retry_budget = 0.2;
    o->retry_burst = 10;
    o->circuit_failures = 5;
    o->base_ejection_ms = 10 * 1000;
    o->max_ejection_ms = 5 * 60 * 1000;
}

static void on_status(kt__cfgctx *x, kt_failover_opts *o, const kt_ynode *v)
{
    const char *where = "gateway.failover.on_status";
    if (!kt_yr_want_seq(&x->rd, v, where)) return;
    memset(o->on_status, 0, sizeof o->on_status);
    for (size_t i = 0; i < v->n; i++) {
        uint64_t s;
        if (kt_yr_uint(&x->rd, v->vals[i], where, 400, 599, &s)) continue;
        status_set(o, (int)s);
    }
}

static void circuit(kt__cfgctx *x, kt_failover_opts *o, const kt_ynode *c)
{
    static const char *const keys[] = { "failures", "base_ejection", "max_ejection", NULL };
    if (!kt_yr_want_map(&x->rd, c, "gateway.failover.circuit")) return;
    kt_yr_check_keys(&x->rd, c, keys, "gateway.failover.circuit");
    const kt_ynode *v;
    uint64_t u;
    if ((v = kt_ymap_get(c, "failures")) &&
        !kt_yr_uint(&x->rd, v, "gateway.failover.circuit.failures", 0, 1000, &u))
        o->circuit_failures = (uint32_t)u;
    if ((v = kt_ymap_get(c, "base_ejection")) &&
        !kt_yr_duration(&x->rd, v, "gateway.failover.circuit.base_ejection", 1, 3600 * 1000, &u))
        o->base_ejection_ms = (uint32_t)u;
    if ((v = kt_ymap_get(c, "max_ejection")) &&
        !kt_yr_duration(&x->rd, v, "gateway.failover.circuit.max_ejection", 1, 24 * 3600 * 1000,
                        &u))
        o->max_ejection_ms = (uint32_t)u;
    if (o->max_ejection_ms < o->base_ejection_ms)
        kt_yr_err(&x->rd, c, "gateway.failover.circuit.max_ejection is shorter than base_ejection");
}

void kt__cfg_failover(kt__cfgctx *x, const kt_ynode *f)
{
    static const char *const keys[] = { "on_status", "max_attempts", "retry_budget",
                                        "retry_burst", "deadline", "circuit", NULL };
    kt_failover_opts *o = &x->cfg->gateway.failover;
    if (kt_y_is_null(f) || !kt_yr_want_map(&x->rd, f, "gateway.failover")) return;
    kt_yr_check_keys(&x->rd, f, keys, "gateway.failover");
    const kt_ynode *v;
    uint64_t u;
    if ((v = kt_ymap_get(f, "on_status"))) on_status(x, o, v);
    if ((v = kt_ymap_get(f, "max_attempts")) &&
        !kt_yr_uint(&x->rd, v, "gateway.failover.max_attempts", 1, 10, &u))
        o->max_attempts = (uint32_t)u;
    if ((v = kt_ymap_get(f, "retry_budget")))
        kt_yr_decimal(&x->rd, v, "gateway.failover.retry_budget", 0, 1, &o->retry_budget);
    if ((v = kt_ymap_get(f, "retry_burst")) &&
        !kt_yr_uint(&x->rd, v, "gateway.failover.retry_burst", 0, 100000, &u))
        o->retry_burst = (uint32_t)u;
    if ((v = kt_ymap_get(f, "deadline")) &&
        !kt_yr_duration(&x->rd, v, "gateway.failover.deadline", 1, 3600 * 1000, &u))
        o->deadline_ms = (uint32_t)u;
    if ((v = kt_ymap_get(f, "circuit"))) circuit(x, o, v);
}

void kt__cfg_forward_paths(kt__cfgctx *x, const kt_ynode *v)
{
    const char *where = "gateway.forward_paths";
    kt_gateway_opts *g = &x->cfg->gateway;
    if (kt_y_is_null(v) || !kt_yr_want_seq(&x->rd, v, where) || !v->n) return;
    if (v->n > KT__CFG_MAX_FORWARD_PATHS) {
        kt_yr_err(&x->rd, v, "%s has more than %d patterns", where, KT__CFG_MAX_FORWARD_PATHS);
        return;
    }
    g->forward_paths = kt_calloc(v->n, sizeof *g->forward_paths);
    if (!g->forward_paths) {
        x->rd.oom = 1;
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const char *s = kt_yr_want_str(&x->rd, v->vals[i], where);
        if (!s) continue;
        if (strncmp(s, "/v1/", 4) != 0 || strlen(s) > 256) {
            kt_yr_err(&x->rd, v->vals[i], "%s: a pattern is a client path under /v1/ (at most 256 "
                      "characters), such as /v1/files or /v1/files/*", where);
            continue;
        }
        char *d = kt_yr_dup(&x->rd, s);
        if (d) g->forward_paths[g->nforward_paths++] = d;
    }
}

void kt__cfg_failover_free(kt_config *c)
{
    for (size_t i = 0; i < c->gateway.nforward_paths; i++) free(c->gateway.forward_paths[i]);
    free(c->gateway.forward_paths);
}
