/* The two shorthand forms of `policies:` (a sequence), mapped onto the same chain as the pack form:
 *   A: [{name, type: output_filter|input_filter|content_filter, action, patterns|categories}]
 *   B: [{name, input: [{type: content_safety|pii_detection|..., action, ...}], output: [...]}]
 * The item itself is kept as the policy's options; the policy module reads action and lists. */
#include <stdio.h>
#include <string.h>

#include "config_priv.h"

static const char *const pii_entities[] = {
    "email", "phone", "ssn", "credit_card", "iban", "ipv4", "ipv6", NULL,
};
static const char *const safety_categories[] = { "hate", "violence", "self_harm", "sexual", NULL };

static const char *const form_a_keys[] = {
    "name", "type", "action", "patterns", "categories", "entities", "description", NULL,
};
static const char *const form_b_keys[] = { "name", "input", "output", "description", NULL };
static const char *const form_b_item_keys[] = {
    "type", "action", "categories", "entities", "patterns", "description", NULL,
};

static const struct { const char *type; const char *kind; } form_b_types[] = {
    { "content_safety", "safety-filter" },   { "pii_detection", "pii-detector" },
    { "prompt_injection", "prompt-injection" }, { "secrets", "dlp-filter" },
    { "dlp", "dlp-filter" },
};

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0) return 1;
    return 0;
}

static const char *join(const char *const *list, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; list[i] && len < n; i++) {
        int w = snprintf(buf + len, n - len, "%s%s", i ? ", " : "", list[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
    return buf;
}

/* Checks that map[key] is a non-empty sequence of strings, each in `known` (when given).
 * Returns 1 when present (valid or not), 0 when absent. */
static int check_list(kt__cfgctx *x, const kt_ynode *map, const char *key, const char *where,
                      const char *const *known, const char *what)
{
    const kt_ynode *l = kt_ymap_get(map, key);
    if (!l) return 0;
    char path[160], buf[128];
    snprintf(path, sizeof path, "%s.%s", where, key);
    if (!kt_yr_want_seq(&x->rd, l, path)) return 1;
    if (l->n == 0) kt_yr_err(&x->rd, l, "%s is empty", path);
    for (size_t i = 0; i < l->n; i++) {
        char ipath[200];
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
        const char *s = kt_yr_want_str(&x->rd, l->vals[i], ipath);
        if (s && known && !in_list(known, s)) {
            kt_yr_err(&x->rd, l->vals[i], "unknown %s %s in %s (known: %s)", what,
                      KT_YQN(l->vals[i]), path, join(known, buf, sizeof buf));
            kt_yr_quiet(&x->rd, l->vals[i]);   /* the policy kind reads the list again */
        }
    }
    return 1;
}

static void reject_key(kt__cfgctx *x, const kt_ynode *map, const char *key, const char *where,
                       const char *why)
{
    const kt_ynode *v = kt_ymap_get(map, key);
    if (!v) return;
    for (size_t i = 0; i < map->n; i++)
        if (map->vals[i] == v) kt_yr_err(&x->rd, map->keys[i], "%s.%s %s", where, key, why);
}

static void opt_action(kt__cfgctx *x, const kt_ynode *map, const char *where)
{
    (void)kt_yr_str(&x->rd, map, "action", where, false);
}

/* Form A: one filter item. */
static void form_a(kt__cfgctx *x, const kt_ynode *item, const char *name, const char *where)
{
    kt_yr_check_keys(&x->rd, item, form_a_keys, where);
    const kt_ynode *tn = kt_ymap_get(item, "type");
    const char *type = kt_yr_str(&x->rd, item, "type", where, true);
    opt_action(x, item, where);
    if (!type) return;
    bool in = strcmp(type, "input_filter") == 0, out = strcmp(type, "output_filter") == 0;
    if (in || out) {
        int a = check_list(x, item, "patterns", where, pii_entities, "PII entity");
        int b = check_list(x, item, "entities", where, pii_entities, "PII entity");
        if (!a && !b) kt_yr_err(&x->rd, item, "%s (%s) needs 'patterns': a list of PII entities",
                                where, type);
        if (a && b) reject_key(x, item, "entities", where, "cannot be given with patterns");
        reject_key(x, item, "categories", where, "applies only to type content_filter");
        kt__cfg_add_policy(x, item, kt_ymap_get(item, "name"), name, "pii-detector", item, in,
                           out);
    } else if (strcmp(type, "content_filter") == 0) {
        if (!check_list(x, item, "categories", where, safety_categories, "category"))
            kt_yr_err(&x->rd, item, "%s (content_filter) needs 'categories'", where);
        reject_key(x, item, "patterns", where, "applies only to input_filter and output_filter");
        reject_key(x, item, "entities", where, "applies only to input_filter and output_filter");
        kt__cfg_add_policy(x, item, kt_ymap_get(item, "name"), name, "safety-filter", item, true,
                           true);
    } else {
        kt_yr_err(&x->rd, tn, "unknown policy type %s in %s (known: output_filter, input_filter, "
                  "content_filter)", KT_YQN(tn), where);
    }
}

/* Form B: one item of an input: or output: list. */
static void form_b_item(kt__cfgctx *x, const kt_ynode *it, const kt_ynode *pname_node,
                        const char *pname, const char *dir, const char *where)
{
    if (!kt_yr_want_map(&x->rd, it, where)) return;
    kt_yr_check_keys(&x->rd, it, form_b_item_keys, where);
    const char *type = kt_yr_str(&x->rd, it, "type", where, true);
    opt_action(x, it, where);
    if (!type) return;
    const char *kind = NULL;
    for (size_t i = 0; i < KT_ARRAY_LEN(form_b_types) && !kind; i++)
        if (strcmp(form_b_types[i].type, type) == 0) kind = form_b_types[i].kind;
    if (!kind) {
        const kt_ynode *tn = kt_ymap_get(it, "type");
        kt_yr_err(&x->rd, tn, "unknown check type %s in %s (known: content_safety, "
                  "pii_detection, prompt_injection, secrets, dlp)", KT_YQN(tn), where);
        return;
    }
    bool pii = strcmp(kind, "pii-detector") == 0, safety = strcmp(kind, "safety-filter") == 0;
    check_list(x, it, "entities", where, pii ? pii_entities : NULL, "PII entity");
    check_list(x, it, "categories", where, safety ? safety_categories : NULL, "category");
    check_list(x, it, "patterns", where, NULL, "pattern");
    if (!pii) reject_key(x, it, "entities", where, "applies only to type pii_detection");
    if (!safety) reject_key(x, it, "categories", where, "applies only to type content_safety");
    char name[200];
    snprintf(name, sizeof name, "%s/%s/%s", pname, dir, type);
    bool input = strcmp(dir, "input") == 0;
    kt__cfg_add_policy(x, it, pname_node, name, kind, it, input, !input);
}

static void form_b(kt__cfgctx *x, const kt_ynode *item, const char *name, const char *where)
{
    static const char *const dirs[] = { "input", "output" };
    kt_yr_check_keys(&x->rd, item, form_b_keys, where);
    for (size_t d = 0; d < 2; d++) {
        const kt_ynode *l = kt_ymap_get(item, dirs[d]);
        char path[128];
        snprintf(path, sizeof path, "%s.%s", where, dirs[d]);
        if (!l || kt_y_is_null(l) || !kt_yr_want_seq(&x->rd, l, path)) continue;
        for (size_t i = 0; i < l->n; i++) {
            char ipath[160];
            snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
            form_b_item(x, l->vals[i], kt_ymap_get(item, "name"), name, dirs[d], ipath);
        }
    }
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || *s == '/') return 0;
    return 1;
}

void kt__cfg_list_policies(kt__cfgctx *x, const kt_ynode *policies)
{
    for (size_t i = 0; i < policies->n; i++) {
        const kt_ynode *item = policies->vals[i];
        char where[64];
        snprintf(where, sizeof where, "policies[%zu]", i);
        if (!kt_yr_want_map(&x->rd, item, where)) continue;
        const char *name = kt_yr_str(&x->rd, item, "name", where, true);
        if (name && !valid_name(name)) {
            kt_yr_err(&x->rd, kt_ymap_get(item, "name"),
                      "%s.name must be 1-64 printable characters without spaces or '/'", where);
            name = NULL;
        }
        if (kt_ymap_get(item, "type")) {
            if (name) form_a(x, item, name, where);
            else kt_yr_check_keys(&x->rd, item, form_a_keys, where);
        } else if (kt_ymap_get(item, "input") || kt_ymap_get(item, "output")) {
            if (name) form_b(x, item, name, where);
            else kt_yr_check_keys(&x->rd, item, form_b_keys, where);
        } else {
            kt_yr_err(&x->rd, item, "%s needs either 'type' (a filter) or 'input'/'output' lists "
                      "of checks", where);
        }
    }
}
