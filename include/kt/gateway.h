/* The gateway: one libuv loop, the active config snapshot, the listener, client connections,
 * upstream pools and the shutdown sequence. Everything hangs off one kt_gateway; no globals. */
#ifndef KT_GATEWAY_H
#define KT_GATEWAY_H

#include <stdbool.h>
#include <time.h>
#include <uv.h>

#include "kt/classifier.h"
#include "kt/config.h"
#include "kt/conn.h"
#include "kt/reload.h"
#include "kt/scan_cache.h"
#include "kt/tls.h"
#include "kt/upstream.h"

typedef struct kt_metrics kt_metrics;
typedef struct kt_events kt_events;
typedef struct kt_gov kt_gov;

/* Counted by the proxy (request counts of every kind are the server's: srv.stats). */
typedef struct kt_gateway_stats {
    uint64_t proxied;
    uint64_t upstream_errors;
    uint32_t streams;          /* event-stream responses being relayed now */
} kt_gateway_stats;

/* Counters /health watches for growth (ops/health_sources.c): the value last seen and when it grew. */
typedef struct kt_health_track {
    uint64_t dropped, rejected;
    uint64_t dropped_ms, rejected_ms;
} kt_health_track;

typedef struct kt_gateway {
    uv_loop_t loop;
    kt_env env;
    kt_config *cfg;            /* active snapshot; requests hold their own reference */
    kt_limits limits;          /* copy of cfg->gateway.limits (pools point here) */
    kt_tls_ctx tls;
    kt_pools pools;
    kt_server srv;             /* the listener and the client connections */
    kt_server ops_srv;         /* gateway.ops_listen: probes and metrics only (listening or not) */
    uv_signal_t sig_term, sig_int;
    uv_timer_t drain_timer;    /* SIGTERM -> stop accepting after drain_ms */
    uv_timer_t deadline_timer; /* stop accepting -> cut what is left after shutdown_deadline_ms */
    bool draining;             /* SIGTERM received: /readyz says 503 */
    bool stopping;             /* no longer accepting; idle connections closed */
    bool closed;               /* every handle asked to close */
    uint64_t started_ms;
    kt_gateway_stats stats;
    /* hot reload (reload.c, reload_apply.c) */
    char *config_path;         /* the file in use; NULL: the embedded default (not reloadable) */
    kt_watcher watcher;
    uv_signal_t sig_hup;       /* SIGHUP: reload now */
    kt_reload_state last_reload;
    kt_metrics *metrics;       /* NULL when gateway.metrics.enabled is false */
    kt_events *events;         /* NULL when gateway.events.enabled is false */
    struct kt_tracer *tracer;  /* OTLP trace export (kt/trace.h); NULL: off */
    struct kt_audit *audit;    /* audit-logger's records and chain (kt/audit.h) */
    kt_scan_cache scan_cache;  /* texts the policy chain found clean (gateway.policy_cache) */
    kt_gov *gov;               /* consumers, limits and their counters (kt/governance.h) */
    kt_health_track health_track;
    kt_clf_cache clf_cache;    /* texts a model-tier classifier found clean (kt/classifier.h) */
    struct kt_circuits *circuits;   /* breakers and retry budget (kt/circuit.h, src/proxy/) */
} kt_gateway;

typedef struct kt_run_opts {
    const char *listen;        /* NULL: config's gateway.listen, else 127.0.0.1:41002 */
    const char *config_path;   /* NULL: /etc/keeptrusts/policy-config.yaml, else embedded default */
    const char *ops_listen;    /* NULL: config's gateway.ops_listen, else no ops listener */
} kt_run_opts;

/* Runs until SIGTERM/SIGINT has drained everything. Returns the process exit code. */
int kt_gateway_run(const kt_run_opts *opts);

/* Begins the drain (what SIGTERM does); exposed for tests. */
void kt_gateway_begin_drain(kt_gateway *gw);

#endif
