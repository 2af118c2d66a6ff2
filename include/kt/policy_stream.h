/* Output policies on streaming responses (SSE) of the chat completions, completions, responses
 * and Anthropic messages APIs.
 *
 * Events are parsed incrementally (split anywhere: across reads, TLS records, chunks). For every
 * delta text (per choice, tool call or content block: a "key") the filter keeps a holdback: it
 * emits only the prefix that no match in progress can still extend, redacted, and keeps the rest.
 * When a key's text ends (finish_reason, content_block_stop, *.done, [DONE], end of stream) the
 * held tail goes out in a copy of that key's last delta event, before the event that ends it.
 * Responses API events carry a sequence_number: an inserted copy takes the number of the event it
 * precedes and every later event's number moves up by one per copy, so numbers stay unique and
 * consecutive.
 * Events without delta text pass through byte for byte; so does a stream with no findings, chunk
 * for chunk, once the holdback is flushed. A block ends the stream with an error event (OpenAI
 * or Anthropic shape) and no [DONE]. */
#ifndef KT_POLICY_STREAM_H
#define KT_POLICY_STREAM_H

#include "kt/policy.h"
#include "kt/sse.h"

#define KT_STREAM_MAX_KEYS 32

typedef struct kt_stream_key {
    uint8_t kind;        /* 0: unused; 1 text, 2 refusal, 3 tool arguments, 4 thinking */
    uint32_t a, b;       /* choice / block / output index, tool or content index */
    kt_buf hold;         /* left context + unemitted decoded text */
    size_t ctx;          /* bytes of context at the front of hold */
    kt_buf last;         /* the key's last delta event data (JSON), to carry a flushed tail */
    size_t last_start, last_end;   /* raw span of the text string inside `last` */
    kt_buf last_event;   /* its SSE event type ("" for none) */
    size_t seq_start, seq_end;     /* raw span of its sequence_number inside `last` (empty: none) */
} kt_stream_key;

typedef struct kt_stream_filter {
    const kt_config *cfg;
    kt_api api;
    kt_decision *d;
    kt_buf *out;         /* filtered bytes are appended here (the caller sends and resets it) */
    kt_sse_parser sse;
    kt_stream_key *keys;  /* nkeys slots, grown by doubling up to KT_STREAM_MAX_KEYS (most
                             streams have one key: a fixed array cost 4.8 KB per stream) */
    uint32_t nkeys;
    kt_findings f;
    kt_buf text;         /* scratch: decoded string */
    uint32_t *map;
    size_t map_cap;
    kt_buf scratch;      /* scratch: rebuilt event data */
    int64_t seq_shift;   /* copies inserted so far: added to every later sequence_number */
    int64_t seq_last;    /* the last upstream sequence_number seen (-1: none) */
    int64_t seq_here;    /* the upstream number an inserted copy takes, before the shift */
    bool blocked;
    bool finished;
    int err;
} kt_stream_filter;

int kt_stream_filter_init(kt_stream_filter *f, const kt_config *cfg, kt_api api, kt_decision *d,
                          kt_buf *out);
void kt_stream_filter_free(kt_stream_filter *f);
/* Feeds response body bytes; filtered output is appended to f->out. Returns 0 or a negative
 * code (then the stream must be cut). After a block, f->blocked is set, the error event is in
 * f->out, and further input is ignored. */
int kt_stream_filter_feed(kt_stream_filter *f, const char *data, size_t len);
/* End of the upstream body: flushes every holdback. */
int kt_stream_filter_finish(kt_stream_filter *f);

#endif
