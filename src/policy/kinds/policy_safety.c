/* safety-filter: curated lexicons (hate, violence, self_harm, sexual) with word-boundary, case- and
 * accent-insensitive matching; a category acts once its summed weight in the request reaches the
 * threshold (or its hit count reaches min_hits). action: block (default) or flag. */
#include <stdlib.h>
#include <string.h>

#include "kt/safety.h"
#include "../policy_priv.h"

#define KT_SAFETY_BATCH 64

typedef struct safety_state {
    kt_safety s;
    kt_action action;
    unsigned threshold;
} safety_state;

static int cat_lookup(const char *s, size_t n) { return kt_safety_category_from_name(s, n); }

static void custom_terms(kt_yread *x, const kt_policy_cfg *pc, safety_state *st)
{
    const kt_ynode *n = kt__popt_get(pc, "custom_terms");
    if (!n || !kt_yr_want_map(x, n, "custom_terms")) return;
    for (size_t i = 0; i < n->n; i++) {
        const kt_ynode *k = n->keys[i], *list = n->vals[i];
        int cat = kt_safety_category_from_name(k->str, k->len);
        if (cat < 0) {
            kt_yr_err(x, k, "unknown safety category '%s' in custom_terms", KT_YQ(k->str));
            continue;
        }
        if (!kt_yr_want_seq(x, list, "custom_terms.<category>")) continue;
        for (size_t j = 0; j < list->n; j++) {
            const char *t = kt_yr_want_str(x, list->vals[j], "custom_terms[]");
            if (t && kt_safety_add_term(&st->s, cat, t, strlen(t), st->threshold))
                kt_yr_err(x, list->vals[j], "custom term '%s' can never match (empty, too long "
                          "or not Latin script)", KT_YQ(t));
        }
    }
}

static void safety_destroy(void *state)
{
    safety_state *st = state;
    kt_safety_free(&st->s);
    free(st);
}

static int safety_compile(kt_yread *x, const kt_policy_cfg *pc, void **state)
{
    static const char *const keys[] = { "action", "categories", "threshold", "min_hits",
                                        "custom_terms", NULL };
    safety_state *st = kt_calloc(1, sizeof *st);
    if (!st) return KT_ENOMEM;
    kt__popt_keys(x, pc, keys);
    uint32_t mask = KT_SAFETY_ALL_MASK;
    st->action = kt__popt_action(x, pc, (1u << KT_ACT_BLOCK) | (1u << KT_ACT_FLAG), KT_ACT_BLOCK);
    kt__popt_names(x, pc, "categories", cat_lookup, "safety category", &mask);
    st->threshold = (unsigned)kt__popt_uint(x, pc, "threshold", 1, KT_SAFETY_MAX_WEIGHT,
                                            KT_SAFETY_DEFAULT_THRESHOLD);
    unsigned min_hits = (unsigned)kt__popt_uint(x, pc, "min_hits", 0, 1000, 0);
    int rc = kt_safety_init(&st->s, mask, st->threshold, min_hits);
    if (rc) {
        free(st);
        return rc == KT_ENOMEM ? KT_ENOMEM : KT_EINVAL;
    }
    custom_terms(x, pc, st);
    if (st->s.nterms && kt_safety_build(&st->s)) {
        safety_destroy(st);
        return KT_ENOMEM;
    }
    *state = st;
    return KT_OK;
}

static int safety_scan(const void *state, const char *text, size_t len, size_t from,
                       uint16_t policy, kt_findings *out)
{
    const safety_state *st = state;
    kt_safety_hit hits[KT_SAFETY_BATCH];
    size_t pos = from;
    for (;;) {
        int trunc = 0;
        size_t n = kt_safety_scan_ctx(&st->s, text, len, pos, hits, KT_SAFETY_BATCH, &trunc);
        for (size_t i = 0; i < n; i++) {
            /* With min_hits, every hit counts as a full threshold's worth once enough are seen:
             * the decision adds weights per category, so min_hits becomes weight = threshold /
             * min_hits (at least 1). */
            unsigned w = hits[i].weight;
            if (st->s.min_hits) {
                unsigned per = st->threshold / st->s.min_hits;
                if (per == 0) per = 1;
                if (per > w) w = per;
            }
            int rc = kt_findings_add_weighted(out, hits[i].start, hits[i].end, policy,
                                              (uint16_t)hits[i].category, st->action, w ? w : 1);
            if (rc) return rc;
        }
        if (!trunc || n == 0) return KT_OK;
        pos = hits[n - 1].start + 1;
    }
}

static size_t safety_stable(const void *state, const char *text, size_t len, size_t from)
{
    const safety_state *st = state;
    return kt_safety_stable_prefix_ctx(&st->s, text, len, from);
}

static const char *safety_label(const void *state, uint16_t label)
{
    (void)state;
    const char *n = kt_safety_category_name(label);
    return n ? n : "safety";
}

static unsigned safety_threshold(const void *state)
{
    return ((const safety_state *)state)->threshold;
}

const kt_policy_kind kt_policy_safety = {
    .name = "safety-filter",
    .default_dirs = KT_DIR_INPUT | KT_DIR_OUTPUT,
    .compile = safety_compile,
    .destroy = safety_destroy,
    .scan = safety_scan,
    .stable = safety_stable,
    .label = safety_label,
    .threshold = safety_threshold,
    .per_label = true,
};
