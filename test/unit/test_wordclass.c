/* Word classes (wordclass.c): the prompt-injection automaton keyed by word classes must match
 * exactly what the automaton keyed by each word matches (the rules expanded word by word, as
 * they were loaded before the classes). Both step through the same token sequences: random walks
 * down the per-word trie (phrases and their prefixes), with words replaced, inserted and dropped
 * at random, and built-in phrases joined to custom ones. After every token both must report the
 * same phrases (rule and length, longest first), be busy or idle alike and hold the same depth. */
#include <stdlib.h>
#include <string.h>

#include "../../src/scan/classify_priv.h"
#include "kt/common.h"
#include "kt/injection.h"
#include "kt_test.h"
#include "kt_test_rnd.h"

typedef kt_test_rnd rnd;

static uint64_t next(rnd *r) { return kt_test_next(r); }

/* custom phrases sharing words with the built-in rules, one of them expanded as text */
static const char *const custom[] = {
    "ignore my boss", "{disregard|skip} the memo", "forget {previous|prior} meetings",
    "jail{break|broken} now", "reveal your [secret] recipe",
};

/* The per-word reference: every rule expanded with each word its own symbol. */
static int build_reference(kt__lex *x, unsigned tflags, int with_custom)
{
    size_t nr;
    const kt__inj_rule *r = kt__inj_rules(&nr);
    int rc = kt__lex_init(x);
    for (size_t id = 0; id <= nr && !rc; id++) {
        if (id < nr && r[id].marker) continue;
        const char *const *pats = id < nr ? r[id].pats : with_custom ? custom : NULL;
        size_t np = id < nr ? SIZE_MAX : KT_ARRAY_LEN(custom);
        for (size_t k = 0; k < np && pats && pats[k] && !rc; k++) {
            size_t budget = 100000;
            rc = kt__expand_lex(x, tflags, KT__INJ_SKIP, pats[k], (uint32_t)id, &budget);
        }
    }
    return rc ? rc : kt__lex_build(x);
}

/* The reference trie's edges grouped by parent node. */
typedef struct kids {
    uint32_t *first; /* nnodes + 1 */
    uint32_t *word, *child;
} kids;

static int kids_of(const kt__lex *x, kids *k)
{
    k->first = calloc((size_t)x->nnodes + 1, sizeof *k->first);
    k->word = malloc(((size_t)x->nedges + 1) * sizeof *k->word);
    k->child = malloc(((size_t)x->nedges + 1) * sizeof *k->child);
    if (!k->first || !k->word || !k->child) return -1;
    for (uint32_t i = 0; i <= x->emask; i++)
        if (x->ekey[i]) k->first[(x->ekey[i] >> 32) + 1]++;
    for (uint32_t n = 0; n < x->nnodes; n++) k->first[n + 1] += k->first[n];
    uint32_t *at = malloc(((size_t)x->nnodes + 1) * sizeof *at);
    if (!at) return -1;
    memcpy(at, k->first, ((size_t)x->nnodes + 1) * sizeof *at);
    for (uint32_t i = 0; i <= x->emask; i++) {
        if (!x->ekey[i]) continue;
        uint32_t p = (uint32_t)(x->ekey[i] >> 32);
        k->word[at[p]] = (uint32_t)x->ekey[i];
        k->child[at[p]++] = x->eval[i];
    }
    free(at);
    return 0;
}

static void kids_free(kids *k)
{
    free(k->first);
    free(k->word);
    free(k->child);
}

#define MAXSEQ 48

/* A token sequence of reference word ids: walks down the trie, some words swapped for random
 * vocabulary, dropped or doubled, several walks in a row. */
static size_t make_seq(rnd *r, const kt__lex *x, const kids *k, uint32_t *seq)
{
    size_t n = 0, walks = 1 + next(r) % 3;
    for (size_t w = 0; w < walks && n < MAXSEQ; w++) {
        uint32_t s = 0;
        while (n < MAXSEQ) {
            uint32_t a = k->first[s], b = k->first[s + 1];
            if (a == b || next(r) % 24 == 0) break;
            uint32_t e = a + (uint32_t)(next(r) % (b - a));
            uint64_t m = next(r) % 16;
            if (m == 0) seq[n++] = 1 + (uint32_t)(next(r) % x->nwords); /* a stray word */
            if (m == 1) continue;                                       /* dropped */
            if (n < MAXSEQ) seq[n++] = m == 2 ? 1 + (uint32_t)(next(r) % x->nwords) : k->word[e];
            s = k->child[e];
        }
    }
    return n;
}

typedef struct out {
    uint32_t tag[KT__MAXDEPTH + 1];
    unsigned depth[KT__MAXDEPTH + 1];
    unsigned n, hold, busy;
} out;

/* What lexscan's run_token reads at a state: the phrases ending there, longest first. */
static void outputs(const kt__lex *x, uint32_t st, out *o)
{
    o->n = 0;
    o->busy = st != 0;
    o->hold = x->hold[st];
    uint32_t s = x->tag[st] != KT__NOTAG ? st : x->dict[st];
    for (; s && o->n <= KT__MAXDEPTH; s = x->dict[s]) {
        o->tag[o->n] = x->tag[s];
        o->depth[o->n++] = x->depth[s];
    }
}

static int same_out(const out *a, const out *b)
{
    if (a->n != b->n || a->busy != b->busy || a->hold != b->hold) return 0;
    for (unsigned i = 0; i < a->n; i++)
        if (a->tag[i] != b->tag[i] || a->depth[i] != b->depth[i]) return 0;
    return 1;
}

/* Steps both automata through `iters` sequences; returns the number of tokens that differed. */
static long compare(const kt__lex *ref, const kt__lex *cls, uint64_t seed, int iters, long *hits)
{
    kids k;
    if (kids_of(ref, &k)) return -1;
    rnd r = { seed };
    long bad = 0;
    uint32_t seq[MAXSEQ];
    for (int it = 0; it < iters; it++) {
        size_t n = make_seq(&r, ref, &k, seq);
        uint32_t a = 0, b = 0;
        for (size_t i = 0; i < n; i++) {
            const char *w = ref->vstr + ref->voff[seq[i]];
            size_t wl = ref->vn[seq[i]];
            a = kt__lex_step(ref, a, kt__lex_word(ref, w, wl));
            b = kt__lex_step(cls, b, kt__lex_word(cls, w, wl));
            out oa, ob;
            outputs(ref, a, &oa);
            outputs(cls, b, &ob);
            *hits += oa.n;
            if (!same_out(&oa, &ob)) bad++;
        }
    }
    kids_free(&k);
    return bad;
}

static void check_rules(int with_custom, uint64_t seed)
{
    kt_injection d;
    kt_injection_opts o;
    kt_injection_opts_default(&o);
    if (with_custom) {
        o.extra_phrases = custom;
        o.n_extra = KT_ARRAY_LEN(custom);
    }
    int rc = kt_injection_init(&d, &o);
    KT_ASSERT_EQ_INT(rc, KT_OK);
    if (rc) return;
    kt__lex ref;
    KT_ASSERT_EQ_INT(build_reference(&ref, d.tflags, with_custom), KT_OK);
    /* the classes are fewer than the words, and so are the nodes */
    KT_ASSERT(d.phrases->nsym < d.phrases->nwords);
    KT_ASSERT(d.phrases->nnodes * 2 < ref.nnodes);
    KT_ASSERT_EQ_INT(d.phrases->nwords, ref.nwords);
    KT_ASSERT_EQ_INT(d.phrases->maxdepth, ref.maxdepth);
    long hits = 0;
    KT_ASSERT_EQ_INT(compare(&ref, d.phrases, seed, 20000, &hits), 0);
    KT_ASSERT(hits > 15000); /* the walks reach phrases, not just prefixes */
    kt__lex_free(&ref);
    kt_injection_free(&d);
}

KT_TEST(word_classes_match_what_words_match) { check_rules(0, 0x9e3779b97f4a7c15ull); }

KT_TEST(word_classes_match_with_custom_phrases) { check_rules(1, 0xd1b54a32d192ed03ull); }

/* A custom phrase keeps its own words: a word that is interchangeable with another in the
 * built-in rules does not lend the custom phrase to it. */
KT_TEST(custom_phrase_words_stay_apart)
{
    kt_injection d;
    kt_injection_opts o;
    kt_injection_opts_default(&o);
    o.extra_phrases = custom;
    o.n_extra = KT_ARRAY_LEN(custom);
    int rc = kt_injection_init(&d, &o);
    KT_ASSERT_EQ_INT(rc, KT_OK);
    if (rc) return;
    const kt__lex *x = d.phrases;
    uint32_t ig = kt__lex_word(x, "ignore", 6), dis = kt__lex_word(x, "disregard", 9);
    uint32_t fo = kt__lex_word(x, "forget", 6);
    KT_ASSERT(ig && dis && fo);
    KT_ASSERT(ig != dis); /* "ignore my boss" tells them apart */
    /* "forget {previous|prior} meetings" parts "previous" from "earlier" */
    KT_ASSERT(kt__lex_word(x, "preceding", 9) == kt__lex_word(x, "foregoing", 9));
    KT_ASSERT(kt__lex_word(x, "previous", 8) != kt__lex_word(x, "earlier", 7));
    const char *const a[] = { "disregard", "my", "boss" };
    uint32_t s = 0;
    for (size_t i = 0; i < 3; i++) s = kt__lex_step(x, s, kt__lex_word(x, a[i], strlen(a[i])));
    KT_ASSERT(s == 0 || x->tag[s] != (uint32_t)(kt_injection_rule_count() - 1));
    kt_injection_free(&d);
}

/* The classes themselves: two words with the same places share a symbol, a word placed once
 * more elsewhere does not, and a solo word is alone. */
KT_TEST(places_decide_the_classes)
{
    kt__lex x;
    KT_ASSERT_EQ_INT(kt__lex_init(&x), KT_OK);
    uint32_t a, b, c, d, e;
    KT_ASSERT_EQ_INT(kt__lex_intern(&x, "alpha", 5, &a), KT_OK);
    KT_ASSERT_EQ_INT(kt__lex_intern(&x, "beta", 4, &b), KT_OK);
    KT_ASSERT_EQ_INT(kt__lex_intern(&x, "gamma", 5, &c), KT_OK);
    KT_ASSERT_EQ_INT(kt__lex_intern(&x, "delta", 5, &d), KT_OK);
    KT_ASSERT_EQ_INT(kt__lex_intern(&x, "eps", 3, &e), KT_OK);
    kt__wclass wc;
    kt__wclass_init(&wc);
    uint32_t alt1[] = { a }, alt2[] = { b }, alt3[] = { c }, two[] = { d, a }, two2[] = { d, b };
    KT_ASSERT_EQ_INT(kt__wclass_place(&wc, 7, alt1, 1, 0), KT_OK);
    KT_ASSERT_EQ_INT(kt__wclass_place(&wc, 7, alt2, 1, 0), KT_OK);
    KT_ASSERT_EQ_INT(kt__wclass_place(&wc, 7, alt3, 1, 0), KT_OK);
    KT_ASSERT_EQ_INT(kt__wclass_place(&wc, 9, alt3, 1, 0), KT_OK); /* c once more */
    KT_ASSERT_EQ_INT(kt__wclass_place(&wc, 8, two, 2, 1), KT_OK);  /* "delta alpha" */
    KT_ASSERT_EQ_INT(kt__wclass_place(&wc, 8, two2, 2, 1), KT_OK); /* "delta beta" */
    KT_ASSERT_EQ_INT(kt__wclass_place(&wc, 8, two, 2, 0), KT_OK);
    KT_ASSERT_EQ_INT(kt__wclass_place(&wc, 8, two2, 2, 0), KT_OK);
    KT_ASSERT_EQ_INT(kt__wclass_solo(&wc, e), KT_OK);
    KT_ASSERT_EQ_INT(kt__wclass_place(&wc, 7, alt1, 1, 1), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt__wclass_assign(&wc, &x), KT_OK);
    KT_ASSERT_EQ_INT(x.nsym, 4);
    KT_ASSERT(kt__lex_symbol(&x, a) == kt__lex_symbol(&x, b));
    KT_ASSERT(kt__lex_symbol(&x, a) != kt__lex_symbol(&x, c));
    KT_ASSERT(kt__lex_symbol(&x, d) != kt__lex_symbol(&x, e));
    /* a word interned afterwards is a symbol of its own */
    uint32_t f;
    KT_ASSERT_EQ_INT(kt__lex_intern(&x, "zeta", 4, &f), KT_OK);
    KT_ASSERT_EQ_INT(kt__lex_symbol(&x, f), 5);
    KT_ASSERT_EQ_INT(kt__lex_word(&x, "zeta", 4), 5);
    /* symbols are fixed once the trie has a phrase */
    uint32_t ph[] = { a, c };
    KT_ASSERT_EQ_INT(kt__lex_add(&x, ph, 2, 0), KT_OK);
    uint32_t sym[7] = { 0, 1, 1, 2, 3, 4, 5 };
    KT_ASSERT_EQ_INT(kt__lex_alias(&x, sym, 5), KT_EINVAL);
    kt__wclass_free(&wc);
    kt__lex_free(&x);
}

int main(void)
{
    KT_RUN(word_classes_match_what_words_match);
    KT_RUN(word_classes_match_with_custom_phrases);
    KT_RUN(custom_phrase_words_stay_apart);
    KT_RUN(places_decide_the_classes);
    return KT_DONE();
}
