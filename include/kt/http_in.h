/* Strict HTTP/1.1 request parsing for the ingress side (llhttp with every lenient flag off, plus
 * our own checks for the forms older llhttp releases let through). */
#ifndef KT_HTTP_IN_H
#define KT_HTTP_IN_H

#include <llhttp.h>
#include <stdbool.h>

#include "kt/http.h"
#include "kt/limits.h"

/* What kt_http_in_feed returns. Not a KT_E* code (KT_HTTP_IN_ERROR used to equal KT_ENOMEM):
 * every failure, a full buffer or allocation included, is KT_HTTP_IN_ERROR with the answer to
 * send in err_status, err_code and err_msg. */
typedef enum kt_http_in_rc {
    KT_HTTP_IN_MORE = 0,    /* all input consumed; the message is not complete yet */
    KT_HTTP_IN_DONE = 1,    /* a whole message; bytes after *consumed start the next one */
    KT_HTTP_IN_ERROR = 2,   /* the request is refused; the connection answers and closes */
} kt_http_in_rc;

typedef struct kt_http_in {
    llhttp_t parser;
    kt_head_scan scan;
    kt_buf url;
    kt_headers headers;
    kt_buf body;
    uint32_t max_chunk_ext;
    uint32_t chunk_ext_bytes;
    uint64_t max_body;
    bool head_done;        /* all headers parsed and validated */
    bool complete;         /* whole message parsed */
    bool keep_alive;       /* valid once complete */
    bool expect_continue;  /* client sent Expect: 100-continue */
    bool started;          /* first byte of this message seen */
    bool in_trailers;      /* inside the trailer section (after a chunked body); never stored */
    kt_head_scan tscan;    /* the trailer section's raw bytes, checked like a head */
    size_t trailer_off;    /* where the section starts in the data being fed */
    const char *feed_p;    /* the data being fed (for trailer offsets) */
    int err_status;        /* 400, 413, 431 ... when KT_HTTP_IN_ERROR */
    const char *err_code;  /* "bad_request", "invalid_path", "body_too_large", ... */
    char err_msg[160];
} kt_http_in;

int kt_http_in_init(kt_http_in *in, const kt_limits *lim);
void kt_http_in_free(kt_http_in *in);
/* Prepares for the next request on the same connection. */
void kt_http_in_next(kt_http_in *in);
/* Feeds bytes. *consumed tells how many belong to the current message (the rest, on DONE, are the
 * start of a pipelined next request). */
kt_http_in_rc kt_http_in_feed(kt_http_in *in, const char *data, size_t len, size_t *consumed);

int kt_http_in_method(const kt_http_in *in);   /* llhttp_method_t */
const char *kt_http_in_method_name(const kt_http_in *in);
int kt_http_in_minor(const kt_http_in *in);    /* HTTP/1.x minor version */

#endif
