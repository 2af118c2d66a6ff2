/* Private to net/: HTTP/2 sessions to the provider (h2.c) as upstream.c drives them. A session
 * rides on one TLS connection (its carrier, a kt_upconn with role KT_UP_H2_CARRIER) and carries
 * many requests, each a kt_upconn with role KT_UP_H2_STREAM that its owner uses exactly like an
 * HTTP/1.1 connection. Also the request-head conversion (h2_head.c) the fuzz target drives. */
#ifndef KT_H2_PRIV_H
#define KT_H2_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "kt/upstream.h"

/* ---- h2.c --------------------------------------------------------------------------------- */

/* A stream for the owner on one of the pool's sessions, or on a new one (whose connection is
 * opened now). 1: ready, send at once; 0: on_ready follows; KT_ELIMIT: no session has room and
 * the pool is at its connection cap; another negative code on failure. */
int kt__h2_acquire(kt_pool *pool, const kt_upstream_handler *h, void *owner, kt_upconn **out);
/* The carrier's TLS handshake is done. `alpn_h2`: the server selected h2. An owned H1 connection
 * that got h2 becomes a carrier and its owner gets a stream (on_ready with the stream). Returns
 * true when h2.c took the connection over; false leaves an HTTP/1.1 connection to upstream.c. */
bool kt__h2_handshake_done(kt_upconn *up, bool alpn_h2);
/* Plaintext from the carrier. */
void kt__h2_input(kt_upconn *carrier, const char *data, size_t len);
/* The carrier failed or closed: every stream on it fails (`retryable` as for a reused H1
 * connection: those the server never answered). Called once, before the carrier closes. */
void kt__h2_carrier_lost(kt_upconn *carrier, const char *code, const char *msg);
/* The carrier's timer fired while its session is up (idle: close it). */
void kt__h2_carrier_timer(kt_upconn *carrier);
/* The owner of a connection that became a carrier lets go before its stream was ready. */
void kt__h2_carrier_release(kt_upconn *carrier);
/* The carrier's handles are closed: free the session. */
void kt__h2_carrier_free(kt_upconn *carrier);
/* The pools are closing: sessions without streams close now, the others when their last goes. */
void kt__h2_pool_closing(kt_pool *pool);

int kt__h2_send(kt_upconn *s, const char *head, size_t hlen, const char *body, size_t blen);
void kt__h2_pause(kt_upconn *s);
void kt__h2_resume(kt_upconn *s);
void kt__h2_release(kt_upconn *s);

/* ---- h2_head.c ---------------------------------------------------------------------------- */

#define KT_H2_HEAD_MAX_FIELDS 256

typedef struct kt_h2_field {
    const char *name, *value;   /* into the caller's scratch copy (names lowercased) */
    size_t nlen, vlen;
    bool sensitive;             /* a credential: never enters the HPACK dynamic table */
} kt_h2_field;

/* Converts a whole HTTP/1.1 request head (request line, header lines, blank line; exactly
 * `len` bytes) into HTTP/2 fields: :method, :scheme, :authority (from Host), :path, then the
 * other headers with lowercase names, minus the connection-specific ones (Connection,
 * Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, Host; TE unless "trailers").
 * `scratch` has room for `len` bytes and backs the fields. KT_EPARSE for a malformed head,
 * KT_ELIMIT for more than `max` fields. */
int kt_h2_head_convert(const char *head, size_t len, bool tls, char *scratch, kt_h2_field *out,
                       size_t max, size_t *nout);

#endif
