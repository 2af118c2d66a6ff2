/* Incremental Server-Sent Events parser (WHATWG HTML "event stream interpretation") and writer.
 *
 * Feed arbitrary chunks; the callback receives every BLOCK of the stream — the bytes up to and
 * including the blank line that ends it — with the parsed fields and the raw bytes exactly as
 * received, so a pass-through path can forward untouched blocks byte for byte. Concatenating the
 * `raw` of every block delivered (plus a trailing incomplete one from kt_sse_finish) reproduces
 * the input exactly. Blocks the spec would not dispatch (comments only, no data field, stray blank
 * lines) are delivered too, with `dispatch` == 0, so nothing is lost when forwarding.
 *
 * Line endings CRLF, LF and CR are all accepted; a CR at the end of one chunk followed by an LF at
 * the start of the next is one line ending. Because of that, a block whose final blank line ends
 * with a bare CR that is the last byte of a chunk is delivered when the next byte (or
 * kt_sse_finish) arrives; blocks ending in LF or CRLF are delivered immediately. Events are
 * identical however the input is split into chunks. */
#ifndef KT_SSE_H
#define KT_SSE_H

#include <stdint.h>

#include "kt/buf.h"
#include "kt/common.h"

#define KT_SSE_DEFAULT_MAX_EVENT (1024 * 1024)

typedef struct kt_sse_event {
    kt_str event;   /* event type; "message" when no (or an empty) event field was seen */
    kt_str data;    /* data field values joined with "\n" (no trailing "\n") */
    kt_str id;      /* the last event ID: persists across blocks as the spec says */
    kt_str raw;     /* the whole block as received, terminating blank line included */
    int64_t retry;  /* reconnection time from a valid `retry` field in this block, else -1 */
    int dispatch;   /* 1 when the spec would dispatch this event (a data field was seen) */
    int complete;   /* 0 only for the trailing partial block reported by kt_sse_finish */
} kt_sse_event;

/* Views in `ev` are valid only during the call. A nonzero return stops parsing: kt_sse_feed or
 * kt_sse_finish returns that value and the parser refuses further input. */
typedef int (*kt_sse_event_fn)(void *ud, const kt_sse_event *ev);

typedef struct kt_sse_parser {
    kt_sse_event_fn cb;
    void *ud;
    kt_buf raw;        /* the block being received */
    kt_buf data;       /* data buffer (values each followed by "\n") */
    kt_buf type;       /* event type buffer */
    kt_buf last_id;    /* last event ID buffer (persists) */
    size_t line_start; /* offset in raw of the line being received */
    int64_t retry;
    int has_data;
    int saw_cr;           /* the last byte seen was a CR ending a line */
    int dispatch_pending; /* a blank line ended with that CR: deliver once the next byte is known */
    int at_stream_start;  /* the current line is the stream's first (a BOM may lead it) */
    int err;              /* sticky error */
} kt_sse_parser;

/* max_event caps the raw bytes of one block (0 means KT_SSE_DEFAULT_MAX_EVENT). */
void kt_sse_init(kt_sse_parser *p, size_t max_event, kt_sse_event_fn cb, void *ud);
void kt_sse_free(kt_sse_parser *p);
/* Returns 0, KT_ELIMIT (a block exceeded max_event), KT_ENOMEM, or the callback's nonzero value.
 * Any error is sticky. */
int kt_sse_feed(kt_sse_parser *p, const char *data, size_t len);
/* End of stream: delivers a block whose final CR was pending, then, when bytes of an unfinished
 * block remain, delivers them once with complete == 0 (its last unterminated line parsed as if it
 * were terminated; the spec says to discard it, the caller decides). Returns as kt_sse_feed. */
int kt_sse_finish(kt_sse_parser *p);
/* 1 when bytes of an unfinished block are buffered. */
int kt_sse_pending(const kt_sse_parser *p);

/* Appends one event: `event: <event>\n` when event is non-NULL and non-empty, then one `data:`
 * line per line of data (split on CRLF, LF and CR, so a bare CR comes back as LF), then a blank
 * line. Data of length 0 writes one empty data line (so the event is still dispatched).
 * KT_EINVAL when `event` contains CR or LF; on any error `out` is unchanged. */
int kt_sse_write_event(kt_buf *out, const char *event, const char *data, size_t n);

#endif
