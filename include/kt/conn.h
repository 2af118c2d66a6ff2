/* The client side of the net layer: a listener (kt_server) and its connections (kt_conn). A
 * connection has an explicit state, one request at a time, handles embedded, and is freed only in
 * the last close callback. It knows nothing of what a request means: for each complete request
 * the server asks its owner for a handler (kt_conn_handler) and calls only through that table;
 * the handler keeps its per-request state in `c->x`, allocated in start and freed in finish. */
#ifndef KT_CONN_H
#define KT_CONN_H

#include <stdbool.h>
#include <uv.h>

#include "kt/buf.h"
#include "kt/config.h"
#include "kt/http_in.h"

typedef struct kt_conn kt_conn;

typedef enum kt_conn_state {
    KT_CONN_READ_HEAD,   /* waiting for / reading a request head */
    KT_CONN_READ_BODY,   /* reading the body */
    KT_CONN_BUSY,        /* a handler (or kt itself, for a refusal) is answering */
    KT_CONN_FLUSHING,    /* last response queued; half-closed; discarding input until EOF */
    KT_CONN_CLOSING,     /* handles closing */
} kt_conn_state;

/* What answers one request. `start` runs when the request (head and body) is complete; it may
 * answer at once (kt_conn_respond and friends) or later. Exactly one `finish` follows every
 * `start`: when the response is fully queued (kt_conn_finish), or when the connection closes
 * first, in which case `abort` runs just before it. `drained` (may be NULL) runs when the
 * client's write backlog fell to half of max_response_buffer. After `finish`, `c->x` is NULL. */
typedef struct kt_conn_handler {
    void (*start)(kt_conn *c);
    void (*abort)(kt_conn *c);
    void (*drained)(kt_conn *c);
    void (*finish)(kt_conn *c);
} kt_conn_handler;

typedef struct kt_server_stats {
    uint64_t requests;         /* complete requests dispatched to a handler */
    uint64_t rejected;         /* answered with a 4xx by kt itself */
    uint64_t evicted;          /* waiting connections closed to make room */
    uint32_t active;           /* requests between start and finish */
} kt_server_stats;

/* The listener and every connection it accepted. The owner (the gateway) fills the hooks. */
typedef struct kt_server {
    uv_loop_t *loop;
    const kt_limits *limits;
    /* The handler for a complete request (never NULL). */
    const kt_conn_handler *(*route)(void *owner, kt_conn *c);
    void (*conn_gone)(void *owner);   /* a connection was freed (shutdown bookkeeping) */
    void *owner;
    bool stopping;             /* set by the owner: answer with Connection: close */
    uv_tcp_t listener;
    bool listening;
    kt_conn *conns;            /* every client connection */
    uint32_t nconns;
    kt_conn *pend_head, *pend_tail;   /* connections waiting for a request head, oldest first */
    uint32_t npending;
    uint32_t nclosing;         /* connections whose handles are closing (still in nconns) */
    uint64_t refused_logged_ms, refused_unlogged;   /* refusals are logged once per interval */
    char listen_addr[80];
    char *read_buf;            /* one read buffer shared by every connection */
    kt_server_stats stats;
} kt_server;

struct kt_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    kt_server *srv;
    kt_conn *prev, *next;
    kt_conn *pprev, *pnext;    /* kt_server's list of connections waiting for a head */
    bool pending_listed;
    uint64_t pending_since_ms; /* when it started waiting for a head (uv_now) */
    int open_handles;
    kt_conn_state state;
    kt_http_in in;
    kt_buf pending;            /* received bytes not yet parsed (pipelining) */
    bool reading;
    bool in_process;           /* inside the parse loop (see conn_process) */
    bool close_after;          /* close once the current response is written */
    bool continue_sent;
    bool head_timer_armed;
    bool corked;               /* writes are gathered in `wq` and sent as one at uncork */
    bool is_head;              /* the request is HEAD: responses carry no body */
    int resp_status;           /* status of the response being written (0: none yet) */
    char resp_code[40];        /* error code kt answered with ("" when none) */
    kt_buf wq;
    const kt_conn_handler *h;  /* the current request's handler, NULL between requests */
    void *x;                   /* the handler's per-request state */
};

/* Writes bytes to the client (copied). Returns 0 or a negative code (the connection is closing). */
int kt_conn_write(kt_conn *c, const char *a, size_t alen, const char *b, size_t blen);
/* Gathers the writes of one upstream read into a single socket write. */
void kt_conn_cork(kt_conn *c);
int kt_conn_uncork(kt_conn *c);
/* Writes one chunk of chunked transfer coding around `data`. */
int kt_conn_write_chunk(kt_conn *c, const char *data, size_t len);
/* The handler paused its source because the client reads too slowly: bound how long that may
 * last (idle_timeout), or stop bounding it. */
void kt_conn_set_stalled(kt_conn *c, bool stalled);
/* A complete response with Content-Length, then the request is finished. `extra` is a block of
 * "Name: value\r\n" lines or NULL. */
void kt_conn_respond(kt_conn *c, int status, const char *ctype, const char *body, size_t blen,
                     const char *extra);
/* An OpenAI-shaped error response. */
void kt_conn_error(kt_conn *c, int status, const char *type, const char *code, const char *msg);
/* The same with the policy that answered (NULL: none) and `extra` header lines (NULL: none). */
void kt_conn_error_ex(kt_conn *c, int status, const char *type, const char *code, const char *msg,
                      const char *policy, const char *extra);
/* The same, naming the policy that decided (409 policy_violation). */
void kt_conn_error_policy(kt_conn *c, int status, const char *type, const char *code,
                          const char *msg, const char *policy);
/* The current response is fully queued: the handler's finish, then the next request or close. */
void kt_conn_finish(kt_conn *c);
/* Drops the connection now (after a failure mid-response). */
void kt_conn_abort(kt_conn *c);
/* Bytes queued for the client and not yet written. */
size_t kt_conn_backlog(const kt_conn *c);

/* The listener. kt_server_init before kt_server_listen; the hooks must be set. */
void kt_server_init(kt_server *s, uv_loop_t *loop, const kt_limits *limits);
int kt_server_listen(kt_server *s, const char *hostport, char *err, size_t errlen);
void kt_server_stop_accepting(kt_server *s);
void kt_server_close_idle(kt_server *s);
void kt_server_close_all(kt_server *s);
/* Frees what outlives the connections (the shared read buffer). */
void kt_server_free(kt_server *s);

#endif
