/* HTTP/1.1 message pieces shared by the ingress parser, the proxy and the upstream parser. */
#ifndef KT_HTTP_H
#define KT_HTTP_H

#include <stdbool.h>

#include "kt/buf.h"
#include "kt/common.h"

/* Headers of one message: names and values live in `raw`, the array indexes them. */
typedef struct kt_header {
    uint32_t name_off, name_len;
    uint32_t val_off, val_len;
} kt_header;

typedef struct kt_headers {
    kt_buf raw;
    kt_header *h;
    uint32_t n;
    uint32_t max;       /* header count cap */
    uint32_t cap;       /* entries allocated in h (grows by doubling up to max) */
    uint8_t st;         /* parser state: expecting a name, inside a name, inside a value */
    uint32_t nconn;     /* Connection headers among them, and the first one's index (for the */
    uint32_t conn_first;/* hop-by-hop test, which runs once per forwarded header) */
} kt_headers;

int kt_headers_init(kt_headers *hs, uint32_t max_count, size_t max_bytes);
void kt_headers_free(kt_headers *hs);
void kt_headers_reset(kt_headers *hs);
/* Appends a piece of a header name or value (llhttp may deliver them in pieces). */
int kt_headers_add_name(kt_headers *hs, const char *p, size_t n);
int kt_headers_add_value(kt_headers *hs, const char *p, size_t n);
/* Ends the current name/value pair; KT_EPARSE when no name was given (": value"). */
int kt_headers_value_done(kt_headers *hs);
kt_str kt_headers_name(const kt_headers *hs, uint32_t i);
kt_str kt_headers_value(const kt_headers *hs, uint32_t i);
/* Index of the first header named `name` (case-insensitive) at or after `from`, or -1. */
int kt_headers_find(const kt_headers *hs, const char *name, uint32_t from);
int kt_headers_count(const kt_headers *hs, const char *name);

/* True for headers that must not cross a proxy (RFC 9110 §7.6.1), plus any header listed in the
 * message's own Connection header. */
bool kt_http_is_hop_by_hop(const kt_headers *hs, kt_str name);

/* Strict pre-scan of a message head (request line + headers), run on the raw bytes before they
 * reach llhttp: rejects bare LF line ends, obs-fold continuation lines, NUL bytes, and heads larger
 * than `max_bytes`. Stateful across reads. */
typedef struct kt_head_scan {
    size_t bytes;
    size_t max_bytes;
    uint8_t prev;        /* previous byte */
    uint8_t line_start;  /* at the start of a line (after CRLF) */
    uint8_t done;        /* saw the empty line */
    uint8_t first_line;  /* still in the request line */
} kt_head_scan;

enum { KT_HEAD_MORE = 0, KT_HEAD_DONE = 1, KT_HEAD_BAD = -1, KT_HEAD_TOO_BIG = -2 };

void kt_head_scan_init(kt_head_scan *s, size_t max_bytes);
/* Scans `data`; returns KT_HEAD_MORE, KT_HEAD_DONE (and *used = bytes of the head in `data`),
 * KT_HEAD_BAD or KT_HEAD_TOO_BIG. */
int kt_head_scan_feed(kt_head_scan *s, const char *data, size_t len, size_t *used);

/* Normalises an origin-form request target in place (http_path.c): drops the fragment, removes
 * dot-segments (RFC 3986 §5.2.4), collapses empty segments and drops a trailing '/', and keeps the
 * query as it is. KT_EINVAL with *why set when the path cannot be forwarded safely: a
 * percent-encoded '/' or '\\' (or NUL), a backslash, malformed percent-encoding, a dot-segment
 * in encoded form or with ;parameters, or ".." that would remove the path's first segment (so
 * "/v1/..." stays under /v1, and no provider prefix or deployment path can be left). t[*len]
 * must be writable: the result is NUL-terminated. */
int kt_http_target_normalize(char *t, size_t *len, const char **why);

const char *kt_http_reason(int status);

/* The API a request path speaks: it picks the body's JSON paths and the stream's event shapes. */
typedef enum kt_api {
    KT_API_OTHER = 0,
    KT_API_CHAT,         /* /v1/chat/completions */
    KT_API_COMPLETIONS,  /* /v1/completions */
    KT_API_EMBEDDINGS,   /* /v1/embeddings */
    KT_API_RESPONSES,    /* /v1/responses */
    KT_API_MESSAGES,     /* /v1/messages (Anthropic) */
} kt_api;

kt_api kt_api_from_path(kt_str rest);   /* rest = path after /v1 */

#endif
