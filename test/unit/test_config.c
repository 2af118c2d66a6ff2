/* The config loader: the three source forms, expansion, URLs, credentials, limits and the
 * diagnostics (each with its line and column). The environment is an injected table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kt/config.h"
#include "kt/gov_opts.h"
#include "kt/policy.h"
#include "kt_test.h"

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct kv {
    const char *k, *v;
} kv;

static const char *tbl_get(void *ud, const char *name)
{
    for (const kv *p = ud; p && p->k; p++)
        if (strcmp(p->k, name) == 0) return p->v;
    return NULL;
}

static kv base_env[] = {
    { "OPENAI_API_KEY", "sk-test-openai" },
    { "ANTHROPIC_API_KEY", "sk-ant-test" },
    { "TEAM_ALPHA_OPENAI_KEY", "sk-alpha" },
    { "AZURE_OPENAI_ENDPOINT", "https://contoso.openai.azure.com" },
    { "AZURE_OPENAI_KEY", "az-key" },
    { "EMPTY", "" },
    { "PORT", "8443" },
    { NULL, NULL },
};

static kt_env env_of(kv *t)
{
    kt_env e = { tbl_get, t };
    return e;
}

static kt_env ENV(void) { return env_of(base_env); }

static kt_diag D;

static int parse_env(const char *src, kt_env env, kt_config **c)
{
    kt_diag_init(&D, "test.yaml");
    return kt_config_parse("test.yaml", src, strlen(src), env, c, &D);
}

static int parse(const char *src, kt_config **c) { return parse_env(src, ENV(), c); }

/* True when D holds an item at line:col whose message contains `sub`. */
static int has(int line, int col, const char *sub)
{
    for (int i = 0; i < D.count && i < KT_DIAG_MAX; i++)
        if (D.items[i].line == line && D.items[i].col == col && strstr(D.items[i].msg, sub))
            return 1;
    return 0;
}

static void dump(void)
{
    for (int i = 0; i < D.count && i < KT_DIAG_MAX; i++)
        printf("#     %d:%d: %s\n", D.items[i].line, D.items[i].col, D.items[i].msg);
}

#define ASSERT_DIAG(line, col, sub)                                                        \
    do {                                                                                   \
        if (!has(line, col, sub)) {                                                        \
            KT_FAILF("no diagnostic %d:%d containing \"%s\"", line, col, sub);             \
            dump();                                                                        \
        }                                                                                  \
    } while (0)

#define ASSERT_OK(expr)                                                                    \
    do {                                                                                   \
        int ok__rc = (expr);                                                               \
        KT_ASSERT_EQ_INT(ok__rc, 0);                                                       \
        if (ok__rc) dump();                                                                \
    } while (0)

static const char *opt(const kt_policy_cfg *p, const char *key)
{
    const kt_ynode *v = kt_ymap_get(p->options, key);
    return v ? v->str : NULL;
}

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char path[160];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/kt_test_config.XXXXXX");
        if (!mkdtemp(tmpdir)) abort();
    }
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fwrite(data, 1, len, f);
    fclose(f);
}

/* ---- the seeds ---------------------------------------------------------------------------- */

static const char seed004_team_alpha[] =
    "# team-alpha/policy-config.yaml\n"
    "pack:\n"
    "  name: team-alpha-prod\n"
    "  version: 0.1.0\n"
    "  enabled: true\n"
    "  description: \"Team Alpha production gateway\"\n"
    "policies:\n"
    "  chain:\n"
    "    - pii-detector\n"
    "    - audit-logger\n"
    "policy:\n"
    "  pii-detector:\n"
    "    action: redact\n"
    "  audit-logger:\n"
    "    retention_days: 365\n"
    "providers:\n"
    "  targets:\n"
    "    - id: openai-primary\n"
    "      provider: openai\n"
    "      model: gpt-4o-mini\n"
    "      base_url: https://api.openai.com\n"
    "      secret_key_ref:\n"
    "        env: TEAM_ALPHA_OPENAI_KEY\n";

KT_TEST(seed004_pack_form)
{
    kt_config *c = NULL;
    int rc = parse(seed004_team_alpha, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_INT(c->refs, 1);
    KT_ASSERT_EQ_STR(c->pack_name, "team-alpha-prod");
    KT_ASSERT_EQ_STR(c->pack_version, "0.1.0");
    KT_ASSERT(c->pack_enabled);
    KT_ASSERT_EQ_INT(c->nchain, 2);
    KT_ASSERT_EQ_STR(c->chain[0].name, "pii-detector");
    KT_ASSERT_EQ_STR(c->chain[0].kind, "pii-detector");
    KT_ASSERT(c->chain[0].input && c->chain[0].output);
    KT_ASSERT_EQ_STR(opt(&c->chain[0], "action"), "redact");
    KT_ASSERT_EQ_STR(c->chain[1].kind, "audit-logger");
    KT_ASSERT_EQ_STR(opt(&c->chain[1], "retention_days"), "365");
    KT_ASSERT_EQ_INT(c->ntargets, 1);
    const kt_target *t = &c->targets[0];
    KT_ASSERT_EQ_STR(t->id, "openai-primary");
    KT_ASSERT_EQ_INT(t->provider, KT_PROVIDER_OPENAI);
    KT_ASSERT_EQ_STR(t->model, "gpt-4o-mini");
    KT_ASSERT_EQ_STR(t->base_url, "https://api.openai.com");
    KT_ASSERT(t->tls);
    KT_ASSERT_EQ_STR(t->host, "api.openai.com");
    KT_ASSERT_EQ_INT(t->port, 443);
    KT_ASSERT_EQ_STR(t->path_prefix, "");
    KT_ASSERT_EQ_INT(t->key_source, KT_KEY_ENV);
    KT_ASSERT_EQ_STR(t->key_ref, "TEAM_ALPHA_OPENAI_KEY");
    KT_ASSERT_EQ_STR(t->key, "sk-alpha");
    KT_ASSERT_EQ_STR(t->key_error, "");
    KT_ASSERT(t->api_version == NULL && t->anthropic_version == NULL);
    KT_ASSERT_EQ_INT(strlen(c->hash), 64);
    KT_ASSERT_EQ_STR(c->source, "test.yaml");
    KT_ASSERT(c->gateway.listen == NULL);
    KT_ASSERT(c->gateway.config_reload);
    KT_ASSERT_EQ_INT(c->gateway.config_poll_interval_ms, 30000);
    kt_config_release(&c);
    KT_ASSERT(c == NULL);
}

KT_TEST(seed004_spend_limit_loads)
{
    const char *src =
        "pack:\n"
        "  name: team-alpha-prod\n"
        "  version: 0.1.0\n"
        "  enabled: true\n"
        "policies:\n"
        "  chain:\n"
        "    - spend-limit\n"
        "    - audit-logger\n"
        "policy:\n"
        "  spend-limit:\n"
        "    max_daily_usd: 500\n"
        "  audit-logger:\n"
        "    retention_days: 365\n"
        "providers:\n"
        "  targets:\n"
        "    - id: openai-primary\n"
        "      provider: openai\n"
        "      model: gpt-4o-mini\n"
        "      base_url: https://api.openai.com\n"
        "      secret_key_ref:\n"
        "        store: OPENAI_API_KEY\n";
    /* The product docs' production config: it used to fail with "unknown policy kind". */
    kt_config *c = NULL;
    int rc = parse(src, &c);
    KT_ASSERT_EQ_INT(rc, KT_OK);
    KT_ASSERT_EQ_INT(c->nchain, 2);
    KT_ASSERT_EQ_STR(c->chain[0].kind, "spend-limit");
    const kt_spend_opts *o = c->chain[0].state;
    KT_ASSERT(o != NULL);
    KT_ASSERT(o->max_daily_usd == 500);
    KT_ASSERT(o->max_monthly_usd == 0);
    KT_ASSERT_EQ_INT(o->scope, KT_SCOPE_GATEWAY);
    KT_ASSERT_EQ_INT(c->chain[0].dirs, 0);   /* request-level: scans nothing */
    kt_config_release(&c);
}

KT_TEST(governance_sections)
{
    const char *src =
        "consumers:\n"
        "  - name: team-a\n"
        "    keys:\n"
        "      - {key_sha256: \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}\n"
        "      - {key_ref: {env: TEAM_A_KEY}}\n"
        "    models: {allow: [\"gpt-4o*\"], deny: []}\n"
        "    limits: {requests_per_minute: 60, tokens_per_minute: 200000, max_daily_usd: 20}\n"
        "policies:\n"
        "  chain: [spend-limit, rate-limit, pii-detector]\n"
        "policy:\n"
        "  spend-limit: {max_daily_usd: 500, max_monthly_usd: 10000, scope: gateway}\n"
        "  rate-limit: {requests_per_minute: 600, tokens_per_minute: 500000, scope: consumer}\n"
        "gateway:\n"
        "  auth: keys\n"
        "  models: {allow: [\"*\"], deny: [\"o1-pro*\"]}\n"
        "  state_dir: /var/lib/kt/state\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_OK);
    KT_ASSERT_EQ_INT(c->nconsumers, 1);
    const kt_consumer *k = &c->consumers[0];
    KT_ASSERT_EQ_STR(k->name, "team-a");
    KT_ASSERT_EQ_INT(k->nkeys, 2);
    KT_ASSERT(k->keys[0].ok && k->keys[0].sha[0] == 0x9f && k->keys[0].sha[31] == 0x08);
    KT_ASSERT(!k->keys[1].ok);   /* TEAM_A_KEY is not set: that key matches nothing */
    KT_ASSERT_EQ_INT(k->models.nallow, 1);
    KT_ASSERT_EQ_STR(k->models.allow[0], "gpt-4o*");
    KT_ASSERT_EQ_INT(k->limits.requests_per_minute, 60);
    KT_ASSERT(k->limits.max_daily_usd == 20);
    KT_ASSERT_EQ_INT(c->gateway.auth, KT_AUTH_KEYS);
    KT_ASSERT_EQ_STR(c->gateway.models.deny[0], "o1-pro*");
    KT_ASSERT_EQ_STR(c->gateway.state_dir, "/var/lib/kt/state");
    const kt_rate_opts *r = c->chain[1].state;
    KT_ASSERT_EQ_INT(r->requests_per_minute, 600);
    KT_ASSERT_EQ_INT(r->scope, KT_SCOPE_CONSUMER);
    kt_config_release(&c);
}

KT_TEST(governance_errors)
{
    kt_config *c = NULL;
    /* a plain key in the config is refused: only hashes and references */
    KT_ASSERT_EQ_INT(parse("consumers:\n  - name: a\n    keys: [{key: kt_gk_x}]\n", &c), KT_EINVAL);
    KT_ASSERT_EQ_INT(parse("consumers:\n  - name: a\n    keys: [{key_sha256: abc}]\n", &c),
                     KT_EINVAL);
    KT_ASSERT_EQ_INT(parse("consumers:\n  - name: a\n", &c), KT_EINVAL);
    KT_ASSERT_EQ_INT(parse("gateway:\n  auth: maybe\n", &c), KT_EINVAL);
    KT_ASSERT_EQ_INT(parse("policies: {chain: [spend-limit]}\npolicy:\n  spend-limit: "
                           "{scope: team}\n", &c), KT_EINVAL);
    KT_ASSERT_EQ_INT(parse("policies: {chain: [rate-limit]}\npolicy:\n  rate-limit: "
                           "{requests_per_minute: -1}\n", &c), KT_EINVAL);
    static const char *const bad_urls[] = {
        "rediss://x:6380/0", "http://x", "redis://", "redis://:pw@x", "redis://u:pw@x:1/0",
        "redis://x:0", "redis://x:65536", "redis://x:12a", "redis://x/db", "redis://x?a=b",
        "redis://[::1", "redis://[zz]:1", "redis://a b", "redis://x:", "redis://x/1/2",
    };
    for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
        char doc[256];
        snprintf(doc, sizeof doc, "gateway:\n  shared_state: {redis: {url: \"%s\"}}\n",
                 bad_urls[i]);
        KT_ASSERT_EQ_INT(parse(doc, &c), KT_EINVAL);
    }
    KT_ASSERT_EQ_INT(parse("gateway:\n  shared_state: {redis: {url: \"redis://x\", "
                           "on_unavailable: maybe}}\n", &c), KT_EINVAL);
    KT_ASSERT_EQ_INT(parse("gateway:\n  shared_state: {redis: {url: \"redis://x\", "
                           "password_ref: {env: A, file: /b}}}\n", &c), KT_EINVAL);
    KT_ASSERT_EQ_INT(parse("gateway:\n  shared_state: {redis: {url: \"redis://x\", "
                           "key_prefix: \"a b\"}}\n", &c), KT_EINVAL);
    KT_ASSERT(c == NULL);
}

KT_TEST(shared_state_redis)
{
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse("gateway:\n  shared_state:\n    redis: {url: \"redis://redis.platform"
                           ".svc:6379/3\", password_ref: {env: REDIS_PASSWORD}, key_prefix: "
                           "\"team:\", on_unavailable: deny, timeout: 100ms}\n", &c), KT_OK);
    const kt_shared_state_opts *o = &c->gateway.shared_state;
    KT_ASSERT(o->redis);
    KT_ASSERT_EQ_STR(o->host, "redis.platform.svc");
    KT_ASSERT_EQ_INT(o->port, 6379);
    KT_ASSERT_EQ_INT(o->db, 3);
    KT_ASSERT_EQ_INT(o->password_source, KT_KEY_ENV);
    KT_ASSERT_EQ_STR(o->password_ref, "REDIS_PASSWORD");
    KT_ASSERT_EQ_STR(o->key_prefix, "team:");
    KT_ASSERT_EQ_INT(o->on_unavailable, KT_UNAVAIL_DENY);
    KT_ASSERT_EQ_INT(o->timeout_ms, 100);
    kt_config_release(&c);
    KT_ASSERT_EQ_INT(parse("gateway:\n  shared_state: {redis: {url: \"redis://[::1]\"}}\n", &c),
                     KT_OK);
    o = &c->gateway.shared_state;
    KT_ASSERT_EQ_STR(o->host, "::1");
    KT_ASSERT_EQ_INT(o->port, 6379);
    KT_ASSERT_EQ_INT(o->db, 0);
    KT_ASSERT_EQ_STR(o->key_prefix, "kt:");
    KT_ASSERT_EQ_INT(o->on_unavailable, KT_UNAVAIL_LOCAL);   /* the documented default */
    KT_ASSERT_EQ_INT(o->timeout_ms, 250);
    KT_ASSERT(o->password_source == KT_KEY_NONE);
    kt_config_release(&c);
    KT_ASSERT_EQ_INT(parse("gateway:\n  listen_port: 1\n", &c), KT_OK);
    KT_ASSERT(!c->gateway.shared_state.redis);
    kt_config_release(&c);
}

static const char seed001_sidecar[] =
    "gateway:\n"
    "  listen_port: 41002\n"
    "  mode: local\n"
    "providers:\n"
    "  targets:\n"
    "    - id: openai\n"
    "      provider:\n"
    "        base_url: https://api.openai.com/v1\n"
    "        secret_key_ref:\n"
    "          env: OPENAI_API_KEY\n"
    "policies:\n"
    "  - name: pii-redaction\n"
    "    type: output_filter\n"
    "    action: redact\n"
    "    patterns:\n"
    "      - email\n"
    "      - phone\n"
    "      - ssn\n";

KT_TEST(seed001_sidecar_form_a)
{
    kt_config *c = NULL;
    int rc = parse(seed001_sidecar, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_STR(c->gateway.listen, "127.0.0.1:41002");
    KT_ASSERT_EQ_INT(c->ntargets, 1);
    KT_ASSERT_EQ_STR(c->targets[0].id, "openai");
    KT_ASSERT_EQ_INT(c->targets[0].provider, KT_PROVIDER_OPENAI);
    KT_ASSERT_EQ_STR(c->targets[0].path_prefix, "");
    KT_ASSERT_EQ_STR(c->targets[0].key, "sk-test-openai");
    KT_ASSERT_EQ_INT(c->nchain, 1);
    KT_ASSERT_EQ_STR(c->chain[0].name, "pii-redaction");
    KT_ASSERT_EQ_STR(c->chain[0].kind, "pii-detector");
    KT_ASSERT(c->chain[0].output);
    KT_ASSERT(!c->chain[0].input);
    KT_ASSERT_EQ_STR(opt(&c->chain[0], "action"), "redact");
    const kt_ynode *pat = kt_ymap_get(c->chain[0].options, "patterns");
    KT_ASSERT(pat && pat->n == 3);
    KT_ASSERT_EQ_STR(c->pack_name, "default");
    KT_ASSERT_EQ_STR(c->pack_version, "0.0.0");
    kt_config_release(&c);
}

KT_TEST(seed001_reverse_proxy_form_a)
{
    const char *src =
        "gateway:\n"
        "  listen_port: 41002\n"
        "providers:\n"
        "  targets:\n"
        "    - id: openai\n"
        "      provider:\n"
        "        base_url: https://api.openai.com/v1\n"
        "        secret_key_ref:\n"
        "          store: OPENAI_API_KEY\n"
        "    - id: anthropic\n"
        "      provider:\n"
        "        base_url: https://api.anthropic.com/v1\n"
        "        secret_key_ref:\n"
        "          store: ANTHROPIC_API_KEY\n"
        "policies:\n"
        "  - name: global-safety\n"
        "    type: content_filter\n"
        "    action: block\n"
        "    categories:\n"
        "      - hate\n"
        "      - violence\n"
        "      - self_harm\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_INT(c->ntargets, 2);
    KT_ASSERT_EQ_INT(c->targets[0].key_source, KT_KEY_STORE);
    KT_ASSERT_EQ_STR(c->targets[0].key, "sk-test-openai");
    KT_ASSERT_EQ_INT(c->targets[1].provider, KT_PROVIDER_ANTHROPIC);
    KT_ASSERT_EQ_STR(c->targets[1].host, "api.anthropic.com");
    KT_ASSERT_EQ_STR(c->targets[1].anthropic_version, "2023-06-01");
    KT_ASSERT_EQ_STR(c->targets[1].key, "sk-ant-test");
    KT_ASSERT_EQ_INT(c->nchain, 1);
    KT_ASSERT_EQ_STR(c->chain[0].name, "global-safety");
    KT_ASSERT_EQ_STR(c->chain[0].kind, "safety-filter");
    KT_ASSERT(c->chain[0].input && c->chain[0].output);
    kt_config_release(&c);
}

KT_TEST(seed001_env_providers_pack_azure)
{
    const char *src =
        "pack:\n"
        "  name: architecture-patterns-providers-3\n"
        "  version: 1.0.0\n"
        "  enabled: true\n"
        "providers:\n"
        "  targets:\n"
        "    - id: openai\n"
        "      provider:\n"
        "        base_url: \"${OPENAI_BASE_URL:-https://api.openai.com/v1}\"\n"
        "        secret_key_ref:\n"
        "          env: OPENAI_API_KEY\n"
        "    - id: azure-openai\n"
        "      provider:\n"
        "        base_url: \"${AZURE_OPENAI_ENDPOINT}/openai/deployments\"\n"
        "        secret_key_ref:\n"
        "          env: AZURE_OPENAI_KEY\n"
        "policies:\n"
        "  chain:\n"
        "    - audit-logger\n"
        "policy:\n"
        "  audit-logger:\n"
        "    immutable: true\n"
        "    retention_days: 365\n"
        "    log_all_access: true\n"
        "gateway:\n"
        "  config_reload: true\n"
        "  config_poll_interval: 60s\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_INT(c->ntargets, 2);
    KT_ASSERT_EQ_STR(c->targets[0].base_url, "https://api.openai.com/v1");
    KT_ASSERT_EQ_STR(c->targets[0].path_prefix, "");
    const kt_target *az = &c->targets[1];
    KT_ASSERT_EQ_INT(az->provider, KT_PROVIDER_AZURE);
    KT_ASSERT_EQ_STR(az->base_url, "https://contoso.openai.azure.com/openai/deployments");
    KT_ASSERT_EQ_STR(az->host, "contoso.openai.azure.com");
    /* the docs' form: kt adds /openai/deployments/<deployment> itself, never twice */
    KT_ASSERT_EQ_STR(az->path_prefix, "");
    KT_ASSERT_EQ_STR(az->api_version, "2024-06-01");
    KT_ASSERT(az->deployment == NULL);   /* no model, no deployment */
    KT_ASSERT_EQ_STR(az->key, "az-key");
    KT_ASSERT_EQ_INT(c->nchain, 1);
    KT_ASSERT_EQ_STR(opt(&c->chain[0], "immutable"), "true");
    KT_ASSERT(c->gateway.config_reload);
    KT_ASSERT_EQ_INT(c->gateway.config_poll_interval_ms, 60000);
    kt_config_release(&c);
}

static const char seed000_form_b[] =
    "gateway:\n"
    "  port: 41002\n"
    "  secret_key_ref:\n"
    "    env: OPENAI_API_KEY\n"
    "policies:\n"
    "  - name: default\n"
    "    input:\n"
    "      - type: content_safety\n"
    "        action: block\n"
    "        categories: [hate, violence, self_harm, sexual]\n"
    "      - type: pii_detection\n"
    "        action: redact\n"
    "        entities: [ssn, credit_card]\n";

KT_TEST(seed000_form_b_with_default_target)
{
    kt_config *c = NULL;
    int rc = parse(seed000_form_b, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_STR(c->gateway.listen, "127.0.0.1:41002");
    KT_ASSERT_EQ_INT(c->ntargets, 1);
    const kt_target *t = &c->targets[0];
    KT_ASSERT_EQ_STR(t->id, "openai");
    KT_ASSERT_EQ_STR(t->base_url, "https://api.openai.com/v1");
    KT_ASSERT_EQ_STR(t->key_ref, "OPENAI_API_KEY");
    KT_ASSERT_EQ_STR(t->key, "sk-test-openai");
    KT_ASSERT_EQ_INT(c->nchain, 2);
    KT_ASSERT_EQ_STR(c->chain[0].name, "default/input/content_safety");
    KT_ASSERT_EQ_STR(c->chain[0].kind, "safety-filter");
    KT_ASSERT(c->chain[0].input && !c->chain[0].output);
    KT_ASSERT_EQ_STR(opt(&c->chain[0], "action"), "block");
    KT_ASSERT_EQ_STR(c->chain[1].name, "default/input/pii_detection");
    KT_ASSERT_EQ_STR(c->chain[1].kind, "pii-detector");
    KT_ASSERT_EQ_INT(kt_ymap_get(c->chain[1].options, "entities")->n, 2);
    kt_config_release(&c);
}

KT_TEST(form_b_input_and_output)
{
    const char *src =
        "gateway:\n"
        "  listen: 0.0.0.0:9000\n"
        "policies:\n"
        "  - name: strict\n"
        "    input:\n"
        "      - type: prompt_injection\n"
        "        action: block\n"
        "      - type: pii_detection\n"
        "        entities: [email]\n"
        "    output:\n"
        "      - type: pii_detection\n"
        "        action: redact\n"
        "        entities: [email, phone]\n"
        "      - type: secrets\n"
        "        action: redact\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_STR(c->gateway.listen, "0.0.0.0:9000");
    KT_ASSERT_EQ_INT(c->nchain, 4);
    KT_ASSERT_EQ_STR(c->chain[0].kind, "prompt-injection");
    KT_ASSERT(c->chain[0].input && !c->chain[0].output);
    KT_ASSERT_EQ_STR(c->chain[1].name, "strict/input/pii_detection");
    KT_ASSERT_EQ_STR(c->chain[2].name, "strict/output/pii_detection");
    KT_ASSERT(!c->chain[2].input && c->chain[2].output);
    KT_ASSERT_EQ_STR(c->chain[3].kind, "dlp-filter");
    KT_ASSERT(c->chain[3].output);
    kt_config_release(&c);
}

KT_TEST(form_a_input_filter_is_input_only)
{
    const char *src =
        "policies:\n"
        "  - name: no-pii-in\n"
        "    type: input_filter\n"
        "    action: block\n"
        "    patterns: [credit_card, iban]\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_INT(c->nchain, 1);
    KT_ASSERT(c->chain[0].input && !c->chain[0].output);
    KT_ASSERT_EQ_INT(c->ntargets, 1);   /* no providers: the default target */
    KT_ASSERT_EQ_STR(c->targets[0].id, "openai");
    kt_config_release(&c);
}

KT_TEST(form_a_errors)
{
    const char *src =
        "policies:\n"
        "  - name: a\n"
        "    type: output_filter\n"
        "    patterns: [email, passport]\n"
        "  - name: b\n"
        "    type: content_filter\n"
        "    categories: [hate, gambling]\n"
        "  - name: c\n"
        "    type: regex_filter\n"
        "  - name: d\n"
        "    type: output_filter\n"
        "  - name: a\n"
        "    type: content_filter\n"
        "    categories: [hate]\n"
        "    threshold: 3\n"
        "  - type: content_filter\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    KT_ASSERT_EQ_INT(rc, KT_EINVAL);
    ASSERT_DIAG(4, 23, "unknown PII entity 'passport' in policies[0].patterns");
    ASSERT_DIAG(7, 24, "unknown category 'gambling'");
    ASSERT_DIAG(9, 11, "unknown policy type 'regex_filter'");
    ASSERT_DIAG(10, 5, "needs 'patterns'");
    ASSERT_DIAG(12, 5, "duplicate policy 'a'");
    ASSERT_DIAG(15, 5, "unknown key 'threshold' in policies[4]");
    ASSERT_DIAG(16, 5, "missing required key 'name' in policies[5]");
}

KT_TEST(form_b_errors)
{
    const char *src =
        "policies:\n"
        "  - name: x\n"
        "    input:\n"
        "      - type: toxicity\n"
        "      - type: pii_detection\n"
        "        entities: [dna]\n"
        "        categories: [hate]\n"
        "      - action: block\n"
        "    output: {type: pii_detection}\n"
        "  - name: y\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    KT_ASSERT_EQ_INT(rc, KT_EINVAL);
    ASSERT_DIAG(4, 15, "unknown check type 'toxicity'");
    ASSERT_DIAG(6, 20, "unknown PII entity 'dna'");
    ASSERT_DIAG(7, 9, "categories applies only to type content_safety");
    ASSERT_DIAG(8, 9, "missing required key 'type' in policies[0].input[2]");
    ASSERT_DIAG(9, 13, "expected a sequence for policies[0].output, got a mapping");
    ASSERT_DIAG(10, 5, "needs either 'type'");
}

KT_TEST(list_policies_with_policy_key)
{
    const char *src =
        "policies:\n"
        "  - name: a\n"
        "    type: content_filter\n"
        "    categories: [hate]\n"
        "policy:\n"
        "  pii-detector: {}\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(5, 1, "'policy' goes with the pack form");
}

/* ---- the default ------------------------------------------------------------------------ */

KT_TEST(embedded_default)
{
    kt_config *c = NULL;
    kt_diag_init(&D, NULL);
    int rc = kt_config_default(ENV(), &c, &D);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_STR(c->source, "embedded-default");
    /* Governance without a file: PII and secrets redacted in both directions. */
    KT_ASSERT_EQ_INT(c->nchain, 2);
    KT_ASSERT_EQ_STR(c->chain[0].kind, "pii-detector");
    KT_ASSERT_EQ_STR(c->chain[1].kind, "dlp-filter");
    KT_ASSERT_EQ_INT(c->ntargets, 1);
    const kt_target *t = &c->targets[0];
    KT_ASSERT_EQ_STR(t->id, "openai");
    KT_ASSERT_EQ_INT(t->provider, KT_PROVIDER_OPENAI);
    KT_ASSERT_EQ_STR(t->base_url, "https://api.openai.com/v1");
    KT_ASSERT_EQ_STR(t->host, "api.openai.com");
    KT_ASSERT_EQ_INT(t->port, 443);
    KT_ASSERT_EQ_INT(t->key_source, KT_KEY_ENV);
    KT_ASSERT_EQ_STR(t->key, "sk-test-openai");
    KT_ASSERT_EQ_STR(c->pack_name, "embedded-default");
    KT_ASSERT_EQ_INT(c->gateway.limits.max_body_bytes, 8 * 1024 * 1024);
    kt_config_release(&c);
}

KT_TEST(default_honours_openai_base_url_and_missing_key)
{
    kv env[] = { { "OPENAI_BASE_URL", "http://127.0.0.1:8080/v1/" }, { NULL, NULL } };
    kt_config *c = NULL;
    kt_diag_init(&D, NULL);
    int rc = kt_config_default(env_of(env), &c, &D);
    ASSERT_OK(rc);
    if (!c) return;
    const kt_target *t = &c->targets[0];
    KT_ASSERT(!t->tls);
    KT_ASSERT_EQ_STR(t->host, "127.0.0.1");
    KT_ASSERT_EQ_INT(t->port, 8080);
    KT_ASSERT_EQ_STR(t->path_prefix, "");
    KT_ASSERT(t->key == NULL);
    KT_ASSERT_EQ_STR(t->key_error, "env OPENAI_API_KEY is not set");
    kt_config_release(&c);

    kv bad[] = { { "OPENAI_BASE_URL", "ftp://x" }, { NULL, NULL } };
    kt_diag_init(&D, NULL);
    KT_ASSERT_EQ_INT(kt_config_default(env_of(bad), &c, &D), KT_EINVAL);
    ASSERT_DIAG(0, 0, "OPENAI_BASE_URL (the default target's base_url): URL must start with");
    char *big = malloc(70000);
    memset(big, 'h', 69999);
    big[69999] = '\0';
    bad[0].v = big;
    kt_diag_init(&D, NULL);
    KT_ASSERT_EQ_INT(kt_config_default(env_of(bad), &c, &D), KT_EINVAL);   /* not ENOMEM */
    ASSERT_DIAG(0, 0, "longer than");
    free(big);
}

/* ---- expansion --------------------------------------------------------------------------- */

static char *expand(const char *in, char *err)
{
    return kt_expand_vars(in, ENV(), err, 160);
}

KT_TEST(expand_vars_cases)
{
    char err[160];
    static const struct { const char *in, *out; } cases[] = {
        { "plain", "plain" },
        { "${PORT}", "8443" },
        { "a${PORT}b", "a8443b" },
        { "${UNSET:-fallback}", "fallback" },
        { "${PORT:-1}", "8443" },
        { "${EMPTY:-used}", "used" },   /* :- also covers an empty value, as in sh */
        { "${EMPTY}", "" },
        { "${UNSET:-}", "" },
        { "$$", "$" },
        { "$${PORT}", "${PORT}" },
        { "cost $5", "cost $5" },
        { "end$", "end$" },
        { "${UNSET:-a:-b}", "a:-b" },
        { "${UNSET:-http://x:1/}", "http://x:1/" },
        { "", "" },
    };
    for (size_t i = 0; i < KT_ARRAY_LEN(cases); i++) {
        char *v = expand(cases[i].in, err);
        KT_ASSERT_EQ_STR(v, cases[i].out);
        free(v);
    }
}

KT_TEST(expand_vars_errors)
{
    char err[160];
    KT_ASSERT(expand("${NOPE}", err) == NULL);
    KT_ASSERT(strstr(err, "variable NOPE is not set") != NULL);
    KT_ASSERT(expand("x ${PORT", err) == NULL);
    KT_ASSERT(strstr(err, "unterminated") != NULL);
    KT_ASSERT(expand("${}", err) == NULL);
    KT_ASSERT(strstr(err, "invalid variable name") != NULL);
    KT_ASSERT(expand("${1A}", err) == NULL);
    KT_ASSERT(expand("${A B}", err) == NULL);
    KT_ASSERT(expand("${A:default}", err) == NULL);
    KT_ASSERT(strstr(err, "invalid variable name") != NULL);
    /* a value that would exceed the cap */
    char *big = malloc(70000);
    memset(big, 'x', 69999);
    big[69999] = '\0';
    kv env[] = { { "BIG", big }, { NULL, NULL } };
    KT_ASSERT(kt_expand_vars("${BIG}", env_of(env), err, sizeof err) == NULL);
    KT_ASSERT(strstr(err, "longer than") != NULL);
    free(big);
}

KT_TEST(expansion_in_config_values)
{
    const char *src =
        "gateway:\n"
        "  listen_port: ${PORT}\n"
        "  max_body_bytes: \"${BODY:-1MiB}\"\n"
        "providers:\n"
        "  targets:\n"
        "    - id: local\n"
        "      model: 'gpt-$$5'\n"
        "      base_url: http://localhost:${PORT}/v1\n"
        "      secret_key_ref: {env: OPENAI_API_KEY}\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_STR(c->gateway.listen, "127.0.0.1:8443");
    KT_ASSERT_EQ_INT(c->gateway.limits.max_body_bytes, 1024 * 1024);
    KT_ASSERT_EQ_STR(c->targets[0].model, "gpt-$5");
    KT_ASSERT_EQ_INT(c->targets[0].port, 8443);
    KT_ASSERT_EQ_STR(c->targets[0].base_url, "http://localhost:8443/v1");
    kt_config_release(&c);
}

KT_TEST(expansion_unset_variable_position)
{
    const char *src =
        "providers:\n"
        "  targets:\n"
        "    - id: a\n"
        "      base_url: \"${MISSING_URL}/v1\"\n"
        "      secret_key_ref: {env: OPENAI_API_KEY}\n"
        "policy:\n"
        "  pii-detector:\n"
        "    note: x ${ALSO_MISSING}\n"
        "policies: {chain: [pii-detector]}\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(4, 17, "variable MISSING_URL is not set");
    ASSERT_DIAG(8, 11, "variable ALSO_MISSING is not set");
    /* pii-detector checks its own options: `note` is not one of them. */
    ASSERT_DIAG(8, 5, "unknown key 'note' in the options of policy 'pii-detector'");
    KT_ASSERT_EQ_INT(D.count, 3);   /* no second error about the unexpanded base_url */
}

KT_TEST(keys_are_not_expanded)
{
    const char *src = "gateway:\n  ${X}: 1\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(2, 3, "unknown key '${X}' in gateway");
}

KT_TEST(expanded_values_never_echoed)
{
    const char *src =
        "gateway:\n"
        "  mode: ${OPENAI_API_KEY}\n"
        "policies:\n"
        "  chain: [\"${OPENAI_API_KEY}\"]\n"
        "providers:\n"
        "  targets:\n"
        "    - id: a\n"
        "      provider: ${OPENAI_API_KEY}\n"
        "      base_url: https://x\n"
        "      secret_key_ref: {env: A}\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(2, 9, "unknown gateway.mode (a value from ${...}, not shown)");
    ASSERT_DIAG(4, 11, "unknown policy kind (a value from ${...}, not shown)");
    ASSERT_DIAG(8, 17, "unknown provider (a value from ${...}, not shown)");
    for (int i = 0; i < D.count; i++) KT_ASSERT(strstr(D.items[i].msg, "sk-test") == NULL);
    /* written literally, the value is quoted back */
    KT_ASSERT_EQ_INT(parse("gateway: {mode: turbo}\n", &c), KT_EINVAL);
    ASSERT_DIAG(1, 17, "unknown gateway.mode 'turbo'");
}

/* ---- URLs ------------------------------------------------------------------------------- */

KT_TEST(url_table)
{
    static const struct {
        const char *url;
        int tls;
        const char *host;
        int port;
        const char *path;
    } cases[] = {
        { "https://api.openai.com/v1", 1, "api.openai.com", 443, "" },
        { "https://api.openai.com/v1/", 1, "api.openai.com", 443, "" },
        { "https://api.openai.com", 1, "api.openai.com", 443, "" },
        { "https://api.openai.com/", 1, "api.openai.com", 443, "" },
        { "http://localhost:8080/v1", 0, "localhost", 8080, "" },
        { "HTTP://Example.COM:1/", 0, "Example.COM", 1, "" },
        { "https://[::1]:8443/v1", 1, "::1", 8443, "" },
        { "http://[2001:db8::7]/x", 0, "2001:db8::7", 80, "/x" },
        { "https://gw.example/proxy/openai/v1", 1, "gw.example", 443, "/proxy/openai" },
        { "https://gw.example/proxy/v1beta", 1, "gw.example", 443, "/proxy/v1beta" },
        { "https://gw.example/openai/deployments/", 1, "gw.example", 443, "/openai/deployments" },
        { "https://gw.example:65535", 1, "gw.example", 65535, "" },
    };
    for (size_t i = 0; i < KT_ARRAY_LEN(cases); i++) {
        kt_url_parts u;
        char err[128];
        int rc = kt_url_parse(cases[i].url, true, &u, err, sizeof err);
        KT_ASSERT_EQ_INT(rc, 0);
        if (rc) {
            printf("#   %s: %s\n", cases[i].url, err);
            continue;
        }
        KT_ASSERT_EQ_INT(u.tls, cases[i].tls);
        KT_ASSERT_EQ_STR(u.host, cases[i].host);
        KT_ASSERT_EQ_INT(u.port, cases[i].port);
        KT_ASSERT_EQ_STR(u.path, cases[i].path);
        kt_url_parts_free(&u);
    }
    kt_url_parts u;
    KT_ASSERT_EQ_INT(kt_url_parse("https://x/v1/", false, &u, NULL, 0), 0);
    KT_ASSERT_EQ_STR(u.path, "/v1");   /* without strip_v1 only the slash goes */
    kt_url_parts_free(&u);
}

KT_TEST(url_errors)
{
    static const struct { const char *url, *msg; } cases[] = {
        { "ftp://x", "http:// or https://" },
        { "api.openai.com/v1", "http:// or https://" },
        { "https://", "no host" },
        { "https:///v1", "no host" },
        { "https://:443/", "no host" },
        { "https://x:0", "port" },
        { "https://x:65536", "port" },
        { "https://x:", "port" },
        { "https://x:12a", "port" },
        { "https://user:pw@x/", "user info" },
        { "https://x/v1?a=b", "query" },
        { "https://x/#f", "query or fragment" },
        { "https://[::1/", "IPv6" },
        { "https://[zz::1]/", "IPv6" },
        { "https://[::1]x/", "IPv6" },
        { "https://exa mple/", "invalid character" },
        { "https://x/a b", "invalid character in URL path" },
    };
    for (size_t i = 0; i < KT_ARRAY_LEN(cases); i++) {
        kt_url_parts u;
        char err[128];
        int rc = kt_url_parse(cases[i].url, true, &u, err, sizeof err);
        KT_ASSERT_EQ_INT(rc, KT_EINVAL);
        if (!strstr(err, cases[i].msg)) KT_FAILF("%s: \"%s\"", cases[i].url, err);
        KT_ASSERT(u.host == NULL && u.path == NULL);
    }
}

KT_TEST(base_url_error_position_without_secret)
{
    const char *src =
        "providers:\n"
        "  targets:\n"
        "    - id: a\n"
        "      base_url: https://bob:hunter2@api.example.com/v1\n"
        "      secret_key_ref: {env: OPENAI_API_KEY}\n"
        "    - id: b\n"
        "      base_url: gopher://x\n"
        "      secret_key_ref: {env: OPENAI_API_KEY}\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(4, 17, "providers.targets[0].base_url: URL must not contain user info");
    ASSERT_DIAG(7, 17, "providers.targets[1].base_url: URL must start with http:// or https://");
    for (int i = 0; i < D.count; i++) KT_ASSERT(strstr(D.items[i].msg, "hunter2") == NULL);
}

/* ---- structural errors -------------------------------------------------------------------- */

KT_TEST(duplicate_keys)
{
    const char *src =
        "pack:\n"
        "  name: a\n"
        "  name: b\n"
        "policies:\n"
        "  chain: [pii-detector]\n"
        "policy:\n"
        "  pii-detector:\n"
        "    action: redact\n"
        "    action: block\n"
        "pack: {}\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(3, 3, "duplicate key 'name' (first at line 2, column 3)");
    ASSERT_DIAG(9, 5, "duplicate key 'action' (first at line 8, column 5)");
    ASSERT_DIAG(10, 1, "duplicate key 'pack'");
}

KT_TEST(unknown_keys_everywhere)
{
    const char *src =
        "pack: {name: x, owner: me}\n"
        "extra: 1\n"
        "gateway:\n"
        "  listen_prot: 1\n"
        "policies:\n"
        "  chain: []\n"
        "  order: 1\n"
        "providers:\n"
        "  targets:\n"
        "    - id: a\n"
        "      foo: 1\n"
        "      base_url: https://x\n"
        "      secret_key_ref: {env: A, hint: b}\n"
        "    - id: b\n"
        "      provider: {base_url: https://y, secret_key_ref: {env: A}, region: eu}\n"
        "  default: a\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(1, 17, "unknown key 'owner' in pack");
    ASSERT_DIAG(2, 1, "unknown key 'extra' in the top level");
    ASSERT_DIAG(4, 3, "unknown key 'listen_prot' in gateway");
    ASSERT_DIAG(7, 3, "unknown key 'order' in policies (known: chain)");
    ASSERT_DIAG(11, 7, "unknown key 'foo' in providers.targets[0] (known: id, provider,");
    ASSERT_DIAG(13, 32, "unknown key 'hint' in providers.targets[0].secret_key_ref");
    ASSERT_DIAG(15, 65, "unknown key 'region' in providers.targets[1].provider");
    ASSERT_DIAG(16, 3, "unknown key 'default' in providers");
    KT_ASSERT_EQ_INT(D.count, 8);
}

KT_TEST(wrong_types)
{
    const char *src =
        "pack: [a]\n"
        "gateway:\n"
        "  config_reload: yes\n"
        "  max_headers: lots\n"
        "  listen: {host: x}\n"
        "policies:\n"
        "  chain: pii-detector\n"
        "providers:\n"
        "  targets:\n"
        "    - just-a-string\n"
        "    - id: [x]\n"
        "      base_url: https://x\n"
        "      secret_key_ref: OPENAI_API_KEY\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(1, 7, "expected a mapping for pack, got a sequence");
    ASSERT_DIAG(3, 18, "expected a boolean (true|false) for gateway.config_reload");
    ASSERT_DIAG(4, 16, "expected an integer for gateway.max_headers");
    ASSERT_DIAG(5, 11, "expected a string for gateway.listen, got a mapping");
    ASSERT_DIAG(7, 10, "expected a sequence for policies.chain, got a scalar");
    ASSERT_DIAG(10, 7, "expected a mapping for providers.targets[0], got a scalar");
    ASSERT_DIAG(11, 11, "expected a string for providers.targets[1].id, got a sequence");
    ASSERT_DIAG(13, 23, "expected a mapping for providers.targets[1].secret_key_ref");
}

KT_TEST(root_must_be_mapping)
{
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse("- a\n- b\n", &c), KT_EINVAL);
    ASSERT_DIAG(1, 1, "expected a mapping at the top level, got a sequence");
    KT_ASSERT_EQ_INT(parse("", &c), KT_EINVAL);
    ASSERT_DIAG(1, 1, "the config is empty");
    KT_ASSERT_EQ_INT(parse("# nothing\n~\n", &c), KT_EINVAL);
    ASSERT_DIAG(1, 1, "the config is empty");
    KT_ASSERT_EQ_INT(parse("just text\n", &c), KT_EINVAL);
    ASSERT_DIAG(1, 1, "expected a mapping at the top level, got a scalar");
}

KT_TEST(yaml_errors_reach_diag)
{
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse("pack:\n  name: &n x\n", &c), KT_EINVAL);
    ASSERT_DIAG(2, 9, "YAML anchors are not supported");
    KT_ASSERT_EQ_INT(parse("pack: {name: x\n", &c), KT_EINVAL);
    KT_ASSERT(D.count == 1 && strstr(D.items[0].msg, "YAML syntax error"));
    KT_ASSERT_EQ_INT(parse("a: 1\n---\nb: 2\n", &c), KT_EINVAL);
    ASSERT_DIAG(2, 1, "multiple YAML documents");
    KT_ASSERT_EQ_INT(parse("pack: {name: \"a\\0b\"}\n", &c), KT_EINVAL);
    ASSERT_DIAG(1, 14, "NUL character in value");
}

KT_TEST(many_errors_collected)
{
    /* 40 unknown keys: all counted, the first KT_DIAG_MAX kept */
    char src[2000];
    size_t n = 0;
    n += (size_t)snprintf(src + n, sizeof src - n, "gateway:\n");
    for (int i = 0; i < 40; i++) n += (size_t)snprintf(src + n, sizeof src - n, "  k%d: 1\n", i);
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    KT_ASSERT_EQ_INT(D.count, 40);
    ASSERT_DIAG(2, 3, "unknown key 'k0' in gateway");
    ASSERT_DIAG(33, 3, "unknown key 'k31' in gateway");
    FILE *f = tmpfile();
    kt_diag_print(&D, f);
    rewind(f);
    char line[2000];   /* each names every valid key of gateway */
    int lines = 0;
    char first[2000] = "", last[2000] = "";
    while (fgets(line, sizeof line, f)) {
        if (!lines) snprintf(first, sizeof first, "%s", line);
        snprintf(last, sizeof last, "%s", line);
        lines++;
    }
    fclose(f);
    KT_ASSERT_EQ_INT(lines, KT_DIAG_MAX + 1);
    KT_ASSERT(strncmp(first, "test.yaml:2:3: unknown key 'k0' in gateway", 42) == 0);
    KT_ASSERT_EQ_STR(last, "test.yaml: 8 more problems not shown\n");
}

KT_TEST(diag_print_format)
{
    kt_diag d;
    kt_diag_init(&d, "cfg/policy-config.yaml");
    kt_diag_add(&d, 3, 7, "bad %s", "thing");
    kt_diag_add(&d, 0, 0, "cannot read config: %s", "No such file or directory");
    char buf[400] = "";
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    kt_diag_print(&d, f);
    fclose(f);
    /* No ":0:0:" for a problem without a position (a missing file). */
    KT_ASSERT_EQ_STR(buf, "cfg/policy-config.yaml:3:7: bad thing\n"
                          "cfg/policy-config.yaml: cannot read config: No such file or "
                          "directory\n");
}

/* ---- policies ----------------------------------------------------------------------------- */

KT_TEST(policy_not_in_chain)
{
    /* A warning, not an error: an edit that adds options before the chain entry must load. */
    const char *src =
        "policies:\n"
        "  chain: [audit-logger]\n"
        "policy:\n"
        "  audit-logger: {retention_days: 1}\n"
        "  pii-detector:\n"
        "    action: redact\n";
    kt_config *c = NULL;
    ASSERT_OK(parse(src, &c));
    if (!c) return;
    KT_ASSERT_EQ_INT(c->nchain, 1);
    KT_ASSERT_EQ_INT(c->warnings->count, 1);
    KT_ASSERT_EQ_INT(c->warnings->items[0].line, 5);
    KT_ASSERT(strstr(c->warnings->items[0].msg,
                     "policy 'pii-detector' is configured but not in policies.chain") != NULL);
    kt_config_release(&c);
    ASSERT_OK(parse("policy:\n  dlp-filter: {}\n", &c));
    if (!c) return;
    KT_ASSERT_EQ_INT(c->nchain, 0);
    KT_ASSERT_EQ_INT(c->warnings->count, 1);
    kt_config_release(&c);
    /* Without warnings the snapshot keeps no 24 KiB diagnostics (issue 17's idle budget). */
    ASSERT_OK(parse("policies:\n  chain: [pii-detector]\n", &c));
    if (!c) return;
    KT_ASSERT(c->warnings == NULL);
    kt_config_log_warnings(c);   /* logs nothing, and copes with the NULL */
    kt_config_release(&c);
}

KT_TEST(fail_mode_per_policy)
{
    kt_config *c = NULL;
    /* gateway open, no override: both directions open */
    ASSERT_OK(parse("gateway: {fail_mode: open}\npolicies:\n  chain: [pii-detector, "
                    "prompt-injection]\n", &c));
    if (!c) return;
    KT_ASSERT(c->fail_open_input && c->fail_open_output);
    kt_config_release(&c);
    /* an input-only policy that insists on closed closes the input side only */
    ASSERT_OK(parse("gateway: {fail_mode: open}\npolicies:\n  chain: [pii-detector, "
                    "prompt-injection]\npolicy:\n  prompt-injection: {fail_mode: closed}\n", &c));
    if (!c) return;
    KT_ASSERT(!c->fail_open_input && c->fail_open_output);
    kt_config_release(&c);
    /* gateway closed: a direction opens only when every policy reading it says open */
    ASSERT_OK(parse("policies:\n  chain: [pii-detector, prompt-injection]\npolicy:\n"
                    "  pii-detector: {fail_mode: open}\n", &c));
    if (!c) return;
    KT_ASSERT(!c->fail_open_input && c->fail_open_output);
    kt_config_release(&c);
    KT_ASSERT_EQ_INT(parse("policies:\n  chain: [pii-detector]\npolicy:\n"
                           "  pii-detector: {fail_mode: maybe}\n", &c), KT_EINVAL);
    ASSERT_DIAG(4, 29, "unknown fail_mode 'maybe' for policy 'pii-detector' (known: closed, open)");
}

KT_TEST(pack_disabled_is_a_warning)
{
    kt_config *c = NULL;
    ASSERT_OK(parse("pack: {name: p, version: '1', enabled: false}\npolicies:\n  chain: "
                    "[pii-detector]\n", &c));
    if (!c) return;
    KT_ASSERT_EQ_INT(c->nchain, 0);
    KT_ASSERT_EQ_INT(c->warnings->count, 1);
    KT_ASSERT(strstr(c->warnings->items[0].msg, "pack.enabled is false") != NULL);
    kt_config_release(&c);
}

KT_TEST(one_problem_reported_once)
{
    /* The shorthand checks its list, then pii-detector reads the same list: one report. */
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse("policies:\n  - name: out\n    type: output_filter\n"
                           "    patterns: [email, api_key]\n", &c), KT_EINVAL);
    ASSERT_DIAG(4, 23, "unknown PII entity 'api_key'");
    KT_ASSERT_EQ_INT(D.count, 1);
}

KT_TEST(unknown_gateway_key_lists_the_valid_ones)
{
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse("gateway:\n  bogus: 1\n", &c), KT_EINVAL);
    ASSERT_DIAG(2, 3, "unknown key 'bogus' in gateway (known: listen, listen_port, port, "
                      "ops_listen,");
    ASSERT_DIAG(2, 3, "drain_period, shutdown_deadline, max_response_buffer)");
}

KT_TEST(policies_scalar)
{
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse("pack: {}\npolicies: pii-detector\n", &c), KT_EINVAL);
    ASSERT_DIAG(2, 11, "expected a mapping (policies: {chain: [...]}) or a sequence");
    ASSERT_OK(parse("policies:\n", &c));   /* empty: no policies */
    KT_ASSERT(c && c->nchain == 0);
    kt_config_release(&c);
}

KT_TEST(duplicate_chain_entry)
{
    const char *src =
        "policies:\n"
        "  chain:\n"
        "    - safety-filter\n"
        "    - dlp-filter\n"
        "    - safety-filter\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(5, 7, "duplicate policy 'safety-filter' in the chain");
}

KT_TEST(chain_without_options_and_null_options)
{
    const char *src =
        "policies:\n"
        "  chain: [prompt-injection, dlp-filter, safety-filter]\n"
        "policy:\n"
        "  dlp-filter:\n"
        "  safety-filter: {}\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_INT(c->nchain, 3);
    KT_ASSERT(c->chain[0].options == NULL);
    KT_ASSERT(c->chain[1].options == NULL);
    KT_ASSERT(c->chain[2].options != NULL && c->chain[2].options->type == KT_Y_MAP);
    KT_ASSERT_EQ_STR(c->chain[2].kind, "safety-filter");
    kt_config_release(&c);

    KT_ASSERT_EQ_INT(parse("policies: {chain: [dlp-filter]}\npolicy: {dlp-filter: [a]}\n", &c),
                     KT_EINVAL);
    ASSERT_DIAG(2, 22, "expected a mapping for policy.dlp-filter, got a sequence");
}

KT_TEST(pack_disabled_leaves_chain_empty)
{
    const char *src =
        "pack: {name: p, enabled: false}\n"
        "policies: {chain: [pii-detector]}\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT(!c->pack_enabled);
    KT_ASSERT_EQ_INT(c->nchain, 0);
    kt_config_release(&c);
    KT_ASSERT_EQ_INT(parse("pack: {enabled: no}\n", &c), KT_EINVAL);
    ASSERT_DIAG(1, 17, "expected a boolean (true|false) for pack.enabled");
}

/* ---- targets ------------------------------------------------------------------------------ */

KT_TEST(target_fields_and_provider_defaults)
{
    const char *src =
        "providers:\n"
        "  targets:\n"
        "    - id: claude\n"
        "      provider: anthropic\n"
        "      model: claude-3-5-sonnet\n"
        "      base_url: https://api.anthropic.com\n"
        "      anthropic_version: 2024-01-01\n"
        "      secret_key_ref: {env: ANTHROPIC_API_KEY}\n"
        "    - id: az\n"
        "      provider: azure-openai\n"
        "      model: gpt-4o\n"
        "      base_url: https://contoso.openai.azure.com/\n"
        "      secret_key_ref: {env: AZURE_OPENAI_KEY}\n"
        "    - id: az2\n"
        "      provider: azure-openai\n"
        "      model: gpt-4o\n"
        "      deployment: prod-4o\n"
        "      api_version: 2024-10-21\n"
        "      base_url: https://contoso.openai.azure.com/\n"
        "      secret_key_ref: {env: AZURE_OPENAI_KEY}\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_INT(c->ntargets, 3);
    KT_ASSERT_EQ_INT(c->targets[0].provider, KT_PROVIDER_ANTHROPIC);
    KT_ASSERT_EQ_STR(c->targets[0].anthropic_version, "2024-01-01");
    KT_ASSERT_EQ_INT(c->targets[1].provider, KT_PROVIDER_AZURE);
    KT_ASSERT_EQ_STR(c->targets[1].api_version, "2024-06-01");
    KT_ASSERT(c->targets[1].deployment == NULL);   /* the request's model names it */
    KT_ASSERT_EQ_STR(c->targets[2].deployment, "prod-4o");
    KT_ASSERT_EQ_STR(c->targets[2].api_version, "2024-10-21");
    const kt_target *t = kt_config_target_by_id(c, "az2", 3);
    KT_ASSERT(t == &c->targets[2]);
    KT_ASSERT(kt_config_target_by_id(c, "az2x", 3) == &c->targets[2]);   /* length-bounded */
    KT_ASSERT(kt_config_target_by_id(c, "az", 2) == &c->targets[1]);
    KT_ASSERT(kt_config_target_by_id(c, "a", 1) == NULL);
    KT_ASSERT(kt_config_target_by_id(c, "nope", 4) == NULL);
    kt_config_release(&c);
}

KT_TEST(target_errors)
{
    const char *src =
        "providers:\n"
        "  targets:\n"
        "    - id: a\n"
        "      provider: cohere\n"
        "      base_url: https://x\n"
        "      secret_key_ref: {env: A}\n"
        "    - id: a\n"
        "      base_url: https://x\n"
        "      api_version: v1\n"
        "      secret_key_ref: {env: A}\n"
        "    - provider: {base_url: https://x}\n"
        "      base_url: https://y\n"
        "    - id: \"bad id\"\n"
        "      base_url: https://x\n"
        "      secret_key_ref: {env: A, file: /k}\n"
        "    - id: e\n"
        "      base_url: https://x\n"
        "      secret_key_ref: {env: 'NOT-A-NAME'}\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(4, 17, "unknown provider 'cohere' in providers.targets[0]");
    ASSERT_DIAG(7, 11, "duplicate target id 'a'");
    ASSERT_DIAG(9, 20, "providers.targets[1].api_version applies only to provider azure-openai");
    ASSERT_DIAG(11, 7, "missing required key 'id' in providers.targets[2]");
    ASSERT_DIAG(11, 28, "'base_url' is given both in providers.targets[2]");
    ASSERT_DIAG(11, 7, "missing required key 'secret_key_ref' in providers.targets[2]");
    ASSERT_DIAG(13, 11, "providers.targets[3].id must be");
    ASSERT_DIAG(15, 23, "needs exactly one of env, file or store");
    ASSERT_DIAG(18, 29, "must be a variable name");
}

KT_TEST(target_http2)
{
    const char *src =
        "providers:\n"
        "  targets:\n"
        "    - {id: a, base_url: https://x, secret_key_ref: {env: A}}\n"
        "    - {id: b, base_url: https://x, secret_key_ref: {env: A}, http2: on}\n"
        "    - {id: c, base_url: https://x, secret_key_ref: {env: A}, http2: off}\n"
        "    - {id: d, base_url: https://x, secret_key_ref: {env: A}, http2: auto}\n"
        "    - {id: e, base_url: http://x, secret_key_ref: {env: A}, http2: off}\n";
    kt_config *c = NULL;
    ASSERT_OK(parse(src, &c));
    KT_ASSERT_EQ_INT(c->targets[0].http2, KT_HTTP2_AUTO);
    KT_ASSERT_EQ_INT(c->targets[1].http2, KT_HTTP2_ON);
    KT_ASSERT_EQ_INT(c->targets[2].http2, KT_HTTP2_OFF);
    KT_ASSERT_EQ_INT(c->targets[3].http2, KT_HTTP2_AUTO);
    KT_ASSERT_EQ_INT(c->targets[4].http2, KT_HTTP2_OFF);
    kt_config_release(&c);
    const char *bad =
        "providers:\n"
        "  targets:\n"
        "    - {id: a, base_url: https://x, secret_key_ref: {env: A}, http2: maybe}\n"
        "    - {id: b, base_url: http://x, secret_key_ref: {env: A}, http2: on}\n";
    KT_ASSERT_EQ_INT(parse(bad, &c), KT_EINVAL);
    ASSERT_DIAG(3, 69, "providers.targets[0].http2 must be auto, on or off");
    ASSERT_DIAG(4, 68, "providers.targets[1].http2: on needs an https base_url");
}

KT_TEST(targets_missing_base_url_and_empty_list)
{
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse("providers:\n  targets:\n    - id: a\n      secret_key_ref: {env: A}\n",
                           &c), KT_EINVAL);
    ASSERT_DIAG(3, 7, "missing required key 'base_url' in providers.targets[0]");
    KT_ASSERT_EQ_INT(parse("providers:\n  targets: []\n", &c), KT_EINVAL);
    ASSERT_DIAG(2, 12, "providers.targets must list at least one target");
    KT_ASSERT_EQ_INT(parse("providers:\n  other: 1\n", &c), KT_EINVAL);
    ASSERT_DIAG(2, 3, "missing required key 'targets' in providers");
}

KT_TEST(providers_as_a_sequence)
{
    const char *src =
        "providers:\n"
        "  - id: openai\n"
        "    base_url: https://api.openai.com/v1\n"
        "    secret_key_ref: {env: OPENAI_API_KEY}\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_INT(c->ntargets, 1);
    KT_ASSERT_EQ_STR(c->targets[0].key, "sk-test-openai");
    kt_config_release(&c);
}

KT_TEST(gateway_key_ref_only_without_providers)
{
    const char *src =
        "gateway:\n"
        "  secret_key_ref: {env: OPENAI_API_KEY}\n"
        "providers:\n"
        "  targets:\n"
        "    - id: a\n"
        "      base_url: https://x\n"
        "      secret_key_ref: {env: A}\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(2, 19, "gateway.secret_key_ref sets the key of the default target");
    KT_ASSERT_EQ_INT(parse("gateway:\n  secret_key_ref: {store: MY_KEY}\n", &c), 0);
    if (!c) return;
    KT_ASSERT_EQ_INT(c->targets[0].key_source, KT_KEY_STORE);
    KT_ASSERT(c->targets[0].key == NULL);
    KT_ASSERT_EQ_STR(c->targets[0].key_error, "store MY_KEY is not set");
    kt_config_release(&c);
}

/* ---- credentials --------------------------------------------------------------------------- */

static char *file_target_config(const char *path)
{
    static char src[600];
    snprintf(src, sizeof src,
             "providers:\n"
             "  targets:\n"
             "    - id: f\n"
             "      base_url: https://x\n"
             "      secret_key_ref:\n"
             "        file: %s\n", path);
    return src;
}

KT_TEST(file_key_trimmed)
{
    const char *p = tmp_path("key1");
    write_file(p, "  sk-from-file\r\n\n", 17);
    kt_config *c = NULL;
    int rc = parse(file_target_config(p), &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_INT(c->targets[0].key_source, KT_KEY_FILE);
    KT_ASSERT_EQ_STR(c->targets[0].key_ref, p);
    KT_ASSERT_EQ_STR(c->targets[0].key, "sk-from-file");
    kt_config_release(&c);
    unlink(p);
}

KT_TEST(missing_file_key_is_not_a_load_error)
{
    const char *p = tmp_path("no-such-key");
    kt_config *c = NULL;
    int rc = parse(file_target_config(p), &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT(c->targets[0].key == NULL);
    KT_ASSERT(strstr(c->targets[0].key_error, "no-such-key") != NULL);
    KT_ASSERT(strstr(c->targets[0].key_error, "No such file or directory") != NULL);
    kt_config_release(&c);
}

KT_TEST(bad_file_keys)
{
    const char *p = tmp_path("key-bad");
    kt_config *c = NULL;
    write_file(p, "sk-abc def\n", 11);   /* an inner space could split a header */
    ASSERT_OK(parse(file_target_config(p), &c));
    if (!c) return;
    KT_ASSERT(c->targets[0].key == NULL);
    KT_ASSERT(strstr(c->targets[0].key_error, "contains spaces") != NULL);
    KT_ASSERT(strstr(c->targets[0].key_error, "sk-abc") == NULL);   /* never the secret */
    kt_config_release(&c);

    write_file(p, "\n \n", 3);
    ASSERT_OK(parse(file_target_config(p), &c));
    KT_ASSERT(c && c->targets[0].key == NULL);
    KT_ASSERT(c && strstr(c->targets[0].key_error, "is empty") != NULL);
    kt_config_release(&c);

    char *big = malloc(9000);
    memset(big, 'k', 9000);
    write_file(p, big, 9000);
    free(big);
    ASSERT_OK(parse(file_target_config(p), &c));
    KT_ASSERT(c && c->targets[0].key == NULL);
    KT_ASSERT(c && strstr(c->targets[0].key_error, "larger than 8 KiB") != NULL);
    kt_config_release(&c);

    write_file(p, "sk\0hidden", 9);
    ASSERT_OK(parse(file_target_config(p), &c));
    KT_ASSERT(c && c->targets[0].key == NULL);
    KT_ASSERT(c && strstr(c->targets[0].key_error, "NUL") != NULL);
    kt_config_release(&c);
    unlink(p);

    ASSERT_OK(parse(file_target_config(tmpdir), &c));   /* a directory */
    KT_ASSERT(c && strstr(c->targets[0].key_error, "not a regular file") != NULL);
    kt_config_release(&c);
}

KT_TEST(env_key_with_newline_is_trimmed_and_control_chars_refused)
{
    kv env[] = { { "K1", "sk-one\n" }, { "K2", "sk\r\nInjected: 1" }, { NULL, NULL } };
    const char *src =
        "providers:\n"
        "  targets:\n"
        "    - {id: a, base_url: 'https://x', secret_key_ref: {env: K1}}\n"
        "    - {id: b, base_url: 'https://x', secret_key_ref: {env: K2}}\n";
    kt_config *c = NULL;
    int rc = parse_env(src, env_of(env), &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_STR(c->targets[0].key, "sk-one");
    KT_ASSERT(c->targets[1].key == NULL);
    KT_ASSERT(strstr(c->targets[1].key_error, "env K2") != NULL);
    KT_ASSERT(strstr(c->targets[1].key_error, "Injected") == NULL);
    kt_config_release(&c);
}

KT_TEST(refresh_keys_detects_rotation)
{
    const char *p = tmp_path("key-rot");
    write_file(p, "sk-v1\n", 6);
    kt_config *c = NULL;
    int rc = parse(file_target_config(p), &c);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_STR(c->targets[0].key, "sk-v1");
    KT_ASSERT_EQ_INT(kt_config_refresh_keys(c, ENV()), 0);
    write_file(p, "sk-v2\n", 6);
    KT_ASSERT_EQ_INT(kt_config_refresh_keys(c, ENV()), 1);
    KT_ASSERT_EQ_STR(c->targets[0].key, "sk-v2");
    KT_ASSERT_EQ_INT(kt_config_refresh_keys(c, ENV()), 0);
    unlink(p);
    KT_ASSERT_EQ_INT(kt_config_refresh_keys(c, ENV()), 1);   /* gone: key dropped */
    KT_ASSERT(c->targets[0].key == NULL);
    KT_ASSERT(strstr(c->targets[0].key_error, "No such file") != NULL);
    write_file(p, "sk-v3", 5);
    KT_ASSERT_EQ_INT(kt_config_refresh_keys(c, ENV()), 1);
    KT_ASSERT_EQ_STR(c->targets[0].key, "sk-v3");
    KT_ASSERT_EQ_STR(c->targets[0].key_error, "");
    kt_config_release(&c);
    unlink(p);
}

KT_TEST(refresh_keys_env)
{
    kv env[] = { { "OPENAI_API_KEY", "one" }, { NULL, NULL } };
    kt_config *c = NULL;
    kt_diag_init(&D, NULL);
    ASSERT_OK(kt_config_default(env_of(env), &c, &D));
    if (!c) return;
    KT_ASSERT_EQ_INT(kt_config_refresh_keys(c, env_of(env)), 0);
    env[0].v = "two";
    KT_ASSERT_EQ_INT(kt_config_refresh_keys(c, env_of(env)), 1);
    KT_ASSERT_EQ_STR(c->targets[0].key, "two");
    kt_config_release(&c);
}

/* ---- gateway and limits ------------------------------------------------------------------- */

KT_TEST(limits_defaults)
{
    kt_limits l;
    kt_limits_defaults(&l);
    KT_ASSERT_EQ_INT(l.max_header_bytes, 32 * 1024);
    KT_ASSERT_EQ_INT(l.max_headers, 100);
    KT_ASSERT_EQ_INT(l.max_body_bytes, 8 * 1024 * 1024);
    KT_ASSERT_EQ_INT(l.max_chunk_ext_bytes, 256);
    KT_ASSERT_EQ_INT(l.max_connections, 1024);
    KT_ASSERT_EQ_INT(l.header_timeout_ms, 10000);
    KT_ASSERT_EQ_INT(l.body_timeout_ms, 30000);
    KT_ASSERT_EQ_INT(l.idle_timeout_ms, 60000);
    KT_ASSERT_EQ_INT(l.upstream_connect_timeout_ms, 10000);
    KT_ASSERT_EQ_INT(l.upstream_first_byte_timeout_ms, 120000);
    KT_ASSERT_EQ_INT(l.upstream_idle_timeout_ms, 120000);
    KT_ASSERT_EQ_INT(l.upstream_pool_max, 1024);
    KT_ASSERT_EQ_INT(l.upstream_pool_idle_ms, 30000);
    KT_ASSERT_EQ_INT(l.drain_ms, 5000);
    KT_ASSERT_EQ_INT(l.shutdown_deadline_ms, 20000);
    KT_ASSERT_EQ_INT(l.max_response_buffer, 256 * 1024);
}

KT_TEST(limits_parse_durations_and_sizes)
{
    const char *src =
        "gateway:\n"
        "  max_header_bytes: 16KiB\n"
        "  max_headers: 50\n"
        "  max_body_bytes: 512KB\n"
        "  max_chunk_ext_bytes: 100\n"
        "  max_connections: 10\n"
        "  header_timeout: 500ms\n"
        "  body_timeout: 2m\n"
        "  idle_timeout: 1h\n"
        "  upstream_connect_timeout: 3\n"
        "  upstream_first_byte_timeout: 90s\n"
        "  upstream_idle_timeout: 45s\n"
        "  upstream_pool_max: 8\n"
        "  upstream_pool_idle: 1500ms\n"
        "  drain_period: 0\n"
        "  shutdown_deadline: 10s\n"
        "  max_response_buffer: 1 MiB\n"
        "  config_poll_interval: 250ms\n"
        "  config_reload: false\n"
        "  mode: sidecar\n"
        "  events: {batch_size: 10, flush_interval: 250ms, ring_bytes: 64KiB}\n"
        "  metrics: {enabled: false}\n";
    kt_config *c = NULL;
    int rc = parse(src, &c);
    ASSERT_OK(rc);
    if (!c) return;
    const kt_limits *l = &c->gateway.limits;
    KT_ASSERT_EQ_INT(l->max_header_bytes, 16 * 1024);
    KT_ASSERT_EQ_INT(l->max_headers, 50);
    KT_ASSERT_EQ_INT(l->max_body_bytes, 512000);
    KT_ASSERT_EQ_INT(l->max_chunk_ext_bytes, 100);
    KT_ASSERT_EQ_INT(l->max_connections, 10);
    KT_ASSERT_EQ_INT(l->header_timeout_ms, 500);
    KT_ASSERT_EQ_INT(l->body_timeout_ms, 120000);
    KT_ASSERT_EQ_INT(l->idle_timeout_ms, 3600000);
    KT_ASSERT_EQ_INT(l->upstream_connect_timeout_ms, 3000);
    KT_ASSERT_EQ_INT(l->upstream_first_byte_timeout_ms, 90000);
    KT_ASSERT_EQ_INT(l->upstream_idle_timeout_ms, 45000);
    KT_ASSERT_EQ_INT(l->upstream_pool_max, 8);
    KT_ASSERT_EQ_INT(l->upstream_pool_idle_ms, 1500);
    KT_ASSERT_EQ_INT(l->drain_ms, 0);
    KT_ASSERT_EQ_INT(l->shutdown_deadline_ms, 10000);
    KT_ASSERT_EQ_INT(l->max_response_buffer, 1024 * 1024);
    KT_ASSERT_EQ_INT(c->gateway.config_poll_interval_ms, 250);
    KT_ASSERT(!c->gateway.config_reload);
    kt_config_release(&c);
}

KT_TEST(limits_gib_and_mb)
{
    kt_config *c = NULL;
    ASSERT_OK(parse("gateway: {max_body_bytes: 1GiB, max_response_buffer: 2MB}\n", &c));
    if (!c) return;
    KT_ASSERT_EQ_INT(c->gateway.limits.max_body_bytes, 1024u * 1024 * 1024);
    KT_ASSERT_EQ_INT(c->gateway.limits.max_response_buffer, 2000000);
    kt_config_release(&c);
}

KT_TEST(limits_out_of_range_and_bad_units)
{
    const char *src =
        "gateway:\n"
        "  max_body_bytes: 2GiB\n"
        "  max_headers: 0\n"
        "  header_timeout: 0s\n"
        "  body_timeout: 10d\n"
        "  idle_timeout: 2h\n"
        "  max_header_bytes: 12 parsecs\n"
        "  upstream_pool_max: -1\n"
        "  max_connections: 99999999999999999999999\n"
        "  upstream_connect_timeout: 1.5s\n"
        "  config_poll_interval: 10ms\n"
        "  max_response_buffer: 512\n";
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(parse(src, &c), KT_EINVAL);
    ASSERT_DIAG(2, 19, "gateway.max_body_bytes must be between 1KiB and 1GiB");
    ASSERT_DIAG(3, 16, "gateway.max_headers must be between 1 and 10000");
    ASSERT_DIAG(4, 19, "gateway.header_timeout must be between 1ms and 1h");
    ASSERT_DIAG(5, 17, "expected a duration for gateway.body_timeout");
    ASSERT_DIAG(6, 17, "gateway.idle_timeout must be between 1ms and 1h");
    ASSERT_DIAG(7, 21, "expected a size for gateway.max_header_bytes");
    ASSERT_DIAG(8, 22, "expected an integer for gateway.upstream_pool_max");
    ASSERT_DIAG(9, 20, "expected an integer for gateway.max_connections");
    ASSERT_DIAG(10, 29, "expected a duration");
    ASSERT_DIAG(11, 25, "gateway.config_poll_interval must be between 100ms and 24h");
    ASSERT_DIAG(12, 24, "gateway.max_response_buffer must be between 1KiB and 64MiB");
    KT_ASSERT_EQ_INT(D.count, 11);
}

KT_TEST(listen_forms)
{
    kt_config *c = NULL;
    ASSERT_OK(parse("gateway: {listen: '[::1]:41002', listen_port: 9}\n", &c));
    if (!c) return;
    KT_ASSERT_EQ_STR(c->gateway.listen, "[::1]:41002");   /* listen wins over listen_port */
    kt_config_release(&c);
    KT_ASSERT_EQ_INT(parse("gateway:\n  listen: localhost\n  listen_port: 70000\n"
                           "  port: 1\n  mode: mesh\n", &c), KT_EINVAL);
    ASSERT_DIAG(2, 11, "gateway.listen must be HOST:PORT");
    ASSERT_DIAG(3, 16, "gateway.listen_port must be between 1 and 65535");
    ASSERT_DIAG(4, 9, "give either gateway.listen_port or gateway.port");
    ASSERT_DIAG(5, 9, "unknown gateway.mode 'mesh'");
    KT_ASSERT_EQ_INT(parse("gateway: {listen: '::1:80'}\n", &c), KT_EINVAL);
    ASSERT_DIAG(1, 19, "gateway.listen must be HOST:PORT");
    KT_ASSERT_EQ_INT(parse("gateway: {listen: ':0'}\n", &c), KT_EINVAL);
    ASSERT_DIAG(1, 19, "gateway.listen must be HOST:PORT");
}

/* ---- snapshot lifecycle ------------------------------------------------------------------- */

KT_TEST(hash_stable_and_content_sensitive)
{
    const char *a = "pack: {name: a}\n";
    const char *b = "pack: {name: b}\n";
    kt_config *c1 = NULL, *c2 = NULL, *c3 = NULL;
    ASSERT_OK(parse(a, &c1));
    ASSERT_OK(parse(a, &c2));
    ASSERT_OK(parse(b, &c3));
    if (!c1 || !c2 || !c3) return;
    KT_ASSERT_EQ_STR(c1->hash, c2->hash);
    KT_ASSERT(strcmp(c1->hash, c3->hash) != 0);
    /* sha256("pack: {name: a}\n") */
    KT_ASSERT_EQ_STR(c1->hash, "612c4af7a22bdf9d5a80ff3075fcc45e5a2c482df1f9f5b93af404a546931c1a");
    kt_config_release(&c1);
    kt_config_release(&c2);
    kt_config_release(&c3);
}

KT_TEST(refcount_release)
{
    kt_config *c = NULL;
    ASSERT_OK(parse(seed004_team_alpha, &c));
    if (!c) return;
    kt_config *r = kt_config_ref(c);
    KT_ASSERT(r == c);
    KT_ASSERT_EQ_INT(c->refs, 2);
    kt_config_release(&r);
    KT_ASSERT(r == NULL);
    KT_ASSERT_EQ_INT(c->refs, 1);
    kt_config_release(&c);   /* frees: ASan would report a leak otherwise */
    KT_ASSERT(c == NULL);
    kt_config_release(&c);   /* releasing NULL is harmless */
    kt_config_release(NULL);
    KT_ASSERT(kt_config_ref(NULL) == NULL);
}

KT_TEST(load_file_follows_symlinks)
{
    char real[160];
    snprintf(real, sizeof real, "%s", tmp_path("real.yaml"));
    write_file(real, seed001_sidecar, strlen(seed001_sidecar));
    char link[160];
    snprintf(link, sizeof link, "%s", tmp_path("link.yaml"));
    unlink(link);
    KT_ASSERT_EQ_INT(symlink(real, link), 0);
    kt_config *c = NULL;
    kt_diag_init(&D, NULL);
    int rc = kt_config_load_file(link, ENV(), &c, &D);
    ASSERT_OK(rc);
    if (!c) return;
    KT_ASSERT_EQ_STR(c->source, link);
    KT_ASSERT_EQ_INT(c->nchain, 1);
    kt_config_release(&c);
    unlink(link);
    unlink(real);
}

KT_TEST(load_file_errors)
{
    kt_config *c = NULL;
    const char *missing = tmp_path("missing.yaml");
    kt_diag_init(&D, NULL);
    KT_ASSERT_EQ_INT(kt_config_load_file(missing, ENV(), &c, &D), KT_EINVAL);
    KT_ASSERT(c == NULL);
    ASSERT_DIAG(0, 0, "no such file");
    KT_ASSERT_EQ_INT(D.count, 1);
    KT_ASSERT(D.file && strcmp(D.file, missing) == 0);

    kt_diag_init(&D, NULL);
    KT_ASSERT_EQ_INT(kt_config_load_file(tmpdir, ENV(), &c, &D), KT_EINVAL);
    ASSERT_DIAG(0, 0, "not a regular file");

    const char *big = tmp_path("big.yaml");
    size_t n = 1024 * 1024 + 1;
    char *buf = malloc(n);
    memset(buf, '#', n);
    write_file(big, buf, n);
    free(buf);
    kt_diag_init(&D, NULL);
    KT_ASSERT_EQ_INT(kt_config_load_file(big, ENV(), &c, &D), KT_EINVAL);
    ASSERT_DIAG(0, 0, "larger than 1048576 bytes");
    unlink(big);

    /* a parse error in a file carries the file name */
    const char *bad = tmp_path("bad.yaml");
    write_file(bad, "pack:\n  nmae: x\n", 16);
    kt_diag_init(&D, NULL);
    KT_ASSERT_EQ_INT(kt_config_load_file(bad, ENV(), &c, &D), KT_EINVAL);
    ASSERT_DIAG(2, 3, "unknown key 'nmae' in pack");
    KT_ASSERT(D.file && strcmp(D.file, bad) == 0);
    unlink(bad);
}

KT_TEST(example_configs_load)
{
    static const char *const files[] = {
        "test/configs/pack.yaml", "test/configs/sidecar.yaml", "test/configs/reverse-proxy.yaml",
        "test/configs/configmap.yaml", "test/configs/azure.yaml",
    };
    for (size_t i = 0; i < KT_ARRAY_LEN(files); i++) {
        kt_config *c = NULL;
        kt_diag_init(&D, NULL);
        int rc = kt_config_load_file(files[i], ENV(), &c, &D);
        if (rc) {
            KT_FAILF("%s failed to load", files[i]);
            dump();
        }
        KT_ASSERT(c && c->ntargets >= 1 && c->nchain >= 1);
        kt_config_release(&c);
    }
}

KT_TEST(parse_with_null_diag_and_size_cap)
{
    kt_config *c = NULL;
    KT_ASSERT_EQ_INT(kt_config_parse("x", "a: [", 4, ENV(), &c, NULL), KT_EINVAL);
    KT_ASSERT(c == NULL);
    KT_ASSERT_EQ_INT(kt_config_parse("x", "pack: {}\n", 9, ENV(), &c, NULL), 0);
    kt_config_release(&c);
    kt_diag_init(&D, "big");
    KT_ASSERT_EQ_INT(kt_config_parse("big", "", 1024 * 1024 + 1, ENV(), &c, &D), KT_EINVAL);
    ASSERT_DIAG(0, 0, "larger than");
}

int main(void)
{
    KT_RUN(seed004_pack_form);
    KT_RUN(seed004_spend_limit_loads);
    KT_RUN(governance_sections);
    KT_RUN(governance_errors);
    KT_RUN(shared_state_redis);
    KT_RUN(seed001_sidecar_form_a);
    KT_RUN(seed001_reverse_proxy_form_a);
    KT_RUN(seed001_env_providers_pack_azure);
    KT_RUN(seed000_form_b_with_default_target);
    KT_RUN(form_b_input_and_output);
    KT_RUN(form_a_input_filter_is_input_only);
    KT_RUN(form_a_errors);
    KT_RUN(form_b_errors);
    KT_RUN(list_policies_with_policy_key);
    KT_RUN(embedded_default);
    KT_RUN(default_honours_openai_base_url_and_missing_key);
    KT_RUN(expand_vars_cases);
    KT_RUN(expand_vars_errors);
    KT_RUN(expansion_in_config_values);
    KT_RUN(expansion_unset_variable_position);
    KT_RUN(keys_are_not_expanded);
    KT_RUN(expanded_values_never_echoed);
    KT_RUN(url_table);
    KT_RUN(url_errors);
    KT_RUN(base_url_error_position_without_secret);
    KT_RUN(duplicate_keys);
    KT_RUN(unknown_keys_everywhere);
    KT_RUN(wrong_types);
    KT_RUN(root_must_be_mapping);
    KT_RUN(yaml_errors_reach_diag);
    KT_RUN(many_errors_collected);
    KT_RUN(diag_print_format);
    KT_RUN(policy_not_in_chain);
    KT_RUN(pack_disabled_is_a_warning);
    KT_RUN(fail_mode_per_policy);
    KT_RUN(one_problem_reported_once);
    KT_RUN(unknown_gateway_key_lists_the_valid_ones);
    KT_RUN(policies_scalar);
    KT_RUN(duplicate_chain_entry);
    KT_RUN(chain_without_options_and_null_options);
    KT_RUN(pack_disabled_leaves_chain_empty);
    KT_RUN(target_fields_and_provider_defaults);
    KT_RUN(target_errors);
    KT_RUN(target_http2);
    KT_RUN(targets_missing_base_url_and_empty_list);
    KT_RUN(providers_as_a_sequence);
    KT_RUN(gateway_key_ref_only_without_providers);
    KT_RUN(file_key_trimmed);
    KT_RUN(missing_file_key_is_not_a_load_error);
    KT_RUN(bad_file_keys);
    KT_RUN(env_key_with_newline_is_trimmed_and_control_chars_refused);
    KT_RUN(refresh_keys_detects_rotation);
    KT_RUN(refresh_keys_env);
    KT_RUN(limits_defaults);
    KT_RUN(limits_parse_durations_and_sizes);
    KT_RUN(limits_gib_and_mb);
    KT_RUN(limits_out_of_range_and_bad_units);
    KT_RUN(listen_forms);
    KT_RUN(hash_stable_and_content_sensitive);
    KT_RUN(refcount_release);
    KT_RUN(load_file_follows_symlinks);
    KT_RUN(load_file_errors);
    KT_RUN(example_configs_load);
    KT_RUN(parse_with_null_diag_and_size_cap);
    rmdir(tmpdir);
    return KT_DONE();
}
