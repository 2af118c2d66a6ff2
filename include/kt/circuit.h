/* Per-target circuit breakers, the gateway's retry budget and the failover counters (owned by
 * src/proxy/, kept in the gateway: gw->circuits). A breaker opens after `circuit_failures`
 * consecutive failures, stays open for a back-off that doubles on every re-open (capped), then
 * lets one probe through (half-open): its success closes the circuit, its failure re-opens it.
 * The retry budget is a token bucket: every request deposits `retry_budget` tokens (up to
 * `retry_burst`), every retry takes one, so retries stay a bounded share of the traffic.
 * Entries are keyed by target id and outlive config reloads. Times are uv_now() milliseconds. */
#ifndef KT_CIRCUIT_H
#define KT_CIRCUIT_H

#include <stdbool.h>
#include <stdint.h>

#include "kt/buf.h"
#include "kt/config.h"

#define KT_CIRCUITS_MAX 128   /* targets remembered (a config has at most 64) */

typedef enum kt_circuit_state {
    KT_CIRCUIT_CLOSED = 0,
    KT_CIRCUIT_OPEN = 1,
    KT_CIRCUIT_HALF_OPEN = 2,
} kt_circuit_state;

/* How one attempt at a target ended (the `outcome` of the decision event's attempts and of
 * keeptrusts_failover_attempts_total). */
typedef enum kt_attempt_outcome {
    KT_ATTEMPT_OK = 0,        /* a response that ended the attempts (any status not failed over) */
    KT_ATTEMPT_STATUS,        /* a failover status (gateway.failover.on_status) */
    KT_ATTEMPT_CONNECT,       /* refused, unreachable, DNS, connect timeout */
    KT_ATTEMPT_TLS,           /* handshake or certificate failure */
    KT_ATTEMPT_TIMEOUT,       /* no response head before the first-byte timeout or the deadline */
    KT_ATTEMPT_CLOSED,        /* the connection closed before a response head */
    KT_ATTEMPT_ERROR,         /* a malformed response, or any other failure */
    KT_ATTEMPT_OUTCOMES,
} kt_attempt_outcome;

const char *kt_attempt_outcome_name(kt_attempt_outcome o);
const char *kt_circuit_state_name(kt_circuit_state s);

typedef struct kt_circuit {
    char id[65];               /* the target id */
    kt_circuit_state state;
    uint32_t failures;         /* consecutive */
    uint32_t opens;            /* consecutive openings: the back-off's exponent */
    uint64_t open_until_ms;
    bool probing;              /* half-open: the probe is out */
    uint64_t last_used_ms;
    uint64_t attempts[KT_ATTEMPT_OUTCOMES];
} kt_circuit;

typedef struct kt_circuits {
    kt_circuit *v;             /* n in use; grows to KT_CIRCUITS_MAX, then the oldest is reused */
    size_t n, cap;
    double tokens;             /* the retry budget */
    bool tokens_init;
    uint64_t retries_denied;   /* retries the budget refused */
} kt_circuits;

kt_circuits *kt_circuits_new(void);
void kt_circuits_free(kt_circuits *cs);

/* The entry of a target (created on first use; the least recently used entry is recycled when
 * the table is full). Never NULL. */
kt_circuit *kt_circuit_of(kt_circuits *cs, const char *id, uint64_t now_ms);
/* The entry of a target, or NULL when it has none yet (a read: nothing is created). */
const kt_circuit *kt_circuits_find(const kt_circuits *cs, const char *id);
/* The state as it stands now (an open circuit past its ejection reads half-open). */
kt_circuit_state kt_circuit_state_now(const kt_circuit *c, uint64_t now_ms);
/* Whether a request may go to the target now. Closed: yes. Open past its ejection, or half-open
 * without a probe out: yes, and this request is the probe (*probe). Otherwise no. */
bool kt_circuit_admit(kt_circuit *c, uint64_t now_ms, bool *probe);
/* The result of an attempt. `probe`: it was admitted as the probe. */
void kt_circuit_result(kt_circuit *c, const kt_failover_opts *o, bool failed, bool probe,
                       uint64_t now_ms);
/* A probe that ended without a result (the client left): the next request probes. */
void kt_circuit_release_probe(kt_circuit *c);

/* Retry budget: one deposit per request, one withdrawal per retry (false: none left). */
void kt_retry_deposit(kt_circuits *cs, const kt_failover_opts *o);
bool kt_retry_withdraw(kt_circuits *cs, const kt_failover_opts *o);

/* ,"circuits":{"<id>":{"state":..,"consecutive_failures":..,"reopens_in_ms":..},...} for the
 * targets of `cfg` (for /health). */
int kt_circuits_health_json(const kt_circuits *cs, const kt_config *cfg, uint64_t now_ms,
                            kt_buf *out);
/* How many targets of `cfg` have an open (or half-open) circuit now. */
size_t kt_circuits_open_count(const kt_circuits *cs, const kt_config *cfg, uint64_t now_ms);
/* keeptrusts_circuit_state{target} (0 closed, 1 open, 2 half-open) for the targets of `cfg`,
 * keeptrusts_failover_attempts_total{target,outcome} and
 * keeptrusts_retry_budget_exhausted_total. */
int kt_circuits_metrics(const kt_circuits *cs, const kt_config *cfg, uint64_t now_ms,
                        kt_buf *out);

#endif
