/* Anthropic: <prefix>/v1<rest>, x-api-key and anthropic-version (the client's version wins). */
#include "kt/router.h"

static int anthropic_path(const kt_target *t, kt_str rest, kt_str query, kt_buf *out)
{
    return kt_provider_openai.path(t, rest, query, out);
}

static int anthropic_auth(const kt_target *t, const kt_headers *client, kt_buf *out)
{
    int rc = kt_buf_printf(out, "x-api-key: %s\r\n", t->key);
    if (!rc && kt_headers_find(client, "anthropic-version", 0) < 0)
        rc = kt_buf_printf(out, "anthropic-version: %s\r\n",
                           t->anthropic_version ? t->anthropic_version : "2023-06-01");
    return rc;
}

const kt_provider_ops kt_provider_anthropic = { "anthropic", anthropic_path, anthropic_auth };
