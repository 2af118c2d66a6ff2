/* Circuit breakers per target, the retry budget and the failover counters (kt/circuit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/circuit.h"

const char *kt_attempt_outcome_name(kt_attempt_outcome o)
{
    static const char *const names[] = { "ok", "status", "connect", "tls", "timeout", "closed",
                                         "error" };
    _Static_assert(KT_ARRAY_LEN(names) == KT_ATTEMPT_OUTCOMES, "one name per outcome");
    return (unsigned)o < KT_ATTEMPT_OUTCOMES ? names[o] : "error";
}

const char *kt_circuit_state_name(kt_circuit_state s)
{
    return s == KT_CIRCUIT_OPEN ? "open" : s == KT_CIRCUIT_HALF_OPEN ? "half_open" : "closed";
}

#define KT__CIRCUITS_FIRST 8   /* a config's usual few targets; more double the table */

kt_circuits *kt_circuits_new(void)
{
    kt_circuits *cs = kt_calloc(1, sizeof *cs);
    if (!cs) return NULL;
    cs->v = kt_calloc(KT__CIRCUITS_FIRST, sizeof *cs->v);
    if (!cs->v) {
        free(cs);
        return NULL;
    }
    cs->cap = KT__CIRCUITS_FIRST;
    return cs;
}

void kt_circuits_free(kt_circuits *cs)
{
    if (cs) free(cs->v);
    free(cs);
}

static kt_circuit *find(const kt_circuits *cs, const char *id)
{
    for (size_t i = 0; i < cs->n; i++)
        if (strcmp(cs->v[i].id, id) == 0) return &cs->v[i];
    return NULL;
}

/* A slot for a new id: a free one, a new one (the table doubles up to KT_CIRCUITS_MAX), or, when
 * the table is full or cannot grow, the least recently used. */
static kt_circuit *slot(kt_circuits *cs)
{
    if (cs->n == cs->cap && cs->cap < KT_CIRCUITS_MAX) {
        size_t ncap = KT_MIN(cs->cap * 2, (size_t)KT_CIRCUITS_MAX);
        kt_circuit *nv = realloc(cs->v, ncap * sizeof *nv);
        if (nv) {
            cs->v = nv;
            cs->cap = ncap;
        }
    }
    if (cs->n < cs->cap) return &cs->v[cs->n++];
    kt_circuit *c = &cs->v[0];
    for (size_t i = 1; i < cs->n; i++)
        if (cs->v[i].last_used_ms < c->last_used_ms) c = &cs->v[i];
    return c;
}

const kt_circuit *kt_circuits_find(const kt_circuits *cs, const char *id)
{
    return find(cs, id);
}

kt_circuit *kt_circuit_of(kt_circuits *cs, const char *id, uint64_t now_ms)
{
    kt_circuit *c = find(cs, id);
    if (!c) {
        c = slot(cs);
        memset(c, 0, sizeof *c);
        snprintf(c->id, sizeof c->id, "%s", id);
    }
    c->last_used_ms = now_ms;
    return c;
}

kt_circuit_state kt_circuit_state_now(const kt_circuit *c, uint64_t now_ms)
{
    if (c->state == KT_CIRCUIT_OPEN && now_ms >= c->open_until_ms) return KT_CIRCUIT_HALF_OPEN;
    return c->state;
}

bool kt_circuit_admit(kt_circuit *c, uint64_t now_ms, bool *probe)
{
    *probe = false;
    switch (kt_circuit_state_now(c, now_ms)) {
    case KT_CIRCUIT_CLOSED: return true;
    case KT_CIRCUIT_OPEN: return false;
    case KT_CIRCUIT_HALF_OPEN: break;
    }
    if (c->state == KT_CIRCUIT_HALF_OPEN && c->probing) return false;
    c->state = KT_CIRCUIT_HALF_OPEN;
    c->probing = true;
    *probe = true;
    return true;
}

static void open_circuit(kt_circuit *c, const kt_failover_opts *o, uint64_t now_ms)
{
    uint64_t ms = o->base_ejection_ms;
    for (uint32_t i = 0; i < c->opens && ms < o->max_ejection_ms; i++) ms *= 2;
    if (ms > o->max_ejection_ms) ms = o->max_ejection_ms;
    c->opens++;
    c->state = KT_CIRCUIT_OPEN;
    c->probing = false;
    c->open_until_ms = now_ms + ms;
}

void kt_circuit_result(kt_circuit *c, const kt_failover_opts *o, bool failed, bool probe,
                       uint64_t now_ms)
{
    if (probe) {
        c->probing = false;
        if (failed) {
            open_circuit(c, o, now_ms);
            return;
        }
        c->state = KT_CIRCUIT_CLOSED;
        c->opens = 0;
        c->failures = 0;
        return;
    }
    if (c->state != KT_CIRCUIT_CLOSED) return;   /* in flight when it opened: the probe decides */
    if (!failed) {
        c->failures = 0;
        return;
    }
    c->failures++;
    if (o->circuit_failures && c->failures >= o->circuit_failures) open_circuit(c, o, now_ms);
}

void kt_circuit_release_probe(kt_circuit *c)
{
    if (c->state == KT_CIRCUIT_HALF_OPEN) c->probing = false;
}

void kt_retry_deposit(kt_circuits *cs, const kt_failover_opts *o)
{
    if (!cs->tokens_init) {
        cs->tokens = o->retry_burst;
        cs->tokens_init = true;
    }
    cs->tokens += o->retry_budget;
    if (cs->tokens > o->retry_burst) cs->tokens = o->retry_burst;
}

bool kt_retry_withdraw(kt_circuits *cs, const kt_failover_opts *o)
{
    if (!cs->tokens_init) kt_retry_deposit(cs, o);
    if (cs->tokens < 1.0) {
        cs->retries_denied++;
        return false;
    }
    cs->tokens -= 1.0;
    return true;
}

int kt_circuits_health_json(const kt_circuits *cs, const kt_config *cfg, uint64_t now_ms,
                            kt_buf *out)
{
    int rc = kt_buf_puts(out, ",\"circuits\":{");
    for (size_t i = 0; i < cfg->ntargets && !rc; i++) {
        const kt_target *t = &cfg->targets[i];
        const kt_circuit *c = find(cs, t->id);
        kt_circuit_state s = c ? kt_circuit_state_now(c, now_ms) : KT_CIRCUIT_CLOSED;
        uint64_t left = c && s == KT_CIRCUIT_OPEN ? c->open_until_ms - now_ms : 0;
        rc = kt_buf_printf(out, "%s\"%s\":{\"state\":\"%s\",\"consecutive_failures\":%u",
                           i ? "," : "", t->id, kt_circuit_state_name(s), c ? c->failures : 0);
        if (!rc && s == KT_CIRCUIT_OPEN)
            rc = kt_buf_printf(out, ",\"reopens_in_ms\":%llu", (unsigned long long)left);
        if (!rc) rc = kt_buf_puts(out, "}");
    }
    if (!rc) rc = kt_buf_puts(out, "}");
    return rc;
}

size_t kt_circuits_open_count(const kt_circuits *cs, const kt_config *cfg, uint64_t now_ms)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->ntargets; i++) {
        const kt_circuit *c = find(cs, cfg->targets[i].id);
        if (c && kt_circuit_state_now(c, now_ms) != KT_CIRCUIT_CLOSED) n++;
    }
    return n;
}

/* Target ids are [A-Za-z0-9._-] (config_targets.c): label values as they are. */
int kt_circuits_metrics(const kt_circuits *cs, const kt_config *cfg, uint64_t now_ms,
                        kt_buf *out)
{
    int rc = kt_buf_puts(out, "# HELP keeptrusts_circuit_state Circuit breaker per target: "
                              "0 closed, 1 open, 2 half-open.\n"
                              "# TYPE keeptrusts_circuit_state gauge\n");
    for (size_t i = 0; i < cfg->ntargets && !rc; i++) {
        const kt_circuit *c = find(cs, cfg->targets[i].id);
        kt_circuit_state s = c ? kt_circuit_state_now(c, now_ms) : KT_CIRCUIT_CLOSED;
        rc = kt_buf_printf(out, "keeptrusts_circuit_state{target=\"%s\"} %d\n",
                           cfg->targets[i].id, (int)s);
    }
    if (!rc)
        rc = kt_buf_puts(out, "# HELP keeptrusts_failover_attempts_total Upstream attempts per "
                              "target and how they ended.\n"
                              "# TYPE keeptrusts_failover_attempts_total counter\n");
    for (size_t i = 0; i < cs->n && !rc; i++) {
        const kt_circuit *c = &cs->v[i];
        for (int o = 0; o < KT_ATTEMPT_OUTCOMES && !rc; o++)
            if (c->attempts[o])
                rc = kt_buf_printf(out,
                                   "keeptrusts_failover_attempts_total{target=\"%s\","
                                   "outcome=\"%s\"} %llu\n",
                                   c->id, kt_attempt_outcome_name((kt_attempt_outcome)o),
                                   (unsigned long long)c->attempts[o]);
    }
    if (!rc)
        rc = kt_buf_printf(out, "# HELP keeptrusts_retry_budget_exhausted_total Retries the "
                                "retry budget refused.\n"
                                "# TYPE keeptrusts_retry_budget_exhausted_total counter\n"
                                "keeptrusts_retry_budget_exhausted_total %llu\n",
                           (unsigned long long)cs->retries_denied);
    return rc;
}
