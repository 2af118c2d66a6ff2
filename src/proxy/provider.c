/* The providers kt speaks: for each, the upstream path and the credentials it injects.
 * OpenAI (and every OpenAI-compatible server): <prefix>/v1<rest>, Authorization: Bearer. */
#include <string.h>

#include "kt/router.h"

static int openai_path(const kt_target *t, kt_str rest, kt_str query, kt_buf *out)
{
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

static int azure_path(const kt_target *t, kt_str rest, kt_str query, kt_buf *out)
{
    const char *dep = t->deployment ? t->deployment : (t->model ? t->model : "default");
    bool per_deployment = rest.n && strncmp(rest.p, "/models", 7) != 0;
    int rc = per_deployment
                 ? kt_buf_printf(out, "%s/openai/deployments/%s%.*s", t->path_prefix, dep,
                                 (int)rest.n, rest.p)
                 : kt_buf_printf(out, "%s/openai%.*s", t->path_prefix, (int)rest.n, rest.p);
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

static int anthropic_path(const kt_target *t, kt_str rest, kt_str query, kt_buf *out)
{
    return kt_provider_openai.path(t, rest, query, out);
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
