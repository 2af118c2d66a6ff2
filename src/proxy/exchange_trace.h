/* Private to proxy/: an exchange's part in a distributed trace (exchange_trace.c). The caller's
 * trace context is continued (or a trace is started), every upstream attempt is a span whose id
 * is the parent kt names in the upstream `traceparent`, and at the end the exchange's server
 * span and its input and output policy spans are queued to the tracer (when one is configured
 * and the trace is sampled). */
#ifndef KT_PROXY_EXCHANGE_TRACE_H
#define KT_PROXY_EXCHANGE_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "kt/trace.h"

typedef struct kt_xtrace {
    kt_trace_src caller_src;   /* where the request's context came from (NONE: kt started it) */
    int caller_sampled;        /* the caller's decision: 1, 0, or -1 */
    uint8_t caller_parent[8];  /* the caller's span (caller_src != NONE) */
    uint8_t trace_id[16];      /* the caller's trace, or the one kt started */
    uint8_t span_id[8];        /* the exchange's server span */
    bool recording;            /* a tracer is configured and the sampler kept this trace */
    char trace_hex[33];        /* for the decision event */
    uint64_t unix0_ns, hr0_ns; /* wall clock and uv_hrtime() at the start */
    uint64_t in_begin, in_end; /* uv_hrtime() around the input policies (0: not run) */
    uint8_t attempt_id[8];     /* the current upstream attempt's span */
    uint64_t attempt_begin;    /* 0: no attempt open */
    uint32_t attempts;         /* attempts so far */
    kt_resp_sniff *resp;       /* response model and finish reasons: recording only, else NULL
                                * (a stream holds only what it needs) */
} kt_xtrace;

#endif
