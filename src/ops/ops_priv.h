/* Private to ops/: the config endpoints, GET /keeptrusts/config (what is active, never a key) and
 * POST /keeptrusts/config/reload (loopback clients only; answers the reload result). */
#ifndef KT_OPS_PRIV_H
#define KT_OPS_PRIV_H

#include <stdbool.h>
#include <sys/socket.h>

#include "kt/conn.h"
#include "kt/gateway.h"

/* The gateway a connection of the ops handler belongs to. */
static inline kt_gateway *kt__ops_gw(const kt_conn *c) { return (kt_gateway *)c->srv->owner; }
/* Answers and returns true when `path` is one of the config endpoints. */
bool kt_ops_config_handle(kt_conn *c, kt_str path);
/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool kt_addr_is_loopback(const struct sockaddr *sa);
/* Appends the GET /keeptrusts/config document for `cfg`. */
void kt_ops_config_json(const kt_config *cfg, const kt_reload_state *last, kt_buf *b);

#endif
