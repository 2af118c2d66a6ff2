/* Internal to the classifiers: the learned scorer, a linear model (logistic regression) over
 * hashed word features, trained offline by tools/train/ (see tools/train/kt_features.py, which
 * computes the same feature ids bit for bit; test_linscore checks both agree).
 *
 * Features: text is read as bytes, ASCII letters fold to lower case; letters, digits and bytes
 * >= 0x80 are word bytes, the rest separate words (a word is hashed by its first 32 bytes). Each
 * word gives its own feature, the pair (previous word, word) and, when longer than 4 bytes, its
 * 4-byte prefix. A feature's bucket is the low `bits` bits of its 32-bit id; each bucket holds one
 * int8 weight per class. The score of a window of 64 words (windows start every 32 words) is
 * bias + scale * (sum of its features' weights); a text's score per class is its best window's,
 * so a short passage inside a long text is not diluted. One pass, no allocation: linear in the
 * text with a few table reads per word. */
#ifndef KT_LINSCORE_H
#define KT_LINSCORE_H

#include <stddef.h>
#include <stdint.h>

#define KT__LIN_MAXCLS 4
#define KT__LIN_WINDOW 64
#define KT__LIN_STEP 32
#define KT__LIN_WORD_MAX 32
/* The weight tables go to a section of their own, after .rodata: laid out among the strings and
 * small tables that start-up reads, the kernel's fault-around (64 KiB windows) made ~140 KB of
 * them resident in a kt that runs no learned scorer. */
#define KT__LIN_COLD __attribute__((section("kt_cold")))

typedef struct kt__linmodel {
    unsigned bits;                  /* buckets = 1 << bits */
    unsigned ncls;                  /* <= KT__LIN_MAXCLS */
    float scale[KT__LIN_MAXCLS];
    float bias[KT__LIN_MAXCLS];
    float cutoff[KT__LIN_MAXCLS];   /* default probability cutoff (chosen by the trainer) */
    const int8_t *w;                /* [1 << bits][ncls] */
} kt__linmodel;

/* The best window per class: its logit and its byte span. */
typedef struct kt__linres {
    float logit[KT__LIN_MAXCLS];
    size_t start[KT__LIN_MAXCLS], end[KT__LIN_MAXCLS];
} kt__linres;

/* Scores text[0..len) with every class of the model. */
void kt__lin_score(const kt__linmodel *m, const char *text, size_t len, kt__linres *r);
/* The same, and the co-occurrence run `cooc` (kt__cooc_begin'd) reads every word of the text: the
 * matches of kt__cooc_scan, in the scorer's own pass when the text has no '@' or '$' (the one
 * difference between the two alphabets), else by the rules' own scan. */
struct kt__coocrun;
void kt__lin_score_cooc(const kt__linmodel *m, const char *text, size_t len, kt__linres *r,
                        struct kt__coocrun *cooc);
/* The ids of the features of text[0..len) in order (word by word: word, pair, prefix), at most
 * max stored; returns the number there are. For the tests. */
size_t kt__lin_features(const char *text, size_t len, uint32_t *ids, size_t max);
/* 1 / (1 + e^-x). */
float kt__lin_prob(float logit);

/* Deciding kt__lin_prob(logit) >= cutoff mostly without the exponential: kt__lin_bounds finds
 * logits b[0] < b[1] around the cutoff's (a bisection over kt__lin_prob itself, widened by 0.01
 * each way); a logit at or below b[0] is under the cutoff, one at or above b[1] over it, and only
 * one in between pays for kt__lin_prob. Exact: kt__lin_prob is monotone wherever its arguments
 * lie 0.01 apart (e^x moves by 1 % there, its rounding by one part in 2^24), and the bisection's
 * ends are on the right sides. cutoff in (0, 1). */
void kt__lin_bounds(float cutoff, float b[2]);
int kt__lin_over(const float b[2], float cutoff, float logit);

extern const kt__linmodel kt__linmodel_safety;     /* hate, violence, self_harm, sexual */
extern const kt__linmodel kt__linmodel_injection;  /* prompt_injection */

#endif
