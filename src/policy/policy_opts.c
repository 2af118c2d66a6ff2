/* Option readers shared by the policy kinds. */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "policy_priv.h"

#define KT__OPT_KEYS_MAX 40     /* option keys one kind may allow (the longest list has 7) */
#define KT__OPT_WHERE_MAX 96    /* "the options of policy '<name>'"; a longer name is cut */

/* Keys every kind accepts beside its own: what the shorthand forms put beside the options, and
 * fail_mode (the per-policy override of gateway.fail_mode, read by the config loader). */
static const char *const kt__shorthand_keys[] = { "name", "type", "description", "fail_mode", NULL };

const kt_ynode *kt__popt_get(const kt_policy_cfg *pc, const char *key)
{
    const kt_ynode *n = pc->options ? kt_ymap_get(pc->options, key) : NULL;
    return n && !kt_y_is_null(n) ? n : NULL;
}

void kt__popt_keys(kt_yread *x, const kt_policy_cfg *pc, const char *const *allowed)
{
    if (!pc->options || pc->options->type != KT_Y_MAP) return;
    const char *all[KT__OPT_KEYS_MAX + KT_ARRAY_LEN(kt__shorthand_keys)];
    size_t n = 0;
    for (size_t i = 0; allowed[i] && n < KT__OPT_KEYS_MAX; i++) all[n++] = allowed[i];
    for (size_t i = 0; kt__shorthand_keys[i]; i++) all[n++] = kt__shorthand_keys[i];
    assert(n < KT_ARRAY_LEN(all));   /* room for the terminating NULL */
    all[n] = NULL;
    char where[KT__OPT_WHERE_MAX];
    snprintf(where, sizeof where, "the options of policy '%s'", pc->name);
    kt_yr_check_keys(x, pc->options, all, where);
}

kt_action kt__popt_action(kt_yread *x, const kt_policy_cfg *pc, unsigned allowed_mask,
                        kt_action dflt)
{
    const kt_ynode *n = kt__popt_get(pc, "action");
    if (!n) return dflt;
    const char *v = kt_yr_want_str(x, n, "action");
    if (!v) return dflt;
    static const struct { const char *name; kt_action a; } map[] = {
        { "redact", KT_ACT_REDACT }, { "block", KT_ACT_BLOCK }, { "flag", KT_ACT_FLAG },
        { "mask", KT_ACT_REDACT },   { "deny", KT_ACT_BLOCK },  { "log", KT_ACT_FLAG },
    };
    for (size_t i = 0; i < KT_ARRAY_LEN(map); i++)
        if (strcmp(v, map[i].name) == 0 && (allowed_mask & (1u << map[i].a))) return map[i].a;
    char allowed[64] = "";
    if (allowed_mask & (1u << KT_ACT_REDACT)) strcat(allowed, "redact, ");
    if (allowed_mask & (1u << KT_ACT_BLOCK)) strcat(allowed, "block, ");
    if (allowed_mask & (1u << KT_ACT_FLAG)) strcat(allowed, "flag, ");
    allowed[strlen(allowed) - 2] = '\0';
    kt_yr_err(x, n, "policy '%s' (%s): action must be one of %s", pc->name, pc->kind, allowed);
    return dflt;
}

int kt__popt_names(kt_yread *x, const kt_policy_cfg *pc, const char *key,
                 int (*lookup)(const char *s, size_t n), const char *what, uint32_t *mask)
{
    const kt_ynode *n = kt__popt_get(pc, key);
    if (!n) return 0;
    if (!kt_yr_want_seq(x, n, key)) return 0;
    *mask = 0;
    for (size_t i = 0; i < n->n; i++) {
        const char *s = kt_yr_want_str(x, n->vals[i], key);
        if (!s) continue;
        int id = lookup(s, strlen(s));
        if (id < 0) kt_yr_err(x, n->vals[i], "unknown %s '%s' in %s", what, KT_YQ(s), key);
        else *mask |= 1u << id;
    }
    if (n->n == 0) kt_yr_err(x, n, "%s must list at least one %s", key, what);
    return (int)n->n;
}

bool kt__popt_bool(kt_yread *x, const kt_policy_cfg *pc, const char *key, bool dflt)
{
    const kt_ynode *n = kt__popt_get(pc, key);
    bool v = dflt;
    if (n) kt_yr_bool(x, n, key, &v);
    return v;
}

uint64_t kt__popt_uint(kt_yread *x, const kt_policy_cfg *pc, const char *key, uint64_t min,
                     uint64_t max, uint64_t dflt)
{
    const kt_ynode *n = kt__popt_get(pc, key);
    uint64_t v = dflt;
    if (n) kt_yr_uint(x, n, key, min, max, &v);
    return v;
}

void kt__popt_marker(kt_yread *x, const kt_policy_cfg *pc, char out[KT_MARKER_MAX])
{
    snprintf(out, KT_MARKER_MAX, "[REDACTED:{ENTITY}]");
    const kt_ynode *n = kt__popt_get(pc, "marker_format");
    const kt_ynode *red = kt__popt_get(pc, "redaction");
    if (red) {
        static const char *const keys[] = { "marker_format", NULL };
        if (kt_yr_want_map(x, red, "redaction")) {
            kt_yr_check_keys(x, red, keys, "redaction");
            const kt_ynode *m = kt_ymap_get(red, "marker_format");
            if (m && !kt_y_is_null(m)) n = m;
        }
    }
    if (!n) return;
    const char *v = kt_yr_want_str(x, n, "marker_format");
    if (!v) return;
    if (strlen(v) >= KT_MARKER_MAX) {
        kt_yr_err(x, n, "marker_format is longer than %d bytes", KT_MARKER_MAX - 1);
        return;
    }
    snprintf(out, KT_MARKER_MAX, "%s", v);
}

int kt__marker_render(const char *fmt, const char *label, kt_buf *out)
{
    int rc = KT_OK;
    for (const char *p = fmt; *p && !rc; p++) {
        if (strncmp(p, "{ENTITY}", 8) == 0 || strncmp(p, "{entity}", 8) == 0) {
            bool upper = p[1] == 'E';
            for (const char *l = label; *l && !rc; l++) {
                char c = upper ? (char)toupper((unsigned char)*l) : *l;
                rc = kt_buf_append(out, &c, 1);
            }
            p += 7;
        } else {
            rc = kt_buf_append(out, p, 1);
        }
    }
    return rc;
}

bool kt__is_word_byte(unsigned char c) { return isalnum(c) || c == '_' || c >= 0x80; }
