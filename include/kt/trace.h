/* Distributed tracing: W3C trace context (traceparent/tracestate, B3 single and multi read when
 * no traceparent came), the sampler, spans as OTLP/JSON objects, and the exporter that batches
 * them to an OTLP/HTTP collector over the event pipeline's shipper (kt/events.h, kt_ship_new).
 * Spans carry names, codes, counts and timings only: never prompt or completion text, never
 * keys. Ids come from mbedTLS's CTR-DRBG (kt_tls_random). */
#ifndef KT_TRACE_H
#define KT_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "kt/buf.h"
#include "kt/config.h"
#include "kt/http.h"
#include "kt/tls.h"

typedef struct kt_metrics kt_metrics;
typedef struct kt_tracer kt_tracer;

/* ---- trace context (trace_ctx.c) ------------------------------------------------------------ */

#define KT_TRACESTATE_MAX 512   /* W3C: at least 512 bytes must be propagated; more is cut */

typedef enum kt_trace_src {
    KT_TRACE_NONE,       /* no usable header: kt starts a trace */
    KT_TRACE_W3C,        /* traceparent */
    KT_TRACE_B3,         /* b3: {TraceId}-{SpanId}[-{Sampled}[-{ParentSpanId}]] */
    KT_TRACE_B3_MULTI,   /* X-B3-TraceId, X-B3-SpanId, X-B3-Sampled / X-B3-Flags */
} kt_trace_src;

typedef struct kt_trace_ctx {
    kt_trace_src src;
    uint8_t trace_id[16];
    uint8_t parent_id[8];      /* the caller's span (src != NONE) */
    int sampled;               /* the caller's decision: 1, 0, or -1 when it made none */
    char tracestate[KT_TRACESTATE_MAX + 1];   /* forwarded as it came ("" when none) */
} kt_trace_ctx;

/* The W3C traceparent value: version 00 exactly (55 bytes), or a later version's first 55 bytes
 * followed by '-' (forward compatible); ids not all zero; lowercase hex. */
bool kt_trace_parse_traceparent(const char *v, size_t n, kt_trace_ctx *out);
/* The b3 single header. A 16-hex trace id is left-padded with zeros; "0"/"1"/"d" sampling. A
 * bare "0" (deny, no ids) is false: nothing to continue. */
bool kt_trace_parse_b3(const char *v, size_t n, kt_trace_ctx *out);
/* The B3 multi headers (any may be NULL; trace and span ids are required). */
bool kt_trace_parse_b3_multi(kt_str trace, kt_str span, kt_str sampled, kt_str flags,
                             kt_trace_ctx *out);
/* Reads the request's headers: traceparent (+tracestate) first, then b3, then X-B3-*. Returns
 * out->src (KT_TRACE_NONE: nothing usable, *out zeroed). */
kt_trace_src kt_trace_from_headers(const kt_headers *hs, kt_trace_ctx *out);
/* Lowercase hex of n bytes into out (2n + 1 bytes with the NUL). */
void kt_trace_hex(const uint8_t *b, size_t n, char *out);
/* "00-<trace>-<span>-<flags>" (55 chars + NUL). */
void kt_trace_format_traceparent(const uint8_t trace[16], const uint8_t span[8], bool sampled,
                                 char out[56]);

/* ---- the sampler ---------------------------------------------------------------------------- */

typedef enum kt_sampler_kind {
    KT_SAMPLER_PARENT_ON,       /* parentbased_always_on (the OpenTelemetry default) */
    KT_SAMPLER_PARENT_OFF,      /* parentbased_always_off */
    KT_SAMPLER_PARENT_RATIO,    /* parentbased_traceidratio */
    KT_SAMPLER_ON,              /* always_on */
    KT_SAMPLER_OFF,             /* always_off */
    KT_SAMPLER_RATIO,           /* traceidratio */
} kt_sampler_kind;

typedef struct kt_sampler {
    kt_sampler_kind kind;
    double ratio;               /* [0, 1], for the ratio kinds */
} kt_sampler;

/* OTEL_TRACES_SAMPLER names; false for an unknown one. `arg` NULL or "" keeps ratio 1. */
bool kt_sampler_parse(const char *name, const char *arg, kt_sampler *out, char *err, size_t errlen);
/* Whether a span of this trace is recorded. The ratio keys on the trace id's last 8 bytes, so
 * every service with the same ratio keeps the same traces. */
bool kt_sampler_decide(const kt_sampler *s, const kt_trace_ctx *parent, const uint8_t trace[16]);

/* ---- response facts for spans (trace_resp.c) ------------------------------------------------
 * gen_ai.response.model and gen_ai.response.finish_reasons from the response bytes as they pass
 * (JSON or SSE, any split): the first "model" string, and the distinct "finish_reason" /
 * "stop_reason" strings. Bounded; a key inside an escaped string (\"model\") is not one. */

#define KT_RESP_MODEL_MAX 128
#define KT_RESP_REASON_MAX 32
#define KT_RESP_REASONS 4
#define KT_RESP_CARRY 192        /* more than the longest match: key, spaces and value */

typedef struct kt_resp_sniff {
    char model[KT_RESP_MODEL_MAX];
    char reasons[KT_RESP_REASONS][KT_RESP_REASON_MAX];
    int nreasons;
    char carry[KT_RESP_CARRY];   /* the previous chunk's last bytes */
    size_t clen;
} kt_resp_sniff;

void kt_resp_sniff_feed(kt_resp_sniff *s, const char *p, size_t n);

/* ---- spans (trace_span.c) ------------------------------------------------------------------- */

enum { KT_SPAN_INTERNAL = 1, KT_SPAN_SERVER = 2, KT_SPAN_CLIENT = 3 };   /* OTLP SpanKind */
enum { KT_SPAN_UNSET = 0, KT_SPAN_OK = 1, KT_SPAN_ERROR = 2 };           /* OTLP StatusCode */

#define KT_SPAN_ATTRS_MAX 8192   /* bytes of rendered attributes per span */

typedef struct kt_span {
    uint8_t trace_id[16], span_id[8], parent_id[8];
    bool has_parent;
    const char *name;
    int kind;
    uint64_t start_ns, end_ns;   /* Unix epoch nanoseconds */
    int status;
    const char *status_msg;      /* a code such as "upstream_error", or NULL */
    kt_buf attrs;                /* OTLP KeyValue objects, comma-separated */
} kt_span;

void kt_span_init(kt_span *s, const char *name, int kind);
void kt_span_free(kt_span *s);
/* Attributes (a NULL or empty string value adds nothing). KT_ENOMEM / KT_ELIMIT, or KT_OK. */
int kt_span_attr_str(kt_span *s, const char *key, const char *v);
int kt_span_attr_int(kt_span *s, const char *key, int64_t v);
int kt_span_attr_double(kt_span *s, const char *key, double v);
int kt_span_attr_strs(kt_span *s, const char *key, const char *const *v, size_t n);
/* One OTLP/JSON Span object (protobuf JSON mapping: ids as hex, enums as numbers, 64-bit
 * integers as decimal strings). */
int kt_span_json(const kt_span *s, kt_buf *out);

/* ---- the exporter (trace_export.c) ---------------------------------------------------------- */

typedef struct kt_tracer_opts {
    char *endpoint;              /* the full traces URL (…/v1/traces); NULL: tracing is off */
    char *headers;               /* "Name: value\r\n" lines from OTEL_EXPORTER_OTLP_HEADERS */
    char *service_name;          /* OTEL_SERVICE_NAME, default "kt" */
    char *resource_json;         /* extra resource KeyValues from OTEL_RESOURCE_ATTRIBUTES */
    kt_sampler sampler;
    kt_events_opts ship;         /* batch size, flush interval, queue bytes, timeout, backoff */
} kt_tracer_opts;

/* Reads the OTEL_* variables through `env`. false (err set) for a malformed one. With no
 * endpoint, o->endpoint stays NULL: tracing is off. */
bool kt_tracer_opts_from_env(kt_env env, kt_tracer_opts *o, char *err, size_t errlen);
void kt_tracer_opts_free(kt_tracer_opts *o);
/* A tracer sending to o->endpoint (the options are moved into it). KT_EINVAL (err set). */
int kt_tracer_new(uv_loop_t *loop, kt_tracer_opts *o, kt_tls_ctx *tls, kt_metrics *m,
                  kt_tracer **out, char *err, size_t errlen);
const kt_sampler *kt_tracer_sampler(const kt_tracer *t);
/* Queues one span (copied). Never waits; dropped and counted when the queue is full. */
void kt_tracer_push(kt_tracer *t, const kt_span *s);
void kt_tracer_shutdown(kt_tracer *t, uint32_t deadline_ms);
void kt_tracer_free(kt_tracer *t);
/* Queued spans (count, bytes), for metrics. */
void kt_tracer_queued(const kt_tracer *t, uint64_t *count, uint64_t *bytes);

#endif
