/* Upstream connections: DNS via libuv, TCP, optional TLS, strict response parsing, and a
 * keep-alive pool per (scheme, host, port). The owner of a request (the proxy, or later the event
 * shipper) talks to a connection through a small handler interface. */
#ifndef KT_UPSTREAM_H
#define KT_UPSTREAM_H

#include <llhttp.h>
#include <mbedtls/ssl.h>
#include <stdbool.h>
#include <uv.h>

#include "kt/config.h"
#include "kt/http.h"
#include "kt/tls.h"

typedef struct kt_upconn kt_upconn;
typedef struct kt_pool kt_pool;
typedef struct kt_pools kt_pools;

/* What the owner of a request hears. `any_bytes` on error tells whether any response byte came. */
typedef struct kt_upstream_handler {
    void (*on_ready)(void *owner, kt_upconn *up);   /* connected (and TLS done): send now */
    void (*on_head)(void *owner, int status, const kt_headers *hs, bool has_length);
    void (*on_body)(void *owner, const char *data, size_t len);
    void (*on_done)(void *owner);                   /* whole response received */
    void (*on_error)(void *owner, const char *code, const char *msg, bool retryable);
    /* Optional: called after all of one socket read was handled (to gather writes). */
    void (*on_flush)(void *owner);
} kt_upstream_handler;

/* What a kt_upconn is: an HTTP/1.1 connection (one request at a time), the connection under an
 * HTTP/2 session (no owner; h2.c), or one request on such a session (no socket of its own). The
 * owner of a request sees the same interface for H1 and H2_STREAM. */
typedef enum kt_up_role {
    KT_UP_H1 = 0,
    KT_UP_H2_CARRIER,
    KT_UP_H2_STREAM,
} kt_up_role;

typedef struct kt_h2 kt_h2;

typedef enum kt_up_state {
    KT_UP_RESOLVING,
    KT_UP_CONNECTING,
    KT_UP_HANDSHAKE,
    KT_UP_IDLE,
    KT_UP_BUSY,
    KT_UP_CLOSING,
} kt_up_state;

/* What only a connection has (an H1 connection or a carrier): a stream rides on its session's
 * and is allocated without it (~1.4 KB less per stream). */
typedef struct kt_up_io {
    uv_tcp_t tcp;
    uv_getaddrinfo_t gai;
    uv_connect_t connect_req;
    kt_tls_conn tls;
    llhttp_t parser;
} kt_up_io;

struct kt_upconn {
    uv_timer_t timer;
    kt_up_io *io;          /* NULL for a stream */
    kt_pool *pool;
    kt_up_state state;
    int open_handles;
    bool gai_pending;
    bool tcp_inited;
    bool use_tls;
    kt_headers resp_headers;
    int status;
    bool head_seen;
    bool got_bytes;        /* any response byte since the request was sent */
    bool reused;           /* came out of the idle pool */
    bool paused;
    bool no_body;          /* response to HEAD */
    bool done;             /* response complete */
    bool keep_alive;
    const kt_upstream_handler *h;
    void *owner;
    kt_upconn *next_idle;
    uint64_t idle_since;
    /* HTTP/2 (h2.c) */
    kt_up_role role;
    kt_h2 *h2;             /* carrier: its session; stream: the session it rides on, or NULL */
    int32_t sid;           /* stream id once submitted */
    kt_upconn *h2_prev, *h2_next;   /* the session's streams */
    size_t unconsumed;     /* DATA bytes received while paused, credited back on resume */
    const char *body;      /* the request body (the owner's, alive until release) */
    size_t body_len, body_off;
    bool flush_pending;    /* got bytes in this read: the owner's on_flush is due */
    uint64_t t_start_ns, t_connected_ns, t_ready_ns;   /* uv_hrtime(): opened, TCP up, ready */
    uint64_t deadline_ns;  /* uv_hrtime() the owner's request must see a first byte by; 0: none */
};

struct kt_pool {
    kt_pool *next;
    kt_pools *pools;
    char *host;
    uint16_t port;
    bool tls;
    uint32_t nconns;       /* open connections, idle or busy */
    kt_upconn *idle;       /* most recently used first */
    mbedtls_ssl_session session;
    bool has_session;
    kt_http2_mode http2;
    uint8_t proto;         /* KT_POOL_PROTO_*: what the origin's ALPN said last */
    kt_h2 *h2;             /* HTTP/2 sessions to the origin (h2.c) */
};

enum { KT_POOL_PROTO_UNKNOWN = 0, KT_POOL_PROTO_H1, KT_POOL_PROTO_H2 };

struct kt_pools {
    uv_loop_t *loop;
    kt_tls_ctx *tls;
    const kt_limits *lim;  /* borrowed from the active config */
    kt_pool *head;
    uint32_t nconns;
    bool closing;
    char *rbuf;            /* shared read buffer (64 KiB), allocated on first read */
};

void kt_pools_init(kt_pools *ps, uv_loop_t *loop, kt_tls_ctx *tls, const kt_limits *lim);
/* Closes every connection; pools are freed once their connections are gone. */
void kt_pools_close(kt_pools *ps);
void kt_pools_free(kt_pools *ps);

/* Gets a connection to the target's origin: an idle pooled one, or a new one. The handler hears
 * on_ready or on_error. Returns KT_ELIMIT when the pool is at its cap. */
int kt_upstream_acquire(kt_pools *ps, const kt_target *t, const kt_upstream_handler *h,
                        void *owner, kt_upconn **out);
/* Sends a whole request (head then body). `no_body`: the request was HEAD. */
int kt_upconn_send(kt_upconn *up, const char *head, size_t hlen, const char *body, size_t blen,
                   bool no_body);
/* Caps the connect and first-byte timeouts of this request at `deadline_ns` (uv_hrtime()); the
 * owner's, cleared when the connection goes back to the pool. */
void kt_upconn_set_deadline(kt_upconn *up, uint64_t deadline_ns);
void kt_upconn_pause(kt_upconn *up);
void kt_upconn_resume(kt_upconn *up);
/* The owner lets go: after on_done, a keep-alive connection returns to the pool; otherwise (or
 * mid-response) it is closed. No handler call happens after this. */
void kt_upconn_release(kt_upconn *up);

#endif
