/* `kt gateway run`: load the config, start the loop, and shut down in order on SIGTERM:
 * keep serving for the drain period (readiness already failing), stop accepting, let in-flight
 * requests finish up to the deadline, close everything, exit 0. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt/audit.h"
#include "kt/circuit.h"
#include "kt/conn.h"
#include "kt/events.h"
#include "kt/gateway.h"
#include "kt/log.h"
#include "kt/governance.h"
#include "kt/metrics.h"
#include "kt/trace.h"
#include "kt/ops.h"
#include "kt/proxy.h"
#include "kt/router.h"

#define KT_DEFAULT_CONFIG "/etc/keeptrusts/policy-config.yaml"
#define KT_DEFAULT_LISTEN "127.0.0.1:41002"

static void close_cb_noop(uv_handle_t *h) { (void)h; }

static void maybe_finish(kt_gateway *gw)
{
    if (!gw->stopping || gw->srv.nconns > 0 || gw->closed) return;
    gw->closed = true;
    KT_INFO("stopped", "all connections closed; exiting");
    /* The ops listener answered probes (readiness 503) until now. */
    gw->ops_srv.stopping = true;
    kt_server_stop_accepting(&gw->ops_srv);
    kt_server_close_all(&gw->ops_srv);
    kt_pools_close(&gw->pools);
    /* Queued events get what is left of the shutdown deadline and no more, whatever the control
     * plane does: the process is gone within drain_period + shutdown_deadline. What is not
     * delivered by then stays in the spool, or is counted and logged as lost. */
    uint64_t left = uv_is_active((uv_handle_t *)&gw->deadline_timer)
                        ? uv_timer_get_due_in(&gw->deadline_timer) : 0;
    kt_events_shutdown(gw->events, (uint32_t)left);
    kt_tracer_shutdown(gw->tracer, (uint32_t)left);
    kt_audit_close(gw->audit);
    uv_close((uv_handle_t *)&gw->sig_term, close_cb_noop);
    uv_close((uv_handle_t *)&gw->sig_int, close_cb_noop);
    uv_close((uv_handle_t *)&gw->drain_timer, close_cb_noop);
    uv_close((uv_handle_t *)&gw->deadline_timer, close_cb_noop);
    kt_reload_stop(gw);
    kt_gov_close(gw->gov);   /* the shared state's connection and timers */
}

static void conn_gone(void *owner) { maybe_finish(owner); }

/* The API lives under /v1 and goes to the proxy; everything else is an ops endpoint or a 404. */
static const kt_conn_handler *route(void *owner, kt_conn *c)
{
    (void)owner;
    const char *u = c->in.url.p;
    size_t n = c->in.url.len;
    if (n >= 3 && memcmp(u, "/v1", 3) == 0 && (n == 3 || u[3] == '/' || u[3] == '?'))
        return &kt_proxy_handler;
    return &kt_ops_handler;
}

static const kt_conn_handler *route_ops(void *owner, kt_conn *c)
{
    (void)owner;
    (void)c;
    return &kt_ops_probe_handler;
}

static void on_deadline(uv_timer_t *t)
{
    kt_gateway *gw = t->data;
    if (gw->srv.nconns) KT_WARN("shutdown_deadline", "cutting %u connections still open", gw->srv.nconns);
    kt_server_close_all(&gw->srv);
    maybe_finish(gw);
}

static void stop_accepting(kt_gateway *gw)
{
    if (gw->stopping) return;
    gw->stopping = true;
    gw->srv.stopping = true;
    KT_INFO("stop_accepting", "drain period over; %u connections open", gw->srv.nconns);
    kt_server_stop_accepting(&gw->srv);
    kt_server_close_idle(&gw->srv);
    kt_pools_close(&gw->pools);
    uv_timer_start(&gw->deadline_timer, on_deadline, gw->limits.shutdown_deadline_ms, 0);
    maybe_finish(gw);
}

static void on_drain_timer(uv_timer_t *t) { stop_accepting(t->data); }

void kt_gateway_begin_drain(kt_gateway *gw)
{
    if (gw->draining) return;
    gw->draining = true;
    KT_INFO("draining", "SIGTERM: readiness now fails; serving for %u ms more",
            gw->limits.drain_ms);
    uv_timer_start(&gw->drain_timer, on_drain_timer, gw->limits.drain_ms, 0);
}

static void on_signal(uv_signal_t *s, int signum)
{
    kt_gateway *gw = s->data;
    if (signum == SIGINT && gw->draining) {   /* a second Ctrl-C: stop now */
        stop_accepting(gw);
        on_deadline(&gw->deadline_timer);
        return;
    }
    if (signum == SIGINT) {
        gw->draining = true;
        stop_accepting(gw);
        return;
    }
    kt_gateway_begin_drain(gw);
}

static int load_config(kt_gateway *gw, const char *path)
{
    kt_diag *diag = kt_calloc(1, sizeof *diag);   /* 24 KiB: not on the stack for good */
    if (!diag) {
        KT_ERROR("config_invalid", "cannot load the config: out of memory");
        return KT_ENOMEM;
    }
    int rc;
    if (path) {
        diag->file = path;
        rc = kt_config_load_file(path, gw->env, &gw->cfg, diag);
    } else if (access(KT_DEFAULT_CONFIG, F_OK) == 0) {
        diag->file = KT_DEFAULT_CONFIG;
        rc = kt_config_load_file(KT_DEFAULT_CONFIG, gw->env, &gw->cfg, diag);
    } else {
        /* Said out loud: a misnamed ConfigMap key lands here, and it must not look like success. */
        KT_WARN("config_missing", "no --policy-config and no %s: running the embedded default "
                "(pii-detector and dlp-filter redact; one OpenAI target at $OPENAI_BASE_URL)",
                KT_DEFAULT_CONFIG);
        diag->file = KT_CONFIG_EMBEDDED;
        rc = kt_config_default(gw->env, &gw->cfg, diag);
    }
    if (rc == 0 && strcmp(diag->file, KT_CONFIG_EMBEDDED) != 0) {
        gw->config_path = kt_strdup(diag->file);   /* reloadable */
        if (!gw->config_path) rc = KT_ENOMEM;
    }
    if (rc) {
        kt_diag_print(diag, stderr);
        char first[1100] = "";
        if (diag->count > 0) kt_diag_format(diag, 0, first, sizeof first);
        if (diag->count == 1) KT_ERROR("config_invalid", "cannot load %s", first);
        else KT_ERROR("config_invalid", "cannot load %s (%d problems)", diag->file, diag->count);
        free(diag);
        return rc;
    }
    free(diag);
    kt_config_log_warnings(gw->cfg);
    return KT_OK;
}

static void log_targets(const kt_config *cfg)
{
    for (size_t i = 0; i < cfg->ntargets; i++) {
        const kt_target *t = &cfg->targets[i];
        if (t->key)
            KT_INFO("target", "%s: %s %s://%s:%u%s", t->id, kt_provider_name(t->provider),
                    t->tls ? "https" : "http", t->host, t->port, t->path_prefix);
        else
            KT_WARN("target_without_key", "%s: %s; requests to it get 503", t->id, t->key_error);
    }
}

/* An OTEL_* setting: gateway.telemetry's when the config sets it, else the variable's. */
static const char *otel_get(void *ud, const char *name)
{
    kt_gateway *gw = ud;
    const char *v = kt_config_otel(gw->cfg, name);
    return v ? v : gw->env.get(gw->env.ud, name);
}

/* OTLP trace export, from gateway.telemetry and the OTEL_* variables; off when no endpoint is
 * set. Read at start-up (a reload does not change it). */
static int setup_tracing(kt_gateway *gw)
{
    char err[300];
    kt_tracer_opts to;
    if (!kt_tracer_opts_from_env((kt_env){ otel_get, gw }, &to, err, sizeof err)) {
        KT_ERROR("tracing_init", "%s", err);
        return 1;
    }
    if (!to.endpoint) return 0;
    if (kt_tracer_new(&gw->loop, &to, &gw->tls, gw->metrics, &gw->tracer, err, sizeof err)) {
        kt_tracer_opts_free(&to);
        KT_ERROR("tracing_init", "%s", err);
        return 1;
    }
    KT_INFO("tracing", "OTLP/HTTP trace export enabled");
    return 0;
}

/* audit-logger's writer: the chain under gateway.audit_dir (continued from its last record) and
 * the digest key. Opened when the dir is set or the chain has an audit-logger. */
static int setup_audit(kt_gateway *gw)
{
    char err[300];
    const kt_gateway_opts *o = &gw->cfg->gateway;
    const kt_audit_opts *ao = kt_audit_opts_of(gw->cfg);
    if (!o->audit_dir && !ao) return 0;
    if (kt_audit_open(&gw->loop, o->audit_dir, ao, gw->env, &gw->tls, gw->events, &gw->audit, err,
                      sizeof err)) {
        KT_ERROR("audit_init", "%s", err);
        return 1;
    }
    return 0;
}

/* Metrics and the decision-event pipeline (control plane, or stderr without KEEPTRUSTS_API_URL). */
static int setup_observability(kt_gateway *gw)
{
    char err[300];
    const kt_gateway_opts *o = &gw->cfg->gateway;
    if (o->metrics_enabled) {
        gw->metrics = kt_calloc(1, sizeof *gw->metrics);
        if (!gw->metrics) return 1;
        kt_metrics_init(gw->metrics);
    }
    if (setup_tracing(gw)) return 1;
    if (!o->events.enabled) return setup_audit(gw);
    const char *url = gw->env.get(gw->env.ud, "KEEPTRUSTS_API_URL");
    const char *token = gw->env.get(gw->env.ud, "KEEPTRUSTS_GATEWAY_TOKEN");
    if (kt_events_new(&gw->loop, &o->events, url, token, &gw->tls, gw->metrics, &gw->events, err,
                      sizeof err)) {
        KT_ERROR("events_init", "%s", err);
        return 1;
    }
    if (url && *url && (!token || !*token))
        KT_WARN("events_no_token", "KEEPTRUSTS_GATEWAY_TOKEN is not set; events are sent unauthenticated");
    return setup_audit(gw);
}

/* The probe and metrics listener: --ops-listen, else gateway.ops_listen, else $KT_OPS_LISTEN (the
 * image sets 0.0.0.0:41003), else none. */
static int setup_ops_listener(kt_gateway *gw, const kt_run_opts *opts)
{
    char err[300];
    const char *addr = opts->ops_listen ? opts->ops_listen : gw->cfg->gateway.ops_listen;
    if (!addr) addr = gw->env.get(gw->env.ud, "KT_OPS_LISTEN");
    if (addr && !*addr) addr = NULL;
    kt_server_init(&gw->ops_srv, &gw->loop, &gw->limits);
    gw->ops_srv.route = route_ops;
    gw->ops_srv.conn_gone = conn_gone;
    gw->ops_srv.owner = gw;
    if (!addr || strcmp(addr, "off") == 0) return 0;
    if (kt_server_listen(&gw->ops_srv, addr, err, sizeof err)) {
        KT_ERROR("ops_listen", "%s", err);
        return 1;
    }
    KT_INFO("ops_listening", "probes and metrics on http://%s (/healthz, /readyz, /health, "
            "/metrics only)", gw->ops_srv.listen_addr);
    return 0;
}

static int setup(kt_gateway *gw, const kt_run_opts *opts)
{
    char err[300];
    if (load_config(gw, opts->config_path)) return 1;
    gw->limits = gw->cfg->gateway.limits;
    const char *ca = gw->env.get(gw->env.ud, "SSL_CERT_FILE");
    if (kt_tls_ctx_init(&gw->tls, ca, err, sizeof err)) {
        KT_ERROR("tls_init", "%s", err);
        return 1;
    }
    kt_pools_init(&gw->pools, &gw->loop, &gw->tls, &gw->limits);
    unsigned char key[16];
    if (kt_tls_random(&gw->tls, key, sizeof key)) {
        KT_ERROR("rng", "cannot draw the policy cache key");
        return 1;
    }
    kt_scan_cache_init(&gw->scan_cache, key);
    if (setup_observability(gw)) return 1;
    const char *listen = opts->listen ? opts->listen
                         : gw->cfg->gateway.listen ? gw->cfg->gateway.listen
                                                   : KT_DEFAULT_LISTEN;
    kt_server_init(&gw->srv, &gw->loop, &gw->limits);
    gw->srv.route = route;
    gw->srv.conn_gone = conn_gone;
    gw->srv.owner = gw;
    if (kt_server_listen(&gw->srv, listen, err, sizeof err)) {
        KT_ERROR("listen", "%s", err);
        return 1;
    }
    if (setup_ops_listener(gw, opts)) return 1;
    if (kt_gov_new(&gw->loop, gw->cfg, gw->srv.listen_addr, &gw->gov)) return 1;
    gw->circuits = kt_circuits_new();   /* failover: breakers and retry budget */
    if (!gw->circuits) return 1;
    uv_signal_init(&gw->loop, &gw->sig_term);
    uv_signal_init(&gw->loop, &gw->sig_int);
    uv_timer_init(&gw->loop, &gw->drain_timer);
    uv_timer_init(&gw->loop, &gw->deadline_timer);
    gw->sig_term.data = gw->sig_int.data = gw->drain_timer.data = gw->deadline_timer.data = gw;
    uv_signal_start(&gw->sig_term, on_signal, SIGTERM);
    uv_signal_start(&gw->sig_int, on_signal, SIGINT);
    gw->started_ms = uv_now(&gw->loop);
    KT_INFO("listening", "kt %s on http://%s (config %s, pack %s@%s, %zu targets, %zu policies, CA %s)",
            KT_VERSION, gw->srv.listen_addr, gw->cfg->source, gw->cfg->pack_name,
            gw->cfg->pack_version, gw->cfg->ntargets, gw->cfg->nchain, gw->tls.ca_source);
    if (strncmp(gw->srv.listen_addr, "127.", 4) == 0 || strncmp(gw->srv.listen_addr, "[::1]", 5) == 0)
        KT_INFO("listen_loopback", "the API is on loopback only: other containers, docker port "
                "mappings and the kubelet cannot reach it (a shared gateway passes --listen "
                "0.0.0.0:41002, which requires gateway keys; probes use the ops listener)");
    log_targets(gw->cfg);
    kt_reload_start(gw);
    return 0;
}

static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

int kt_gateway_run(const kt_run_opts *opts)
{
    kt_gateway *gw = kt_calloc(1, sizeof *gw);
    if (!gw) return 1;
    gw->env = kt_env_process();
    uv_loop_init(&gw->loop);
    int code = setup(gw, opts);
    if (code == 0) {
        /* Start-up's transient allocations (the YAML tree, table builds) are free by now; give
         * their pages back, or they stay in the idle RSS (~70 KB plain, ~70 KB more with the
         * content policies' tables) */
        malloc_trim(0);
        uv_run(&gw->loop, UV_RUN_DEFAULT);
    }
    /* Whatever is left (a failed start-up) is closed before the loop is. */
    kt_reload_stop(gw);
    kt_gov_close(gw->gov);
    uv_walk(&gw->loop, walk_close, NULL);
    uv_run(&gw->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&gw->loop) != 0) KT_WARN("loop_close", "handles still open at exit");
    kt_pools_free(&gw->pools);
    kt_events_free(gw->events);
    kt_tracer_free(gw->tracer);
    kt_audit_free(gw->audit);
    if (gw->metrics) kt_metrics_free(gw->metrics);
    free(gw->metrics);
    kt_tls_ctx_free(&gw->tls);
    kt_scan_cache_free(&gw->scan_cache);
    kt_clf_cache_free(&gw->clf_cache);
    kt_gov_free(gw->gov);
    kt_circuits_free(gw->circuits);
    kt_config_release(&gw->cfg);
    kt_server_free(&gw->srv);
    kt_server_free(&gw->ops_srv);
    free(gw->config_path);
    free(gw);
    return code;
}
