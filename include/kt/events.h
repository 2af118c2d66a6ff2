/* Decision events: one per request at its end, built from what the request did (never from its
 * content: entity types and counts only, never matched values, never keys), queued in a ring
 * bounded in bytes (or, with a spool, in a write-ahead log on disk), shipped in batches to the
 * control plane (or written to stderr). The request path only formats one event and appends it
 * to memory; disk work runs on libuv's threadpool. */
#ifndef KT_EVENTS_H
#define KT_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "kt/buf.h"
#include "kt/config.h"
#include "kt/policy.h"
#include "kt/tls.h"

typedef struct kt_metrics kt_metrics;
typedef struct kt_events kt_events;

/* ---- token usage, sniffed from response bytes without buffering them ------------------------- */

#define KT_USAGE_WIN 512

typedef struct kt_usage_sniff {
    char win[KT_USAGE_WIN];    /* bytes after a `"usage"` key, until its object closes */
    size_t wlen;
    int depth;                 /* brace depth inside the usage object; 0: not entered yet */
    bool active;               /* capturing */
    bool in_str, esc;
    char tail[8];              /* last bytes of the previous chunk (a key split across reads) */
    size_t tlen;
    int64_t input, output;     /* -1 when unknown */
} kt_usage_sniff;

void kt_usage_init(kt_usage_sniff *u);
/* Internal, exposed for tests: the four counters (prompt, input, completion, output tokens) of a
 * captured usage window, in one pass; and the same by one search per key (the reference). */
void kt__usage_window(const char *w, size_t n, int64_t v[4]);
void kt__usage_window_plain(const char *w, size_t n, int64_t v[4]);
/* Cheap when the bytes hold no "usage": one memmem per call. Last value seen wins, so a stream's
 * final usage (OpenAI's last chunk, Anthropic's message_delta) is what remains. */
void kt_usage_feed(kt_usage_sniff *u, const char *data, size_t len);

/* ---- per-request observations (kept in kt_conn) ------------------------------------------- */

typedef struct kt_req_obs {
    bool stream;               /* the response is text/event-stream */
    bool upstream_new;         /* a fresh upstream connection was opened for it */
    uint64_t t0_ns;            /* dispatch */
    uint64_t up_start_ns;      /* upstream acquire */
    uint64_t up_sent_ns;       /* request sent */
    uint64_t up_head_ns;       /* first response byte (head) */
    uint64_t up_end_ns;        /* response complete or failed */
    uint64_t connect_ns, tls_ns;   /* a fresh upstream connection: TCP connect, TLS handshake */
    kt_usage_sniff usage;
} kt_req_obs;

/* ---- the event --------------------------------------------------------------------------- */

typedef struct kt_event_info {
    char id[37];               /* UUID v4 */
    uint64_t unix_ms;          /* wall clock at the end */
    const kt_decision *decision;   /* NULL: no policies ran */
    const char *reason_code;   /* NULL or "" when none */
    const char *model;         /* NULL when unknown */
    const char *provider;
    const char *target;
    const char *api;           /* "chat", "messages", ... */
    const kt_config *cfg;      /* config_version: pack name@version and hash */
    int64_t input_tokens, output_tokens;   /* -1: unknown */
    double cost_usd;           /* < 0: unknown */
    int status;
    uint64_t latency_ms;
    const char *trace_id;      /* 32 hex or NULL */
    const char *consumer;      /* NULL when none */
    const char *gw_consumer;   /* the consumer its gateway key named (a metrics label), or NULL */
    const char *unscanned;     /* why a policy could not read something (fail_mode: open): the
                                  verdict is then "unscanned" and this the reason_code */
    const char *attempts;      /* the upstream attempts as a JSON array (the proxy renders it:
                                  [{target, outcome, latency_ms, status?}]), or NULL */
} kt_event_info;

/* "allow" (allow and flag), "redact", "block" (kt_event_json also says "unscanned"). */
const char *kt_event_verdict(const kt_decision *d);
/* Appends one event as a JSON object (no newline). */
int kt_event_json(const kt_event_info *ev, kt_buf *out);
/* Renders once the parts of every event that only depend on the snapshot (config_version and
 * config_hash, each policy's name and kind) into cfg->event_config and chain[i].event_head;
 * kt_event_json copies them (and formats them itself for a snapshot without them). Called by the
 * config loader. KT_ENOMEM, or KT_OK. */
int kt_event_prerender(kt_config *cfg);
/* A random UUID v4 (36 chars + NUL) from the TLS context's DRBG; /dev/urandom when tls is NULL. */
int kt_uuid4(kt_tls_ctx *tls, char out[37]);
/* USD for the tokens at the price of the model (longest prefix match: the configured `prices`
 * first, then the built-in table), or -1 when no price is known. `o` may be NULL. */
double kt_price_usd(const kt_events_opts *o, const char *model, int64_t in, int64_t out);
/* The 32-hex trace id of a W3C traceparent value, or false. */
bool kt_traceparent_id(const char *v, size_t n, char out[33]);

/* ---- the ring: events bounded in bytes, oldest dropped first ------------------------------ */

typedef struct kt_event_rec {
    struct kt_event_rec *next;
    uint32_t len;
    char data[];
} kt_event_rec;

#define KT_EVENT_REC_OVERHEAD (sizeof(kt_event_rec) + 16)

typedef struct kt_event_ring {
    kt_event_rec *head, *tail;
    size_t count;
    size_t bytes;              /* sum of len + KT_EVENT_REC_OVERHEAD */
    size_t max_bytes;
    uint64_t dropped;          /* total dropped since start */
    uint64_t dropped_unreported;   /* not yet carried by a delivered batch */
} kt_event_ring;

void kt_event_ring_init(kt_event_ring *r, size_t max_bytes);
void kt_event_ring_free(kt_event_ring *r);
/* Appends a copy; drops the oldest until it fits (counted). KT_ELIMIT (counted as a drop) when
 * one event alone exceeds the bound. */
int kt_event_ring_push(kt_event_ring *r, const char *data, size_t len);
/* Removes and returns the oldest (the caller frees it), or NULL. */
kt_event_rec *kt_event_ring_pop(kt_event_ring *r);
/* Puts records back at the front (oldest first order kept), ignoring the bound. */
void kt_event_ring_unshift(kt_event_ring *r, kt_event_rec *list);
/* Drops the oldest record (counted). Returns false when empty. */
bool kt_event_ring_drop_oldest(kt_event_ring *r);

/* ---- the pipeline (event_ship.c) -------------------------------------------------------- */

/* api_url NULL: events go to stderr as JSON lines. Returns KT_EINVAL (err set) for a bad URL. */
int kt_events_new(uv_loop_t *loop, const kt_events_opts *o, const char *api_url,
                  const char *token, kt_tls_ctx *tls, kt_metrics *m, kt_events **out, char *err,
                  size_t errlen);
/* The same pipeline for another receiver (the OTLP trace exporter): a body framed by
 * body_open/body_close instead of {"batch_id","events","dropped"} (NULL: the events' framing),
 * the URL's path followed by path_suffix (NULL: "/v1/events"), extra head lines (NULL or
 * "Name: value\r\n"...), and the counters to add to (NULL: not counted). No spool for a shaped
 * body; the strings must outlive the pipeline. `url_name` names the URL in errors. */
typedef struct kt_ship_shape {
    const char *body_open, *body_close;
    const char *path_suffix;
    const char *headers;
    const char *url_name;
    uint64_t *sent, *dropped, *retries;
} kt_ship_shape;
int kt_ship_new(uv_loop_t *loop, const kt_events_opts *o, const char *url, const char *token,
                const kt_ship_shape *shape, kt_tls_ctx *tls, kt_metrics *m, kt_events **out,
                char *err, size_t errlen);
/* Queues one event (copied). Never waits. */
void kt_events_push(kt_events *ev, const char *json, size_t len);
/* Shutdown: sends what is queued until empty or `deadline_ms` passes, then closes every handle.
 * With a spool what is left stays in its log for the next start; without, it is counted lost. */
void kt_events_shutdown(kt_events *ev, uint32_t deadline_ms);
/* After the loop has stopped. */
void kt_events_free(kt_events *ev);
/* Queued (ring + in flight) count and bytes, for metrics. */
void kt_events_queued(const kt_events *ev, uint64_t *count, uint64_t *bytes);

/* Where finished requests report to; any member may be NULL. */
typedef struct kt_obs_sink {
    kt_events *events;
    kt_metrics *metrics;
    kt_tls_ctx *rng;           /* for event ids (NULL: /dev/urandom) */
} kt_obs_sink;
/* The request-end hook (request_obs.c): gives `ev` its id and wall-clock time, pushes it, feeds
 * the metrics. The proxy calls it once per /v1 request with everything else filled, also for
 * requests kt answered itself or that were aborted. `now`: uv_hrtime() at the end. */
void kt_request_done(const kt_obs_sink *sink, kt_event_info *ev, const kt_req_obs *o, uint64_t now);
/* Its metric updates for one finished request (`now`: uv_hrtime() at the end). */
void kt_events_observe(kt_metrics *m, const kt_event_info *ev, const kt_req_obs *o, uint64_t now);

#endif
