/* The `safety-filter` classifier: lexicon loading, scanning, verdicts and the streaming hold. */
#include <stdlib.h>
#include <string.h>

#include "classify_priv.h"
#include "cooc.h"
#include "linscore.h"
#include "kt/safety.h"

#define KT__SAFETY_TFLAGS (KT__TF_LEET | KT__TF_CONF_MIXED)

typedef struct kt_safety_term {
    uint8_t category;
    unsigned weight;
} kt_safety_term;

static const char *const kt__cat_names[KT_SAFETY__COUNT] = { "hate", "violence", "self_harm",
                                                             "sexual" };

const char *kt_safety_category_name(int c)
{
    return c >= 0 && c < KT_SAFETY__COUNT ? kt__cat_names[c] : NULL;
}

int kt_safety_category_from_name(const char *s, size_t n)
{
    for (int c = 0; c < KT_SAFETY__COUNT; c++) {
        kt_str k = { s, n };
        if (kt_str_eq_ci(k, kt__cat_names[c])) return c;
    }
    kt_str k = { s, n };
    if (kt_str_eq_ci(k, "self-harm") || kt_str_eq_ci(k, "selfharm")) return KT_SAFETY_SELF_HARM;
    return -1;
}

static void entry_of(const kt_safety *s, uint32_t tag, int *cat, unsigned *w)
{
    size_t nb;
    const kt_safety_entry *b = kt_safety_builtin(&nb);
    if (tag < nb) {
        *cat = b[tag].category;
        *w = b[tag].weight;
    } else {
        *cat = s->terms[tag - nb].category;
        *w = s->terms[tag - nb].weight;
    }
}

int kt_safety_init(kt_safety *s, uint32_t category_mask, unsigned threshold, unsigned min_hits)
{
    int rc = KT_ENOMEM;
    memset(s, 0, sizeof *s);
    s->mask = category_mask & KT_SAFETY_ALL_MASK;
    s->threshold = threshold ? threshold : KT_SAFETY_DEFAULT_THRESHOLD;
    s->min_hits = min_hits;
    s->learned = 1;
    for (int k = 0; k < KT_SAFETY__COUNT; k++)
        (void)kt_safety_set_cutoff(s, k, kt_safety_default_cutoff(k));
    s->lex = kt_calloc(1, sizeof *s->lex);
    if (!s->lex) goto fail;
    rc = kt__lex_init(s->lex);
    if (rc) goto fail;
    size_t nb;
    const kt_safety_entry *b = kt_safety_builtin(&nb);
    for (size_t i = 0; i < nb; i++) {
        if (!(s->mask & KT_SAFETY_BIT(b[i].category))) continue;
        rc = kt__lex_add_text(s->lex, KT__SAFETY_TFLAGS, 0, b[i].phrase, strlen(b[i].phrase),
                              (uint32_t)i);
        if (rc) goto fail;
    }
    rc = KT_ENOMEM;
    s->combos = kt_calloc(1, sizeof *s->combos);
    if (!s->combos) goto fail;
    rc = kt__cooc_init(s->combos, &kt__cooc_safety);
    if (rc) goto fail;
    rc = kt_safety_build(s);
    if (rc) goto fail;
    return KT_OK;
fail:
    kt_safety_free(s);
    return rc;
}

void kt_safety_free(kt_safety *s)
{
    if (s->lex) kt__lex_free(s->lex);
    free(s->lex);
    if (s->combos) kt__cooc_free(s->combos);
    free(s->combos);
    free(s->terms);
    memset(s, 0, sizeof *s);
}

int kt_safety_add_term(kt_safety *s, int category, const char *phrase, size_t len,
                       unsigned weight)
{
    if (!s->lex || category < 0 || category >= KT_SAFETY__COUNT || weight == 0 ||
        weight > KT_SAFETY_MAX_WEIGHT)
        return KT_EINVAL;
    if (s->nterms == s->cterms) {
        size_t nc = s->cterms ? s->cterms * 2 : 16;
        kt_safety_term *t = kt_realloc(s->terms, nc * sizeof *t);
        if (!t) return KT_ENOMEM;
        s->terms = t;
        s->cterms = nc;
    }
    size_t nb;
    (void)kt_safety_builtin(&nb);
    int rc = kt__lex_add_text(s->lex, KT__SAFETY_TFLAGS, 0, phrase, len, (uint32_t)(nb + s->nterms));
    if (rc) return rc;
    s->terms[s->nterms].category = (uint8_t)category;
    s->terms[s->nterms].weight = weight;
    s->nterms++;
    s->built = 0;
    return KT_OK;
}

int kt_safety_build(kt_safety *s)
{
    if (!s->lex) return KT_EINVAL;
    int rc = kt__lex_build(s->lex);
    s->built = rc == KT_OK;
    return rc;
}

/* ---- scanning ----------------------------------------------------------------------------- */

typedef struct kt__sctx {
    const kt_safety *s;
    kt_safety_hit *hits;
    size_t max, n;
    int truncated;
    kt__tally *tally;   /* KT_SAFETY__COUNT, when there is no hits array */
} kt__sctx;

static void on_hit(void *ud, int run, uint32_t tag, size_t start, size_t end)
{
    kt__sctx *c = ud;
    (void)run;
    int cat;
    unsigned w;
    entry_of(c->s, tag, &cat, &w);
    if (!(c->s->mask & KT_SAFETY_BIT(cat))) return;
    if (!c->hits) {
        kt__tally_add(&c->tally[cat], start, end, w);
        return;
    }
    if (c->n == c->max) {
        c->truncated = 1;
        return;
    }
    c->hits[c->n++] = (kt_safety_hit){ start, end, cat, w };
}

/* plain: every token through the automaton, no quiet path (the reference the tests compare). */
static void run_scan(const kt_safety *s, const char *text, size_t len, size_t from, kt__sctx *c,
                     int plain)
{
    kt__scan sc;
    kt__scan_begin(&sc, on_hit, c);
    sc.plain = plain;
    kt__scan_add_lex(&sc, s->lex, 0);
    kt__scan_start(&sc, KT__SAFETY_TFLAGS, text, from);
    kt__tok_feed(&sc.tok, text + from, len - from);
    kt__tok_finish(&sc.tok);
}

static int hit_cmp(const void *a, const void *b)
{
    const kt_safety_hit *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->category - y->category;
}

static size_t scan_hits(const kt_safety *s, const char *text, size_t len, size_t from,
                        kt_safety_hit *hits, size_t max, int *truncated, int plain)
{
    kt__sctx c = { .s = s, .hits = hits, .max = max };
    if (s->built && from <= len) {
        run_scan(s, text, len, from, &c, plain);
        if (c.n > 1) qsort(hits, c.n, sizeof *hits, hit_cmp);
    }
    if (truncated) *truncated = c.truncated;
    return c.n;
}

size_t kt_safety_scan_ctx(const kt_safety *s, const char *text, size_t len, size_t from,
                          kt_safety_hit *hits, size_t max, int *truncated)
{
    return scan_hits(s, text, len, from, hits, max, truncated, 0);
}

size_t kt__safety_scan_plain(const kt_safety *s, const char *text, size_t len, size_t from,
                             kt_safety_hit *hits, size_t max, int *truncated)
{
    return scan_hits(s, text, len, from, hits, max, truncated, 1);
}

size_t kt_safety_scan(const kt_safety *s, const char *text, size_t len, kt_safety_hit *hits,
                      size_t max, int *truncated)
{
    return kt_safety_scan_ctx(s, text, len, 0, hits, max, truncated);
}

static uint32_t judge(const kt_safety *s, const unsigned *sum, const unsigned *count)
{
    uint32_t m = 0;
    for (int k = 0; k < KT_SAFETY__COUNT; k++) {
        if (!(s->mask & KT_SAFETY_BIT(k))) continue;
        if (sum[k] >= s->threshold || (s->min_hits && count[k] >= s->min_hits)) m |= KT_SAFETY_BIT(k);
    }
    return m;
}

int kt_safety_verdict(const kt_safety *s, const kt_safety_hit *hits, size_t n,
                      uint32_t *categories_hit)
{
    unsigned sum[KT_SAFETY__COUNT] = { 0 }, count[KT_SAFETY__COUNT] = { 0 };
    for (size_t i = 0; i < n; i++) {
        int k = hits[i].category, inside = 0;
        if (k < 0 || k >= KT_SAFETY__COUNT) continue;
        for (size_t j = 0; j < n && !inside; j++)
            inside = hits[j].category == k &&
                     kt__contained(hits[i].start, hits[i].end, hits[j].start, hits[j].end);
        if (inside) continue;
        sum[k] += hits[i].weight;
        count[k]++;
    }
    uint32_t m = judge(s, sum, count);
    if (categories_hit) *categories_hit = m;
    return m != 0;
}

int kt_safety_eval(const kt_safety *s, const char *text, size_t len, uint32_t *categories_hit)
{
    if (categories_hit) *categories_hit = 0;
    if (!s->built) return KT_EINVAL;
    kt__tally *tally = kt_calloc(KT_SAFETY__COUNT, sizeof *tally);
    if (!tally) return KT_ENOMEM;
    kt__sctx c = { .s = s, .tally = tally };
    run_scan(s, text, len, 0, &c, 0);
    unsigned sum[KT_SAFETY__COUNT], count[KT_SAFETY__COUNT];
    for (int k = 0; k < KT_SAFETY__COUNT; k++) {
        sum[k] = (unsigned)KT_MIN(tally[k].sum, (unsigned long)UINT32_MAX);
        count[k] = tally[k].count;
    }
    free(tally);
    uint32_t m = judge(s, sum, count);
    if (categories_hit) *categories_hit = m;
    return m != 0;
}

/* ---- the learned scorer ------------------------------------------------------------------ */

void kt_safety_score(const kt_safety *s, const char *text, size_t len, kt_safety_scores *out)
{
    kt__linres r;
    kt__lin_score(&kt__linmodel_safety, text, len, &r);
    memset(out, 0, sizeof *out);
    for (int k = 0; k < KT_SAFETY__COUNT; k++) {
        if (!(s->mask & KT_SAFETY_BIT(k))) continue;
        out->p[k] = kt__lin_prob(r.logit[k]);
        out->start[k] = r.start[k];
        out->end[k] = r.end[k];
    }
}

static uint32_t learned_mask(const kt_safety *s, const kt__linres *r,
                             size_t start[KT_SAFETY__COUNT])
{
    uint32_t m = 0;
    for (int k = 0; k < KT_SAFETY__COUNT; k++) {
        if (!(s->mask & KT_SAFETY_BIT(k)) ||
            !kt__lin_over(s->lbound[k], s->cutoff[k], r->logit[k]))
            continue;
        m |= KT_SAFETY_BIT(k);
        if (start) start[k] = r->start[k];
    }
    return m;
}

uint32_t kt_safety_learned(const kt_safety *s, const char *text, size_t len,
                           size_t start[KT_SAFETY__COUNT])
{
    kt__linres r;
    kt__lin_score(&kt__linmodel_safety, text, len, &r);
    return learned_mask(s, &r, start);
}

float kt_safety_default_cutoff(int category)
{
    if (category < 0 || category >= KT_SAFETY__COUNT) return 0.0f;
    return kt__linmodel_safety.cutoff[category];
}

int kt_safety_set_cutoff(kt_safety *s, int category, float p)
{
    if (category < 0 || category >= KT_SAFETY__COUNT || !(p > 0.0f && p < 1.0f)) return KT_EINVAL;
    s->cutoff[category] = p;
    kt__lin_bounds(p, s->lbound[category]);
    return KT_OK;
}

typedef struct kt__combo_ctx {
    const kt_safety *s;
    kt_safety_hit *hits;
    size_t max, n;
} kt__combo_ctx;

static void on_combo(void *ud, const kt__cooc_rule *r, size_t start, size_t end)
{
    kt__combo_ctx *c = ud;
    if (!(c->s->mask & KT_SAFETY_BIT(r->tag)) || c->n == c->max) return;
    c->hits[c->n++] = (kt_safety_hit){ start, end, r->tag, c->s->threshold };
}

size_t kt_safety_combos(const kt_safety *s, const char *text, size_t len, kt_safety_hit *hits,
                        size_t max)
{
    if (!s->combos) return 0;
    kt__combo_ctx c = { s, hits, max, 0 };
    kt__cooc_scan(s->combos, KT__SAFETY_TFLAGS, text, len, on_combo, &c);
    return c.n;
}

uint32_t kt_safety_extra(const kt_safety *s, const char *text, size_t len, int combos,
                         kt_safety_hit *hits, size_t max, size_t *nhits,
                         size_t start[KT_SAFETY__COUNT])
{
    *nhits = 0;
    int use_c = combos && s->combos, use_l = s->learned;
    if (!use_c || !use_l) {
        if (use_c) *nhits = kt_safety_combos(s, text, len, hits, max);
        return use_l ? kt_safety_learned(s, text, len, start) : 0;
    }
    kt__combo_ctx c = { s, hits, max, 0 };
    kt__coocrun run;
    kt__cooc_begin(&run, s->combos, on_combo, &c);
    kt__linres r;
    kt__lin_score_cooc(&kt__linmodel_safety, text, len, &r, &run);
    *nhits = c.n;
    return learned_mask(s, &r, start);
}

int kt_safety_judge(const kt_safety *s, const char *text, size_t len, uint32_t *categories_hit)
{
    uint32_t m = 0;
    int rc = kt_safety_eval(s, text, len, &m);
    if (rc < 0) {
        if (categories_hit) *categories_hit = 0;
        return rc;
    }
    kt_safety_hit ch[KT_SAFETY__COUNT * 4];
    size_t nc;
    m |= kt_safety_extra(s, text, len, 1, ch, KT_ARRAY_LEN(ch), &nc, NULL);
    for (size_t i = 0; i < nc; i++) m |= KT_SAFETY_BIT(ch[i].category);
    if (categories_hit) *categories_hit = m;
    return m != 0;
}

/* ---- streaming ---------------------------------------------------------------------------- */

static void ignore_hit(void *ud, int run, uint32_t tag, size_t start, size_t end)
{
    (void)ud, (void)run, (void)tag, (void)start, (void)end;
}

static size_t stable_prefix(const kt_safety *s, const char *text, size_t len, size_t from,
                            int plain)
{
    if (from > len) return len;
    if (!s->built) return from;
    kt__scan sc;
    kt__scan_begin(&sc, ignore_hit, NULL);
    sc.plain = plain;
    kt__scan_add_lex(&sc, s->lex, 0);
    kt__scan_start(&sc, KT__SAFETY_TFLAGS, text, from);
    kt__tok_feed(&sc.tok, text + from, len - from);
    size_t h = kt__scan_hold(&sc);
    return h < from ? from : h;
}

size_t kt_safety_stable_prefix_ctx(const kt_safety *s, const char *text, size_t len, size_t from)
{
    return stable_prefix(s, text, len, from, 0);
}

size_t kt__safety_stable_prefix_plain(const kt_safety *s, const char *text, size_t len,
                                      size_t from)
{
    return stable_prefix(s, text, len, from, 1);
}

size_t kt_safety_stable_prefix(const kt_safety *s, const char *text, size_t len)
{
    return kt_safety_stable_prefix_ctx(s, text, len, 0);
}

size_t kt_safety_max_holdback(const kt_safety *s)
{
    return kt__holdback_bound(s->lex ? s->lex->maxdepth : 1, 0);
}
