/* Governance: who is calling (consumers and gateway keys), which models they may use, how fast
 * (rate-limit, consumers[].limits) and how much they may spend (spend-limit). The proxy calls in
 * at three points of an exchange: kt_gov_authenticate before the body is read, kt_gov_admit after
 * routing (check and reserve) and kt_gov_settle when the exchange ends (settle with real usage,
 * release the rest). Counters live behind kt_gov_store (gov_store.h): in this process, with spend
 * kept on disk when gateway.state_dir is set, or in Redis with gateway.shared_state (gov_shared.c,
 * the admission then answered asynchronously). */
#ifndef KT_GOVERNANCE_H
#define KT_GOVERNANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "kt/buf.h"
#include "kt/config.h"
#include "kt/http.h"

typedef struct kt_gov kt_gov;

/* A refusal: status, OpenAI error type and code, message, Retry-After seconds (0: none). */
typedef struct kt_gov_refusal {
    int status;
    const char *type;
    const char *code;
    char msg[320];
    uint32_t retry_after_s;
    const char *policy;      /* the chain entry that refused, NULL for consumers[].limits */
    /* 402: which budget, its limit, what is spent and when it resets */
    bool has_budget;
    char budget[112];        /* "daily policy 'spend-limit' (gateway)" */
    double limit_usd, spent_usd;
    char reset[32];          /* ISO 8601 UTC */
    int chain_index;         /* the chain entry that refused, -1 none (decision events) */
} kt_gov_refusal;

/* What kt_gov_admit decided. */
typedef enum kt_gov_verdict {
    KT_GOV_REFUSED = 0,      /* `out` says why */
    KT_GOV_ADMITTED = 1,
    KT_GOV_PENDING = 2,      /* shared state: the callback tells, later (never within the call) */
} kt_gov_verdict;

/* The answer of a pending admission: KT_GOV_ADMITTED, or KT_GOV_REFUSED with `out`. */
typedef void (*kt_gov_admit_cb)(void *arg, int verdict, const kt_gov_refusal *out);

#define KT_GOV_MAX_HOLDS 16  /* counters one request may hold (rate and spend, every scope) */

/* One counter a request holds until it settles. */
typedef struct kt_gov_hold {
    struct kt_gov_entry *entry;
    uint8_t what;            /* KT_HOLD_* (gov_store.h) */
    double amount;           /* reserved: USD, or tokens for a token rate */
    double limit;            /* token rate: tokens per minute */
} kt_gov_hold;

/* What one exchange holds of the governance state, from admit to settle. */
typedef struct kt_gov_req {
    const kt_consumer *consumer;   /* NULL: no key needed (auth none) */
    bool admitted;                 /* holds are live; kt_gov_settle must run */
    uint64_t reservation_id;
    uint64_t expires_ms;
    char model[64];                /* the model the estimate was priced with ("" none) */
    int64_t est_in, est_out;       /* the estimate */
    size_t nholds;
    kt_gov_hold holds[KT_GOV_MAX_HOLDS];
    struct kt_gov_req *prev, *next;   /* live reservations (expiry sweep) */
    bool shared;                   /* the holds are in Redis (gateway.shared_state) */
    bool unlimited;                /* admitted unchecked: Redis down, on_unavailable: allow */
    void *pending;                 /* an admission Redis has not answered yet */
    /* x-ratelimit-* of the tightest request and token limits (limit 0: none) */
    uint64_t rl_req_limit, rl_req_remaining, rl_req_reset_ms;
    uint64_t rl_tok_limit, rl_tok_remaining, rl_tok_reset_ms;
} kt_gov_req;

/* What the exchange knows when it admits a request. */
typedef struct kt_gov_facts {
    const char *model;        /* the body's model, else the target's; NULL when none */
    const char *deployment;   /* Azure deployment of the target, NULL otherwise */
    size_t body_bytes;
    int64_t max_tokens;       /* -1: not set */
} kt_gov_facts;

/* `listen_addr` is the bound address ("127.0.0.1:41002", "[::1]:41002"): it decides the
 * default of gateway.auth. Loads state_dir's spend file when set. */
int kt_gov_new(uv_loop_t *loop, const kt_config *cfg, const char *listen_addr, kt_gov **out);
/* Closes the shared state's connection and timers (the loop ends only after this). */
void kt_gov_close(kt_gov *g);
/* Writes the spend file one last time (blocking; at exit) and frees. */
void kt_gov_free(kt_gov *g);
/* /health's "shared_state" object, and the keeptrusts_shared_state_* metrics (nothing without it). */
int kt_gov_health_json(const kt_gov *g, kt_buf *out);
/* The shared state as /health's reasons see it: false when there is none or it is up; else true,
 * with how long it has been unreachable and what requests get meanwhile ("local", "deny",
 * "allow"). */
bool kt_gov_shared_down(const kt_gov *g, uint64_t *for_ms, const char **on_unavailable);
int kt_gov_metrics(const kt_gov *g, kt_buf *out);
/* A budget and the least any of its scopes has left (gov_budget.c), for the metrics. */
typedef struct kt_gov_budget {
    const char *policy;      /* the spend-limit's chain name, or "consumer-limits" */
    const char *window;      /* "day" or "month" */
    double limit_usd, remaining_usd;
} kt_gov_budget;
/* Up to `max` budgets of cfg's chain (and consumers[].limits); returns how many. */
size_t kt_gov_budgets(const kt_gov *g, const kt_config *cfg, kt_gov_budget *out, size_t max);
/* Whether requests under `cfg` need a gateway key. */
bool kt_gov_keys_required(const kt_gov *g, const kt_config *cfg);

/* Checks the gateway key in the client's headers. Returns true when the request may go on (r->
 * consumer set when a key was needed); false with `out` filled (401, or 503 with no consumers). */
bool kt_gov_authenticate(const kt_gov *g, const kt_config *cfg, const kt_headers *hs,
                         kt_gov_req *r, kt_gov_refusal *out);

/* Model rules, rate limits and spend limits, in that order; on success the request holds its
 * reservations (r->admitted). `evals`, when not NULL, has one byte per chain entry set to 1 for
 * the request-level policies that ran and 2 for the one that refused (a pending admission's
 * refusal names it in out->chain_index). With gateway.shared_state up, the check-and-reserve is
 * one Redis call: KT_GOV_PENDING, and `cb` answers when Redis does (or the call's timeout
 * passes: then on_unavailable decides). kt_gov_settle before that cancels the callback. */
int kt_gov_admit(kt_gov *g, const kt_config *cfg, const kt_gov_facts *f, kt_gov_req *r,
                 uint8_t *evals, kt_gov_refusal *out, kt_gov_admit_cb cb, void *cb_arg);

/* Settles an admitted request: `usage_known` with the real token counts; else `answered` (a
 * 2xx body came back without usage) settles the estimate, and nothing (failed, cancelled) settles
 * zero. Releases every reservation. Safe to call on a request that was not admitted. */
void kt_gov_settle(kt_gov *g, const kt_config *cfg, kt_gov_req *r, bool usage_known,
                   int64_t in_tokens, int64_t out_tokens, bool answered);

/* Appends the x-ratelimit-* header lines of an admitted request ("Name: value\r\n"). */
int kt_gov_rate_headers(const kt_gov_req *r, kt_buf *out);

/* Whether a GET /v1/models answer must be cut down to the allowed models (rules apply). */
bool kt_gov_models_filtered(const kt_config *cfg, const kt_consumer *c);
/* Appends `body` (a models list) with only the models allowed for `c` (NULL: the gateway's rules
 * only). KT_EPARSE when it is not a list, KT_ENOMEM. */
int kt_gov_filter_models(const kt_config *cfg, const kt_consumer *c, const char *body, size_t len,
                         kt_buf *out);

/* Whether `model` passes rules `r` (empty allow: everything; deny wins). */
bool kt_gov_model_allowed(const kt_model_rules *r, const char *model);

#endif
