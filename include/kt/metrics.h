/* Prometheus metrics kept in the gateway (no globals): labelled counters with bounded cardinality,
 * fixed-bucket histograms, and the text exposition for GET /metrics. */
#ifndef KT_METRICS_H
#define KT_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "kt/buf.h"

#define KT_METRIC_LABEL_VALUES 64   /* distinct values per label (model, policy, ...), then "other" */
#define KT_METRIC_SERIES_MAX 2048   /* series per family, then folded into an "other" series */
#define KT_HIST_BUCKETS 16

typedef struct kt_mseries {
    char *labels;              /* preformatted: a="x",b="y" */
    uint32_t hash;
    double v;
} kt_mseries;

/* A series found before by the very pointers of its label names and values (see
 * kt_metrics_add_fixed): two-way (a pair of slots per key, so that two series whose keys share a
 * slot, such as two policies' evaluations, do not evict each other every request); a miss only
 * costs the lookup by text. */
#define KT_MCACHE_SLOTS 64
#define KT_MCACHE_LABELS 3

typedef struct kt_mcache_ent {
    const char *names[KT_MCACHE_LABELS], *values[KT_MCACHE_LABELS];
    uint32_t series;           /* index + 1; 0: empty */
    uint32_t n;
} kt_mcache_ent;

typedef struct kt_mfamily {
    kt_mseries *v;
    size_t n, cap;
    kt_mcache_ent cache[KT_MCACHE_SLOTS];
} kt_mfamily;

/* A label whose distinct values are capped. */
typedef struct kt_mlabel_set {
    char *vals[KT_METRIC_LABEL_VALUES];
    size_t n;
} kt_mlabel_set;

typedef struct kt_hist {
    uint64_t counts[KT_HIST_BUCKETS + 1];   /* last: +Inf */
    uint64_t n;
    double sum;
} kt_hist;

enum { KT_UP_PHASE_CONNECT, KT_UP_PHASE_TLS, KT_UP_PHASE_FIRST_BYTE, KT_UP_PHASES };

typedef struct kt_metrics {
    kt_mfamily requests;       /* target, model, status */
    kt_mfamily policy_evals;   /* policy, result */
    kt_mfamily redactions;     /* entity */
    kt_mfamily blocks;         /* reason, policy */
    kt_mfamily tokens;         /* direction, model */
    kt_mfamily cost;           /* model */
    kt_mfamily consumers;      /* consumer, status: requests of key-authenticated consumers */
    kt_mfamily unscanned;      /* reason: forwarded unread under fail_mode: open (fixed reasons) */
    kt_mfamily decisions;      /* decision: allow, redact, block, unscanned (the product docs' name) */
    kt_mfamily refusals;       /* reason: authentication, model_not_allowed, budget_exceeded,
                                  rate_limit: requests governance refused */
    kt_mlabel_set models, targets, policies, entities, consumer_names;
    kt_hist duration, overhead;
    kt_hist upstream[KT_UP_PHASES];
    uint64_t events_sent, events_dropped, events_retries, events_spooled, events_failed_batches;
    uint64_t events_rejected;  /* batches the control plane refused (400/413/422); /health reads it */
    /* the policies' model tier (kt/classifier.h) */
    kt_mfamily classifier;     /* policy, outcome */
    kt_hist classifier_latency;
    uint64_t classifier_cache_hits;
    uint64_t spans_sent, spans_dropped, spans_retries;   /* the OTLP trace exporter */
} kt_metrics;

void kt_metrics_init(kt_metrics *m);
void kt_metrics_free(kt_metrics *m);

/* Adds `v` to the series of `fam` with the given label pairs (names[i]=values[i]). Values must
 * already be bounded (see kt_metrics_bound). */
void kt_metrics_add(kt_metrics *m, kt_mfamily *fam, const char *const *names,
                    const char *const *values, size_t n, double v);
/* The same for names and values whose text never changes while `m` lives: string literals,
 * kt_metrics_bound results. The series is then found by those pointers, without formatting and
 * comparing its label text on every call. */
void kt_metrics_add_fixed(kt_metrics *m, kt_mfamily *fam, const char *const *names,
                          const char *const *values, size_t n, double v);
/* Returns `v` if it is in the set or the set has room (it is added), else "other". Values are
 * sanitised for labels by the exposition. */
const char *kt_metrics_bound(kt_mlabel_set *s, const char *v);
void kt_hist_observe(kt_hist *h, double seconds);

/* A spend budget at scrape time: its limit and the least any of its scopes has left. */
typedef struct kt_metrics_budget {
    const char *policy, *window;
    double limit_usd, remaining_usd;
} kt_metrics_budget;

#define KT_METRICS_BUDGETS_MAX 64

/* Gauges sampled at scrape time. */
typedef struct kt_metrics_gauges {
    kt_metrics_budget budgets[KT_METRICS_BUDGETS_MAX];
    size_t nbudgets;
    uint32_t connections, requests, streams;
    uint64_t events_queued, events_queued_bytes;
    uint64_t rss_bytes;
    double uptime_seconds;
    uint64_t reloads_ok, reloads_failed, reloads_unchanged;   /* the reload engine's counters */
    uint64_t cache_hits, cache_misses;   /* the policies' clean-text cache (kt/scan_cache.h) */
    const char *version;
} kt_metrics_gauges;

/* Appends the whole exposition (text format 0.0.4). */
int kt_metrics_render(const kt_metrics *m, const kt_metrics_gauges *g, kt_buf *out);
/* Resident set size from /proc/self/statm (0 when unavailable). */
uint64_t kt_metrics_rss_bytes(void);

#endif
