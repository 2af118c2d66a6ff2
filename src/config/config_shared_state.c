/* gateway.shared_state: `redis: {url, password_ref: {env|file}, key_prefix, on_unavailable,
 * timeout}`. The URL is parsed here at load (redis://host[:port][/db]; rediss:// and credentials
 * in the URL are refused with their reason), the password only when governance connects: the
 * snapshot holds where it is, never the password itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

#define KT__REDIS_URL_MAX 1024
#define KT__REDIS_DB_MAX 1000000u

static int url_err(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return KT_EINVAL;
}

static bool host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_';
}

/* Digits only, at least one, value in [min, max]. */
static bool number(const char *p, size_t n, unsigned long min, unsigned long max,
                   unsigned long *out)
{
    if (!n || n > 7) return false;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v < min || v > max) return false;
    *out = v;
    return true;
}

/* host[:port] in p[0..n): "name", "10.0.0.1", "[::1]", each with an optional ":port". */
static int authority(const char *p, size_t n, kt_shared_state_opts *o, char *err, size_t errlen)
{
    size_t hs = 0, he, rest;
    if (n && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (!close) return url_err(err, errlen, "an IPv6 address needs its closing ]");
        hs = 1;
        he = (size_t)(close - p);
        rest = he + 1;
        for (size_t i = hs; i < he; i++)
            if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
                  (p[i] >= 'A' && p[i] <= 'F') || p[i] == ':' || p[i] == '.'))
                return url_err(err, errlen, "not an IPv6 address between [ and ]");
    } else {
        const char *colon = memchr(p, ':', n);
        he = colon ? (size_t)(colon - p) : n;
        rest = he;
        for (size_t i = 0; i < he; i++)
            if (!host_char(p[i])) return url_err(err, errlen, "the host has a character a host "
                                                 "name or address cannot have");
    }
    if (he <= hs) return url_err(err, errlen, "the URL names no host");
    if (he - hs >= sizeof o->host) return url_err(err, errlen, "the host is too long");
    unsigned long port = 6379;
    if (rest < n) {
        if (p[rest] != ':' || !number(p + rest + 1, n - rest - 1, 1, 65535, &port))
            return url_err(err, errlen, "the port must be a number from 1 to 65535");
    }
    memcpy(o->host, p + hs, he - hs);
    o->host[he - hs] = '\0';
    o->port = (uint16_t)port;
    return KT_OK;
}

int kt_redis_url_parse(const char *url, size_t len, kt_shared_state_opts *o, char *err,
                       size_t errlen)
{
    if (len > KT__REDIS_URL_MAX) return url_err(err, errlen, "the URL is too long");
    if (len >= 9 && memcmp(url, "rediss://", 9) == 0)
        return url_err(err, errlen, "rediss:// (Redis over TLS) is not supported yet; use "
                       "redis:// on a private network or a TLS tunnel");
    if (len < 8 || memcmp(url, "redis://", 8) != 0)
        return url_err(err, errlen, "the URL must start with redis://");
    const char *p = url + 8;
    size_t n = len - 8;
    if (memchr(p, '\0', n)) return url_err(err, errlen, "the URL contains a NUL byte");
    const char *slash = memchr(p, '/', n);
    size_t an = slash ? (size_t)(slash - p) : n;
    if (memchr(p, '@', an))
        return url_err(err, errlen, "credentials do not go into the URL: give the password "
                       "as password_ref: {env|file}");
    if (memchr(p, '?', n) || memchr(p, '#', n))
        return url_err(err, errlen, "the URL takes no query or fragment");
    kt_shared_state_opts tmp = *o;
    int rc = authority(p, an, &tmp, err, errlen);
    if (rc) return rc;
    unsigned long db = 0;
    if (slash && (size_t)(slash - p) + 1 < n &&
        !number(slash + 1, n - an - 1, 0, KT__REDIS_DB_MAX, &db))
        return url_err(err, errlen, "the database after / must be a number");
    tmp.db = (uint32_t)db;
    *o = tmp;
    return KT_OK;
}

static void password_ref(kt__cfgctx *x, const kt_ynode *ref, kt_shared_state_opts *o)
{
    bool is_env;
    const char *s = kt_yr_env_or_file(&x->rd, ref, "gateway.shared_state.redis.password_ref",
                                      &is_env);
    if (!s) return;
    o->password_source = is_env ? KT_KEY_ENV : KT_KEY_FILE;
    o->password_ref = kt_yr_dup(&x->rd, s);
}

static void redis_opts(kt__cfgctx *x, const kt_ynode *r, kt_shared_state_opts *o)
{
    static const char *const keys[] = { "url", "password_ref", "key_prefix", "on_unavailable",
                                        "timeout", NULL };
    const char *where = "gateway.shared_state.redis";
    if (!kt_yr_want_map(&x->rd, r, where)) return;
    kt_yr_check_keys(&x->rd, r, keys, where);
    o->redis = true;
    const char *url = kt_yr_str(&x->rd, r, "url", where, true);
    char err[160];
    if (url && kt_redis_url_parse(url, strlen(url), o, err, sizeof err))
        kt_yr_err(&x->rd, kt_ymap_get(r, "url"), "%s.url: %s", where, err);
    const kt_ynode *v = kt_ymap_get(r, "password_ref");
    if (v && !kt_y_is_null(v)) password_ref(x, v, o);
    const char *pre = kt_yr_str(&x->rd, r, "key_prefix", where, false);
    if (pre && (strlen(pre) >= sizeof o->key_prefix ||
                strspn(pre, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:.-{}")
                    != strlen(pre)))
        kt_yr_err(&x->rd, kt_ymap_get(r, "key_prefix"), "%s.key_prefix: at most %d letters, "
                  "digits and _ : . - { }", where, KT_REDIS_PREFIX_MAX - 1);
    else if (pre)
        snprintf(o->key_prefix, sizeof o->key_prefix, "%s", pre);
    const char *mode = kt_yr_str(&x->rd, r, "on_unavailable", where, false);
    if (mode && strcmp(mode, "local") == 0) o->on_unavailable = KT_UNAVAIL_LOCAL;
    else if (mode && strcmp(mode, "deny") == 0) o->on_unavailable = KT_UNAVAIL_DENY;
    else if (mode && strcmp(mode, "allow") == 0) o->on_unavailable = KT_UNAVAIL_ALLOW;
    else if (mode) kt_yr_err(&x->rd, kt_ymap_get(r, "on_unavailable"),
                             "%s.on_unavailable must be local, deny or allow", where);
    v = kt_ymap_get(r, "timeout");
    uint64_t ms;
    if (v && !kt_y_is_null(v) && !kt_yr_duration(&x->rd, v, "gateway.shared_state.redis.timeout",
                                                 10, 10000, &ms))
        o->timeout_ms = (uint32_t)ms;
}

void kt__cfg_shared_state(kt__cfgctx *x, const kt_ynode *n)
{
    static const char *const keys[] = { "redis", NULL };
    kt_shared_state_opts *o = &x->cfg->gateway.shared_state;
    snprintf(o->key_prefix, sizeof o->key_prefix, "kt:");
    o->port = 6379;
    o->timeout_ms = 250;
    if (!n || kt_y_is_null(n) || !kt_yr_want_map(&x->rd, n, "gateway.shared_state")) return;
    kt_yr_check_keys(&x->rd, n, keys, "gateway.shared_state");
    const kt_ynode *r = kt_ymap_get(n, "redis");
    if (r && !kt_y_is_null(r)) redis_opts(x, r, o);
}

void kt__cfg_shared_state_free(kt_config *c) { free(c->gateway.shared_state.password_ref); }

int kt_config_shared_password(const kt_shared_state_opts *o, kt_env env, char **out, char *err,
                              size_t errlen)
{
    *out = NULL;
    err[0] = '\0';
    if (o->password_source == KT_KEY_NONE || !o->password_ref) return KT_OK;
    char *s = NULL;
    if (o->password_source == KT_KEY_ENV) {
        const char *v = env.get ? env.get(env.ud, o->password_ref) : NULL;
        if (!v || strlen(v) > KT__CFG_MAX_KEY_FILE) {
            snprintf(err, errlen, "env %.64s is %s", o->password_ref,
                     v ? "longer than 8 KiB" : "not set");
            return KT_OK;
        }
        s = kt_strdup(v);
        if (!s) return KT_ENOMEM;
    } else {
        size_t len;
        int eno;
        int rc = kt__cfg_read_file(o->password_ref, KT__CFG_MAX_KEY_FILE, &s, &len, &eno);
        if (rc == KT_ENOMEM) return rc;
        if (rc) {
            snprintf(err, errlen, "file %.80s cannot be read", o->password_ref);
            return KT_OK;
        }
    }
    size_t all = strlen(s), n = all, a = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
    while (a < n && (s[a] == ' ' || s[a] == '\t')) a++;
    if (n == a) {
        snprintf(err, errlen, "%s %.80s is empty",
                 o->password_source == KT_KEY_ENV ? "env" : "file", o->password_ref);
        kt__cfg_free_secret(s);
        return KT_OK;
    }
    memmove(s, s + a, n - a);
    memset(s + (n - a), 0, all - (n - a));   /* no copy of the password is left behind */
    *out = s;
    return KT_OK;
}

void kt_config_free_secret(char *s) { kt__cfg_free_secret(s); }
