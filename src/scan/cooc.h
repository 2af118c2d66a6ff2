/* Internal to the classifiers: co-occurrence rules over word classes, the "intent x object" part
 * of safety-filter and the tolerant phrase families of prompt-injection.
 *
 * A rule is a sequence of 2 or 3 word classes; it matches when a word of each class appears in
 * order with at most gap[k] other words between consecutive ones ("ignore ANY previous AND
 * FOLLOWING instructions": ignore, previous, instructions with gaps 1 and 2). Words are runs of
 * ASCII letters and digits (and bytes >= 0x80), folded to lower case and, in words with a letter,
 * from leetspeak ("k1ll"); any other bytes separate them, and more than 64 of them end every
 * match in progress. (Cheaper than the lexicons' tokenizer: accents and look-alikes are not
 * folded here.) A class is a bit, a word may be in several. One pass over the words with a few
 * integers of state per rule: linear in the text. */
#ifndef KT_COOC_H
#define KT_COOC_H

#include <stddef.h>
#include <stdint.h>

#define KT__COOC_MAXEL 3

typedef struct kt__cooc_word {
    const char *w;          /* folded: lower-case ASCII letters and digits */
    uint32_t cls;           /* class bits */
} kt__cooc_word;

typedef struct kt__cooc_rule {
    uint8_t n;                     /* elements, 2..3 */
    uint32_t cls[KT__COOC_MAXEL];  /* a class bit per element */
    uint8_t gap[KT__COOC_MAXEL - 1];
    uint16_t tag;                  /* category or rule id */
    uint16_t weight;
} kt__cooc_rule;

typedef struct kt__cooc_set {
    const kt__cooc_word *words;    /* as given (any order) */
    size_t nwords;
    const kt__cooc_rule *rules;
    size_t nrules;
} kt__cooc_set;

/* The built form: an open-addressing table of the words (owned). */
typedef struct kt__cooc_slot {
    const char *w;          /* NULL: empty */
    uint32_t cls;
    uint8_t n;
} kt__cooc_slot;

#define KT__COOC_MAXRULES 128

typedef struct kt__cooc {
    const kt__cooc_set *set;
    kt__cooc_slot *tab;
    uint32_t mask;
    uint64_t lens;          /* bit n: a word of n bytes exists */
    /* per class bit: the rules with an element of that class (bit k of word k / 64) */
    uint64_t rules_of[32][KT__COOC_MAXRULES / 64];
} kt__cooc;

int kt__cooc_init(kt__cooc *c, const kt__cooc_set *set);
void kt__cooc_free(kt__cooc *c);

/* Called for each match: the rule and the byte span from its first to its last word. */
typedef void (*kt__cooc_fn)(void *ud, const kt__cooc_rule *r, size_t start, size_t end);
/* tflags: unused (the lexicons' tokenizer flags, for a later fold). Returns the matches. */
size_t kt__cooc_scan(const kt__cooc *c, unsigned tflags, const char *text, size_t len,
                     kt__cooc_fn fn, void *ud);

/* The same scan in steps: kt__cooc_begin, then the text read here (kt__cooc_text) or its words
 * handed in one by one by a caller that reads them itself (kt__cooc_step, from the learned
 * scorer's pass: kt__lin_score_cooc, which knows when its words are this scanner's), then
 * kt__cooc_end. */
typedef struct kt__coocrun {
    const kt__cooc *c;
    kt__cooc_fn fn;
    void *ud;
    size_t ntok, hits, last_end;
    /* per rule and element: the token index + 1 of the latest match of elements 0..k (0: none),
     * and the byte where that match's first word starts */
    size_t at[KT__COOC_MAXRULES][KT__COOC_MAXEL];
    size_t from[KT__COOC_MAXRULES][KT__COOC_MAXEL];
} kt__coocrun;

void kt__cooc_begin(kt__coocrun *r, const kt__cooc *c, kt__cooc_fn fn, void *ud);
/* Every word of text[0..len), read by the scanner itself. */
void kt__cooc_text(kt__coocrun *r, const char *text, size_t len);
/* The word text[s..e), in order: fnv is the FNV-1a hash (basis 0x811C9DC5, prime 0x01000193)
 * of its first 32 bytes with ASCII letters lower-cased, digits whether it has a digit. */
void kt__cooc_step(kt__coocrun *r, const char *text, size_t s, size_t e, uint32_t fnv,
                   unsigned digits);
/* The number of matches. */
size_t kt__cooc_end(const kt__coocrun *r);

extern const kt__cooc_set kt__cooc_safety;      /* tag: kt_safety_category */
extern const kt__cooc_set kt__cooc_injection;   /* tag: an index into kt__cooc_injection_names */
extern const char *const kt__cooc_injection_names[];
extern const size_t kt__cooc_injection_nnames;

#endif
