/* The ops endpoints (/health, /healthz, /readyz, /metrics, /keeptrusts/config[/reload]) and the
 * 404 for any other path outside /v1: one handler, answered synchronously. */
#ifndef KT_OPS_H
#define KT_OPS_H

#include "kt/conn.h"

extern const kt_conn_handler kt_ops_handler;
/* The ops listener (gateway.ops_listen): /healthz, /readyz, /health and /metrics; 404 otherwise. */
extern const kt_conn_handler kt_ops_probe_handler;

#endif
