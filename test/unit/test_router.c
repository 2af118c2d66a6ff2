/* Routing and upstream request heads: target choice, paths per provider, credentials replaced,
 * hop-by-hop headers dropped, tracing headers kept. */
#include "kt/router.h"
#include "kt_test.h"

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static kt_target mk(const char *id, kt_provider_kind p, const char *model, const char *prefix)
{
    kt_target t;
    memset(&t, 0, sizeof t);
    t.id = (char *)id;
    t.provider = p;
    static char *slots[16];
    static size_t nslots;
    t.model = (char *)model;
    if (model && nslots < KT_ARRAY_LEN(slots)) {
        slots[nslots] = (char *)model;
        t.models = &slots[nslots++];
        t.nmodels = 1;
    }
    t.host = (char *)"api.example.com";
    t.port = 443;
    t.tls = true;
    t.path_prefix = (char *)prefix;
    t.key = (char *)"sk-real-provider-key";
    return t;
}

static void add(kt_headers *hs, const char *n, const char *v)
{
    kt_headers_add_name(hs, n, strlen(n));
    kt_headers_add_value(hs, v, strlen(v));
    kt_headers_value_done(hs);
}

KT_TEST(route_by_header_model_and_default)
{
    kt_target ts[3] = { mk("first", KT_PROVIDER_OPENAI, NULL, ""),
                        mk("claude", KT_PROVIDER_ANTHROPIC, "claude-3", ""),
                        mk("mini", KT_PROVIDER_OPENAI, "gpt-4o-mini", "") };
    kt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.targets = ts;
    cfg.ntargets = 3;
    kt_headers hs;
    kt_headers_init(&hs, 10, 1024);
    char err[160];
    const char *model = "gpt-4o-mini", *code = NULL;
    kt_str chat = KT_STR("/chat/completions"), msgs = KT_STR("/messages");
    KT_ASSERT(kt_route(&cfg, &hs, chat, model, &code, err, sizeof err) == &ts[2]);
    KT_ASSERT(kt_route(&cfg, &hs, chat, NULL, &code, err, sizeof err) == &ts[0]);
    KT_ASSERT(kt_route(&cfg, &hs, chat, "gpt-5", &code, err, sizeof err) == &ts[0]);
    /* /v1/messages goes to the Anthropic target whatever the model says */
    KT_ASSERT(kt_route(&cfg, &hs, msgs, model, &code, err, sizeof err) == &ts[1]);
    KT_ASSERT(kt_route(&cfg, &hs, msgs, NULL, &code, err, sizeof err) == &ts[1]);
    /* ... and a chat request for a Claude model to an OpenAI one */
    KT_ASSERT(kt_route(&cfg, &hs, chat, "claude-3", &code, err, sizeof err) == &ts[0]);
    add(&hs, "X-Keeptrusts-Target", "claude");
    KT_ASSERT(kt_route(&cfg, &hs, msgs, model, &code, err, sizeof err) == &ts[1]);
    KT_ASSERT(kt_route(&cfg, &hs, chat, model, &code, err, sizeof err) == NULL);
    KT_ASSERT_EQ_STR(code, "unsupported_api");
    KT_ASSERT(strstr(err, "claude") != NULL);
    kt_headers_reset(&hs);
    add(&hs, "x-keeptrusts-target", "nope");
    KT_ASSERT(kt_route(&cfg, &hs, chat, model, &code, err, sizeof err) == NULL);
    KT_ASSERT_EQ_STR(code, "unknown_target");
    KT_ASSERT(strstr(err, "nope") != NULL);
    kt_headers_free(&hs);
}

KT_TEST(route_none_speaks_the_api)
{
    kt_target ts[1] = { mk("first", KT_PROVIDER_OPENAI, NULL, "") };
    kt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.targets = ts;
    cfg.ntargets = 1;
    kt_headers hs;
    kt_headers_init(&hs, 10, 1024);
    char err[160];
    const char *code = NULL;
    KT_ASSERT(kt_route(&cfg, &hs, KT_STR("/messages"), "claude-3", &code, err, sizeof err) ==
              NULL);
    KT_ASSERT_EQ_STR(code, "unsupported_api");
    KT_ASSERT(strstr(err, "anthropic") != NULL);
    /* /v1/models is every provider's */
    KT_ASSERT(kt_route(&cfg, &hs, KT_STR("/models"), NULL, &code, err, sizeof err) == &ts[0]);
    kt_headers_free(&hs);
}

KT_TEST(route_globs_and_aliases)
{
    char *globs[] = { (char *)"gpt-4o", (char *)"gpt-4o-*" };
    kt_model_alias al[] = { { (char *)"fast", (char *)"gpt-4o-mini" } };
    kt_target ts[2] = { mk("first", KT_PROVIDER_OPENAI, NULL, ""),
                        mk("g", KT_PROVIDER_OPENAI, NULL, "") };
    ts[1].models = globs;
    ts[1].nmodels = 2;
    ts[1].aliases = al;
    ts[1].naliases = 1;
    kt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.targets = ts;
    cfg.ntargets = 2;
    kt_headers hs;
    kt_headers_init(&hs, 10, 1024);
    char err[160];
    const char *code = NULL, *up = NULL;
    kt_str chat = KT_STR("/chat/completions");
    KT_ASSERT(kt_route(&cfg, &hs, chat, "gpt-4o", &code, err, sizeof err) == &ts[1]);
    KT_ASSERT(kt_route(&cfg, &hs, chat, "gpt-4o-2024-08-06", &code, err, sizeof err) == &ts[1]);
    KT_ASSERT(kt_route(&cfg, &hs, chat, "gpt-4", &code, err, sizeof err) == &ts[0]);
    KT_ASSERT(kt_route(&cfg, &hs, chat, "fast", &code, err, sizeof err) == &ts[1]);
    KT_ASSERT(kt_target_serves(&ts[1], "fast", &up));
    KT_ASSERT_EQ_STR(up, "gpt-4o-mini");
    KT_ASSERT_EQ_STR(kt_target_upstream_model(&ts[1], "fast"), "gpt-4o-mini");
    KT_ASSERT_EQ_STR(kt_target_upstream_model(&ts[1], "gpt-4o"), "gpt-4o");
    KT_ASSERT(kt_target_upstream_model(&ts[1], NULL) == NULL);
    kt_headers_free(&hs);
}

KT_TEST(forwarded_paths)
{
    kt_config cfg;
    memset(&cfg, 0, sizeof cfg);
    KT_ASSERT(kt_route_path_allowed(&cfg, KT_STR("/v1/chat/completions")));
    KT_ASSERT(kt_route_path_allowed(&cfg, KT_STR("/v1/messages/count_tokens")));
    KT_ASSERT(kt_route_path_allowed(&cfg, KT_STR("/v1/audio/transcriptions")));
    KT_ASSERT(kt_route_path_allowed(&cfg, KT_STR("/v1/models/gpt-4o")));
    KT_ASSERT(!kt_route_path_allowed(&cfg, KT_STR("/v1/files")));
    KT_ASSERT(!kt_route_path_allowed(&cfg, KT_STR("/v1/chat/completionsX")));
    KT_ASSERT(!kt_route_path_allowed(&cfg, KT_STR("/v1")));
    char *extra[] = { (char *)"/v1/files", (char *)"/v1/files/*" };
    cfg.gateway.forward_paths = extra;
    cfg.gateway.nforward_paths = 2;
    KT_ASSERT(kt_route_path_allowed(&cfg, KT_STR("/v1/files")));
    KT_ASSERT(kt_route_path_allowed(&cfg, KT_STR("/v1/files/file-1/content")));
    KT_ASSERT(!kt_route_path_allowed(&cfg, KT_STR("/v1/batches")));
}

static int build(const kt_target *t, const char *rest, const char *query, kt_headers *hs,
                 kt_buf *out)
{
    kt_str r = { rest, strlen(rest) }, q = { query, strlen(query) };
    return kt_build_upstream_head(t, t->model, "POST", r, q, hs, 12, true, false, out);
}

KT_TEST(openai_head_replaces_credentials)
{
    kt_target t = mk("o", KT_PROVIDER_OPENAI, NULL, "/proxy");
    kt_headers hs;
    kt_headers_init(&hs, 20, 4096);
    add(&hs, "Host", "localhost:41002");
    add(&hs, "Authorization", "Bearer sk-client-key");
    add(&hs, "x-api-key", "client-2");
    add(&hs, "Connection", "keep-alive, X-Hop");
    add(&hs, "X-Hop", "1");
    add(&hs, "Keep-Alive", "timeout=5");
    add(&hs, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    add(&hs, "x-request-id", "req-1");
    add(&hs, "b3", "abc-def-1");
    add(&hs, "Content-Length", "999");
    add(&hs, "x-keeptrusts-target", "o");
    kt_buf out;
    kt_buf_init(&out, 1 << 16);
    KT_ASSERT_EQ_INT(build(&t, "/chat/completions", "a=1", &hs, &out), 0);
    KT_ASSERT(starts_with(out.p, "POST /proxy/v1/chat/completions?a=1 HTTP/1.1\r\nHost: api.example.com\r\n"));
    KT_ASSERT(strstr(out.p, "Authorization: Bearer sk-real-provider-key\r\n") != NULL);
    KT_ASSERT(strstr(out.p, "sk-client-key") == NULL);
    KT_ASSERT(strstr(out.p, "client-2") == NULL);
    KT_ASSERT(strstr(out.p, "X-Hop") == NULL);
    KT_ASSERT(strstr(out.p, "Keep-Alive") == NULL);
    KT_ASSERT(strstr(out.p, "Connection") == NULL);
    KT_ASSERT(strstr(out.p, "x-keeptrusts") == NULL);
    /* the exchange writes its own traceparent (exchange_trace.c); the client's never passes */
    KT_ASSERT(strstr(out.p, "traceparent") == NULL);
    KT_ASSERT(strstr(out.p, "x-request-id: req-1\r\n") != NULL);
    KT_ASSERT(strstr(out.p, "b3: abc-def-1\r\n") != NULL);
    KT_ASSERT(strstr(out.p, "Content-Length: 12\r\n") != NULL);
    KT_ASSERT(strstr(out.p, "999") == NULL);
    KT_ASSERT(out.len > 4 && memcmp(out.p + out.len - 4, "\r\n\r\n", 4) == 0);
    kt_buf_free(&out);
    kt_headers_free(&hs);
}

KT_TEST(anthropic_head_has_key_and_version)
{
    kt_target t = mk("a", KT_PROVIDER_ANTHROPIC, NULL, "");
    t.port = 8443;
    kt_headers hs;
    kt_headers_init(&hs, 20, 4096);
    kt_buf out;
    kt_buf_init(&out, 1 << 16);
    KT_ASSERT_EQ_INT(build(&t, "/messages", "", &hs, &out), 0);
    KT_ASSERT(starts_with(out.p, "POST /v1/messages HTTP/1.1\r\nHost: api.example.com:8443\r\n"));
    KT_ASSERT(strstr(out.p, "x-api-key: sk-real-provider-key\r\n") != NULL);
    KT_ASSERT(strstr(out.p, "anthropic-version: 2023-06-01\r\n") != NULL);
    KT_ASSERT(strstr(out.p, "Authorization") == NULL);
    add(&hs, "anthropic-version", "2024-01-01");
    KT_ASSERT_EQ_INT(build(&t, "/messages", "", &hs, &out), 0);
    KT_ASSERT(strstr(out.p, "anthropic-version: 2024-01-01\r\n") != NULL);
    KT_ASSERT(strstr(out.p, "2023-06-01") == NULL);
    kt_buf_free(&out);
    kt_headers_free(&hs);
}

KT_TEST(azure_path_and_api_key)
{
    kt_target t = mk("z", KT_PROVIDER_AZURE, "gpt-4o", "");
    t.deployment = (char *)"prod-dep";
    t.api_version = (char *)"2024-06-01";
    kt_headers hs;
    kt_headers_init(&hs, 20, 4096);
    add(&hs, "api-key", "client-azure-key");
    kt_buf out;
    kt_buf_init(&out, 1 << 16);
    KT_ASSERT_EQ_INT(build(&t, "/chat/completions", "api-version=1999&x=2", &hs, &out), 0);
    KT_ASSERT(starts_with(out.p, "POST /openai/deployments/prod-dep/chat/completions?api-version=2024-06-01&x=2 HTTP/1.1\r\n"));
    KT_ASSERT(strstr(out.p, "api-key: sk-real-provider-key\r\n") != NULL);
    KT_ASSERT(strstr(out.p, "client-azure-key") == NULL);
    KT_ASSERT(strstr(out.p, "1999") == NULL);
    kt_buf_free(&out);
    kt_headers_free(&hs);
}

/* The config's provider names (ops endpoint, logs) are the proxy's. */
KT_TEST(provider_names_match_the_proxy)
{
    static const kt_provider_kind kinds[] = { KT_PROVIDER_OPENAI, KT_PROVIDER_ANTHROPIC,
                                              KT_PROVIDER_AZURE };
    for (size_t i = 0; i < KT_ARRAY_LEN(kinds); i++)
        KT_ASSERT_EQ_STR(kt_provider_name(kinds[i]), kt_provider_for(kinds[i])->name);
}

KT_TEST(head_cap_is_enforced)
{
    kt_target t = mk("o", KT_PROVIDER_OPENAI, NULL, "");
    kt_headers hs;
    kt_headers_init(&hs, 20, 8192);
    char big[4000];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    add(&hs, "X-Big", big);
    kt_buf out;
    kt_buf_init(&out, 1024);
    KT_ASSERT_EQ_INT(build(&t, "/x", "", &hs, &out), KT_ELIMIT);
    kt_buf_free(&out);
    kt_headers_free(&hs);
}


KT_TEST(azure_deployment_from_the_request_model)
{
    kt_target t = mk("z", KT_PROVIDER_AZURE, "gpt-4o", "");
    t.api_version = (char *)"2024-06-01";
    kt_headers hs;
    kt_headers_init(&hs, 20, 4096);
    kt_buf out;
    kt_buf_init(&out, 1 << 16);
    kt_str r = KT_STR("/chat/completions"), q = KT_STR("");
    KT_ASSERT_EQ_INT(kt_build_upstream_head(&t, "gpt-4o-mini", "POST", r, q, &hs, 2, true, false,
                                            &out), 0);
    KT_ASSERT(starts_with(out.p, "POST /openai/deployments/gpt-4o-mini/chat/completions?"));
    /* a model from the client cannot reshape the path */
    KT_ASSERT_EQ_INT(kt_build_upstream_head(&t, "../x/y?z", "POST", r, q, &hs, 2, true, false,
                                            &out), 0);
    KT_ASSERT(starts_with(out.p, "POST /openai/deployments/%2E.%2Fx%2Fy%3Fz/chat/completions?"));
    KT_ASSERT_EQ_INT(kt_build_upstream_head(&t, NULL, "POST", r, q, &hs, 2, true, false, &out),
                     0);
    KT_ASSERT(starts_with(out.p, "POST /openai/deployments/gpt-4o/chat/completions?"));
    kt_buf_free(&out);
    kt_headers_free(&hs);
}

int main(void)
{
    KT_RUN(route_by_header_model_and_default);
    KT_RUN(route_none_speaks_the_api);
    KT_RUN(route_globs_and_aliases);
    KT_RUN(forwarded_paths);
    KT_RUN(azure_deployment_from_the_request_model);
    KT_RUN(openai_head_replaces_credentials);
    KT_RUN(anthropic_head_has_key_and_version);
    KT_RUN(azure_path_and_api_key);
    KT_RUN(head_cap_is_enforced);
    KT_RUN(provider_names_match_the_proxy);
    return KT_DONE();
}
