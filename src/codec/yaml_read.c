/* Typed readers for YAML values: each checks the node's YAML type and text, reports a problem
 * with the node's line and column, and lets the caller carry on. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/yaml_read.h"

char *kt_yr_dup(kt_yread *r, const char *s)
{
    char *d = kt_strdup(s ? s : "");
    if (!d) r->oom = 1;
    return d;
}

bool kt_y_is_null(const kt_ynode *n)
{
    if (!n || n->type != KT_Y_SCALAR || n->quoted) return false;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const char *kt_y_what(const kt_ynode *n)
{
    if (!n) return "nothing";
    if (n->type == KT_Y_MAP) return "a mapping";
    if (n->type == KT_Y_SEQ) return "a sequence";
    return kt_y_is_null(n) ? "an empty value" : "a scalar";
}

int kt_yr_check_keys(kt_yread *r, const kt_ynode *map, const char *const *allowed,
                     const char *where)
{
    if (!map || map->type != KT_Y_MAP) return 0;
    char known[640];
    size_t kl = 0;
    known[0] = '\0';
    for (size_t i = 0; allowed[i]; i++) {
        int w = snprintf(known + kl, sizeof known - kl, "%s%s", i ? ", " : "", allowed[i]);
        if (w < 0 || (size_t)w >= sizeof known - kl) {
            known[0] = '\0';   /* too long to be useful in one line */
            break;
        }
        kl += (size_t)w;
    }
    int bad = 0;
    for (size_t i = 0; i < map->n; i++) {
        const kt_ynode *k = map->keys[i];
        size_t j = 0;
        while (allowed[j] && strcmp(allowed[j], k->str) != 0) j++;
        if (allowed[j]) continue;
        bad++;
        if (known[0])
            kt_yr_err(r, k, "unknown key '%s' in %s (known: %s)", KT_YQ(k->str), where, known);
        else
            kt_yr_err(r, k, "unknown key '%s' in %s", KT_YQ(k->str), where);
    }
    return bad;
}

bool kt_yr_want_map(kt_yread *r, const kt_ynode *n, const char *where)
{
    if (n && n->type == KT_Y_MAP) return true;
    kt_yr_err(r, n, "expected a mapping for %s, got %s", where, kt_y_what(n));
    return false;
}

bool kt_yr_want_seq(kt_yread *r, const kt_ynode *n, const char *where)
{
    if (n && n->type == KT_Y_SEQ) return true;
    kt_yr_err(r, n, "expected a sequence for %s, got %s", where, kt_y_what(n));
    return false;
}

const char *kt_yr_want_str(kt_yread *r, const kt_ynode *n, const char *where)
{
    if (n && n->type == KT_Y_SCALAR && !kt_y_is_null(n) && n->len > 0) return n->str;
    if (n && n->type == KT_Y_SCALAR)
        kt_yr_err(r, n, "expected a non-empty string for %s", where);
    else
        kt_yr_err(r, n, "expected a string for %s, got %s", where, kt_y_what(n));
    return NULL;
}

const char *kt_yr_env_or_file(kt_yread *r, const kt_ynode *ref, const char *where, bool *is_env)
{
    static const char *const keys[] = { "env", "file", NULL };
    static const char name_chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
    if (!kt_yr_want_map(r, ref, where)) return NULL;
    kt_yr_check_keys(r, ref, keys, where);
    const kt_ynode *env = kt_ymap_get(ref, "env"), *file = kt_ymap_get(ref, "file");
    if (!env == !file) {
        kt_yr_err(r, ref, "%s needs exactly one of env or file", where);
        return NULL;
    }
    const char *s = kt_yr_want_str(r, env ? env : file, where);
    if (!s) return NULL;
    if (env && strspn(s, name_chars) != strlen(s)) {
        kt_yr_err(r, env, "%s.env must be a variable name (letters, digits and _)", where);
        return NULL;
    }
    *is_env = env != NULL;
    return s;
}

const char *kt_yr_str(kt_yread *r, const kt_ynode *map, const char *key, const char *where,
                      bool required)
{
    const kt_ynode *v = kt_ymap_get(map, key);
    char path[160];
    snprintf(path, sizeof path, "%s.%s", where, key);
    if (!v || kt_y_is_null(v)) {
        if (required)
            kt_yr_err(r, v ? v : map, "missing required key '%s' in %s", key, where);
        return NULL;
    }
    return kt_yr_want_str(r, v, path);
}

int kt_yr_bool(kt_yread *r, const kt_ynode *n, const char *where, bool *out)
{
    if (n && n->type == KT_Y_SCALAR) {
        if (strcmp(n->str, "true") == 0) {
            *out = true;
            return KT_OK;
        }
        if (strcmp(n->str, "false") == 0) {
            *out = false;
            return KT_OK;
        }
    }
    kt_yr_err(r, n, "expected a boolean (true|false) for %s", where);
    return KT_EINVAL;
}

/* Leading decimal digits of s into *v (no sign, no overflow); returns the digit count or -1. */
static int parse_digits(const char *s, uint64_t *v)
{
    int nd = 0;
    uint64_t acc = 0;
    while (isdigit((unsigned char)s[nd])) {
        unsigned d = (unsigned)(s[nd] - '0');
        if (acc > (UINT64_MAX - d) / 10) return -1;
        acc = acc * 10 + d;
        nd++;
    }
    *v = acc;
    return nd;
}

static void fmt_ms(uint64_t ms, char *out, size_t n)
{
    if (ms && ms % 3600000 == 0) snprintf(out, n, "%" PRIu64 "h", ms / 3600000);
    else if (ms && ms % 60000 == 0) snprintf(out, n, "%" PRIu64 "m", ms / 60000);
    else if (ms && ms % 1000 == 0) snprintf(out, n, "%" PRIu64 "s", ms / 1000);
    else snprintf(out, n, "%" PRIu64 "ms", ms);
}

static void fmt_size(uint64_t b, char *out, size_t n)
{
    if (b && b % (1u << 30) == 0) snprintf(out, n, "%" PRIu64 "GiB", b >> 30);
    else if (b && b % (1u << 20) == 0) snprintf(out, n, "%" PRIu64 "MiB", b >> 20);
    else if (b && b % 1024 == 0) snprintf(out, n, "%" PRIu64 "KiB", b >> 10);
    else snprintf(out, n, "%" PRIu64 " bytes", b);
}

int kt_yr_uint(kt_yread *r, const kt_ynode *n, const char *where, uint64_t min, uint64_t max,
               uint64_t *out)
{
    uint64_t v = 0;
    int nd = (n && n->type == KT_Y_SCALAR) ? parse_digits(n->str, &v) : -1;
    if (nd <= 0 || n->str[nd] != '\0') {
        kt_yr_err(r, n, "expected an integer for %s", where);
        return KT_EINVAL;
    }
    if (v < min || v > max) {
        kt_yr_err(r, n, "%s must be between %" PRIu64 " and %" PRIu64, where, min, max);
        return KT_EINVAL;
    }
    *out = v;
    return KT_OK;
}

int kt_yr_decimal(kt_yread *r, const kt_ynode *n, const char *where, double min, double max,
                  double *out)
{
    const char *s = n && n->type == KT_Y_SCALAR && n->str ? n->str : "";
    size_t i = 0, digits = 0, dots = 0;
    for (; s[i]; i++) {
        if (s[i] >= '0' && s[i] <= '9') digits++;
        else if (s[i] == '.' && !dots++) continue;
        else break;
    }
    if (!digits || s[i] || i > 32) {
        kt_yr_err(r, n, "expected a number for %s", where);
        return KT_EINVAL;
    }
    double v = strtod(s, NULL);
    if (!(v >= min && v <= max)) {
        kt_yr_err(r, n, "%s must be between %g and %g", where, min, max);
        return KT_EINVAL;
    }
    *out = v;
    return KT_OK;
}

/* Multiplies v by m unless that overflows. */
static int mul_ok(uint64_t *v, uint64_t m)
{
    if (m && *v > UINT64_MAX / m) return 0;
    *v *= m;
    return 1;
}

int kt_yr_duration(kt_yread *r, const kt_ynode *n, const char *where, uint64_t min_ms,
                   uint64_t max_ms, uint64_t *out_ms)
{
    static const struct { const char *unit; uint64_t ms; } units[] = {
        { "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
    };
    uint64_t v = 0;
    int nd = (n && n->type == KT_Y_SCALAR) ? parse_digits(n->str, &v) : -1;
    const char *u = nd > 0 ? n->str + nd : NULL;
    size_t i = 0;
    while (u && i < KT_ARRAY_LEN(units) && strcmp(u, units[i].unit) != 0) i++;
    if (!u || i == KT_ARRAY_LEN(units)) {
        kt_yr_err(r, n, "expected a duration for %s (such as 500ms, 10s, 2m, 1h; a bare number "
                  "means seconds)", where);
        return KT_EINVAL;
    }
    if (!mul_ok(&v, units[i].ms) || v < min_ms || v > max_ms) {
        char lo[32], hi[32];
        fmt_ms(min_ms, lo, sizeof lo);
        fmt_ms(max_ms, hi, sizeof hi);
        kt_yr_err(r, n, "%s must be between %s and %s", where, lo, hi);
        return KT_EINVAL;
    }
    *out_ms = v;
    return KT_OK;
}

int kt_yr_size(kt_yread *r, const kt_ynode *n, const char *where, uint64_t min, uint64_t max,
               uint64_t *out)
{
    static const struct { const char *unit; uint64_t mul; } units[] = {
        { "", 1 }, { "B", 1 }, { "KiB", 1024 }, { "MiB", 1024 * 1024 },
        { "GiB", 1024 * 1024 * 1024 }, { "KB", 1000 }, { "MB", 1000 * 1000 },
        { "GB", 1000 * 1000 * 1000 },
    };
    uint64_t v = 0;
    int nd = (n && n->type == KT_Y_SCALAR) ? parse_digits(n->str, &v) : -1;
    const char *u = nd > 0 ? n->str + nd : NULL;
    if (u && *u == ' ') u++;
    size_t i = 0;
    while (u && i < KT_ARRAY_LEN(units) &&
           !kt_str_eq_ci((kt_str){ u, strlen(u) }, units[i].unit))
        i++;
    if (!u || i == KT_ARRAY_LEN(units) || (u != n->str + nd && !*u)) {
        kt_yr_err(r, n, "expected a size for %s (such as 512KB, 32KiB, 8MiB, 1GiB or a number "
                  "of bytes)", where);
        return KT_EINVAL;
    }
    if (!mul_ok(&v, units[i].mul) || v < min || v > max) {
        char lo[32], hi[32];
        fmt_size(min, lo, sizeof lo);
        fmt_size(max, hi, sizeof hi);
        kt_yr_err(r, n, "%s must be between %s and %s", where, lo, hi);
        return KT_EINVAL;
    }
    *out = v;
    return KT_OK;
}
