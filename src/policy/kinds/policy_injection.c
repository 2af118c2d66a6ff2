/* prompt-injection: known attack phrasings and fake role/boundary markers, over a normalised view
 * of the text (confusables and zero-width characters folded) and inside base64/hex/base32 runs;
 * phrase families tolerant to inserted words; decoded views (ROT13, quoted-printable,
 * URL-encoding, tag characters, variation selectors); the learned scorer. Weighted: the policy
 * acts once the request's score reaches the threshold; the learned score acts on its own when it
 * reaches its cutoff (learned_threshold, default the shipped one). action: block (default) or
 * flag. In the pack form it checks requests only (the model's own output is not an injection
 * vector). model: the optional classifier tier (kt/classifier.h) for texts whose learned score is
 * in its undecided band. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kt/classifier.h"
#include "kt/injection.h"
#include "../policy_priv.h"

#define KT_INJ_BATCH 64
#define KT_INJ_MAX_EXTRA 64
/* Labels past the rules: the phrase families, then the learned scorer. */
#define KT_INJ_LABEL_COMBO 0x100u
#define KT_INJ_LABEL_LEARNED 0x1FFu

typedef struct inj_state {
    kt_injection d;
    kt_action action;
    unsigned threshold;
    kt_clf_cfg *clf;           /* model tier, NULL: off */
} inj_state;

static void inj_destroy(void *state)
{
    inj_state *st = state;
    kt_injection_free(&st->d);
    kt_clf_cfg_free(st->clf);
    free(st);
}

static int inj_compile(kt_yread *x, const kt_policy_cfg *pc, void **state)
{
    static const char *const keys[] = { "action", "normalize_unicode", "decode_base64",
                                        "threshold", "extra_phrases", "decode_more", "learned",
                                        "learned_threshold", "model", NULL };
    inj_state *st = kt_calloc(1, sizeof *st);
    if (!st) return KT_ENOMEM;
    kt__popt_keys(x, pc, keys);
    kt_injection_opts o;
    kt_injection_opts_default(&o);
    st->action = kt__popt_action(x, pc, (1u << KT_ACT_BLOCK) | (1u << KT_ACT_FLAG), KT_ACT_BLOCK);
    o.normalize_unicode = kt__popt_bool(x, pc, "normalize_unicode", true);
    o.decode_base64 = kt__popt_bool(x, pc, "decode_base64", true);
    o.decode_more = kt__popt_bool(x, pc, "decode_more", true);
    o.learned = kt__popt_bool(x, pc, "learned", true);
    const kt_ynode *lt = kt__popt_get(pc, "learned_threshold");
    if (lt) {
        char *end = NULL;
        double v = lt->type == KT_Y_SCALAR && lt->str ? strtod(lt->str, &end) : -1;
        if (!end || *end || !(v > 0.0 && v < 1.0))
            kt_yr_err(x, lt, "learned_threshold: a probability between 0 and 1 (e.g. 0.8)");
        else
            o.cutoff = (float)v;
    }
    o.threshold = (unsigned)kt__popt_uint(x, pc, "threshold", 1, 100000, KT_INJ_DEFAULT_THRESHOLD);
    st->threshold = o.threshold;
    const char *extra[KT_INJ_MAX_EXTRA];
    size_t nextra = 0;
    const kt_ynode *n = kt__popt_get(pc, "extra_phrases");
    if (n && kt_yr_want_seq(x, n, "extra_phrases"))
        for (size_t i = 0; i < n->n && nextra < KT_INJ_MAX_EXTRA; i++) {
            const char *p = kt_yr_want_str(x, n->vals[i], "extra_phrases[]");
            if (p) extra[nextra++] = p;
        }
    o.extra_phrases = extra;
    o.n_extra = nextra;
    const kt_ynode *mn = kt__popt_get(pc, "model");
    if (kt_clf_cfg_read(x, pc, KT_CLF_INJECTION, &st->clf)) {
        free(st);
        return KT_ENOMEM;
    }
    if (st->clf) {
        st->clf->action = (uint8_t)st->action;
        if (!o.learned) kt_yr_err(x, mn, "model: needs the learned scorer (its score is what "
                                  "the undecided band is compared with)");
    }
    int rc = kt_injection_init(&st->d, &o);
    if (rc) {
        if (rc == KT_EINVAL)
            kt_yr_err(x, n ? n : pc->options, "extra_phrases: a phrase is empty, cannot match, "
                      "or expands to too many variants");
        kt_clf_cfg_free(st->clf);
        free(st);
        return rc == KT_ENOMEM ? KT_ENOMEM : KT_OK;
    }
    *state = st;
    return KT_OK;
}

static unsigned inj_threshold(const void *state)
{
    const inj_state *st = state;
    return st->threshold > 255 * 64 ? 255 * 64 : st->threshold;
}

static unsigned cap_weight(unsigned w) { return w == 0 ? 1 : w > 255 ? 255 : w; }

/* Phrase families, decoded views and the learned score over text[from..len). Family and view
 * findings are weighted like rule hits; a learned finding acts at once (weight 0). Spans that streaming
 * must not hold on cover the first byte only. */
static int inj_extra(const inj_state *st, const char *text, size_t len, size_t from,
                     uint16_t policy, kt_findings *out)
{
    kt_injection_assessment a;
    int rc = kt_injection_assess(&st->d, text + from, len - from, &a);
    if (rc) return rc;
    if (a.combo >= 0)
        rc = kt_findings_add_weighted(out, from + a.combo_start, from + a.combo_end, policy,
                                      (uint16_t)(KT_INJ_LABEL_COMBO + (unsigned)a.combo),
                                      st->action, cap_weight(a.combo_score));
    if (!rc && a.view_rule >= 0) {
        size_t s0 = from + a.view_start;
        rc = kt_findings_add_weighted(out, s0, s0 + (s0 < len), policy, (uint16_t)a.view_rule,
                                      st->action, cap_weight(a.view_score));
    }
    if (!rc && st->d.learned && a.p >= st->d.cutoff) {
        size_t s0 = from + a.start;
        if (s0 > len) s0 = len;
        rc = kt_findings_add(out, s0, s0 + (s0 < len), policy, KT_INJ_LABEL_LEARNED, st->action);
    }
    return rc;
}

static int inj_scan(const void *state, const char *text, size_t len, size_t from,
                    uint16_t policy, kt_findings *out)
{
    const inj_state *st = state;
    if (from <= len) {
        int rc = inj_extra(st, text, len, from, policy, out);
        if (rc) return rc;
    }
    kt_injection_hit hits[KT_INJ_BATCH];
    size_t n = kt_injection_scan_ctx(&st->d, text, len, from, hits, KT_INJ_BATCH, NULL);
    for (size_t i = 0; i < n; i++) {
        unsigned w = hits[i].weight ? hits[i].weight : 1;
        int rc = kt_findings_add_weighted(out, hits[i].start, hits[i].end, policy,
                                          (uint16_t)hits[i].rule, st->action, w > 255 ? 255 : w);
        if (rc) return rc;
    }
    return KT_OK;
}

static size_t inj_stable(const void *state, const char *text, size_t len, size_t from)
{
    const inj_state *st = state;
    return kt_injection_stable_prefix_ctx(&st->d, text, len, from);
}

static const char *inj_label(const void *state, uint16_t label)
{
    (void)state;
    if (label == KT_INJ_LABEL_LEARNED) return "learned";
    if (label == KT_CLF_LABEL_FLAGGED) return "classifier";
    if (label == KT_CLF_LABEL_UNAVAILABLE) return "classifier_unavailable";
    if (label >= KT_INJ_LABEL_COMBO) {
        const char *c = kt_injection_combo_name(label - KT_INJ_LABEL_COMBO);
        return c ? c : "injection";
    }
    const char *n = kt_injection_rule_name(label);
    return n ? n : "injection";
}

static const kt_clf_cfg *inj_classifier(const void *state)
{
    return ((const inj_state *)state)->clf;
}

/* The model tier's score: the learned probability of the text. */
static float inj_score(const void *state, const char *text, size_t len)
{
    const inj_state *st = state;
    kt_injection_assessment a;
    return kt_injection_assess(&st->d, text, len, &a) ? 0.0f : a.p;
}

const kt_policy_kind kt_policy_injection = {
    .name = "prompt-injection",
    .default_dirs = KT_DIR_INPUT,
    .compile = inj_compile,
    .destroy = inj_destroy,
    .scan = inj_scan,
    .stable = inj_stable,
    .label = inj_label,
    .threshold = inj_threshold,
    .per_label = false,
    .classifier = inj_classifier,
    .score = inj_score,
};
