/* Private to net/: what the client side (server.c) and the upstream side (upstream.c) share. */
#ifndef KT_NET_PRIV_H
#define KT_NET_PRIV_H

#include <stddef.h>
#include <uv.h>

#include "kt/upstream.h"

/* Writes to `s` whatever it takes right now (a then b, one writev), and advances a, alen, b and
 * blen past it. Returns 0 (the rest, if any, must be queued) or a negative libuv error.
 * Writing directly avoids a write request, a copy and the watcher re-arm libuv does after every
 * queued write. */
int kt__try_write2(uv_stream_t *s, const char **a, size_t *alen, const char **b, size_t *blen);

/* upstream.c, for h2.c: a new connection with no owner yet (the session's carrier), closing
 * one, and writing its TLS output to the socket. */
int kt__up_new(kt_pool *pool, kt_upconn **out);
void kt__up_close(kt_upconn *up);
int kt__up_tls_flush(kt_upconn *up);
void kt__up_arm(kt_upconn *up, uint32_t ms);
/* A connection without an owner joins the pool's idle list. */
void kt__up_idle(kt_upconn *up);

#endif
