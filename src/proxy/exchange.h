/* Private to proxy/: one proxied request, from the connection's start to its finish. proxy.c
 * allocates it in start, owns it, and frees it in finish (the only place); exchange_facts.c reads
 * the request body once for what every later stage needs and turns the finished exchange into
 * its decision event. */
#ifndef KT_PROXY_EXCHANGE_H
#define KT_PROXY_EXCHANGE_H

#include <stdbool.h>

#include "kt/circuit.h"
#include "kt/conn.h"
#include "exchange_trace.h"
#include "kt/events.h"
#include "kt/gateway.h"
#include "kt/governance.h"
#include "kt/policy.h"
#include "kt/policy_stream.h"
#include "kt/upstream.h"

/* Where an exchange is. Phases only move forward (but a retry, which goes from WAIT_HEAD back to
 * CONNECT before anything reached the client); a failure in any phase answers (or cuts the
 * stream) and moves to DONE. */
typedef enum kt_xphase {
    KT_X_ROUTE,          /* reading the body's facts, choosing the target */
    KT_X_GOV_WAIT,       /* governance: waiting for the shared state's check-and-reserve */
    KT_X_CHECK_INPUT,    /* input policies over the request body */
    KT_X_CLASSIFY_INPUT, /* the model tier's classifier calls on the request (exchange_model.c) */
    KT_X_CONNECT,        /* waiting for an upstream connection (fresh, pooled, or a retry) */
    KT_X_WAIT_HEAD,      /* request sent; waiting for the response head */
    KT_X_RELAY_PASS,     /* head sent; body relayed chunk for chunk */
    KT_X_RELAY_STREAM,   /* head sent; SSE through the stream filter (holdback) */
    KT_X_RELAY_BUFFER,   /* nothing sent yet; the whole body is buffered for output policies */
    KT_X_CLASSIFY_OUTPUT, /* the buffered body is scanned; waiting for the model tier's calls */
    KT_X_DONE,           /* answered, failed or cut; waiting for the connection's finish */
} kt_xphase;

#define KT_FACT_MODEL_MAX 256   /* a model name longer than this is treated as absent */
#define KT_FACT_USER_MAX 40     /* "user-sha256:" + 16 hex digits */

/* What the request body says, read once at start (kt__facts_read). -1: absent or not that type. */
typedef struct kt_req_facts {
    bool has_model;
    char model[KT_FACT_MODEL_MAX];
    char user[KT_FACT_USER_MAX];   /* the body's `user`, only as a hash ("" when none) */
    int stream;                    /* "stream": 1 true, 0 false */
    int include_usage;             /* "stream_options.include_usage" */
    int64_t max_tokens;            /* max_tokens, max_completion_tokens or max_output_tokens */
} kt_req_facts;

typedef struct kt_model_wait kt_model_wait;   /* exchange_model.c */
/* Failover (exchange_failover.c): the targets this request may try, in order, and what each
 * attempt came to. */
#define KT_FO_MAX_CANDIDATES 9    /* the target and its fallbacks (config: at most 8) */
#define KT_FO_MAX_ATTEMPTS 10     /* gateway.failover.max_attempts' cap */

typedef struct kt_attempt {
    uint16_t target;              /* index into cfg->targets */
    uint8_t outcome;              /* kt_attempt_outcome */
    int status;                   /* 0: no response head */
    uint32_t latency_ms;
} kt_attempt;

typedef struct kt_failover {
    uint16_t cand[KT_FO_MAX_CANDIDATES];
    size_t ncand;
    size_t next;                  /* the next candidate to consider */
    kt_attempt att[KT_FO_MAX_ATTEMPTS];
    size_t natt;
    uint64_t attempt_ns;          /* uv_hrtime() when the current attempt began */
    uint64_t deadline_ns;         /* 0: only the per-attempt timeouts */
    bool probe;                   /* the current attempt is its circuit's half-open probe */
    bool budget_denied;           /* a retry was refused by the retry budget */
    bool settled;                 /* the current attempt's result is recorded */
    const char *up_model;         /* the model sent to the current target (alias applied) */
    kt_buf body;                  /* the body for the current target when an alias rewrote it */
    const char *out_p;            /* the body the current attempt sends (c->in.body or `body`) */
    size_t out_n;
} kt_failover;
/* What the input walk left for after routing (and after a pending admission). */
typedef struct kt_input_result {
    bool walked;
    int rc;
    bool changed;
    kt_buf out;
} kt_input_result;

typedef struct kt_exchange {
    kt_conn *c;
    kt_gateway *gw;
    kt_config *cfg;            /* snapshot reference, held from start to finish */
    kt_xphase phase;
    kt_api api;
    const kt_target *target;
    kt_upconn *up;             /* NULL unless an upstream connection serves us now */
    kt_buf req_head;           /* the serialized upstream request head (holds the provider key) */
    bool retried;              /* the one retry on a fresh connection is used */
    bool up_paused;            /* upstream reads paused: the client reads too slowly */
    bool resp_chunked;         /* re-framed as chunked towards the client */
    bool counted_stream;       /* counted in gw->stats.streams */
    bool sniffed;              /* RELAY_BUFFER: the first bytes told whether it is SSE */
    const char *unscanned;     /* why a policy could not read the request or the response
                                  (fail_mode open; a static reason string) */
    bool has_decision;         /* `decision` was initialized (a chain is configured) */
    kt_decision decision;
    kt_req_facts facts;
    kt_input_result in;        /* the input walk, from start until the request goes upstream */
    kt_stream_filter *sf;      /* RELAY_STREAM: the output filter */
    kt_buf sf_out;             /* its output, sent as one chunk per upstream read */
    kt_buf resp_head;          /* RELAY_BUFFER: the client head, minus framing */
    kt_buf resp_body;          /* RELAY_BUFFER: the whole upstream body */
    kt_req_obs obs;            /* timings and usage, for the event and metrics */
    int up_status;             /* the upstream's status (0: no head came) */
    kt_gov_req gov;            /* consumer and reservations (exchange_gov.c) */
    bool gov_models_list;      /* GET /v1/models: the answer is cut to the allowed models */
    bool usage_added;          /* kt asked for stream usage: strip it again (exchange_usage.c) */
    kt_buf strip_pending;      /* the SSE event being received */
    kt_buf strip_out;          /* what one upstream read leaves for the client */
    kt_model_wait *model;      /* the model tier's texts and calls (exchange_model.c), or NULL */
    kt_str rest, query;        /* the client path after /v1, and its query (in c->in.url) */
    kt_failover fo;            /* exchange_failover.c */
    kt_xtrace trace;           /* its trace context and spans (exchange_trace.c) */
    struct kt_xaudit *audit;   /* audit-logger's digests (exchange_audit.c), NULL when none */
} kt_exchange;

/* exchange_unscanned.c: fail_mode on the request side. kt__unscanned_input returns true when the
 * walk's failure `rc` lets the request go on unscanned (fail_mode: open; x->unscanned set). */
bool kt__unscanned_input(kt_exchange *x, int rc);
bool kt__request_encoded(const kt_exchange *x);

/* The keys kt__facts_read asks a kt_json_top for, in kt_req_facts order of decoding. */
extern const char *const kt__fact_keys[];
extern const size_t kt__nfact_keys;
/* Decodes the collected fields of `body` into `f` (absent fields stay absent). */
void kt__facts_from_top(kt_req_facts *f, const kt_json_top *top, const char *body);
/* Reads the facts with a pass of its own (when no input policy walks the body). */
void kt__facts_read(kt_req_facts *f, const char *body, size_t len);
/* exchange_gov.c: governance. start: the gateway key (false: answered 401); admit: after
 * routing, model rules and limits (false: answered 403/402/429); headers: x-ratelimit-* lines;
 * finish: settles what the request used (every exchange, before its report). */
bool kt__gov_start(kt_exchange *x);
/* Admission runs kt__proxy_admitted once admitted: now, or when the shared state answers (the
 * exchange waits in KT_X_GOV_WAIT); a refusal is answered instead. */
void kt__gov_admit(kt_exchange *x);
/* proxy.c: the rest of the exchange's start once admitted. */
void kt__proxy_admitted(kt_exchange *x);
int kt__gov_headers(const kt_exchange *x, kt_buf *b);
/* RELAY_BUFFER, before output policies: a models list cut to the allowed models. */
void kt__gov_filter_list(kt_exchange *x);
void kt__gov_finish(kt_exchange *x);
/* exchange_usage.c: before the upstream head, asks an OpenAI chat stream for usage when
 * governance needs it and the client did not; on the response, takes it out again. strip: data
 * NULL flushes what is held at the end; false when nothing is left to relay. */
void kt__usage_prepare(kt_exchange *x);
bool kt__usage_strip(kt_exchange *x, const char **data, size_t *len);
/* exchange_model.c: the model tier (kt/classifier.h). wanted: a policy of `dir` has a
 * classifier. walk: sets up collection of undecided texts on a walk of `dir` (KT_ENOMEM).
 * start: after the walk, asks the classifiers; 1 when the exchange now waits (`fn` is called
 * once every answer is noted in the decision), 0 when it goes on at once (verdicts already
 * noted). keep/take: the output walk's result, held while waiting. free: ends the calls
 * (detached) and the texts; called at finish and before a new walk. */
typedef void (*kt__model_resume_fn)(kt_exchange *x);
bool kt__model_wanted(const kt_exchange *x, kt_dir dir);
int kt__model_walk(kt_exchange *x, kt_dir dir, kt_policy_walk *w);
int kt__model_start(kt_exchange *x, kt__model_resume_fn fn);
void kt__model_keep(kt_exchange *x, kt_buf *out, bool changed, size_t bom);
void kt__model_take(kt_exchange *x, kt_buf *out, bool *changed, size_t *bom);
void kt__model_free(kt_exchange *x);
/* exchange_failover.c. plan: after routing, the candidates (the target, then its fallbacks
 * that speak the API and have a key; open circuits skipped while another candidate is left),
 * sets x->target to the first. body: what to send to x->target (an alias may rewrite the
 * model). failed: the current attempt failed before anything reached the client; true when
 * x->target now names the next one to try (the caller builds and sends it). settle: the
 * current attempt ended the request (`status` 0 for a failure). headers: x-should-retry: false
 * on a failed response when kt already retried or refused to. attempts_json: the event's attempts, or NULL. */
void kt__fo_plan(kt_exchange *x);
int kt__fo_prepare(kt_exchange *x, const char **body, size_t *len);
bool kt__fo_failed(kt_exchange *x, kt_attempt_outcome outcome, int status);
void kt__fo_settle(kt_exchange *x, kt_attempt_outcome outcome, int status);
bool kt__fo_no_retry(const kt_exchange *x);
int kt__fo_headers(const kt_exchange *x, kt_buf *b);
/* Whether kt__fo_headers adds the hint (the upstream's own x-should-retry is then dropped: two
 * values would read as neither to the SDKs). */
bool kt__fo_sets_hint(const kt_exchange *x);
kt_attempt_outcome kt__fo_outcome_of(const char *code);
int kt__fo_attempts_json(const kt_exchange *x, kt_buf *out);
void kt__fo_finish(kt_exchange *x);
/* exchange_trace.c: begin at start (the caller's context, or a new trace); input around the
 * input policies (begin true, then false); attempt_begin before each upstream request head is
 * built (a new attempt span); upstream_header appends its traceparent to that head (the
 * client's traceparent is never forwarded, its tracestate is); attempt_end when the attempt is
 * over (status 0: no response head; `error` a code or NULL); finish queues the remaining spans
 * with the event's facts. */
void kt__trace_begin(kt_exchange *x);
void kt__trace_input(kt_exchange *x, bool begin);
void kt__trace_attempt_begin(kt_exchange *x);
int kt__trace_upstream_header(kt_exchange *x, kt_buf *head);
void kt__trace_attempt_end(kt_exchange *x, int status, const char *error);
/* Every upstream body chunk: the response facts the spans report (only when recording). */
void kt__trace_body(kt_exchange *x, const char *data, size_t len);
void kt__trace_finish(kt_exchange *x, const kt_event_info *ev);
/* Frees what begin allocated (after finish). */
void kt__trace_free(kt_exchange *x);
/* exchange_audit.c: begin at start (the input digest of the body as sent), output with every
 * upstream body chunk (the output digest), finish with the event: the audit record, if any. */
void kt__audit_begin(kt_exchange *x);
void kt__audit_output(kt_exchange *x, const char *data, size_t len);
void kt__audit_finish(kt_exchange *x, const kt_event_info *ev);
/* The decision event of a finished exchange, pushed with the metrics. */
void kt__exchange_report(kt_exchange *x, bool aborted);

#endif
