/* Governance settings: `consumers:` (names, gateway keys, model rules, limits) and the gateway's
 * `auth`, `models` and `state_dir`. Keys are kept only as SHA-256: `key_sha256` as given, a
 * `key_ref: {env|file}` hashed when it is read (at load and on every key refresh), the plain key
 * wiped at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "config_priv.h"

#define KT__CFG_MAX_CONSUMERS 1024
#define KT__CFG_MAX_KEYS 16
#define KT__CFG_MAX_GLOBS 64

static void usd(kt__cfgctx *x, const kt_ynode *n, const char *where, double *out)
{
    kt_yr_decimal(&x->rd, n, where, 0, 1e9, out);
}

static void globs(kt__cfgctx *x, const kt_ynode *seq, const char *where, char ***out, size_t *n)
{
    if (!seq || kt_y_is_null(seq) || !kt_yr_want_seq(&x->rd, seq, where)) return;
    if (seq->n > KT__CFG_MAX_GLOBS) {
        kt_yr_err(&x->rd, seq, "%s has more than %d patterns", where, KT__CFG_MAX_GLOBS);
        return;
    }
    *out = kt_calloc(seq->n ? seq->n : 1, sizeof **out);
    if (!*out) {
        x->rd.oom = 1;
        return;
    }
    for (size_t i = 0; i < seq->n; i++) {
        const char *s = kt_yr_want_str(&x->rd, seq->vals[i], where);
        if (!s) continue;
        if (!*s || strlen(s) > 256) {
            kt_yr_err(&x->rd, seq->vals[i], "%s: a pattern is 1 to 256 characters", where);
            continue;
        }
        char *d = kt_yr_dup(&x->rd, s);
        if (d) (*out)[(*n)++] = d;
    }
}

static void model_rules(kt__cfgctx *x, const kt_ynode *m, const char *where, kt_model_rules *r)
{
    static const char *const keys[] = { "allow", "deny", NULL };
    if (!m || kt_y_is_null(m) || !kt_yr_want_map(&x->rd, m, where)) return;
    kt_yr_check_keys(&x->rd, m, keys, where);
    char p[160];
    snprintf(p, sizeof p, "%s.allow", where);
    globs(x, kt_ymap_get(m, "allow"), p, &r->allow, &r->nallow);
    snprintf(p, sizeof p, "%s.deny", where);
    globs(x, kt_ymap_get(m, "deny"), p, &r->deny, &r->ndeny);
}

static void model_rules_free(kt_model_rules *r)
{
    for (size_t i = 0; i < r->nallow; i++) free(r->allow[i]);
    for (size_t i = 0; i < r->ndeny; i++) free(r->deny[i]);
    free(r->allow);
    free(r->deny);
    memset(r, 0, sizeof *r);
}

static bool hex_sha(const char *s, unsigned char out[32])
{
    if (strlen(s) != 64) return false;
    for (size_t i = 0; i < 64; i++) {
        char ch = s[i];
        int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
                ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (v < 0) return false;
        if (i % 2 == 0) out[i / 2] = (unsigned char)(v << 4);
        else out[i / 2] |= (unsigned char)v;
    }
    return true;
}

static void key_ref(kt__cfgctx *x, const kt_ynode *ref, const char *where, kt_gw_key *k)
{
    bool is_env;
    const char *s = kt_yr_env_or_file(&x->rd, ref, where, &is_env);
    if (!s) return;
    k->source = is_env ? KT_KEY_ENV : KT_KEY_FILE;
    k->ref = kt_yr_dup(&x->rd, s);
}

static void one_key(kt__cfgctx *x, const kt_ynode *n, const char *where, kt_gw_key *k)
{
    static const char *const keys[] = { "key_sha256", "key_ref", NULL };
    if (!kt_yr_want_map(&x->rd, n, where)) return;
    kt_yr_check_keys(&x->rd, n, keys, where);
    const kt_ynode *sha = kt_ymap_get(n, "key_sha256"), *ref = kt_ymap_get(n, "key_ref");
    if (!sha == !ref) {
        kt_yr_err(&x->rd, n, "%s needs exactly one of key_sha256 or key_ref (the plain key never "
                    "goes into the config)", where);
        return;
    }
    char p[160];
    if (ref) {
        snprintf(p, sizeof p, "%s.key_ref", where);
        key_ref(x, ref, p, k);
        return;
    }
    snprintf(p, sizeof p, "%s.key_sha256", where);
    const char *s = kt_yr_want_str(&x->rd, sha, p);
    if (!s) return;
    if (!hex_sha(s, k->sha)) {
        kt_yr_err(&x->rd, sha, "%s must be 64 hex digits (sha256sum of the key)", p);
        return;
    }
    k->ok = true;
}

static void limits(kt__cfgctx *x, const kt_ynode *m, const char *where, kt_consumer_limits *l)
{
    static const char *const keys[] = { "requests_per_minute", "tokens_per_minute",
                                        "max_daily_usd", NULL };
    if (!m || kt_y_is_null(m) || !kt_yr_want_map(&x->rd, m, where)) return;
    kt_yr_check_keys(&x->rd, m, keys, where);
    char p[160];
    const kt_ynode *v;
    if ((v = kt_ymap_get(m, "requests_per_minute"))) {
        snprintf(p, sizeof p, "%s.requests_per_minute", where);
        kt_yr_uint(&x->rd, v, p, 1, 100000000, &l->requests_per_minute);
    }
    if ((v = kt_ymap_get(m, "tokens_per_minute"))) {
        snprintf(p, sizeof p, "%s.tokens_per_minute", where);
        kt_yr_uint(&x->rd, v, p, 1, 100000000000ull, &l->tokens_per_minute);
    }
    if ((v = kt_ymap_get(m, "max_daily_usd"))) {
        snprintf(p, sizeof p, "%s.max_daily_usd", where);
        usd(x, v, p, &l->max_daily_usd);
    }
}

static void one_consumer(kt__cfgctx *x, const kt_ynode *n, size_t i, kt_consumer *c)
{
    static const char *const keys[] = { "name", "keys", "models", "limits", "description", NULL };
    char where[64];
    snprintf(where, sizeof where, "consumers[%zu]", i);
    if (!kt_yr_want_map(&x->rd, n, where)) return;
    kt_yr_check_keys(&x->rd, n, keys, where);
    const char *name = kt_yr_str(&x->rd, n, "name", where, true);
    if (name && (!*name || strlen(name) > 64 ||
                 strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
                     strlen(name))) {
        kt_yr_err(&x->rd, kt_ymap_get(n, "name"), "%s.name must be 1-64 letters, digits, '-', '_' "
                    "or '.'", where);
        name = NULL;
    }
    for (size_t j = 0; name && j < i; j++)
        if (x->cfg->consumers[j].name && strcmp(x->cfg->consumers[j].name, name) == 0)
            kt_yr_err(&x->rd, kt_ymap_get(n, "name"), "duplicate consumer '%s'", KT_YQ(name));
    if (name) c->name = kt_yr_dup(&x->rd, name);
    (void)kt_yr_str(&x->rd, n, "description", where, false);
    const kt_ynode *ks = kt_ymap_get(n, "keys");
    char p[96];
    snprintf(p, sizeof p, "%s.keys", where);
    if (!ks || kt_y_is_null(ks)) {
        kt_yr_err(&x->rd, ks ? ks : n, "%s needs at least one key (keys: [{key_sha256: ...}])", where);
    } else if (kt_yr_want_seq(&x->rd, ks, p)) {
        if (!ks->n || ks->n > KT__CFG_MAX_KEYS) {
            kt_yr_err(&x->rd, ks, "%s needs 1 to %d keys", p, KT__CFG_MAX_KEYS);
        } else if (!(c->keys = kt_calloc(ks->n, sizeof *c->keys))) {
            x->rd.oom = 1;
        } else {
            c->nkeys = ks->n;
            for (size_t k = 0; k < ks->n; k++) {
                char kp[136];
                snprintf(kp, sizeof kp, "%s[%zu]", p, k);
                one_key(x, ks->vals[k], kp, &c->keys[k]);
            }
        }
    }
    snprintf(p, sizeof p, "%s.models", where);
    model_rules(x, kt_ymap_get(n, "models"), p, &c->models);
    snprintf(p, sizeof p, "%s.limits", where);
    limits(x, kt_ymap_get(n, "limits"), p, &c->limits);
}

static void consumers_section(kt__cfgctx *x, const kt_ynode *cs)
{
    if (!cs || kt_y_is_null(cs) || !kt_yr_want_seq(&x->rd, cs, "consumers")) return;
    if (cs->n > KT__CFG_MAX_CONSUMERS) {
        kt_yr_err(&x->rd, cs, "more than %d consumers", KT__CFG_MAX_CONSUMERS);
        return;
    }
    if (!cs->n) return;
    x->cfg->consumers = kt_calloc(cs->n, sizeof *x->cfg->consumers);
    if (!x->cfg->consumers) {
        x->rd.oom = 1;
        return;
    }
    x->cfg->nconsumers = cs->n;
    for (size_t i = 0; i < cs->n; i++) one_consumer(x, cs->vals[i], i, &x->cfg->consumers[i]);
}

static void gateway_part(kt__cfgctx *x, const kt_ynode *gw)
{
    if (!gw || gw->type != KT_Y_MAP) return;
    kt_gateway_opts *g = &x->cfg->gateway;
    const kt_ynode *v = kt_ymap_get(gw, "auth");
    if (v) {
        const char *s = kt_yr_want_str(&x->rd, v, "gateway.auth");
        if (s && strcmp(s, "keys") == 0) g->auth = KT_AUTH_KEYS;
        else if (s && strcmp(s, "none") == 0) g->auth = KT_AUTH_NONE;
        else if (s) kt_yr_err(&x->rd, v, "gateway.auth must be keys or none");
    }
    model_rules(x, kt_ymap_get(gw, "models"), "gateway.models", &g->models);
    const char *dir = kt_yr_str(&x->rd, gw, "state_dir", "gateway", false);
    if (dir && (!*dir || strlen(dir) > 1024)) kt_yr_err(&x->rd, kt_ymap_get(gw, "state_dir"),
                                                          "gateway.state_dir must be a path");
    else if (dir) g->state_dir = kt_yr_dup(&x->rd, dir);
    kt__cfg_shared_state(x, kt_ymap_get(gw, "shared_state"));   /* config_shared_state.c */
}

void kt__cfg_governance(kt__cfgctx *x, const kt_ynode *root)
{
    consumers_section(x, kt_ymap_get(root, "consumers"));
    const kt_ynode *gw = kt_ymap_get(root, "gateway");
    if (!gw || gw->type != KT_Y_MAP) kt__cfg_shared_state(x, NULL);   /* its defaults */
    gateway_part(x, gw);
}

/* ---- key refs ---------------------------------------------------------------------------------- */

static void sha256(const char *s, size_t n, unsigned char out[32])
{
#if MBEDTLS_VERSION_MAJOR < 3
    mbedtls_sha256_ret((const unsigned char *)s, n, out, 0);
#else
    mbedtls_sha256((const unsigned char *)s, n, out, 0);
#endif
}

/* The key of a key_ref, trimmed: printable ASCII without spaces. */
static int key_read(const kt_gw_key *k, kt_env env, char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (k->source == KT_KEY_ENV) {
        const char *v = env.get ? env.get(env.ud, k->ref) : NULL;
        if (!v || strlen(v) > KT__CFG_MAX_KEY_FILE) {
            snprintf(err, errlen, "env %.64s is %s", k->ref, v ? "longer than 8 KiB" : "not set");
            return KT_OK;
        }
        *out = kt_strdup(v);
        return *out ? KT_OK : KT_ENOMEM;
    }
    size_t len;
    int eno;
    int rc = kt__cfg_read_file(k->ref, KT__CFG_MAX_KEY_FILE, out, &len, &eno);
    if (rc == KT_ENOMEM) return rc;
    if (rc) snprintf(err, errlen, "file %.80s cannot be read", k->ref);
    return KT_OK;
}

static int key_resolve(kt_gw_key *k, kt_env env)
{
    if (k->source == KT_KEY_NONE || !k->ref) return 0;
    char err[sizeof k->error] = "", *s = NULL;
    if (key_read(k, env, &s, err, sizeof err)) return KT_ENOMEM;
    size_t a = 0, n = s ? strlen(s) : 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
    while (a < n && (s[a] == ' ' || s[a] == '\t')) a++;
    bool good = s && n > a;
    for (size_t i = a; good && i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) good = false;
    if (s && !good) snprintf(err, sizeof err, "%s %.80s holds no usable key",
                             k->source == KT_KEY_ENV ? "env" : "file", k->ref);
    unsigned char h[32] = { 0 };
    if (good) sha256(s + a, n - a, h);
    if (s) kt__cfg_free_secret(s);
    int changed = good != k->ok || (good && memcmp(h, k->sha, 32) != 0);
    k->ok = good;
    memcpy(k->sha, h, 32);
    snprintf(k->error, sizeof k->error, "%s", good ? "" : err);
    return changed;
}

int kt__cfg_resolve_consumer_keys(kt_config *c, kt_env env)
{
    int changed = KT_KEYS_SAME;
    for (size_t i = 0; i < c->nconsumers; i++)
        for (size_t k = 0; k < c->consumers[i].nkeys; k++) {
            int rc = key_resolve(&c->consumers[i].keys[k], env);
            if (rc < 0) return rc;
            if (rc) changed = KT_KEYS_CHANGED;
        }
    return changed;
}

void kt__cfg_governance_free(kt_config *c)
{
    for (size_t i = 0; i < c->nconsumers; i++) {
        kt_consumer *k = &c->consumers[i];
        free(k->name);
        for (size_t j = 0; j < k->nkeys; j++) free(k->keys[j].ref);
        free(k->keys);
        model_rules_free(&k->models);
    }
    free(c->consumers);
    model_rules_free(&c->gateway.models);
    free(c->gateway.state_dir);
    kt__cfg_shared_state_free(c);
    free(c->gateway.audit_dir);
    for (size_t i = 0; i < KT_OTEL_KEYS; i++) free(c->gateway.otel[i]);
}
