/* Target selection and provider specifics (upstream path and credentials). */
#ifndef KT_ROUTER_H
#define KT_ROUTER_H

#include "kt/buf.h"
#include "kt/config.h"
#include "kt/http.h"

/* Picks the target: header x-keeptrusts-target, else the body's "model" (NULL when it has none),
 * else the first target. NULL with `err` set when the header names no target. */
const kt_target *kt_route(const kt_config *cfg, const kt_headers *hs, const char *model,
                          char *err, size_t errlen);

/* The methods forwarded under /v1 (llhttp_method_t): GET, POST and DELETE, the only ones the
 * provider APIs define. Anything else (OPTIONS, HEAD, PUT, PATCH, TRACE, WebDAV ...) is answered
 * 405 by kt and never reaches a provider with its key. */
bool kt_route_method_allowed(int method);
#define KT_ROUTE_ALLOW "GET, POST, DELETE"

typedef struct kt_provider_ops {
    const char *name;
    /* Appends the upstream request target for client path /v1<rest>?<query>. */
    int (*path)(const kt_target *t, kt_str rest, kt_str query, kt_buf *out);
    /* Appends the provider's credential headers (and required version headers). */
    int (*auth)(const kt_target *t, const kt_headers *client, kt_buf *out);
} kt_provider_ops;

extern const kt_provider_ops kt_provider_openai;
extern const kt_provider_ops kt_provider_anthropic;
extern const kt_provider_ops kt_provider_azure;

const kt_provider_ops *kt_provider_for(kt_provider_kind k);

/* Client headers that never reach a provider: credentials and kt's own control headers. */
bool kt_header_is_client_credential(kt_str name);

/* Builds the whole upstream request head: request line, Host, the client's end-to-end headers
 * (minus hop-by-hop and credentials), the provider's auth, Content-Length. */
/* `identity`: ask for an unencoded body (output policies must read it). */
int kt_build_upstream_head(const kt_target *t, const char *method, kt_str rest, kt_str query,
                           const kt_headers *client, size_t body_len, bool send_length,
                           bool identity, kt_buf *out);

#endif
