/* Operational endpoints: /health (details), /healthz (liveness), /readyz (readiness), /metrics,
 * the config endpoints (ops_config.c) and the 404 for every other path outside /v1. The handler
 * answers synchronously, so it keeps no per-request state. */
#include <stdio.h>
#include <string.h>

#include "kt/circuit.h"
#include "kt/events.h"
#include "kt/metrics.h"
#include "kt/ops.h"
#include "ops_priv.h"

static bool path_is(kt_str path, const char *lit)
{
    return path.n == strlen(lit) && memcmp(path.p, lit, path.n) == 0;
}

static void health(kt_conn *c)
{
    kt_gateway *gw = kt__ops_gw(c);
    const kt_config *cfg = gw->cfg;
    char mem[16384];   /* the circuits of up to 64 targets */
    kt_buf b = { mem, 0, sizeof mem, sizeof mem - 1 };
    kt_buf_printf(&b, "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_seconds\":%llu,"
                      "\"policies_loaded\":%zu,\"config_version\":",
                  gw->draining ? "draining" : "healthy", KT_VERSION,
                  (unsigned long long)((uv_now(&gw->loop) - gw->started_ms) / 1000), cfg->nchain);
    char ver[200];
    snprintf(ver, sizeof ver, "%s@%s", cfg->pack_name, cfg->pack_version);
    kt_buf_json_str(&b, ver, strlen(ver));
    kt_buf_printf(&b, ",\"config_hash\":\"sha256:%s\",\"targets\":%zu,\"connections\":%u",
                  cfg->hash, cfg->ntargets, gw->srv.nconns);
    kt_buf_puts(&b, ",\"last_reload\":");   /* hot reload */
    kt_reload_state_json(&gw->last_reload, &b);
    if (gw->circuits) kt_circuits_health_json(gw->circuits, cfg, uv_now(&gw->loop), &b);
    kt_buf_puts(&b, "}");
    kt_conn_respond(c, 200, "application/json", b.p, b.len, NULL);
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
    kt_buf b;
    kt_buf_init(&b, 8u << 20);
    if (kt_metrics_render(gw->metrics, &g, &b) ||
        (gw->circuits && kt_circuits_metrics(gw->circuits, gw->cfg, uv_now(&gw->loop), &b))) {
        kt_buf_free(&b);
        kt_conn_error(c, 503, "unavailable", "internal_error", "cannot render metrics");
        return;
    }
    kt_conn_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len, NULL);
    kt_buf_free(&b);
}

static bool ops_handle(kt_conn *c, kt_str path)
{
    if (kt_ops_config_handle(c, path)) return true;   /* /keeptrusts/config[/reload] */
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
    } else if (path_is(path, "/healthz")) {
        static const char body[] = "{\"status\":\"ok\"}";
        kt_conn_respond(c, 200, "application/json", body, sizeof body - 1, NULL);
    } else if (kt__ops_gw(c)->draining) {
        static const char body[] = "{\"status\":\"draining\"}";
        kt_conn_respond(c, 503, "application/json", body, sizeof body - 1, NULL);
    } else {
        static const char body[] = "{\"status\":\"ready\"}";
        kt_conn_respond(c, 200, "application/json", body, sizeof body - 1, NULL);
    }
    return true;
}

static void ops_start(kt_conn *c)
{
    const char *q = memchr(c->in.url.p, '?', c->in.url.len);
    kt_str path = { c->in.url.p, q ? (size_t)(q - c->in.url.p) : c->in.url.len };
    if (ops_handle(c, path)) return;
    kt_conn_error(c, 404, "not_found", "not_found", "no such endpoint (the API lives under /v1/)");
}

static void ops_nothing(kt_conn *c) { (void)c; }

const kt_conn_handler kt_ops_handler = { ops_start, ops_nothing, NULL, ops_nothing };
