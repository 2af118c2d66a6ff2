/* The proxy: the handler that answers every /v1 request (one kt_exchange per request, owned by
 * src/proxy/). The gateway's route hook hands it the requests; nothing else calls into it. */
#ifndef KT_PROXY_H
#define KT_PROXY_H

#include "kt/conn.h"

extern const kt_conn_handler kt_proxy_handler;

#endif
