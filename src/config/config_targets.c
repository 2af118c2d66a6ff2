/* `providers.targets[]`: where requests go and with which credentials. Two spellings are accepted:
 * flat (`provider: openai`, `base_url`, `secret_key_ref` beside `id`) and nested
 * (`provider: {base_url, secret_key_ref}`, the provider kind then taken from the id). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

#define KT__DEFAULT_BASE_URL "${OPENAI_BASE_URL:-https://api.openai.com/v1}"

static const char *const target_keys[] = {
    "id", "provider", "model", "base_url", "secret_key_ref", "api_version", "anthropic_version",
    "deployment", "http2", "aliases", "fallbacks", NULL,
};
static const char *const nested_keys[] = {
    "base_url", "secret_key_ref", "model", "api_version", "anthropic_version", "deployment",
    "http2", NULL,
};

static int provider_kind(const char *s, kt_provider_kind *out)
{
    if (strcmp(s, "openai") == 0) *out = KT_PROVIDER_OPENAI;
    else if (strcmp(s, "anthropic") == 0) *out = KT_PROVIDER_ANTHROPIC;
    else if (strcmp(s, "azure-openai") == 0 || strcmp(s, "azure") == 0) *out = KT_PROVIDER_AZURE;
    else return 0;
    return 1;
}

const char *kt_provider_name(kt_provider_kind k)
{
    switch (k) {
    case KT_PROVIDER_ANTHROPIC: return "anthropic";
    case KT_PROVIDER_AZURE: return "azure-openai";
    case KT_PROVIDER_OPENAI: break;
    }
    return "openai";
}

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

/* A target field from the target itself or from its nested provider mapping (not both). */
static const kt_ynode *field(kt__cfgctx *x, const kt_ynode *item, const kt_ynode *nested,
                             const char *key, const char *where)
{
    const kt_ynode *a = kt_ymap_get(item, key);
    const kt_ynode *b = nested ? kt_ymap_get(nested, key) : NULL;
    if (a && b)
        kt_yr_err(&x->rd, b, "'%s' is given both in %s and in its provider mapping", key, where);
    const kt_ynode *v = a ? a : b;
    return kt_y_is_null(v) ? NULL : v;
}

static char *opt_str(kt__cfgctx *x, const kt_ynode *v, const char *where, const char *key)
{
    char path[160];
    snprintf(path, sizeof path, "%s.%s", where, key);
    const char *s = v ? kt_yr_want_str(&x->rd, v, path) : NULL;
    return s ? kt_yr_dup(&x->rd, s) : NULL;
}

static void set_url(kt__cfgctx *x, kt_target *t, const kt_ynode *v, const char *where)
{
    char path[160], err[128];
    snprintf(path, sizeof path, "%s.base_url", where);
    const char *s = kt_yr_want_str(&x->rd, v, path);
    if (!s) return;
    kt_url_parts u;
    int rc = kt_url_parse(s, true, &u, err, sizeof err);
    if (rc == KT_ENOMEM) x->rd.oom = 1;
    if (rc) {
        kt_yr_err(&x->rd, v, "%s: %s", path, err);
        return;
    }
    t->base_url = kt_yr_dup(&x->rd, s);
    t->tls = u.tls;
    t->host = u.host;
    t->port = u.port;
    t->path_prefix = u.path;
}

static void provider_details(kt__cfgctx *x, kt_target *t, const kt_ynode *item,
                             const kt_ynode *nested, const char *where)
{
    static const struct { const char *key; kt_provider_kind kind; const char *name; } only[] = {
        { "api_version", KT_PROVIDER_AZURE, "azure-openai" },
        { "deployment", KT_PROVIDER_AZURE, "azure-openai" },
        { "anthropic_version", KT_PROVIDER_ANTHROPIC, "anthropic" },
    };
    char *vals[3];
    for (size_t i = 0; i < KT_ARRAY_LEN(only); i++) {
        const kt_ynode *v = field(x, item, nested, only[i].key, where);
        vals[i] = opt_str(x, v, where, only[i].key);
        if (vals[i] && t->provider != only[i].kind) {
            kt_yr_err(&x->rd, v, "%s.%s applies only to provider %s", where, only[i].key,
                      only[i].name);
            free(vals[i]);
            vals[i] = NULL;
        }
    }
    t->api_version = vals[0];
    t->deployment = vals[1];
    t->anthropic_version = vals[2];
    if (t->provider == KT_PROVIDER_AZURE && !t->api_version)
        t->api_version = kt_yr_dup(&x->rd, "2024-06-01");
    kt__cfg_azure_base(x, t);   /* config_routing.c; no deployment: the request's model */
    if (t->provider == KT_PROVIDER_ANTHROPIC && !t->anthropic_version)
        t->anthropic_version = kt_yr_dup(&x->rd, "2023-06-01");
}

/* `http2: auto|on|off` (YAML 1.1 reads bare on/off as booleans: accepted as such). */
static void set_http2(kt__cfgctx *x, kt_target *t, const kt_ynode *v, const char *where)
{
    t->http2 = KT_HTTP2_AUTO;
    if (!v) return;
    const char *s = v->type == KT_Y_SCALAR ? v->str : NULL;
    if (s && strcmp(s, "auto") == 0) t->http2 = KT_HTTP2_AUTO;
    else if (s && (strcmp(s, "on") == 0 || strcmp(s, "true") == 0)) t->http2 = KT_HTTP2_ON;
    else if (s && (strcmp(s, "off") == 0 || strcmp(s, "false") == 0)) t->http2 = KT_HTTP2_OFF;
    else kt_yr_err(&x->rd, v, "%s.http2 must be auto, on or off", where);
    if (t->http2 == KT_HTTP2_ON && t->host && !t->tls)
        kt_yr_err(&x->rd, v, "%s.http2: on needs an https base_url (no cleartext h2)", where);
}

static void set_id(kt__cfgctx *x, kt_target *t, const kt_ynode *item, const char *where)
{
    const char *id = kt_yr_str(&x->rd, item, "id", where, true);
    if (!id) return;
    const kt_ynode *idn = kt_ymap_get(item, "id");
    if (!valid_id(id)) {
        kt_yr_err(&x->rd, idn, "%s.id must be 1-64 characters of letters, digits, '-', '_' or '.'",
                  where);
        return;
    }
    for (size_t i = 0; i < x->cfg->ntargets; i++)
        if (x->cfg->targets[i].id && strcmp(x->cfg->targets[i].id, id) == 0) {
            kt_yr_err(&x->rd, idn, "duplicate target id %s", KT_YQN(idn));
            return;
        }
    t->id = kt_yr_dup(&x->rd, id);
}

static void parse_target(kt__cfgctx *x, kt_target *t, const kt_ynode *item, const char *where)
{
    if (!kt_yr_want_map(&x->rd, item, where)) return;
    kt_yr_check_keys(&x->rd, item, target_keys, where);
    set_id(x, t, item, where);

    const kt_ynode *pv = kt_ymap_get(item, "provider");
    const kt_ynode *nested = NULL;
    char ppath[160];
    snprintf(ppath, sizeof ppath, "%s.provider", where);
    t->provider = KT_PROVIDER_OPENAI;
    if (pv && pv->type == KT_Y_MAP) {
        nested = pv;
        kt_yr_check_keys(&x->rd, nested, nested_keys, ppath);
        if (t->id) provider_kind(t->id, &t->provider);
    } else if (pv && !kt_y_is_null(pv)) {
        const char *s = kt_yr_want_str(&x->rd, pv, ppath);
        if (s && !provider_kind(s, &t->provider))
            kt_yr_err(&x->rd, pv, "unknown provider %s in %s (known: openai, anthropic, "
                      "azure-openai)", KT_YQN(pv), where);
    }

    kt__cfg_target_models(x, t, field(x, item, nested, "model", where), where);
    kt__cfg_target_aliases(x, t, kt_ymap_get(item, "aliases"), where);
    const kt_ynode *url = field(x, item, nested, "base_url", where);
    if (url) set_url(x, t, url, where);
    else kt_yr_err(&x->rd, item, "missing required key 'base_url' in %s", where);
    const kt_ynode *ref = field(x, item, nested, "secret_key_ref", where);
    if (ref) kt__cfg_key_ref(x, t, ref, where);
    else kt_yr_err(&x->rd, item, "missing required key 'secret_key_ref' in %s", where);
    provider_details(x, t, item, nested, where);
    set_http2(x, t, field(x, item, nested, "http2", where), where);
}

void kt__cfg_targets(kt__cfgctx *x, const kt_ynode *providers)
{
    static const char *const provider_keys[] = { "targets", NULL };
    const kt_ynode *list = providers;
    const char *lname = "providers";
    if (!providers || kt_y_is_null(providers)) return;
    if (providers->type == KT_Y_MAP) {
        kt_yr_check_keys(&x->rd, providers, provider_keys, "providers");
        list = kt_ymap_get(providers, "targets");
        lname = "providers.targets";
        if (!list) {
            kt_yr_err(&x->rd, providers, "missing required key 'targets' in providers");
            return;
        }
    } else if (providers->type != KT_Y_SEQ) {
        kt_yr_err(&x->rd, providers, "expected a mapping for providers, got %s",
                  kt_y_what(providers));
        return;
    }
    if (!kt_yr_want_seq(&x->rd, list, lname)) return;
    if (list->n == 0) {
        kt_yr_err(&x->rd, list, "%s must list at least one target", lname);
        return;
    }
    if (list->n > KT__CFG_MAX_TARGETS) {
        kt_yr_err(&x->rd, list, "%s lists %zu targets (limit %d)", lname, list->n,
                  KT__CFG_MAX_TARGETS);
        return;
    }
    x->cfg->targets = kt_calloc(list->n, sizeof *x->cfg->targets);
    if (!x->cfg->targets) {
        x->rd.oom = 1;
        return;
    }
    for (size_t i = 0; i < list->n; i++) {
        char where[64];
        snprintf(where, sizeof where, "%s[%zu]", lname, i);
        parse_target(x, &x->cfg->targets[i], list->vals[i], where);
        x->cfg->ntargets++;
    }
    kt__cfg_target_fallbacks(x, list, lname);   /* config_routing.c: ids known now */
}

void kt__cfg_default_target(kt__cfgctx *x, const kt_ynode *key_ref)
{
    char err[160];
    x->cfg->targets = kt_calloc(1, sizeof *x->cfg->targets);
    if (!x->cfg->targets) {
        x->rd.oom = 1;
        return;
    }
    x->cfg->ntargets = 1;
    kt_target *t = &x->cfg->targets[0];
    t->id = kt_yr_dup(&x->rd, "openai");
    t->provider = KT_PROVIDER_OPENAI;
    char *url = kt_expand_vars(KT__DEFAULT_BASE_URL, x->env, err, sizeof err);
    if (!url) {
        if (strcmp(err, "out of memory") == 0) x->rd.oom = 1;
        kt_yr_err(&x->rd, NULL, "OPENAI_BASE_URL (the default target's base_url): %s", err);
        return;
    }
    kt_url_parts u;
    int rc = kt_url_parse(url, true, &u, err, sizeof err);
    if (rc == KT_ENOMEM) x->rd.oom = 1;
    if (rc) {
        kt_yr_err(&x->rd, NULL, "OPENAI_BASE_URL (the default target's base_url): %s", err);
        free(url);
        return;
    }
    t->base_url = url;
    t->tls = u.tls;
    t->host = u.host;
    t->port = u.port;
    t->path_prefix = u.path;
    if (key_ref) {
        kt__cfg_key_ref(x, t, key_ref, "gateway");
        return;
    }
    t->key_source = KT_KEY_ENV;
    t->key_ref = kt_yr_dup(&x->rd, "OPENAI_API_KEY");
}
