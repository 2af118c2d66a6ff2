/* Operational endpoints: /health (status and reasons, health.h), /healthz (liveness), /readyz
 * (readiness), /metrics, the config endpoints (ops_config.c) and the 404 for every other path
 * outside /v1; and the ops listener's handler, which answers only the probes and /metrics. The
 * handlers answer synchronously, so they keep no per-request state. */
#include <stdio.h>
#include <string.h>

#include "kt/circuit.h"
#include "kt/events.h"
#include "kt/governance.h"
#include "kt/metrics.h"
#include "kt/ops.h"
#include "health.h"
#include "ops_priv.h"

static bool path_is(kt_str path, const char *lit)
{
    return path.n == strlen(lit) && memcmp(path.p, lit, path.n) == 0;
}

static void health(kt_conn *c)
{
    kt_gateway *gw = kt__ops_gw(c);
    const kt_config *cfg = gw->cfg;
    kt_health h;
    kt_health_collect(gw, &h);
    kt_buf b;
    kt_buf_init(&b, 64u * 1024);
    kt_buf_puts(&b, "{");
    kt_health_json(&h, &b);
    kt_buf_printf(&b, ",\"ready\":%s,\"draining\":%s,\"version\":\"%s\",\"uptime_seconds\":%llu,"
                      "\"policies_loaded\":%zu,\"policies_enabled\":%s,\"source\":",
                  !gw->draining && kt_health_can_serve(gw) ? "true" : "false",
                  gw->draining ? "true" : "false", KT_VERSION,
                  (unsigned long long)((uv_now(&gw->loop) - gw->started_ms) / 1000), cfg->nchain,
                  cfg->pack_enabled ? "true" : "false");
    kt_buf_json_str(&b, cfg->source, strlen(cfg->source));
    kt_buf_puts(&b, ",\"config_version\":");
    char ver[200];
    snprintf(ver, sizeof ver, "%s@%s", cfg->pack_name, cfg->pack_version);
    kt_buf_json_str(&b, ver, strlen(ver));
    kt_buf_printf(&b, ",\"config_hash\":\"sha256:%s\",\"targets\":%zu,\"connections\":%u",
                  cfg->hash, cfg->ntargets, gw->srv.nconns);
    kt_buf_puts(&b, ",\"last_reload\":");   /* hot reload */
    kt_reload_state_json(&gw->last_reload, &b);
    if (gw->circuits) kt_circuits_health_json(gw->circuits, cfg, uv_now(&gw->loop), &b);
    kt_buf_puts(&b, ",\"shared_state\":");   /* governance: local, or Redis and its state */
    kt_gov_health_json(gw->gov, &b);
    if (kt_buf_puts(&b, "}") || !b.p) {
        kt_buf_free(&b);
        kt_conn_error(c, 503, "unavailable", "out_of_memory", "out of memory");
        return;
    }
    /* 503 only when unhealthy, so a probe on /health (the seeds' form) unroutes a gateway that
     * cannot serve, and a degraded one keeps its traffic. */
    kt_conn_respond(c, h.level == KT_HEALTH_UNHEALTHY ? 503 : 200, "application/json", b.p, b.len,
                    NULL);
    kt_buf_free(&b);
}

static void readyz(kt_conn *c)
{
    kt_gateway *gw = kt__ops_gw(c);
    if (gw->draining) {
        static const char body[] = "{\"status\":\"draining\"}";
        kt_conn_respond(c, 503, "application/json", body, sizeof body - 1, NULL);
    } else if (!kt_health_can_serve(gw)) {
        static const char body[] = "{\"status\":\"not_ready\",\"reason\":\"no_target_can_serve\"}";
        kt_conn_respond(c, 503, "application/json", body, sizeof body - 1, NULL);
    } else {
        static const char body[] = "{\"status\":\"ready\"}";
        kt_conn_respond(c, 200, "application/json", body, sizeof body - 1, NULL);
    }
}

/* Governance's spend budgets, nearest its limit first per policy and window. */
static void budgets(kt_gateway *gw, kt_metrics_gauges *g)
{
    kt_gov_budget bu[KT_METRICS_BUDGETS_MAX];
    size_t n = kt_gov_budgets(gw->gov, gw->cfg, bu, KT_ARRAY_LEN(bu));
    for (size_t i = 0; i < n; i++)
        g->budgets[i] = (kt_metrics_budget){ bu[i].policy, bu[i].window, bu[i].limit_usd,
                                             bu[i].remaining_usd };
    g->nbudgets = n;
}

static void metrics(kt_conn *c)
{
    kt_gateway *gw = kt__ops_gw(c);
    kt_metrics_gauges g = { .connections = gw->srv.nconns, .requests = gw->srv.stats.active,
                            .rss_bytes = kt_metrics_rss_bytes(), .version = KT_VERSION };
    g.uptime_seconds = (double)(uv_now(&gw->loop) - gw->started_ms) / 1000.0;
    g.reloads_ok = gw->last_reload.ok;
    g.reloads_failed = gw->last_reload.failed;
    g.reloads_unchanged = gw->last_reload.unchanged;
    g.cache_hits = gw->scan_cache.hits;
    g.cache_misses = gw->scan_cache.misses;
    g.streams = gw->stats.streams;
    kt_events_queued(gw->events, &g.events_queued, &g.events_queued_bytes);
    budgets(gw, &g);
    kt_buf b;
    kt_buf_init(&b, 8u << 20);
    if (kt_metrics_render(gw->metrics, &g, &b) || kt_gov_metrics(gw->gov, &b) ||
        (gw->circuits && kt_circuits_metrics(gw->circuits, gw->cfg, uv_now(&gw->loop), &b))) {
        kt_buf_free(&b);
        kt_conn_error(c, 503, "unavailable", "internal_error", "cannot render metrics");
        return;
    }
    kt_conn_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len, NULL);
    kt_buf_free(&b);
}

/* The four probe endpoints (both listeners). Returns false for any other path. */
static bool probe_handle(kt_conn *c, kt_str path)
{
    bool known = path_is(path, "/health") || path_is(path, "/healthz") || path_is(path, "/readyz") ||
                 (path_is(path, "/metrics") && kt__ops_gw(c)->metrics);
    if (!known) return false;
    int m = kt_http_in_method(&c->in);
    if (m != HTTP_GET && m != HTTP_HEAD) {
        static const char body[] = "{\"error\":{\"type\":\"validation_error\",\"code\":"
                                   "\"method_not_allowed\",\"message\":\"use GET\",\"policy\":null}}";
        kt_conn_respond(c, 405, "application/json", body, sizeof body - 1, "Allow: GET, HEAD\r\n");
        return true;
    }
    if (path_is(path, "/health")) {
        health(c);
    } else if (path_is(path, "/metrics")) {
        metrics(c);
    } else if (path_is(path, "/healthz")) {   /* liveness: the loop turned to answer this */
        static const char body[] = "{\"status\":\"ok\"}";
        kt_conn_respond(c, 200, "application/json", body, sizeof body - 1, NULL);
    } else {
        readyz(c);
    }
    return true;
}

static kt_str path_of(const kt_conn *c)
{
    const char *q = memchr(c->in.url.p, '?', c->in.url.len);
    return (kt_str){ c->in.url.p, q ? (size_t)(q - c->in.url.p) : c->in.url.len };
}

static void ops_start(kt_conn *c)
{
    kt_str path = path_of(c);
    if (kt_ops_config_handle(c, path)) return;   /* /keeptrusts/config[/reload] */
    if (probe_handle(c, path)) return;
    kt_conn_error(c, 404, "not_found", "not_found", "no such endpoint (the API lives under /v1/)");
}

/* gateway.ops_listen: nothing but the probes and /metrics, whatever the path. */
static void probe_start(kt_conn *c)
{
    if (probe_handle(c, path_of(c))) return;
    kt_conn_error(c, 404, "not_found", "not_found",
                  "the ops listener serves only /healthz, /readyz, /health and /metrics");
}

static void ops_nothing(kt_conn *c) { (void)c; }

const kt_conn_handler kt_ops_handler = { ops_start, ops_nothing, NULL, ops_nothing };
const kt_conn_handler kt_ops_probe_handler = { probe_start, ops_nothing, NULL, ops_nothing };
