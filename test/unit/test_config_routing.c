/* The routing keys of a target (model globs, aliases, fallbacks, the Azure base_url forms) and
 * the gateway's failover and forward_paths settings: values, defaults and the errors. */
#include "kt/config.h"
#include "kt_test.h"

static const char *get(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "KEY") == 0 ? "sk-test" : NULL;
}

static kt_diag D;

static int parse(const char *src, kt_config **c)
{
    kt_env env = { get, NULL };
    kt_diag_init(&D, "t.yaml");
    return kt_config_parse("t.yaml", src, strlen(src), env, c, &D);
}

static int diag_has(const char *sub)
{
    for (int i = 0; i < D.count && i < KT_DIAG_MAX; i++)
        if (strstr(D.items[i].msg, sub)) return 1;
    return 0;
}

#define T(id, prov, extra)                                                                    \
    "    - id: " id "\n      provider: " prov "\n      base_url: https://h.example/\n"        \
    "      secret_key_ref: {env: KEY}\n" extra

KT_TEST(models_aliases_and_fallbacks)
{
    const char *src = "providers:\n  targets:\n"
        T("a", "openai", "      model: [gpt-4o, gpt-4o-*]\n      aliases: {fast: gpt-4o-mini}\n"
                         "      fallbacks: [b, az]\n")
        T("b", "openai", "      model: gpt-4o\n")
        T("az", "azure-openai", "");
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), 0);
    if (!c) return;
    const kt_target *a = &c->targets[0];
    KT_ASSERT_EQ_INT((int)a->nmodels, 2);
    KT_ASSERT_EQ_STR(a->model, "gpt-4o");
    KT_ASSERT_EQ_STR(a->models[1], "gpt-4o-*");
    KT_ASSERT_EQ_INT((int)a->naliases, 1);
    KT_ASSERT_EQ_STR(a->aliases[0].name, "fast");
    KT_ASSERT_EQ_STR(a->aliases[0].model, "gpt-4o-mini");
    KT_ASSERT_EQ_INT((int)a->nfallbacks, 2);
    KT_ASSERT_EQ_INT(a->fallbacks[0], 1);
    KT_ASSERT_EQ_INT(a->fallbacks[1], 2);
    KT_ASSERT_EQ_INT((int)c->targets[1].nmodels, 1);
    kt_config_release(&c);
}

KT_TEST(fallback_errors)
{
    const char *src = "providers:\n  targets:\n"
        T("a", "openai", "      fallbacks: [a, nope, claude, b, b]\n")
        T("b", "openai", "")
        T("claude", "anthropic", "");
    kt_config *c = NULL;
    KT_ASSERT(parse(src, &c) != 0);
    KT_ASSERT(diag_has("cannot be its own fallback"));
    KT_ASSERT(diag_has("no target has the id"));
    KT_ASSERT(diag_has("does not speak the API"));
    KT_ASSERT(diag_has("twice"));
    kt_config_release(&c);
}

KT_TEST(azure_base_url_forms)
{
    static const struct { const char *url, *dep, *prefix, *want_dep; } cases[] = {
        { "https://r.openai.azure.com", NULL, "", NULL },
        { "https://r.openai.azure.com/openai", NULL, "", NULL },
        { "https://r.openai.azure.com/openai/deployments", NULL, "", NULL },
        { "https://r.openai.azure.com/openai/deployments/", NULL, "", NULL },
        { "https://r.openai.azure.com/openai/deployments/prod-4o", NULL, "", "prod-4o" },
        { "https://r.openai.azure.com/openai/deployments/prod-4o", "other", "", "other" },
        { "https://gw.example/team/openai/deployments", NULL, "/team", NULL },
    };
    for (size_t i = 0; i < KT_ARRAY_LEN(cases); i++) {
        char src[600];
        snprintf(src, sizeof src,
                 "providers:\n  targets:\n    - id: az\n      provider: azure-openai\n"
                 "      base_url: %s\n      secret_key_ref: {env: KEY}\n%s%s%s",
                 cases[i].url, cases[i].dep ? "      deployment: " : "",
                 cases[i].dep ? cases[i].dep : "", cases[i].dep ? "\n" : "");
        kt_config *c = NULL;
        KT_ASSERT_EQ_INT(parse(src, &c), 0);
        if (!c) continue;
        KT_ASSERT_EQ_STR(c->targets[0].path_prefix, cases[i].prefix);
        if (cases[i].want_dep) KT_ASSERT_EQ_STR(c->targets[0].deployment, cases[i].want_dep);
        else KT_ASSERT(c->targets[0].deployment == NULL);
        kt_config_release(&c);
    }
}

KT_TEST(failover_defaults_and_values)
{
    const char *src = "providers:\n  targets:\n" T("a", "openai", "");
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), 0);
    if (!c) return;
    const kt_failover_opts *o = &c->gateway.failover;
    KT_ASSERT(kt_failover_on_status(o, 429) && kt_failover_on_status(o, 500) &&
              kt_failover_on_status(o, 502) && kt_failover_on_status(o, 503) &&
              kt_failover_on_status(o, 504));
    KT_ASSERT(!kt_failover_on_status(o, 400) && !kt_failover_on_status(o, 501) &&
              !kt_failover_on_status(o, 200) && !kt_failover_on_status(o, 99) &&
              !kt_failover_on_status(o, 600));
    KT_ASSERT_EQ_INT((int)o->max_attempts, 3);
    KT_ASSERT(o->retry_budget > 0.19 && o->retry_budget < 0.21);
    KT_ASSERT_EQ_INT((int)o->retry_burst, 10);
    KT_ASSERT_EQ_INT((int)o->circuit_failures, 5);
    KT_ASSERT_EQ_INT((int)o->base_ejection_ms, 10000);
    KT_ASSERT_EQ_INT((int)o->max_ejection_ms, 300000);
    KT_ASSERT_EQ_INT((int)o->deadline_ms, 0);
    KT_ASSERT_EQ_INT((int)c->gateway.nforward_paths, 0);
    kt_config_release(&c);

    src = "gateway:\n  failover:\n    on_status: [503, 529]\n    max_attempts: 2\n"
          "    retry_budget: 0.5\n    retry_burst: 3\n    deadline: 30s\n"
          "    circuit: {failures: 2, base_ejection: 1s, max_ejection: 4s}\n"
          "  forward_paths: [/v1/files, /v1/files/*]\n"
          "providers:\n  targets:\n" T("a", "openai", "");
    KT_ASSERT_EQ_INT(parse(src, &c), 0);
    if (!c) return;
    o = &c->gateway.failover;
    KT_ASSERT(kt_failover_on_status(o, 503) && kt_failover_on_status(o, 529));
    KT_ASSERT(!kt_failover_on_status(o, 429) && !kt_failover_on_status(o, 500));
    KT_ASSERT_EQ_INT((int)o->max_attempts, 2);
    KT_ASSERT_EQ_INT((int)o->retry_burst, 3);
    KT_ASSERT_EQ_INT((int)o->deadline_ms, 30000);
    KT_ASSERT_EQ_INT((int)o->circuit_failures, 2);
    KT_ASSERT_EQ_INT((int)o->base_ejection_ms, 1000);
    KT_ASSERT_EQ_INT((int)o->max_ejection_ms, 4000);
    KT_ASSERT_EQ_INT((int)c->gateway.nforward_paths, 2);
    KT_ASSERT_EQ_STR(c->gateway.forward_paths[1], "/v1/files/*");
    kt_config_release(&c);
}

KT_TEST(failover_errors)
{
    const char *src = "gateway:\n  failover:\n    on_status: [200]\n    max_attempts: 0\n"
                      "    retry_budget: 2\n    bogus: 1\n"
                      "    circuit: {base_ejection: 10s, max_ejection: 1s}\n"
                      "  forward_paths: [/files]\n"
                      "providers:\n  targets:\n" T("a", "openai", "      model: []\n");
    kt_config *c = NULL;
    KT_ASSERT(parse(src, &c) != 0);
    KT_ASSERT(diag_has("gateway.failover.on_status"));
    KT_ASSERT(diag_has("gateway.failover.max_attempts"));
    KT_ASSERT(diag_has("gateway.failover.retry_budget"));
    KT_ASSERT(diag_has("bogus"));
    KT_ASSERT(diag_has("max_ejection is shorter"));
    KT_ASSERT(diag_has("a client path under /v1/"));
    KT_ASSERT(diag_has("lists 1 to 64 models"));
    kt_config_release(&c);
}

int main(void)
{
    KT_RUN(models_aliases_and_fallbacks);
    KT_RUN(fallback_errors);
    KT_RUN(azure_base_url_forms);
    KT_RUN(failover_defaults_and_values);
    KT_RUN(failover_errors);
    return KT_DONE();
}
