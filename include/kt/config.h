/* Configuration snapshots: parsed, validated, immutable and refcounted.
 *
 * A snapshot is built aside from a YAML file (or the embedded default), fully validated, and only
 * then published. Requests take a reference for their whole life; reload swaps one pointer and the
 * old snapshot is freed when its last reference is released. Three source forms load into the same
 * snapshot: the pack form (`pack`, `policies.chain`, `policy.<kind>`, `providers.targets[]`), the
 * `policies: [{name, type, action, patterns|categories}]` shorthand and the
 * `policies: [{name, input: [{type, action, ...}]}]` shorthand with a `gateway:` section. */
#ifndef KT_CONFIG_H
#define KT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "kt/common.h"
#include "kt/limits.h"      /* kt_limits (gateway.limits; every one has a default) */
#include "kt/url.h"         /* kt_url_parse, kept here for the config's users */
#include "kt/yaml_read.h"   /* kt_diag */
#include "kt/yaml_tree.h"

/* ---- environment -------------------------------------------------------------------------- */

/* Variable lookup is injected so tests need no process environment. NULL when unset. */
typedef const char *(*kt_getenv_fn)(void *ud, const char *name);

typedef struct kt_env {
    kt_getenv_fn get;
    void *ud;
} kt_env;

kt_env kt_env_process(void);   /* wraps getenv() */

/* Expands ${VAR} and ${VAR:-default} in `in`. "$$" is a literal "$". Returns a malloc'd string,
 * or NULL with *err set to a static message ("unterminated ${", "variable X is not set", ...). */
char *kt_expand_vars(const char *in, kt_env env, char *err, size_t errlen);

/* ---- the snapshot ---------------------------------------------------------------------------- */

typedef enum kt_provider_kind {
    KT_PROVIDER_OPENAI = 0,
    KT_PROVIDER_ANTHROPIC,
    KT_PROVIDER_AZURE,
} kt_provider_kind;

/* A target's `http2`: auto (default) offers h2 by ALPN and uses it when the provider picks it;
 * on requires it (a provider that does not pick h2 fails with upstream_protocol); off speaks
 * HTTP/1.1 only. http:// targets always speak HTTP/1.1 (no h2c). */
typedef enum kt_http2_mode {
    KT_HTTP2_AUTO = 0,
    KT_HTTP2_ON,
    KT_HTTP2_OFF,
} kt_http2_mode;

/* The provider's name as configs, logs and the ops endpoint spell it: "openai", "anthropic",
 * "azure-openai" (the same as the proxy's kt_provider_for(k)->name). */
const char *kt_provider_name(kt_provider_kind k);

typedef enum kt_key_source {
    KT_KEY_NONE = 0,
    KT_KEY_ENV,
    KT_KEY_FILE,
    KT_KEY_STORE,   /* a control-plane config variable; resolved from the env var of that name */
} kt_key_source;

/* One entry of a target's `aliases`: the name a client uses and the model sent upstream. */
typedef struct kt_model_alias {
    char *name;
    char *model;
} kt_model_alias;

typedef struct kt_target {
    char *id;
    kt_provider_kind provider;
    char *model;               /* the first `model:` entry; NULL: matches no model (still reachable
                                  by header or as the first target that speaks the API) */
    char **models;             /* every `model:` entry (fnmatch globs), models[0] == model */
    size_t nmodels;
    kt_model_alias *aliases;   /* `aliases: {fast: gpt-4o-mini}`: a request for `fast` routes here
                                  and goes upstream as gpt-4o-mini */
    size_t naliases;
    uint16_t *fallbacks;       /* `fallbacks: [id, ...]` as indices into kt_config.targets */
    size_t nfallbacks;
    char *base_url;            /* expanded, as written */
    /* parsed from base_url */
    bool tls;                  /* https */
    char *host;                /* without brackets for IPv6 */
    uint16_t port;
    kt_http2_mode http2;       /* `http2`, default auto */
    char *path_prefix;         /* "" or "/x/y" (never a trailing '/', never a trailing "/v1") */
    /* provider details */
    char *api_version;         /* azure: `api_version`, default "2024-06-01" */
    char *anthropic_version;   /* anthropic: `anthropic_version`, default "2023-06-01" */
    char *deployment;          /* azure: `deployment` (or the name after /openai/deployments/ in
                                  base_url); NULL: the request's model names the deployment */
    /* credentials */
    kt_key_source key_source;
    char *key_ref;             /* env var name, file path or store name */
    char *key;                 /* resolved secret, NULL when missing (requests get 503) */
    char key_error[128];       /* why `key` is NULL, without the secret ("env OPENAI_API_KEY is not set") */
} kt_target;

typedef struct kt_policy_cfg {
    char *name;                /* as listed in the chain (unique) */
    char *kind;                /* "pii-detector", "dlp-filter", "safety-filter", "prompt-injection", "audit-logger" */
    const kt_ynode *options;   /* the policy.<name> mapping (or the shorthand item), NULL if none; owned by the snapshot */
    bool input;                /* applies to requests */
    bool output;               /* applies to responses */
    kt_env env;                /* the loader's variable lookup (options naming a secret by env) */
    /* Filled by kt_policies_compile (policy.c): */
    const struct kt_policy_kind *impl;
    void *state;               /* compiled options, immutable; shared between snapshots */
    int *state_refs;           /* snapshots using `state` */
    uint8_t dirs;              /* effective KT_DIR_* bits */
    /* Filled by kt_event_prerender (events.c): "name":..,"kind":..,"result":" of its entry in
     * policies_evaluated, NULL when not rendered. */
    char *event_head;
} kt_policy_cfg;

/* gateway.events.prices: USD per million tokens for models whose name starts with `model`. */
typedef struct kt_price {
    char *model;
    double input, output;
} kt_price;

/* gateway.events: decision events to the control plane. */
typedef struct kt_events_opts {
    bool enabled;                    /* default true (stderr JSON lines without KEEPTRUSTS_API_URL) */
    uint32_t batch_size;             /* 100 events per POST */
    uint32_t flush_interval_ms;      /* 1 s: a partial batch leaves after this */
    uint32_t ring_bytes;             /* 2 MiB: queued events; the oldest are dropped (or spooled) */
    char *spool_dir;                 /* NULL: no spool */
    uint64_t spool_max_bytes;        /* 64 MiB */
    uint32_t spool_commit_ms;        /* 200 ms: group commit (one fdatasync) of the spool's log */
    uint32_t timeout_ms;             /* 10 s per attempt */
    uint32_t max_backoff_ms;         /* 30 s */
    kt_price *prices;                /* gateway.events.prices (before the built-in table) */
    size_t nprices;
} kt_events_opts;

void kt_events_opts_defaults(kt_events_opts *o);

/* Model rules (gateway.models, consumers[].models): fnmatch globs against the request's model.
 * Empty `allow` allows every model; `deny` wins over `allow`. */
typedef struct kt_model_rules {
    char **allow;
    size_t nallow;
    char **deny;
    size_t ndeny;
} kt_model_rules;

/* gateway.failover (applied by src/proxy/failover.c; docs/ROUTING.md). */
typedef struct kt_failover_opts {
    uint64_t on_status[8];           /* bit s-100: status s (100-599) is a failover trigger;
                                        default 429, 500, 502, 503, 504 */
    uint32_t max_attempts;           /* attempts per request, the first included (default 3) */
    double retry_budget;             /* retries as a share of requests (default 0.2) */
    uint32_t retry_burst;            /* retries the budget holds at most (default 10) */
    uint32_t deadline_ms;            /* time to the first response byte over every attempt;
                                        0: upstream_first_byte_timeout */
    uint32_t circuit_failures;       /* consecutive failures that open a circuit (default 5) */
    uint32_t base_ejection_ms;       /* first ejection (default 10 s), doubled per re-open */
    uint32_t max_ejection_ms;        /* the longest (default 5 min) */
} kt_failover_opts;

void kt_failover_opts_defaults(kt_failover_opts *o);
static inline bool kt_failover_on_status(const kt_failover_opts *o, int s)
{
    return s >= 100 && s < 600 && ((o->on_status[(s - 100) / 64] >> ((s - 100) % 64)) & 1);
}

/* gateway.auth */
typedef enum kt_auth_mode {
    KT_AUTH_AUTO = 0,   /* keys when consumers exist or the listener is not loopback, else none */
    KT_AUTH_KEYS,
    KT_AUTH_NONE,
} kt_auth_mode;

/* gateway.shared_state.on_unavailable: what admission does while Redis cannot be reached. */
typedef enum kt_unavailable_mode {
    KT_UNAVAIL_LOCAL = 0,   /* the default: this process's own counters (every limit still held) */
    KT_UNAVAIL_DENY,        /* refuse limited requests with 503 */
    KT_UNAVAIL_ALLOW,       /* admit without limits (fail open, the user's choice) */
} kt_unavailable_mode;

#define KT_REDIS_HOST_MAX 256
#define KT_REDIS_PREFIX_MAX 64

/* gateway.shared_state.redis: every limit counter in one Redis, shared by a fleet. */
typedef struct kt_shared_state_opts {
    bool redis;                          /* configured */
    char host[KT_REDIS_HOST_MAX];        /* from url: a name, an IPv4 or an IPv6 address */
    uint16_t port;                       /* default 6379 */
    uint32_t db;                         /* the url's /N, default 0 */
    kt_key_source password_source;       /* KT_KEY_NONE: no AUTH */
    char *password_ref;                  /* env var name or file path (never the password) */
    char key_prefix[KT_REDIS_PREFIX_MAX];/* default "kt:" */
    kt_unavailable_mode on_unavailable;
    uint32_t timeout_ms;                 /* each Redis call and the connect, default 250 */
} kt_shared_state_opts;

/* Parses "redis://host[:port][/db]" into o->host, o->port, o->db. KT_EINVAL with `err` set
 * (rediss:// and credentials in the URL are refused with their reason). */
int kt_redis_url_parse(const char *url, size_t len, kt_shared_state_opts *o, char *err,
                       size_t errlen);
/* Reads the Redis password of `o` (env or file, trimmed) into *out (malloc'd; wipe and free it
 * with kt_config_free_secret). *out NULL and `err` set when it cannot be read; KT_ENOMEM. */
int kt_config_shared_password(const kt_shared_state_opts *o, kt_env env, char **out, char *err,
                              size_t errlen);
void kt_config_free_secret(char *s);
/* gateway.telemetry takes the OpenTelemetry SDK variables' names without OTEL_ and in lower
 * case (exporter_otlp_endpoint, service_name, traces_sampler, ...); a key set there wins over
 * the variable. kt_otel_keys[i] is the variable of gateway.otel[i]. */
#define KT_OTEL_KEYS 14
extern const char *const kt_otel_keys[KT_OTEL_KEYS];

typedef struct kt_gateway_opts {
    char *listen;                    /* NULL or "host:port" from gateway.listen / listen_port */
    char *ops_listen;                /* gateway.ops_listen "host:port"; NULL: none ("off") */
    bool config_reload;              /* default true */
    uint32_t config_poll_interval_ms;/* default 30 s */
    kt_limits limits;
    kt_events_opts events;
    bool metrics_enabled;            /* gateway.metrics.enabled, default true */
    bool policy_cache;               /* gateway.policy_cache, default true (kt/scan_cache.h) */
    bool fail_open;                  /* gateway.fail_mode: open (default closed): what a policy
                                        cannot read goes out unscanned, marked in its event */
    kt_auth_mode auth;               /* gateway.auth */
    kt_model_rules models;           /* gateway.models */
    char *state_dir;                 /* gateway.state_dir: spend survives restarts; NULL: memory */
    kt_failover_opts failover;       /* gateway.failover */
    char **forward_paths;            /* gateway.forward_paths: globs of client paths forwarded
                                        beyond the default list (kt_route_path_allowed) */
    size_t nforward_paths;
    kt_shared_state_opts shared_state;   /* gateway.shared_state (Redis) */
    char *audit_dir;                 /* gateway.audit_dir: audit-logger's hash-chained files */
    char *otel[KT_OTEL_KEYS];        /* gateway.telemetry: the OTEL_* settings (kt_otel_keys) */
} kt_gateway_opts;

/* One gateway key of a consumer: only its SHA-256 is ever kept. `key_sha256:` sets it at load;
 * `key_ref: {env|file}` resolves at load and on every key refresh (rotation by file change). */
typedef struct kt_gw_key {
    kt_key_source source;            /* KT_KEY_NONE: given as key_sha256 */
    char *ref;                       /* env var name or file path */
    bool ok;                         /* sha holds a usable key's hash */
    unsigned char sha[32];
    char error[128];                 /* why not ok (never the key) */
} kt_gw_key;

/* consumers[].limits; 0 (or < 0 for money) means no limit. */
typedef struct kt_consumer_limits {
    uint64_t requests_per_minute;
    uint64_t tokens_per_minute;
    double max_daily_usd;
} kt_consumer_limits;

/* consumers[]: who may call through the gateway. */
typedef struct kt_consumer {
    char *name;
    kt_gw_key *keys;
    size_t nkeys;
    kt_model_rules models;
    kt_consumer_limits limits;
} kt_consumer;

typedef struct kt_config {
    int refs;
    char *source;              /* file path, or KT_CONFIG_EMBEDDED */
    char *pack_name;           /* "default" when absent */
    char *pack_version;        /* "0.0.0" when absent */
    bool pack_enabled;         /* pack.enabled (default true); when false the chain is validated
                                  and then left empty (nchain == 0) */
    char hash[65];             /* hex SHA-256 of the source bytes */
    kt_target *targets;
    size_t ntargets;
    kt_policy_cfg *chain;
    size_t nchain;
    kt_gateway_opts gateway;
    kt_consumer *consumers;    /* consumers[] (names unique) */
    size_t nconsumers;
    kt_ynode *tree;            /* the parsed document; policies' options point into it */
    /* ,"config_version":..,"config_hash":.. of every decision event (kt_event_prerender), NULL
     * when not rendered. */
    char *event_config;
    /* kt_policy_json's path lists compiled once ([0] input, [1] output; kt_policy_json_compile
     * in kt_policies_compile, whose failure fails the load). */
    struct kt_json_patset *json_paths;
    /* What loads but deserves attention (a policy configured outside the chain, pack.enabled:
     * false): logged at load and reload, printed by `kt policy validate`. Owned; NULL when there
     * are none (24 KiB not kept in every snapshot). */
    kt_diag *warnings;
    /* gateway.fail_mode after the per-policy overrides (policy.<name>.fail_mode): a direction
     * fails open only when every policy that reads it is open. */
    bool fail_open_input, fail_open_output;
} kt_config;

/* The source name of the embedded default ("/health" and "/keeptrusts/config" show it). */
#define KT_CONFIG_EMBEDDED "embedded-default"

/* Hex SHA-256 (the config content hash), mbedTLS 2.28 and 3.x alike. */
void kt_sha256_hex(const char *buf, size_t len, char out[65]);

/* Parses and validates `buf` (YAML text) named `name` for diagnostics. On success returns 0 and a
 * snapshot with refs == 1. On failure returns KT_EINVAL (or KT_ENOMEM) and fills `diag` with every
 * problem found, each with line and column: syntax errors, unknown keys, wrong types, unknown policy
 * kinds, chain entries without a policy, bad URLs, unset variables. */
int kt_config_parse(const char *name, const char *buf, size_t len, kt_env env, kt_config **out,
                    kt_diag *diag);

/* The same, reusing the compiled state of every policy of `prev` whose kind and options are
 * unchanged (so a reload only compiles what changed). `prev` may be NULL. */
int kt_config_parse_reuse(const char *name, const char *buf, size_t len, kt_env env,
                          const kt_config *prev, kt_config **out, kt_diag *diag);

/* Reads the file (capped at 1 MiB) and parses it. */
int kt_config_load_file(const char *path, kt_env env, kt_config **out, kt_diag *diag);

/* The embedded default: one OpenAI target at ${OPENAI_BASE_URL:-https://api.openai.com/v1} with
 * key from env OPENAI_API_KEY; pii-detector and dlp-filter redact in both directions. */
int kt_config_default(kt_env env, kt_config **out, kt_diag *diag);

/* Logs each of c->warnings as a "config_warning" line (at start-up and after a reload). */
void kt_config_log_warnings(const kt_config *c);
/* The config's value for an OTEL_* variable name (gateway.telemetry), or NULL. */
const char *kt_config_otel(const kt_config *cfg, const char *env_name);

kt_config *kt_config_ref(kt_config *c);
/* Drops a reference and NULLs *c; frees at zero. */
void kt_config_release(kt_config **c);

const kt_target *kt_config_target_by_id(const kt_config *c, const char *id, size_t idlen);

/* What kt_config_refresh_keys returns besides a negative KT_E* code. */
enum { KT_KEYS_SAME = 0, KT_KEYS_CHANGED = 1 };

/* Re-reads secret files of all targets and the key_refs of consumers (for key rotation). Returns
 * KT_KEYS_CHANGED when a key changed (appeared, went or differs), KT_KEYS_SAME when none did, or
 * KT_ENOMEM. */
int kt_config_refresh_keys(kt_config *c, kt_env env);

#endif
