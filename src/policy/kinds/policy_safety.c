/* safety-filter: curated lexicons (hate, violence, self_harm, sexual) with word-boundary, case- and
 * accent-insensitive matching; a category acts once its summed weight in the request reaches the
 * lexicon threshold (or its hit count reaches min_hits). Combination rules (intent x object) and
 * the learned scorer act on their own: a combination match at once, the learned score when it
 * reaches the category's cutoff. action: block (default) or flag.
 *
 * threshold: an integer 1..100 is the lexicon weight (as before); a number between 0 and 1 is the
 * learned scorer's probability cutoff for every category; a map {category: p} sets cutoffs per
 * category. learned: false turns the learned scorer off, combinations: false the combinations.
 * model: the optional classifier tier (kt/classifier.h) for texts whose learned score is in its
 * undecided band. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kt/classifier.h"
#include "kt/safety.h"
#include "../policy_priv.h"

#define KT_SAFETY_BATCH 64

typedef struct safety_state {
    kt_safety s;
    kt_action action;
    unsigned threshold;
    bool combos;
    kt_clf_cfg *clf;           /* model tier, NULL: off */
} safety_state;

/* A probability in (0, 1) written with a decimal point, or -1. */
static double prob_of(const kt_ynode *n)
{
    if (!n || n->type != KT_Y_SCALAR || !n->str || !strchr(n->str, '.')) return -1;
    char *end = NULL;
    double v = strtod(n->str, &end);
    if (!end || *end || !(v > 0.0 && v < 1.0)) return -1;
    return v;
}

/* threshold: lexicon weight (integer), learned cutoff (0..1) or per-category cutoffs (map). */
static void read_threshold(kt_yread *x, const kt_policy_cfg *pc, safety_state *st,
                           float cut[KT_SAFETY__COUNT])
{
    st->threshold = KT_SAFETY_DEFAULT_THRESHOLD;
    for (int k = 0; k < KT_SAFETY__COUNT; k++) cut[k] = kt_safety_default_cutoff(k);
    const kt_ynode *n = kt__popt_get(pc, "threshold");
    if (!n) return;
    if (n->type == KT_Y_MAP) {
        for (size_t i = 0; i < n->n; i++) {
            const kt_ynode *k = n->keys[i];
            int c = kt_safety_category_from_name(k->str, k->len);
            double p = prob_of(n->vals[i]);
            if (c < 0) kt_yr_err(x, k, "unknown safety category '%s' in threshold", KT_YQ(k->str));
            else if (p < 0) kt_yr_err(x, n->vals[i], "threshold.%s: a probability between 0 and 1 "
                                      "(e.g. 0.5)", KT_YQ(k->str));
            else cut[c] = (float)p;
        }
        return;
    }
    double p = prob_of(n);
    if (p > 0) {
        for (int k = 0; k < KT_SAFETY__COUNT; k++) cut[k] = (float)p;
        return;
    }
    st->threshold = (unsigned)kt__popt_uint(x, pc, "threshold", 1, KT_SAFETY_MAX_WEIGHT,
                                            KT_SAFETY_DEFAULT_THRESHOLD);
}

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
    kt_clf_cfg_free(st->clf);
    free(st);
}

static int safety_compile(kt_yread *x, const kt_policy_cfg *pc, void **state)
{
    static const char *const keys[] = { "action", "categories", "threshold", "min_hits",
                                        "custom_terms", "learned", "combinations", "model",
                                        NULL };
    safety_state *st = kt_calloc(1, sizeof *st);
    if (!st) return KT_ENOMEM;
    kt__popt_keys(x, pc, keys);
    uint32_t mask = KT_SAFETY_ALL_MASK;
    st->action = kt__popt_action(x, pc, (1u << KT_ACT_BLOCK) | (1u << KT_ACT_FLAG), KT_ACT_BLOCK);
    kt__popt_names(x, pc, "categories", cat_lookup, "safety category", &mask);
    float cut[KT_SAFETY__COUNT];
    read_threshold(x, pc, st, cut);
    bool learned = kt__popt_bool(x, pc, "learned", true);
    st->combos = kt__popt_bool(x, pc, "combinations", true);
    unsigned min_hits = (unsigned)kt__popt_uint(x, pc, "min_hits", 0, 1000, 0);
    int rc = kt_safety_init(&st->s, mask, st->threshold, min_hits);
    if (rc) {
        free(st);
        return rc == KT_ENOMEM ? KT_ENOMEM : KT_EINVAL;
    }
    st->s.learned = learned;
    for (int k = 0; k < KT_SAFETY__COUNT; k++) (void)kt_safety_set_cutoff(&st->s, k, cut[k]);
    custom_terms(x, pc, st);
    if (kt_clf_cfg_read(x, pc, KT_CLF_SAFETY, &st->clf)) {
        safety_destroy(st);
        return KT_ENOMEM;
    }
    if (st->clf) {
        st->clf->action = (uint8_t)st->action;
        st->clf->category_mask = st->s.mask;
    }
    if (st->s.nterms && kt_safety_build(&st->s)) {
        safety_destroy(st);
        return KT_ENOMEM;
    }
    *state = st;
    return KT_OK;
}

/* Combinations and the learned score over text[from..len): findings that act on their own
 * (weight = threshold). A learned finding spans its window's first byte: streaming treats it
 * like a word already complete, so it never holds text back. */
static int safety_extra(const safety_state *st, const char *text, size_t len, size_t from,
                        uint16_t policy, kt_findings *out)
{
    unsigned w = st->threshold > 255 ? 255 : st->threshold;
    kt_safety_hit ch[KT_SAFETY_BATCH];
    size_t n, start[KT_SAFETY__COUNT];
    uint32_t m = kt_safety_extra(&st->s, text + from, len - from, st->combos, ch,
                                 KT_SAFETY_BATCH, &n, start);
    for (size_t i = 0; i < n; i++) {
        int rc = kt_findings_add_weighted(out, from + ch[i].start, from + ch[i].end, policy,
                                          (uint16_t)ch[i].category, st->action, w);
        if (rc) return rc;
    }
    for (int k = 0; k < KT_SAFETY__COUNT; k++) {
        if (!(m & KT_SAFETY_BIT(k))) continue;
        size_t a = from + start[k];
        int rc = kt_findings_add_weighted(out, a, a + (a < len), policy, (uint16_t)k, st->action, w);
        if (rc) return rc;
    }
    return KT_OK;
}

static int safety_scan(const void *state, const char *text, size_t len, size_t from,
                       uint16_t policy, kt_findings *out)
{
    const safety_state *st = state;
    kt_safety_hit hits[KT_SAFETY_BATCH];
    size_t pos = from;
    if (from <= len) {
        int rc = safety_extra(st, text, len, from, policy, out);
        if (rc) return rc;
    }
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
    if (label == KT_CLF_LABEL_FLAGGED) return "classifier";
    if (label == KT_CLF_LABEL_UNAVAILABLE) return "classifier_unavailable";
    const char *n = kt_safety_category_name(label);
    return n ? n : "safety";
}

static unsigned safety_threshold(const void *state)
{
    return ((const safety_state *)state)->threshold;
}

static const kt_clf_cfg *safety_classifier(const void *state)
{
    return ((const safety_state *)state)->clf;
}

/* The model tier's score: the highest learned probability over the policy's categories. */
static float safety_score_of(const void *state, const char *text, size_t len)
{
    const safety_state *st = state;
    kt_safety_scores sc;
    kt_safety_score(&st->s, text, len, &sc);
    float best = 0.0f;
    for (int k = 0; k < KT_SAFETY__COUNT; k++)
        if ((st->s.mask & KT_SAFETY_BIT(k)) && sc.p[k] > best) best = sc.p[k];
    return best;
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
    .classifier = safety_classifier,
    .score = safety_score_of,
};
