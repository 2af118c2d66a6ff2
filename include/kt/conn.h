/* A client connection: an explicit state, one request at a time, handles embedded, freed only in
 * the last close callback. The proxy and the ops endpoints answer through the functions below. */
#ifndef KT_CONN_H
#define KT_CONN_H

#include <stdbool.h>
#include <uv.h>

#include "kt/events.h"
#include "kt/gateway.h"
#include "kt/http_in.h"
#include "kt/policy.h"
#include "kt/policy_stream.h"
#include "kt/upstream.h"

typedef enum kt_conn_state {
    KT_CONN_READ_HEAD,   /* waiting for / reading a request head */
    KT_CONN_READ_BODY,   /* reading the body */
    KT_CONN_BUSY,        /* answering (ops, or proxying upstream) */
    KT_CONN_FLUSHING,    /* last response queued; half-closed; discarding input until EOF */
    KT_CONN_CLOSING,     /* handles closing */
} kt_conn_state;

struct kt_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    kt_gateway *gw;
    kt_conn *prev, *next;
    int open_handles;
    kt_conn_state state;
    kt_http_in in;
    kt_buf pending;            /* received bytes not yet parsed (pipelining) */
    bool reading;
    bool in_process;
    bool close_after;          /* close once the current response is written */
    bool continue_sent;
    bool head_timer_armed;
    kt_config *cfg;            /* snapshot reference for the current request */
    uint64_t req_start_ms;
    /* proxying */
    kt_upconn *up;
    const kt_target *target;
    kt_buf req_head;           /* serialized upstream request head */
    bool resp_started;         /* response head written to the client */
    bool resp_chunked;         /* re-framed as chunked towards the client */
    bool retried;
    bool up_paused;            /* upstream reads paused: client too slow */
    bool is_head;
    int resp_status;
    /* policies */
    kt_api api;
    bool has_decision;
    kt_decision decision;
    uint8_t out_mode;          /* KT_OUT_PASS, KT_OUT_STREAM, KT_OUT_BUFFER */
    kt_stream_filter *sf;      /* streaming output filter */
    kt_buf sf_out;             /* its output, sent as one chunk per upstream read */
    bool corked;               /* writes are gathered in `wq` and sent as one at uncork */
    kt_buf wq;
    kt_buf resp_head;          /* buffered mode: the client head, minus framing */
    kt_buf resp_body;          /* buffered mode: the whole upstream body */
    kt_req_obs obs;            /* what the request did, for its event and metrics */
};

enum { KT_OUT_PASS = 0, KT_OUT_STREAM = 1, KT_OUT_BUFFER = 2 };

/* Writes bytes to the client (copied). Returns 0 or a negative code (the connection is closing). */
int kt_conn_write(kt_conn *c, const char *a, size_t alen, const char *b, size_t blen);
/* Gathers the writes of one upstream read into a single socket write. */
void kt_conn_cork(kt_conn *c);
int kt_conn_uncork(kt_conn *c);
/* Writes one chunk of chunked transfer coding around `data`. */
int kt_conn_write_chunk(kt_conn *c, const char *data, size_t len);
/* The upstream was paused because the client reads too slowly: bound how long that may last. */
void kt_conn_set_stalled(kt_conn *c, bool stalled);
/* A complete response with Content-Length, then the request is finished. `extra` is a block of
 * "Name: value\r\n" lines or NULL. */
void kt_conn_respond(kt_conn *c, int status, const char *ctype, const char *body, size_t blen,
                     const char *extra);
/* An OpenAI-shaped error response. */
void kt_conn_error(kt_conn *c, int status, const char *type, const char *code, const char *msg);
/* The same, naming the policy that decided (409 policy_violation). */
void kt_conn_error_policy(kt_conn *c, int status, const char *type, const char *code,
                          const char *msg, const char *policy);
/* The current response is fully queued: next request, or close. */
void kt_conn_finish(kt_conn *c);
/* Drops the connection now (after a failure mid-response). */
void kt_conn_abort(kt_conn *c);
/* Bytes queued for the client and not yet written. */
size_t kt_conn_backlog(const kt_conn *c);

/* The listener side (server.c). */
int kt_server_listen(kt_gateway *gw, const char *hostport, char *err, size_t errlen);
void kt_server_stop_accepting(kt_gateway *gw);
void kt_server_close_idle(kt_gateway *gw);
void kt_server_close_all(kt_gateway *gw);

/* Handlers (proxy.c, ops.c). */
void kt_proxy_start(kt_conn *c, kt_str path, kt_str query);
void kt_proxy_abort(kt_conn *c);          /* the client went away */
void kt_proxy_client_drained(kt_conn *c); /* backlog fell: resume the upstream */
void kt_proxy_reset(kt_conn *c);          /* frees per-request proxy state */
bool kt_ops_handle(kt_conn *c, kt_str path);

#endif
