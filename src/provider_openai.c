/* OpenAI (and every OpenAI-compatible server): <prefix>/v1<rest>, Authorization: Bearer. */
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
