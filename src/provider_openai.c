/* OpenAI (and every OpenAI-compatible server): <prefix>/v1<rest>, Authorization: Bearer. */
#include "kt/router.h"

static int openai_path(const kt_target *t, kt_str rest, kt_str query, kt_buf *out)
{
    int rc = kt_buf_printf(out, "%s/v1%.*s", t->path_prefix, (int)rest.n, rest.p);
    if (!rc && query.n) rc = kt_buf_printf(out, "?%.*s", (int)query.n, query.p);
    return rc;
}

static int openai_auth(const kt_target *t, const kt_headers *client, kt_buf *out)
{
    (void)client;
    return kt_buf_printf(out, "Authorization: Bearer %s\r\n", t->key);
}

const kt_provider_ops kt_provider_openai = { "openai", openai_path, openai_auth };
