/* Provider credentials: `secret_key_ref: {env|file|store}` parsed into a target and resolved at
 * load and on refresh. A missing key is not a load error (requests to that target get a 503);
 * key_error says why, and never contains the secret. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

static int valid_env_name(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

void kt__cfg_key_ref(kt__cfgctx *x, kt_target *t, const kt_ynode *ref, const char *where)
{
    static const char *const keys[] = { "env", "file", "store", NULL };
    static const kt_key_source srcs[] = { KT_KEY_ENV, KT_KEY_FILE, KT_KEY_STORE };
    char path[160];
    snprintf(path, sizeof path, "%s.secret_key_ref", where);
    if (!kt_yr_want_map(&x->rd, ref, path)) return;
    kt_yr_check_keys(&x->rd, ref, keys, path);
    const kt_ynode *found = NULL;
    size_t which = 0;
    int count = 0;
    for (size_t i = 0; keys[i]; i++) {
        const kt_ynode *v = kt_ymap_get(ref, keys[i]);
        if (!v) continue;
        count++;
        if (!found) {
            found = v;
            which = i;
        }
    }
    if (count != 1) {
        kt_yr_err(&x->rd, ref, "%s needs exactly one of env, file or store", path);
        return;
    }
    char vpath[180];
    snprintf(vpath, sizeof vpath, "%s.%s", path, keys[which]);
    const char *name = kt_yr_want_str(&x->rd, found, vpath);
    if (!name) return;
    if (srcs[which] != KT_KEY_FILE && !valid_env_name(name)) {
        kt_yr_err(&x->rd, found, "%s must be a variable name (letters, digits and _)", vpath);
        return;
    }
    t->key_source = srcs[which];
    t->key_ref = kt_yr_dup(&x->rd, name);
}

/* Strips surrounding whitespace in place; returns the new length. */
static size_t trim(char *s, size_t n)
{
    size_t a = 0;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    while (a < n && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r' || s[a] == '\n')) a++;
    if (a) memmove(s, s + a, n - a);
    s[n - a] = '\0';
    return n - a;
}

/* Reads the candidate key into *out (malloc'd) or writes why not into err. */
static int read_key(const kt_target *t, kt_env env, char **out, char *err, size_t errlen)
{
    const char *ref = t->key_ref ? t->key_ref : "";
    *out = NULL;
    if (t->key_source == KT_KEY_NONE) {
        snprintf(err, errlen, "no secret_key_ref configured");
        return KT_OK;
    }
    if (t->key_source == KT_KEY_ENV || t->key_source == KT_KEY_STORE) {
        const char *v = env.get ? env.get(env.ud, ref) : NULL;
        const char *what = t->key_source == KT_KEY_ENV ? "env" : "store";
        if (!v) {
            snprintf(err, errlen, "%s %.64s is not set", what, ref);
            return KT_OK;
        }
        if (strlen(v) > KT__CFG_MAX_KEY_FILE) {
            snprintf(err, errlen, "%s %.64s is longer than 8 KiB", what, ref);
            return KT_OK;
        }
        *out = kt_strdup(v);
        return *out ? KT_OK : KT_ENOMEM;
    }
    size_t len;
    int eno;
    int rc = kt__cfg_read_file(ref, KT__CFG_MAX_KEY_FILE, out, &len, &eno);
    if (rc == KT_ENOMEM) return rc;
    if (rc == KT_OK && strlen(*out) != len) {
        snprintf(err, errlen, "file %.80s contains a NUL byte", ref);
        kt__cfg_free_secret(*out);
        *out = NULL;
    }
    if (rc == KT_EIO) snprintf(err, errlen, "file %.80s: %s", ref, strerror(eno));
    else if (rc == KT_ELIMIT) snprintf(err, errlen, "file %.80s is larger than 8 KiB", ref);
    else if (rc) snprintf(err, errlen, "file %.80s is not a regular file", ref);
    return KT_OK;
}

/* A key goes into an HTTP header: printable ASCII without spaces only. */
static int check_key(char *k, const kt_target *t, char *err, size_t errlen)
{
    size_t n = trim(k, strlen(k));
    const char *what = t->key_source == KT_KEY_FILE ? "file" :
                       t->key_source == KT_KEY_ENV ? "env" : "store";
    if (n == 0) {
        snprintf(err, errlen, "%s %.80s is empty", what, t->key_ref);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f) {
            snprintf(err, errlen, "%s %.64s contains spaces or non-ASCII characters", what,
                     t->key_ref);
            return 0;
        }
    return 1;
}

int kt__cfg_resolve_key(kt_target *t, kt_env env)
{
    char err[sizeof t->key_error];
    char *k = NULL;
    err[0] = '\0';
    int rc = read_key(t, env, &k, err, sizeof err);
    if (rc) return rc;
    if (k && !check_key(k, t, err, sizeof err)) {
        kt__cfg_free_secret(k);
        k = NULL;
    }
    bool changed = (k == NULL) != (t->key == NULL) || (k && strcmp(k, t->key) != 0);
    kt__cfg_free_secret(t->key);
    t->key = k;
    memcpy(t->key_error, k ? "" : err, k ? 1 : sizeof err);
    return changed ? KT_KEYS_CHANGED : KT_KEYS_SAME;
}

int kt_config_refresh_keys(kt_config *c, kt_env env)
{
    int changed = KT_KEYS_SAME;
    for (size_t i = 0; c && i < c->ntargets; i++) {
        int rc = kt__cfg_resolve_key(&c->targets[i], env);
        if (rc < 0) return rc;
        if (rc == KT_KEYS_CHANGED) changed = KT_KEYS_CHANGED;
    }
    int rc = c ? kt__cfg_resolve_consumer_keys(c, env) : KT_KEYS_SAME;
    if (rc < 0) return rc;
    return rc == KT_KEYS_CHANGED ? KT_KEYS_CHANGED : changed;
}

void kt__cfg_target_free(kt_target *t)
{
    kt__cfg_target_routing_free(t);
    free(t->id);
    free(t->model);
    free(t->base_url);
    free(t->host);
    free(t->path_prefix);
    free(t->api_version);
    free(t->anthropic_version);
    free(t->deployment);
    free(t->key_ref);
    kt__cfg_free_secret(t->key);
    memset(t, 0, sizeof *t);
}
