/* Azure OpenAI: <prefix>/openai/deployments/<deployment><rest>?api-version=<v>, api-key header.
 * The client's own api-version parameter is replaced by the configured one. */
#include <string.h>

#include "kt/router.h"

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
    return kt_buf_printf(out, "api-key: %s\r\n", t->key);
}

const kt_provider_ops kt_provider_azure = { "azure-openai", azure_path, azure_auth };
