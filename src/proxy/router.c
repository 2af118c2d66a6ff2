/* Routing: which target serves a request, and the upstream request head for it. */
#include <fnmatch.h>
#include <llhttp.h>
#include <stdio.h>
#include <string.h>

#include "kt/router.h"

static bool prefix_is(kt_str rest, const char *seg)
{
    size_t n = strlen(seg);
    return rest.n >= n && memcmp(rest.p, seg, n) == 0 && (rest.n == n || rest.p[n] == '/');
}

bool kt_provider_speaks(kt_provider_kind k, kt_str rest)
{
    bool anthropic_api = prefix_is(rest, "/messages") || prefix_is(rest, "/complete");
    if (prefix_is(rest, "/models")) return true;
    return (k == KT_PROVIDER_ANTHROPIC) == anthropic_api;
}

/* fnmatch(3), with a plain comparison for patterns without a special character (most of the
 * default paths: fnmatch costs some 500 instructions even on a literal). */
static bool glob_match(const char *pattern, const char *s)
{
    if (!strpbrk(pattern, "*?[\\")) return strcmp(pattern, s) == 0;
    return fnmatch(pattern, s, 0) == 0;
}

bool kt_route_path_allowed(const kt_config *cfg, kt_str path)
{
    static const char *const defaults[] = { KT_ROUTE_DEFAULT_PATHS };
    char p[1024];
    if (path.n >= sizeof p) return false;
    memcpy(p, path.p, path.n);
    p[path.n] = '\0';
    for (size_t i = 0; i < KT_ARRAY_LEN(defaults); i++)
        if (glob_match(defaults[i], p)) return true;
    for (size_t i = 0; i < cfg->gateway.nforward_paths; i++)
        if (glob_match(cfg->gateway.forward_paths[i], p)) return true;
    return false;
}

bool kt_target_serves(const kt_target *t, const char *model, const char **upstream)
{
    if (!model) return false;
    for (size_t i = 0; i < t->naliases; i++)
        if (strcmp(t->aliases[i].name, model) == 0) {
            if (upstream) *upstream = t->aliases[i].model;
            return true;
        }
    for (size_t i = 0; i < t->nmodels; i++)
        if (glob_match(t->models[i], model)) {
            if (upstream) *upstream = model;
            return true;
        }
    return false;
}

const char *kt_target_upstream_model(const kt_target *t, const char *model)
{
    const char *up = model;
    for (size_t i = 0; model && i < t->naliases; i++)
        if (strcmp(t->aliases[i].name, model) == 0) up = t->aliases[i].model;
    return up;
}

static const kt_target *by_header(const kt_config *cfg, kt_str id, kt_str rest,
                                  const char **code, char *err, size_t errlen)
{
    const kt_target *t = kt_config_target_by_id(cfg, id.p, id.n);
    if (!t) {
        *code = "unknown_target";
        snprintf(err, errlen, "unknown target '%.*s'", (int)KT_MIN(id.n, 64), id.p);
    } else if (!kt_provider_speaks(t->provider, rest)) {
        *code = "unsupported_api";
        snprintf(err, errlen, "target '%s' is a %s target, which does not serve /v1%.*s", t->id,
                 kt_provider_name(t->provider), (int)KT_MIN(rest.n, 64), rest.p);
        t = NULL;
    }
    return t;
}

const kt_target *kt_route(const kt_config *cfg, const kt_headers *hs, kt_str rest,
                          const char *model, const char **code, char *err, size_t errlen)
{
    int h = kt_headers_find(hs, "x-keeptrusts-target", 0);
    if (h >= 0) return by_header(cfg, kt_headers_value(hs, (uint32_t)h), rest, code, err, errlen);
    const kt_target *first = NULL;
    for (size_t i = 0; i < cfg->ntargets; i++) {
        const kt_target *t = &cfg->targets[i];
        if (!kt_provider_speaks(t->provider, rest)) continue;
        if (kt_target_serves(t, model, NULL)) return t;
        if (!first) first = t;
    }
    if (first) return first;
    *code = "unsupported_api";
    if (cfg->ntargets == 0)
        snprintf(err, errlen, "no provider target is configured");
    else
        snprintf(err, errlen, "no configured target serves /v1%.*s (%s)", (int)KT_MIN(rest.n, 64),
                 rest.p,
                 prefix_is(rest, "/messages") || prefix_is(rest, "/complete")
                     ? "it needs a provider: anthropic target"
                     : "it needs a provider: openai or azure-openai target");
    return NULL;
}

bool kt_route_method_allowed(int method)
{
    return method == HTTP_GET || method == HTTP_POST || method == HTTP_DELETE;
}

const kt_provider_ops *kt_provider_for(kt_provider_kind k)
{
    switch (k) {
    case KT_PROVIDER_ANTHROPIC: return &kt_provider_anthropic;
    case KT_PROVIDER_AZURE: return &kt_provider_azure;
    case KT_PROVIDER_OPENAI: break;
    }
    return &kt_provider_openai;
}

bool kt_header_is_client_credential(kt_str name)
{
    static const kt_str creds[] = { KT_STR("authorization"), KT_STR("x-api-key"), KT_STR("api-key"),
                                    KT_STR("openai-organization"), KT_STR("openai-project") };
    for (size_t i = 0; i < KT_ARRAY_LEN(creds); i++)
        if (kt_str_eq_ci_n(name, creds[i].p, creds[i].n)) return true;
    return name.n >= 13 && KT_EQ_CI(((kt_str){ name.p, 13 }), "x-keeptrusts-");
}

/* The upstream head's bytes beyond the client's headers and the target's strings: request line
 * and version, Host, Accept-Encoding, the credential and version header names, Content-Length,
 * the Azure path and query words. Generous: it only sizes one reservation. */
#define KT__HEAD_FIXED_BYTES 1024

static size_t len_or_0(const char *s) { return s ? strlen(s) : 0; }

/* More than the head can take: reserved up front so that no realloc leaves a copy of the key in
 * freed memory (the caller wipes the buffer itself, kt_buf_wipe). */
static size_t head_bound(const kt_target *t, const char *method, kt_str rest, kt_str query,
                         const kt_headers *client)
{
    return KT__HEAD_FIXED_BYTES + strlen(method) + rest.n + query.n + client->raw.len +
           4 * (size_t)client->n + strlen(t->host) + len_or_0(t->path_prefix) + len_or_0(t->key) +
           len_or_0(t->deployment) + len_or_0(t->model) + len_or_0(t->api_version) +
           len_or_0(t->anthropic_version);
}

static bool skip_header(const kt_headers *client, kt_str name)
{
    /* traceparent: the exchange writes its own (exchange_trace.c), naming its span as parent */
    return KT_EQ_CI(name, "host") || KT_EQ_CI(name, "content-length") ||
           KT_EQ_CI(name, "traceparent") ||
           KT_EQ_CI(name, "expect") || kt_header_is_client_credential(name) ||
           kt_http_is_hop_by_hop(client, name);
}

int kt_build_upstream_head(const kt_target *t, const char *model, const char *method,
                           kt_str rest, kt_str query, const kt_headers *client, size_t body_len,
                           bool send_length, bool identity, kt_buf *out)
{
    const kt_provider_ops *ops = kt_provider_for(t->provider);
    kt_buf_reset(out);
    int rc = kt_buf_reserve(out, KT_MIN(head_bound(t, method, rest, query, client) +
                                            3 * len_or_0(model), out->max));
    if (!rc) rc = kt_buf_puts(out, method);
    if (!rc) rc = kt_buf_append(out, " ", 1);
    if (!rc) rc = ops->path(t, model, rest, query, out);
    if (!rc) rc = kt_buf_puts(out, " HTTP/1.1\r\nHost: ");
    bool v6 = strchr(t->host, ':') != NULL;
    if (!rc && v6) rc = kt_buf_append(out, "[", 1);
    if (!rc) rc = kt_buf_puts(out, t->host);
    if (!rc && v6) rc = kt_buf_append(out, "]", 1);
    if (!rc && t->port != (t->tls ? 443 : 80)) {
        rc = kt_buf_append(out, ":", 1);
        if (!rc) rc = kt_buf_append_u64(out, t->port);
    }
    if (!rc) rc = kt_buf_puts(out, "\r\n");
    for (uint32_t i = 0; i < client->n && !rc; i++) {
        kt_str n = kt_headers_name(client, i), v = kt_headers_value(client, i);
        if (skip_header(client, n)) continue;
        if (identity && KT_EQ_CI(n, "accept-encoding")) continue;
        rc = kt_buf_append(out, n.p, n.n);
        if (!rc) rc = kt_buf_append(out, ": ", 2);
        if (!rc) rc = kt_buf_append(out, v.p, v.n);
        if (!rc) rc = kt_buf_append(out, "\r\n", 2);
    }
    if (!rc && identity) rc = kt_buf_puts(out, "Accept-Encoding: identity\r\n");
    if (!rc) rc = ops->auth(t, client, out);
    if (!rc && send_length) {
        rc = kt_buf_puts(out, "Content-Length: ");
        if (!rc) rc = kt_buf_append_u64(out, body_len);
        if (!rc) rc = kt_buf_append(out, "\r\n", 2);
    }
    if (!rc) rc = kt_buf_puts(out, "\r\n");
    return rc;
}
