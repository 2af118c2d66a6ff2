/* Target selection and provider specifics (upstream path and credentials). */
#ifndef KT_ROUTER_H
#define KT_ROUTER_H

#include "kt/buf.h"
#include "kt/config.h"
#include "kt/http.h"

/* Whether a provider serves the client API /v1<rest>: Anthropic /messages[/...], /complete and
 * /models[/...]; OpenAI and Azure everything else (and /models). */
bool kt_provider_speaks(kt_provider_kind k, kt_str rest);

/* Whether the client path (/v1/..., no query) is forwarded: the default list of inference and
 * model APIs (KT_ROUTE_DEFAULT_PATHS) or a gateway.forward_paths glob. */
bool kt_route_path_allowed(const kt_config *cfg, kt_str path);
#define KT_ROUTE_DEFAULT_PATHS                                                                  \
    "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses",             \
        "/v1/responses/*", "/v1/messages", "/v1/messages/*", "/v1/complete", "/v1/models",      \
        "/v1/models/*", "/v1/moderations", "/v1/audio/*", "/v1/images/*"

/* Whether target `t` serves `model` (one of its globs, or an alias). *upstream: the model to
 * send (the alias's target, else `model` itself). */
bool kt_target_serves(const kt_target *t, const char *model, const char **upstream);

/* The model to send to `t` for a request that asked for `model` (NULL: none): an alias's
 * model, else `model`. */
const char *kt_target_upstream_model(const kt_target *t, const char *model);

/* Picks the target for a request to /v1<rest>: header x-keeptrusts-target, else the first target
 * that speaks the API and serves the body's "model" (NULL when it has none), else the first that
 * speaks the API. NULL with `err` and *code (unknown_target, unsupported_api) set when none. */
const kt_target *kt_route(const kt_config *cfg, const kt_headers *hs, kt_str rest,
                          const char *model, const char **code, char *err, size_t errlen);

/* The methods forwarded under /v1 (llhttp_method_t): GET, POST and DELETE, the only ones the
 * provider APIs define. Anything else (OPTIONS, HEAD, PUT, PATCH, TRACE, WebDAV ...) is answered
 * 405 by kt and never reaches a provider with its key. */
bool kt_route_method_allowed(int method);
#define KT_ROUTE_ALLOW "GET, POST, DELETE"

typedef struct kt_provider_ops {
    const char *name;
    /* Appends the upstream request target for client path /v1<rest>?<query>; `model` is the one
     * sent upstream (NULL: none; Azure names the deployment after it without `deployment:`). */
    int (*path)(const kt_target *t, const char *model, kt_str rest, kt_str query, kt_buf *out);
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
int kt_build_upstream_head(const kt_target *t, const char *model, const char *method,
                           kt_str rest, kt_str query, const kt_headers *client, size_t body_len,
                           bool send_length, bool identity, kt_buf *out);

#endif
