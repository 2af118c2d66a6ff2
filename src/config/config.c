/* Configuration snapshots: parse the YAML tree, validate every section (collecting all problems),
 * resolve credentials, and hand out a refcounted immutable snapshot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "config_priv.h"
#include "kt/events.h"
#include "kt/log.h"
#include "kt/policy.h"

/* Parsed like any file, so the default goes through exactly the same code. No providers section,
 * hence the default target at ${OPENAI_BASE_URL:-https://api.openai.com/v1}. A gateway that runs
 * on it because its config file is missing (a misnamed ConfigMap key) still governs: personal data
 * and secrets are redacted in both directions. */
static const char kt__embedded_default[] =
    "# kt embedded default: one OpenAI target; PII and secrets redacted\n"
    "pack:\n"
    "  name: embedded-default\n"
    "  version: 1.0.0\n"
    "policies:\n"
    "  chain: [pii-detector, dlp-filter]\n"
    "policy:\n"
    "  pii-detector:\n"
    "    action: redact\n"
    "  dlp-filter:\n"
    "    action: redact\n";

void kt_sha256_hex(const char *buf, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
#if MBEDTLS_VERSION_MAJOR < 3
    mbedtls_sha256_ret((const unsigned char *)buf, len, d, 0);
#else
    mbedtls_sha256((const unsigned char *)buf, len, d, 0);
#endif
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}

static void config_free(kt_config *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->ntargets; i++) kt__cfg_target_free(&c->targets[i]);
    free(c->targets);
    kt_policies_destroy(c);
    for (size_t i = 0; i < c->nchain; i++) {
        free(c->chain[i].name);
        free(c->chain[i].kind);
        free(c->chain[i].event_head);
    }
    free(c->chain);
    free(c->event_config);
    free(c->json_paths);
    kt__cfg_governance_free(c);
    kt__cfg_failover_free(c);
    free(c->gateway.listen);
    free(c->gateway.ops_listen);
    free(c->gateway.events.spool_dir);
    for (size_t i = 0; i < c->gateway.events.nprices; i++) free(c->gateway.events.prices[i].model);
    free(c->gateway.events.prices);
    free(c->source);
    free(c->pack_name);
    free(c->pack_version);
    free(c->warnings);
    kt_yaml_free(c->tree);
    free(c);
}

void kt_config_log_warnings(const kt_config *c)
{
    const kt_diag *w = c ? c->warnings : NULL;
    for (int i = 0; w && i < w->count && i < KT_DIAG_MAX; i++) {
        char line[1100];
        kt_diag_format(w, i, line, sizeof line);
        KT_WARN("config_warning", "%s", line);
    }
}

kt_config *kt_config_ref(kt_config *c)
{
    if (c) c->refs++;
    return c;
}

void kt_config_release(kt_config **c)
{
    if (!c || !*c) return;
    if (--(*c)->refs <= 0) config_free(*c);
    *c = NULL;
}

const kt_target *kt_config_target_by_id(const kt_config *c, const char *id, size_t idlen)
{
    for (size_t i = 0; c && id && i < c->ntargets; i++) {
        const char *t = c->targets[i].id;
        if (t && strlen(t) == idlen && memcmp(t, id, idlen) == 0) return &c->targets[i];
    }
    return NULL;
}

static void pack_section(kt__cfgctx *x, const kt_ynode *pack)
{
    static const char *const keys[] = { "name", "version", "enabled", "description", NULL };
    kt_config *c = x->cfg;
    if (pack && !kt_y_is_null(pack) && kt_yr_want_map(&x->rd, pack, "pack")) {
        kt_yr_check_keys(&x->rd, pack, keys, "pack");
        const char *s = kt_yr_str(&x->rd, pack, "name", "pack", false);
        if (s && strlen(s) > 128)
            kt_yr_err(&x->rd, kt_ymap_get(pack, "name"), "pack.name is longer than 128 characters");
        else if (s) c->pack_name = kt_yr_dup(&x->rd, s);
        s = kt_yr_str(&x->rd, pack, "version", "pack", false);
        if (s && strlen(s) > 64) kt_yr_err(&x->rd, kt_ymap_get(pack, "version"), "pack.version is "
                                           "longer than 64 characters");
        else if (s) c->pack_version = kt_yr_dup(&x->rd, s);
        (void)kt_yr_str(&x->rd, pack, "description", "pack", false);
        const kt_ynode *en = kt_ymap_get(pack, "enabled");
        if (en && !kt_yr_bool(&x->rd, en, "pack.enabled", &c->pack_enabled) && !c->pack_enabled)
            kt_yr_warn(&x->rd, en, "pack.enabled is false: no policy runs, requests and responses "
                       "pass unchecked (/health reports it)");
    }
    if (!c->pack_name) c->pack_name = kt_yr_dup(&x->rd, "default");
    if (!c->pack_version) c->pack_version = kt_yr_dup(&x->rd, "0.0.0");
}

static void policies_section(kt__cfgctx *x, const kt_ynode *root)
{
    const kt_ynode *policies = kt_ymap_get(root, "policies");
    const kt_ynode *policy = kt_ymap_get(root, "policy");
    if (policies && policies->type == KT_Y_SEQ) {
        if (policy) {
            for (size_t i = 0; i < root->n; i++)
                if (root->vals[i] == policy)
                    kt_yr_err(&x->rd, root->keys[i], "'policy' goes with the pack form "
                              "(policies: {chain: [...]}), not with a policies list");
        }
        kt__cfg_list_policies(x, policies);
    } else {
        kt__cfg_pack_policies(x, policies, policy);
    }
    if (!x->cfg->pack_enabled) {
        /* A disabled pack: validated, but no policy runs. */
        for (size_t i = 0; i < x->cfg->nchain; i++) {
            free(x->cfg->chain[i].name);
            free(x->cfg->chain[i].kind);
        }
        x->cfg->nchain = 0;
    }
}


static void targets_section(kt__cfgctx *x, const kt_ynode *root, const kt_ynode *gw_key)
{
    const kt_ynode *providers = kt_ymap_get(root, "providers");
    if (providers && kt_y_is_null(providers)) providers = NULL;
    if (providers && gw_key) {
        kt_yr_err(&x->rd, gw_key, "gateway.secret_key_ref sets the key of the default target; "
                  "with a providers section give secret_key_ref in each target");
        gw_key = NULL;
    }
    if (providers) kt__cfg_targets(x, providers);
    else kt__cfg_default_target(x, gw_key);
}

static void validate(kt__cfgctx *x, kt_ynode *root)
{
    static const char *const top_keys[] = { "pack", "policies", "policy", "providers", "gateway",
                                            "consumers", NULL };
    kt_config *c = x->cfg;
    kt__cfg_check_tree(x, root);
    kt_yr_check_keys(&x->rd, root, top_keys, "the top level");
    pack_section(x, kt_ymap_get(root, "pack"));
    c->gateway.config_reload = true;
    c->gateway.policy_cache = true;
    c->gateway.config_poll_interval_ms = 30 * 1000;
    kt_limits_defaults(&c->gateway.limits);
    kt_events_opts_defaults(&c->gateway.events);
    c->gateway.metrics_enabled = true;
    kt_failover_opts_defaults(&c->gateway.failover);
    const kt_ynode *gw_key = NULL;
    kt__cfg_gateway(x, kt_ymap_get(root, "gateway"), &gw_key);
    kt__cfg_governance(x, root);
    policies_section(x, root);
    targets_section(x, root, gw_key);
    /* Each policy kind checks its own options (with line:col) and compiles them once. */
    if (kt_policies_compile(&x->rd, x->prev, c) == KT_ENOMEM) x->rd.oom = 1;
    kt__cfg_fail_modes(x);
    if (kt_policy_json_compile(c)) x->rd.oom = 1;
}

int kt_config_parse(const char *name, const char *buf, size_t len, kt_env env, kt_config **out,
                    kt_diag *diag)
{
    return kt_config_parse_reuse(name, buf, len, env, NULL, out, diag);
}

int kt_config_parse_reuse(const char *name, const char *buf, size_t len, kt_env env,
                          const kt_config *prev, kt_config **out, kt_diag *diag)
{
    if (!diag) {   /* nobody reads them: the diagnostics go to a heap copy (24 KiB) */
        kt_diag *own = kt_calloc(1, sizeof *own);
        if (!own) {
            *out = NULL;
            return KT_ENOMEM;
        }
        kt_diag_init(own, name);
        int rc = kt_config_parse_reuse(name, buf, len, env, prev, out, own);
        free(own);
        return rc;
    }
    if (!diag->file) diag->file = name;
    int before = diag->count;
    kt__cfgctx x;
    memset(&x, 0, sizeof x);
    kt_yr_init(&x.rd, diag);
    x.env = env;
    x.prev = prev;
    *out = NULL;
    if (len > KT__CFG_MAX_BYTES) {
        kt_diag_add(diag, 0, 0, "config is larger than %d bytes", KT__CFG_MAX_BYTES);
        goto fail;
    }
    x.cfg = kt_calloc(1, sizeof *x.cfg);
    if (!x.cfg) goto oom;
    x.cfg->refs = 1;
    x.cfg->pack_enabled = true;
    x.cfg->source = kt_strdup(name ? name : "<config>");
    x.cfg->warnings = kt_calloc(1, sizeof *x.cfg->warnings);
    if (!x.cfg->source || !x.cfg->warnings) goto oom;
    kt_diag_init(x.cfg->warnings, x.cfg->source);
    x.rd.warn = x.cfg->warnings;
    kt_sha256_hex(buf, len, x.cfg->hash);

    char err[200];
    int line = 0, col = 0;
    kt_ynode *root = NULL;
    int rc = kt_yaml_parse(buf, len, &root, err, sizeof err, &line, &col);
    if (rc) {
        kt_diag_add(diag, line, col, "%s", err);
        if (strcmp(err, "out of memory") == 0) x.rd.oom = 1;
        goto fail;
    }
    x.cfg->tree = root;
    if (!root || kt_y_is_null(root)) {
        kt_diag_add(diag, 1, 1, "the config is empty (expected a mapping with pack, policies, "
                    "providers or gateway)");
        goto fail;
    }
    if (root->type != KT_Y_MAP) {
        kt_yr_err(&x.rd, root, "expected a mapping at the top level, got %s", kt_y_what(root));
        goto fail;
    }
    validate(&x, root);
    if (x.rd.oom) goto oom;
    if (diag->count != before) goto fail;
    for (size_t i = 0; i < x.cfg->ntargets; i++)
        if (kt__cfg_resolve_key(&x.cfg->targets[i], env) < 0) goto oom;
    if (kt__cfg_resolve_consumer_keys(x.cfg, env) < 0) goto oom;
    if (kt_event_prerender(x.cfg)) goto oom;
    if (x.cfg->warnings->count == 0) {   /* most configs: 24 KiB not kept in every snapshot */
        free(x.cfg->warnings);
        x.cfg->warnings = NULL;
    }
    *out = x.cfg;
    return KT_OK;
oom:
    x.rd.oom = 1;
    kt_diag_add(diag, 0, 0, "out of memory");
fail:
    config_free(x.cfg);
    return x.rd.oom ? KT_ENOMEM : KT_EINVAL;
}

int kt_config_load_file(const char *path, kt_env env, kt_config **out, kt_diag *diag)
{
    if (!diag) {   /* as in kt_config_parse_reuse: a heap copy, not 24 KiB of stack */
        kt_diag *own = kt_calloc(1, sizeof *own);
        if (!own) {
            *out = NULL;
            return KT_ENOMEM;
        }
        kt_diag_init(own, path);
        int rc = kt_config_load_file(path, env, out, own);
        free(own);
        return rc;
    }
    if (!diag->file) diag->file = path;
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    int eno = 0;
    int rc = kt__cfg_read_file(path, KT__CFG_MAX_BYTES, &buf, &len, &eno);
    if (rc == KT_EIO && eno == ENOENT) kt_diag_add(diag, 0, 0, "no such file");
    else if (rc == KT_EIO) kt_diag_add(diag, 0, 0, "cannot read config: %s", strerror(eno));
    else if (rc == KT_ELIMIT) kt_diag_add(diag, 0, 0, "config file is larger than %d bytes",
                                          KT__CFG_MAX_BYTES);
    else if (rc == KT_EINVAL) kt_diag_add(diag, 0, 0, "config is not a regular file");
    else if (rc == KT_ENOMEM) kt_diag_add(diag, 0, 0, "out of memory");
    if (rc) return rc == KT_ENOMEM ? KT_ENOMEM : KT_EINVAL;
    rc = kt_config_parse(path, buf, len, env, out, diag);
    free(buf);
    return rc;
}

int kt_config_default(kt_env env, kt_config **out, kt_diag *diag)
{
    return kt_config_parse(KT_CONFIG_EMBEDDED, kt__embedded_default,
                           sizeof kt__embedded_default - 1, env, out, diag);
}
