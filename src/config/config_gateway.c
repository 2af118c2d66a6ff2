/* The `gateway:` section: listen address, reload settings and every limit and timeout. */
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "config_priv.h"

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define GIB (1024ull * 1024 * 1024)
#define SEC 1000ull
#define MIN (60ull * 1000)
#define HOUR (3600ull * 1000)

typedef enum { LIM_COUNT, LIM_SIZE, LIM_DURATION } lim_kind;

typedef struct lim_spec {
    const char *key;
    lim_kind kind;
    size_t off;   /* offset of the uint32_t in kt_limits */
    uint64_t min, max;
} lim_spec;

#define L(k, kind, field, lo, hi) { k, kind, offsetof(kt_limits, field), lo, hi }
static const lim_spec lim_specs[] = {
    L("max_header_bytes", LIM_SIZE, max_header_bytes, 1 * KIB, 1 * MIB),
    L("max_headers", LIM_COUNT, max_headers, 1, 10000),
    L("max_body_bytes", LIM_SIZE, max_body_bytes, 1 * KIB, 1 * GIB),
    L("max_chunk_ext_bytes", LIM_SIZE, max_chunk_ext_bytes, 1, 64 * KIB),
    L("max_connections", LIM_COUNT, max_connections, 1, 1000000),
    L("max_idle_connections", LIM_COUNT, max_idle_connections, 1, 1000000),
    L("header_timeout", LIM_DURATION, header_timeout_ms, 1, 1 * HOUR),
    L("body_timeout", LIM_DURATION, body_timeout_ms, 1, 1 * HOUR),
    L("idle_timeout", LIM_DURATION, idle_timeout_ms, 1, 1 * HOUR),
    L("upstream_connect_timeout", LIM_DURATION, upstream_connect_timeout_ms, 1, 10 * MIN),
    L("upstream_first_byte_timeout", LIM_DURATION, upstream_first_byte_timeout_ms, 1, 1 * HOUR),
    L("upstream_idle_timeout", LIM_DURATION, upstream_idle_timeout_ms, 1, 1 * HOUR),
    L("upstream_pool_max", LIM_COUNT, upstream_pool_max, 1, 10000),
    L("upstream_pool_idle", LIM_DURATION, upstream_pool_idle_ms, 1, 1 * HOUR),
    L("drain_period", LIM_DURATION, drain_ms, 0, 10 * MIN),
    L("shutdown_deadline", LIM_DURATION, shutdown_deadline_ms, 1, 1 * HOUR),
    L("max_response_buffer", LIM_SIZE, max_response_buffer, 1 * KIB, 64 * MIB),
};
#undef L

static const char *const gateway_keys[] = {
    "listen", "listen_port", "port", "ops_listen", "mode", "config_reload", "config_poll_interval",
    "secret_key_ref", "events", "metrics", "policy_cache", "fail_mode",
    "auth", "models", "state_dir", "shared_state", "audit_dir", "telemetry", "failover",
    "forward_paths",
    "max_header_bytes", "max_headers", "max_body_bytes", "max_chunk_ext_bytes", "max_connections",
    "max_idle_connections",
    "header_timeout", "body_timeout", "idle_timeout", "upstream_connect_timeout",
    "upstream_first_byte_timeout", "upstream_idle_timeout", "upstream_pool_max",
    "upstream_pool_idle", "drain_period", "shutdown_deadline", "max_response_buffer", NULL,
};

static const lim_spec *lim_find(const char *key)
{
    for (size_t i = 0; i < KT_ARRAY_LEN(lim_specs); i++)
        if (strcmp(lim_specs[i].key, key) == 0) return &lim_specs[i];
    return NULL;
}

static void set_limit(kt__cfgctx *x, const lim_spec *s, const kt_ynode *v)
{
    char where[64];
    snprintf(where, sizeof where, "gateway.%s", s->key);
    uint64_t val = 0;
    int rc;
    if (s->kind == LIM_COUNT) rc = kt_yr_uint(&x->rd, v, where, s->min, s->max, &val);
    else if (s->kind == LIM_SIZE) rc = kt_yr_size(&x->rd, v, where, s->min, s->max, &val);
    else rc = kt_yr_duration(&x->rd, v, where, s->min, s->max, &val);
    if (rc) return;
    uint32_t u = (uint32_t)val;   /* every max above fits in 32 bits */
    memcpy((char *)&x->cfg->gateway.limits + s->off, &u, sizeof u);
}

/* gateway.audit_dir: where audit-logger's hash-chained daily files go. */
static void set_audit_dir(kt__cfgctx *x, const kt_ynode *v)
{
    const char *dir = kt_yr_want_str(&x->rd, v, "gateway.audit_dir");
    if (dir && (!*dir || strlen(dir) > 1024)) kt_yr_err(&x->rd, v, "gateway.audit_dir must be a path");
    else if (dir) x->cfg->gateway.audit_dir = kt_yr_dup(&x->rd, dir);
}

/* "host:port", "[v6]:port" or ":port"; the port 1..65535. */
static int valid_listen(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || !colon[1] || strlen(colon + 1) > 5) return 0;
    if (s[0] == '[' && (colon == s || colon[-1] != ']')) return 0;
    unsigned port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        port = port * 10 + (unsigned)(*p - '0');
    }
    if (port == 0 || port > 65535) return 0;
    for (const char *p = s; p < colon; p++)
        if ((unsigned char)*p <= ' ' || *p == '/' || *p == '@') return 0;
    if (s[0] != '[' && memchr(s, ':', (size_t)(colon - s))) return 0;   /* IPv6 needs [] */
    return 1;
}

static void set_listen(kt__cfgctx *x, const kt_ynode *listen, const kt_ynode *port)
{
    kt_gateway_opts *g = &x->cfg->gateway;
    if (listen) {
        const char *s = kt_yr_want_str(&x->rd, listen, "gateway.listen");
        if (s && !valid_listen(s)) {
            kt_yr_err(&x->rd, listen, "gateway.listen must be HOST:PORT (port 1-65535)");
            s = NULL;
        }
        if (s) g->listen = kt_yr_dup(&x->rd, s);
    }
    uint64_t p = 0;
    if (port && !kt_yr_uint(&x->rd, port, "gateway.listen_port", 1, 65535, &p) && !listen) {
        char buf[32];
        snprintf(buf, sizeof buf, "127.0.0.1:%u", (unsigned)p);
        g->listen = kt_yr_dup(&x->rd, buf);
    }
}

/* gateway.ops_listen: HOST:PORT of the probe and metrics listener, or "off". */
static void set_ops_listen(kt__cfgctx *x, const kt_ynode *v)
{
    const char *s = kt_yr_want_str(&x->rd, v, "gateway.ops_listen");
    if (!s || strcmp(s, "off") == 0) return;
    if (!valid_listen(s)) {
        kt_yr_err(&x->rd, v, "gateway.ops_listen must be HOST:PORT (port 1-65535) or off");
        return;
    }
    x->cfg->gateway.ops_listen = kt_yr_dup(&x->rd, s);
}

static void set_mode(kt__cfgctx *x, const kt_ynode *v)
{
    static const char *const modes[] = { "local", "sidecar", "shared", "hosted" };
    const char *s = kt_yr_want_str(&x->rd, v, "gateway.mode");
    if (!s) return;
    for (size_t i = 0; i < KT_ARRAY_LEN(modes); i++)
        if (strcmp(s, modes[i]) == 0) return;
    kt_yr_err(&x->rd, v, "unknown gateway.mode %s (known: local, sidecar, shared, hosted)",
              KT_YQN(v));
}

/* gateway.fail_mode: what happens when a policy cannot read something (default closed). */
static void set_fail_mode(kt__cfgctx *x, const kt_ynode *v, bool *open)
{
    const char *s = kt_yr_want_str(&x->rd, v, "gateway.fail_mode");
    if (!s) return;
    if (strcmp(s, "closed") == 0 || strcmp(s, "open") == 0) {
        *open = strcmp(s, "open") == 0;
        return;
    }
    kt_yr_err(&x->rd, v, "unknown gateway.fail_mode %s (known: closed, open)", KT_YQN(v));
}

void kt_events_opts_defaults(kt_events_opts *o)
{
    memset(o, 0, sizeof *o);
    o->enabled = true;
    o->batch_size = 100;
    o->flush_interval_ms = 1000;
    o->ring_bytes = 2 * 1024 * 1024;
    o->spool_max_bytes = 64 * MIB;
    o->spool_commit_ms = 200;
    o->timeout_ms = 10 * 1000;
    o->max_backoff_ms = 30 * 1000;
}

static bool price_value(kt__cfgctx *x, const kt_ynode *n, const char *where, double *out)
{
    const char *s = kt_yr_want_str(&x->rd, n, where);
    if (!s) return false;
    char *end = NULL;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= 0 && v <= 1e6)) {
        kt_yr_err(&x->rd, n, "%s must be a number of US dollars per million tokens (0-1000000)",
                  where);
        return false;
    }
    *out = v;
    return true;
}

/* prices: {model-prefix: {input: USD per 1M tokens, output: USD per 1M tokens}} */
static void set_prices(kt__cfgctx *x, const kt_ynode *p)
{
    static const char *const keys[] = { "input", "output", NULL };
    kt_events_opts *o = &x->cfg->gateway.events;
    if (!kt_yr_want_map(&x->rd, p, "gateway.events.prices") || !p->n) return;
    o->prices = kt_calloc(p->n, sizeof *o->prices);
    if (!o->prices) {
        kt_yr_err(&x->rd, p, "out of memory");
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        const kt_ynode *v = p->vals[i];
        if (!kt_yr_want_map(&x->rd, v, "gateway.events.prices.<model>")) continue;
        kt_yr_check_keys(&x->rd, v, keys, "gateway.events.prices.<model>");
        kt_price pr = { NULL, 0, 0 };
        const kt_ynode *in = kt_ymap_get(v, "input"), *out = kt_ymap_get(v, "output");
        if (!in || !out) {
            kt_yr_err(&x->rd, v, "a price needs both input and output (USD per million tokens)");
            continue;
        }
        if (!price_value(x, in, "input", &pr.input) || !price_value(x, out, "output", &pr.output))
            continue;
        pr.model = kt_yr_dup(&x->rd, p->keys[i]->str);
        if (pr.model) o->prices[o->nprices++] = pr;
    }
}

static void set_events(kt__cfgctx *x, const kt_ynode *ev)
{
    static const char *const keys[] = { "enabled", "batch_size", "flush_interval", "ring_bytes",
                                        "spool_dir", "spool_max_bytes", "spool_commit_interval",
                                        "timeout", "max_backoff", "prices", NULL };
    kt_events_opts *o = &x->cfg->gateway.events;
    if (kt_y_is_null(ev) || !kt_yr_want_map(&x->rd, ev, "gateway.events")) return;
    kt_yr_check_keys(&x->rd, ev, keys, "gateway.events");
    const kt_ynode *v;
    uint64_t u;
    if ((v = kt_ymap_get(ev, "enabled")))
        kt_yr_bool(&x->rd, v, "gateway.events.enabled", &o->enabled);
    if ((v = kt_ymap_get(ev, "batch_size")) &&
        !kt_yr_uint(&x->rd, v, "gateway.events.batch_size", 1, 10000, &u))
        o->batch_size = (uint32_t)u;
    if ((v = kt_ymap_get(ev, "flush_interval")) &&
        !kt_yr_duration(&x->rd, v, "gateway.events.flush_interval", 1, 10 * MIN, &u))
        o->flush_interval_ms = (uint32_t)u;
    if ((v = kt_ymap_get(ev, "ring_bytes")) &&
        !kt_yr_size(&x->rd, v, "gateway.events.ring_bytes", 1 * KIB, 1 * GIB, &u))
        o->ring_bytes = (uint32_t)u;
    if ((v = kt_ymap_get(ev, "spool_max_bytes")) &&
        !kt_yr_size(&x->rd, v, "gateway.events.spool_max_bytes", 64 * KIB, 64 * GIB, &u))
        o->spool_max_bytes = u;
    if ((v = kt_ymap_get(ev, "spool_commit_interval")) &&
        !kt_yr_duration(&x->rd, v, "gateway.events.spool_commit_interval", 1, 10 * SEC, &u))
        o->spool_commit_ms = (uint32_t)u;
    if ((v = kt_ymap_get(ev, "timeout")) &&
        !kt_yr_duration(&x->rd, v, "gateway.events.timeout", 1, 10 * MIN, &u))
        o->timeout_ms = (uint32_t)u;
    if ((v = kt_ymap_get(ev, "max_backoff")) &&
        !kt_yr_duration(&x->rd, v, "gateway.events.max_backoff", 1, 1 * HOUR, &u))
        o->max_backoff_ms = (uint32_t)u;
    if ((v = kt_ymap_get(ev, "prices"))) set_prices(x, v);
    if ((v = kt_ymap_get(ev, "spool_dir"))) {
        const char *s = kt_yr_want_str(&x->rd, v, "gateway.events.spool_dir");
        if (s && !*s) kt_yr_err(&x->rd, v, "gateway.events.spool_dir must not be empty");
        else if (s) o->spool_dir = kt_yr_dup(&x->rd, s);
    }
}

static void set_metrics(kt__cfgctx *x, const kt_ynode *m)
{
    static const char *const keys[] = { "enabled", NULL };
    if (kt_y_is_null(m) || !kt_yr_want_map(&x->rd, m, "gateway.metrics")) return;
    kt_yr_check_keys(&x->rd, m, keys, "gateway.metrics");
    const kt_ynode *v = kt_ymap_get(m, "enabled");
    if (v) kt_yr_bool(&x->rd, v, "gateway.metrics.enabled", &x->cfg->gateway.metrics_enabled);
}

void kt__cfg_gateway(kt__cfgctx *x, const kt_ynode *gw, const kt_ynode **gw_key_ref)
{
    kt_gateway_opts *g = &x->cfg->gateway;
    *gw_key_ref = NULL;
    if (!gw || kt_y_is_null(gw)) return;
    if (!kt_yr_want_map(&x->rd, gw, "gateway")) return;
    kt_yr_check_keys(&x->rd, gw, gateway_keys, "gateway");

    const kt_ynode *lp = kt_ymap_get(gw, "listen_port");
    const kt_ynode *port = kt_ymap_get(gw, "port");
    if (lp && port)
        kt_yr_err(&x->rd, port, "give either gateway.listen_port or gateway.port, not both");
    set_listen(x, kt_ymap_get(gw, "listen"), lp ? lp : port);

    const kt_ynode *v;
    if ((v = kt_ymap_get(gw, "ops_listen"))) set_ops_listen(x, v);
    if ((v = kt_ymap_get(gw, "mode"))) set_mode(x, v);
    if ((v = kt_ymap_get(gw, "config_reload")))
        kt_yr_bool(&x->rd, v, "gateway.config_reload", &g->config_reload);
    if ((v = kt_ymap_get(gw, "policy_cache")))
        kt_yr_bool(&x->rd, v, "gateway.policy_cache", &g->policy_cache);
    if ((v = kt_ymap_get(gw, "fail_mode"))) set_fail_mode(x, v, &g->fail_open);
    uint64_t ms;
    if ((v = kt_ymap_get(gw, "config_poll_interval")) &&
        !kt_yr_duration(&x->rd, v, "gateway.config_poll_interval", 100, 24 * HOUR, &ms))
        g->config_poll_interval_ms = (uint32_t)ms;
    *gw_key_ref = kt_ymap_get(gw, "secret_key_ref");

    for (size_t i = 0; i < gw->n; i++) {
        const lim_spec *s = lim_find(gw->keys[i]->str);
        if (s) set_limit(x, s, gw->vals[i]);
    }
    if ((v = kt_ymap_get(gw, "events"))) set_events(x, v);
    if ((v = kt_ymap_get(gw, "audit_dir"))) set_audit_dir(x, v);
    if ((v = kt_ymap_get(gw, "telemetry"))) kt__cfg_telemetry(x, v);
    if ((v = kt_ymap_get(gw, "metrics"))) set_metrics(x, v);
    if ((v = kt_ymap_get(gw, "failover"))) kt__cfg_failover(x, v);   /* config_failover.c */
    if ((v = kt_ymap_get(gw, "forward_paths"))) kt__cfg_forward_paths(x, v);
}
