/* The providers kt speaks: for each, the upstream path and the credentials it injects.
 * OpenAI (and every OpenAI-compatible server): <prefix>/v1<rest>, Authorization: Bearer. */
#include <string.h>

#include "kt/router.h"

static int openai_path(const kt_target *t, const char *model, kt_str rest, kt_str query,
                       kt_buf *out)
{
    (void)model;
    int rc = kt_buf_puts(out, t->path_prefix);
    if (!rc) rc = kt_buf_append(out, "/v1", 3);
    if (!rc) rc = kt_buf_append(out, rest.p, rest.n);
    if (!rc && query.n) rc = kt_buf_append(out, "?", 1);
    if (!rc && query.n) rc = kt_buf_append(out, query.p, query.n);
    return rc;
}

static int openai_auth(const kt_target *t, const kt_headers *client, kt_buf *out)
{
    (void)client;
    int rc = kt_buf_puts(out, "Authorization: Bearer ");
    if (!rc) rc = kt_buf_puts(out, t->key);
    if (!rc) rc = kt_buf_append(out, "\r\n", 2);
    return rc;
}

const kt_provider_ops kt_provider_openai = { "openai", openai_path, openai_auth };

/* ---- Azure OpenAI: <prefix>/openai/deployments/<deployment><rest>?api-version=<v>, api-key ------- */

static int append_query_without_api_version(kt_str query, kt_buf *out)
{
    int rc = 0;
    size_t i = 0;
    while (i < query.n && !rc) {
        const char *amp = memchr(query.p + i, '&', query.n - i);
        size_t end = amp ? (size_t)(amp - query.p) : query.n;
        kt_str part = { query.p + i, end - i };
        if (part.n && !(part.n >= 12 && memcmp(part.p, "api-version=", 12) == 0)) {
            rc = kt_buf_append(out, "&", 1);
            if (!rc) rc = kt_buf_append(out, part.p, part.n);
        }
        i = end + 1;
    }
    return rc;
}

/* The deployment: the target's `deployment:`, else the model the request names (after aliases),
 * else the target's first model when it is a plain name. */
static const char *azure_deployment(const kt_target *t, const char *model)
{
    if (t->deployment) return t->deployment;
    if (model && *model) return model;
    if (t->model && !strpbrk(t->model, "*?[")) return t->model;
    return "default";
}

/* A deployment name in the path: a model name comes from the client, so every byte but
 * [A-Za-z0-9._-] and a leading '.' is percent-encoded: no '/', '?' or dot segment can reshape
 * the upstream path. */
static int append_segment(kt_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
                     (*p == '.' && p != (const unsigned char *)s);
        char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
        rc = plain ? kt_buf_append(out, (const char *)p, 1) : kt_buf_append(out, enc, 3);
    }
    return rc;
}

static int azure_path(const kt_target *t, const char *model, kt_str rest, kt_str query,
                      kt_buf *out)
{
    bool per_deployment = rest.n && strncmp(rest.p, "/models", 7) != 0;
    int rc;
    if (per_deployment) {
        rc = kt_buf_printf(out, "%s/openai/deployments/", t->path_prefix);
        if (!rc) rc = append_segment(out, azure_deployment(t, model));
        if (!rc) rc = kt_buf_append(out, rest.p, rest.n);
    } else {
        rc = kt_buf_printf(out, "%s/openai%.*s", t->path_prefix, (int)rest.n, rest.p);
    }
    if (!rc)
        rc = kt_buf_printf(out, "?api-version=%s", t->api_version ? t->api_version : "2024-06-01");
    if (!rc) rc = append_query_without_api_version(query, out);
    return rc;
}

static int azure_auth(const kt_target *t, const kt_headers *client, kt_buf *out)
{
    (void)client;
    int rc = kt_buf_puts(out, "api-key: ");   /* no printf: its stack copy would hold the key */
    if (!rc) rc = kt_buf_puts(out, t->key);
    if (!rc) rc = kt_buf_append(out, "\r\n", 2);
    return rc;
}

const kt_provider_ops kt_provider_azure = { "azure-openai", azure_path, azure_auth };

/* ---- Anthropic: <prefix>/v1<rest>, x-api-key and anthropic-version (the client's wins) ----------- */

static int anthropic_path(const kt_target *t, const char *model, kt_str rest, kt_str query,
                          kt_buf *out)
{
    return kt_provider_openai.path(t, model, rest, query, out);
}

static int anthropic_auth(const kt_target *t, const kt_headers *client, kt_buf *out)
{
    int rc = kt_buf_puts(out, "x-api-key: ");
    if (!rc) rc = kt_buf_puts(out, t->key);
    if (!rc) rc = kt_buf_append(out, "\r\n", 2);
    if (!rc && kt_headers_find(client, "anthropic-version", 0) < 0)
        rc = kt_buf_printf(out, "anthropic-version: %s\r\n",
                           t->anthropic_version ? t->anthropic_version : "2023-06-01");
    return rc;
}

const kt_provider_ops kt_provider_anthropic = { "anthropic", anthropic_path, anthropic_auth };
