/* ${VAR} and ${VAR:-default} expansion in config values, and the tree walk that applies it to
 * every scalar value (never to keys) and reports duplicate keys. Variable values are never
 * copied into messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"
#include "kt/buf.h"

#define KT__EXPAND_MAX (64 * 1024)        /* one expanded value */
#define KT__EXPAND_TOTAL (4 * 1024 * 1024) /* all expanded values of one config */

static const char *process_getenv(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

kt_env kt_env_process(void)
{
    kt_env e = { process_getenv, NULL };
    return e;
}

static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 128) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

/* Appends the value of the ${...} whose body is s[0..n) (without the braces). */
static int expand_one(kt_buf *b, const char *s, size_t n, kt_env env, char *err, size_t errlen)
{
    const char *sep = NULL;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == ':' && s[i + 1] == '-') {
            sep = s + i;
            break;
        }
    size_t nl = sep ? (size_t)(sep - s) : n;
    if (!valid_name(s, nl)) {
        snprintf(err, errlen, "invalid variable name in ${...} (letters, digits and _ only)");
        return KT_EINVAL;
    }
    char name[129];
    memcpy(name, s, nl);
    name[nl] = '\0';
    const char *v = env.get ? env.get(env.ud, name) : NULL;
    if (sep && (!v || !*v)) {
        const char *def = sep + 2;
        return kt_buf_append(b, def, n - (size_t)(def - s));
    }
    if (!v) {
        snprintf(err, errlen, "variable %s is not set (use ${%s:-default} for a fallback)", name,
                 name);
        return KT_EINVAL;
    }
    return kt_buf_puts(b, v);
}

char *kt_expand_vars(const char *in, kt_env env, char *err, size_t errlen)
{
    kt_buf b;
    kt_buf_init(&b, KT__EXPAND_MAX);
    if (err && errlen) err[0] = '\0';
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    int rc = kt_buf_reserve(&b, strlen(in) < KT__EXPAND_MAX ? strlen(in) : 0);
    size_t i = 0, run = 0;
    while (!rc && in[i]) {
        if (in[i] != '$' || (in[i + 1] != '$' && in[i + 1] != '{')) {
            run++;
            i++;
            continue;
        }
        rc = kt_buf_append(&b, in + i - run, run);
        run = 0;
        if (rc) break;
        if (in[i + 1] == '$') {
            rc = kt_buf_append(&b, "$", 1);
            i += 2;
            continue;
        }
        const char *close = strchr(in + i + 2, '}');
        if (!close) {
            snprintf(err, errlen, "unterminated ${ (missing '}')");
            rc = KT_EINVAL;
            break;
        }
        rc = expand_one(&b, in + i + 2, (size_t)(close - (in + i + 2)), env, err, errlen);
        i = (size_t)(close - in) + 1;
    }
    if (!rc) rc = kt_buf_append(&b, in + i - run, run);
    if (rc == KT_ELIMIT) snprintf(err, errlen, "value longer than %d bytes after expansion",
                                  KT__EXPAND_MAX);
    else if (rc == KT_ENOMEM) snprintf(err, errlen, "out of memory");
    if (rc) goto fail;
    if (!b.p) return kt_strdup("");
    return b.p;
fail:
    kt_buf_free(&b);
    return NULL;
}

static void expand_scalar(kt__cfgctx *x, kt_ynode *n, size_t *budget)
{
    if (memchr(n->str, '\0', n->len)) {
        kt_yr_err(&x->rd, n, "NUL character in value");
        return;
    }
    if (!memchr(n->str, '$', n->len)) return;
    char err[160];
    char *v = kt_expand_vars(n->str, x->env, err, sizeof err);
    if (!v) {
        if (strcmp(err, "out of memory") == 0) x->rd.oom = 1;
        kt_yr_err(&x->rd, n, "%s", err);
        kt_yr_quiet(&x->rd, n);
        return;
    }
    size_t len = strlen(v);
    if (len > *budget) {
        free(v);
        kt_yr_err(&x->rd, n, "expanded values exceed %d bytes in total", KT__EXPAND_TOTAL);
        return;
    }
    *budget -= len;
    free(n->str);
    n->str = v;
    n->len = len;
    n->expanded = true;
}

static void check_dups(kt__cfgctx *x, const kt_ynode *map)
{
    for (size_t i = 0; i < map->n; i++) {
        const kt_ynode *k = map->keys[i];
        if (memchr(k->str, '\0', k->len)) {
            kt_yr_err(&x->rd, k, "NUL character in key");
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            const kt_ynode *p = map->keys[j];
            if (p->len == k->len && memcmp(p->str, k->str, k->len) == 0) {
                kt_yr_err(&x->rd, k, "duplicate key '%s' (first at line %d, column %d)",
                          KT_YQ(k->str), p->line, p->col);
                break;
            }
        }
    }
}

static void walk(kt__cfgctx *x, kt_ynode *n, size_t *budget)
{
    if (n->type == KT_Y_SCALAR) {
        expand_scalar(x, n, budget);
        return;
    }
    if (n->type == KT_Y_MAP) check_dups(x, n);
    for (size_t i = 0; i < n->n; i++) walk(x, n->vals[i], budget);
}

void kt__cfg_check_tree(kt__cfgctx *x, kt_ynode *root)
{
    size_t budget = KT__EXPAND_TOTAL;
    walk(x, root, &budget);
}
