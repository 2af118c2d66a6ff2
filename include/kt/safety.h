/* The `safety-filter` classifier: curated word and phrase lexicons for the categories `hate`,
 * `violence`, `self_harm` and `sexual`, matched over decoded UTF-8 text. Pure: no I/O, no global
 * state; a built classifier is read-only and may be shared between threads.
 *
 * Matching rules (the decisions the tests pin down):
 *  - Whole words only: "Scunthorpe", "cocktail" and "assassin's" match nothing; a phrase matches
 *    whatever whitespace, punctuation or symbols separate its words ("kill   myself",
 *    "kill-myself", "kill...myself"), but a separator run longer than 64 bytes ends it.
 *  - Case-insensitive, accent-insensitive (Latin-1 and Latin Extended-A fold to ASCII: é -> e,
 *    ü -> u, ß -> ss, œ -> oe; decomposed accents too), fullwidth and other NFKC-compatible letter
 *    forms fold to ASCII, zero-width characters and soft hyphens inside a word are skipped.
 *    Greek/Cyrillic look-alikes fold to Latin only inside a word that also has a Latin letter
 *    (a mixed-script word is an evasion; an all-Cyrillic word is Russian).
 *  - Leetspeak (0 1 3 4 5 -> o i e a s, '@' '$' inside a word -> a s) only in words that also
 *    have a letter: "k1ll mys3lf" matches, "1337", "555-0134" and "$5" stay numbers.
 *  - Weights: 3 = a strong signal on its own ("kill myself"), 2 = strong in most contexts
 *    ("pipe bomb"), 1 = a word that also appears in news, medicine or everyday idiom ("suicide",
 *    "self-harm", "massacre", "porn"). Reporting and clinical language therefore needs several
 *    signals before a category hits: "the patient's self-harm risk was assessed" is one hit of
 *    weight 1. Idioms are left out ("this joke killed", "kill the process", "shoot a photo",
 *    "beat the eggs", "the bomb dot com": "bomb" alone is not an entry).
 *  - A category hits when the summed weight of its hits reaches `threshold` (default 3) or, when
 *    `min_hits` is not 0, when its number of hits reaches min_hits.
 *  - The learned scorer (kt_safety_score) is separate from the lexicon: a logistic regression
 *    over hashed word features (src/scan/linscore.h) trained on tools/corpora's tune split, one
 *    probability per category for the best 64-word window of a text. A category's learned
 *    verdict is p >= its cutoff (kt_safety_default_cutoff: chosen by the trainer on the
 *    tune split's out-of-fold curve). kt_safety_scan, _verdict and
 *    _eval are the lexicon alone; kt_safety_judge is lexicon or learned score.
 *  - Every phrase found is reported, overlapping ones included ("how to commit suicide" is also
 *    "commit suicide" and "suicide"), but a hit that lies inside another hit of the same
 *    category does not count towards the threshold or min_hits.
 */
#ifndef KT_SAFETY_H
#define KT_SAFETY_H

#include <stddef.h>
#include <stdint.h>

typedef enum kt_safety_category {
    KT_SAFETY_HATE,
    KT_SAFETY_VIOLENCE,
    KT_SAFETY_SELF_HARM,
    KT_SAFETY_SEXUAL,
    KT_SAFETY__COUNT
} kt_safety_category;

#define KT_SAFETY_BIT(c) (1u << (c))
#define KT_SAFETY_ALL_MASK ((1u << KT_SAFETY__COUNT) - 1u)
#define KT_SAFETY_DEFAULT_THRESHOLD 3u
#define KT_SAFETY_MAX_WEIGHT 100u
/* Bytes of already-emitted text a streaming caller keeps in front of the held tail. */
#define KT_SAFETY_CONTEXT 8

struct kt__lex;
struct kt__cooc;

typedef struct kt_safety {
    struct kt__lex *lex;
    struct kt__cooc *combos;      /* intent x object rules (src/scan/safety_combos.c) */
    uint32_t mask;          /* enabled categories */
    unsigned threshold;     /* summed weight per category */
    unsigned min_hits;      /* 0 = off */
    struct kt_safety_term *terms; /* custom terms (owned) */
    size_t nterms, cterms;
    int built;
    int learned;            /* kt_safety_judge uses the learned scorer (default 1) */
    float cutoff[KT_SAFETY__COUNT]; /* learned-score probability cutoffs (kt_safety_set_cutoff) */
    float lbound[KT_SAFETY__COUNT][2]; /* the cutoffs' logit bounds (kt_safety_learned) */
} kt_safety;

typedef struct kt_safety_hit {
    size_t start, end;      /* [start, end) byte offsets in the original text */
    int category;           /* kt_safety_category */
    unsigned weight;
} kt_safety_hit;

/* Loads the built-in lexicons and builds the matcher: ready to scan. threshold 0 means the
 * default (3); min_hits 0 disables the hit-count rule. */
int kt_safety_init(kt_safety *s, uint32_t category_mask, unsigned threshold, unsigned min_hits);
void kt_safety_free(kt_safety *s);
/* Adds a custom word or phrase (folded like scanned text) with weight 1..KT_SAFETY_MAX_WEIGHT.
 * The matcher must then be rebuilt with kt_safety_build before the next scan; until then scans
 * find nothing and kt_safety_eval fails with KT_EINVAL. KT_EINVAL for an empty phrase, one with
 * a word that can never match (over 32 letters, other scripts) or more than 24 words. A phrase
 * already in the lexicon keeps its first category and weight. */
int kt_safety_add_term(kt_safety *s, int category, const char *phrase, size_t len,
                       unsigned weight);
int kt_safety_build(kt_safety *s);

/* Finds the hits of the enabled categories in text[0..len), sorted by start (then end). Returns
 * the number stored (<= max); *truncated (if not NULL) is set to 1 when there were more. */
size_t kt_safety_scan(const kt_safety *s, const char *text, size_t len, kt_safety_hit *hits,
                      size_t max, int *truncated);
/* The same with left context: text[0..from) was already emitted and is only looked at (for word
 * boundaries); no hit starts before `from`. */
size_t kt_safety_scan_ctx(const kt_safety *s, const char *text, size_t len, size_t from,
                          kt_safety_hit *hits, size_t max, int *truncated);

/* Sets *categories_hit (bit 1u << category) to the categories whose hits reach the threshold or
 * min_hits (hits inside another hit of their category not counted), and returns 1 if any did,
 * else 0. Quadratic in n: meant for the hits of one text. */
int kt_safety_verdict(const kt_safety *s, const kt_safety_hit *hits, size_t n,
                      uint32_t *categories_hit);
/* Scan and verdict in one pass without a hit array (nothing is truncated): 1 or 0 as above, or
 * KT_EINVAL when the matcher is not built. */
int kt_safety_eval(const kt_safety *s, const char *text, size_t len, uint32_t *categories_hit);

/* The combination rules (an intent or threat next to an object or target, with up to a few
 * words between: src/scan/safety_combos.c) of the enabled categories, in order of their last
 * word; weight = the threshold, so one match acts. Not streaming-exact: a match is of the text
 * given. Returns the number stored (<= max). */
size_t kt_safety_combos(const kt_safety *s, const char *text, size_t len, kt_safety_hit *hits,
                        size_t max);

/* The learned scorer: per category the probability (0..1) of its best 64-word window and that
 * window's byte span. Categories not enabled get 0. Linear in len, no allocation. */
typedef struct kt_safety_scores {
    float p[KT_SAFETY__COUNT];
    size_t start[KT_SAFETY__COUNT], end[KT_SAFETY__COUNT];
} kt_safety_scores;

void kt_safety_score(const kt_safety *s, const char *text, size_t len, kt_safety_scores *out);
/* The learned verdict alone: the enabled categories whose probability reaches their cutoff (bit
 * 1u << category), and for those the start of the best window in start[] (if not NULL). The same
 * verdict as kt_safety_score's p >= cutoff, mostly without computing a probability. */
uint32_t kt_safety_learned(const kt_safety *s, const char *text, size_t len,
                           size_t start[KT_SAFETY__COUNT]);
/* kt_safety_combos (when `combos` is not 0) and kt_safety_learned (when s->learned) together:
 * the combination hits in hits[0..*nhits), the learned categories as the result, exactly what
 * the two calls give, in one pass over the words when both run and the text allows
 * (kt__lin_score_cooc). */
uint32_t kt_safety_extra(const kt_safety *s, const char *text, size_t len, int combos,
                         kt_safety_hit *hits, size_t max, size_t *nhits,
                         size_t start[KT_SAFETY__COUNT]);
/* The shipped cutoff of a category (0 when out of range). */
float kt_safety_default_cutoff(int category);
/* Sets the learned cutoff of one category (p in (0, 1)); KT_EINVAL otherwise. */
int kt_safety_set_cutoff(kt_safety *s, int category, float p);
/* Lexicon verdict (kt_safety_eval), a combination rule or, when s->learned, learned score >= cutoff, per category:
 * 1 if any category hit, 0 if none, KT_EINVAL / KT_ENOMEM as kt_safety_eval. */
int kt_safety_judge(const kt_safety *s, const char *text, size_t len, uint32_t *categories_hit);

/* Streaming: the largest n <= len such that every hit that text appended after `len` could still
 * create starts at or after n. Hits found in text[0..len) that start before n are final: act on
 * them now (block or flag); the others will be found again from n. len - n never exceeds
 * kt_safety_max_holdback(s). The protocol (as for kt_detect, see detect.h):
 *
 *     hold = kept context + unemitted bytes; ctx = bytes of context in front
 *     on bytes b:  hold += b
 *                  n = kt_safety_stable_prefix_ctx(s, hold, len, ctx)
 *                  hits = kt_safety_scan_ctx(s, hold, len, ctx, ...): act on those starting < n
 *                  emit hold[ctx..n); keep k = min(n, KT_SAFETY_CONTEXT) bytes before n; ctx = k
 *     at the end:  hits = kt_safety_scan_ctx(s, hold, len, ctx, ...); emit the rest
 *
 * finds exactly the hits of scanning the whole text at once, each before any of its bytes is
 * emitted (a hit may straddle n: it is complete, and acting on it blocks what follows). */
size_t kt_safety_stable_prefix(const kt_safety *s, const char *text, size_t len);
size_t kt_safety_stable_prefix_ctx(const kt_safety *s, const char *text, size_t len, size_t from);
size_t kt_safety_max_holdback(const kt_safety *s);

/* "hate", "violence", "self_harm", "sexual"; NULL when out of range. */
const char *kt_safety_category_name(int c);
/* Exact, case-insensitive name (also "self-harm", "selfharm"); -1 if unknown. */
int kt_safety_category_from_name(const char *s, size_t n);

/* The built-in lexicon (src/safety_lexicon.c). */
typedef struct kt_safety_entry {
    const char *phrase;
    uint8_t category;
    uint8_t weight;
} kt_safety_entry;

const kt_safety_entry *kt_safety_builtin(size_t *n);

#endif
