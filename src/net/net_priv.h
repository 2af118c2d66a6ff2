/* Private to net/: what the client side (server.c) and the upstream side (upstream.c) share. */
#ifndef KT_NET_PRIV_H
#define KT_NET_PRIV_H

#include <stddef.h>
#include <uv.h>

/* Writes to `s` whatever it takes right now (a then b, one writev), and advances a, alen, b and
 * blen past it. Returns 0 (the rest, if any, must be queued) or a negative libuv error.
 * Writing directly avoids a write request, a copy and the watcher re-arm libuv does after every
 * queued write. */
int kt__try_write2(uv_stream_t *s, const char **a, size_t *alen, const char **b, size_t *blen);

#endif
