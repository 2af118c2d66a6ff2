/* The `prompt-injection` classifier: known attack phrasings ("ignore previous instructions" and
 * its family, DAN / developer-mode / jailbreak personas, system-prompt extraction, "pretend you
 * have no restrictions", ...) and fake role or boundary markers injected into user text
 * ("<|im_start|>system", "[INST]", "<</SYS>>", "### System", "Human:" lines, ...).
 * Pure: no I/O, no global state; an initialised classifier is read-only and may be shared.
 *
 * Matching rules (the decisions the tests pin down):
 *  - Text is tokenized into folded words (case, accents, leetspeak digits inside words) and the
 *    role-marker punctuation < > | [ ] / # ` : (a run of one character is one token: "<<" = "<").
 *    Phrases match word by word: any whitespace or other punctuation between words, and up to two
 *    marker-punctuation tokens or line breaks inside a phrase, are looked through ("Ignore...
 *    all / previous\ninstructions" matches). A separator run over 64 bytes ends a phrase.
 *  - Phrase rules are specific on purpose: "please ignore the previous email" and "forget the
 *    previous version" do not match (the noun must be instructions, prompts, rules, ...), nor do
 *    "print the instructions" (a recipe) or "enable debug mode".
 *  - Role markers count only at the start of a line (text start or after a newline), except the
 *    unambiguous special tokens (<|im_start|>, <|endoftext|>, [INST], <<SYS>>, ...), which count
 *    anywhere. "system: Linux" inside a log line is nothing; a line "System: ..." is a medium
 *    signal (50 points), as are "Human:" / "Assistant:" turn lines: a pasted transcript alone
 *    does not block, a transcript plus an instruction override does.
 *  - normalize_unicode (default on): Greek/Cyrillic look-alikes fold to Latin in every word,
 *    Unicode tag characters (U+E0020..E007E, "ASCII smuggling") decode to ASCII. Always on, with
 *    or without it: fullwidth forms, circled and mathematical letters and ligatures fold to ASCII,
 *    zero-width characters, soft hyphens, bidi controls and combining marks inside words are
 *    skipped, Latin accents fold. Hit offsets are always offsets in the original text.
 *  - decode_base64 (default on): every run of >= 24 characters of [A-Za-z0-9+/=_-] (standard or
 *    URL-safe alphabet) is decoded, up to max_b64_decoded bytes (default 64 KiB) and at most
 *    max_b64_runs runs (default 64) per scan, and the decoded text is scanned too; such a hit
 *    spans the decoded part of the run and has KT_INJ_HIT_BASE64 set.
 *    A run that is all hex digits (even length) is decoded as hex, one of upper-case base32
 *    letters and digits as base32, anything else as base64.
 *  - kt_injection_assess (decode_more, default on) also scans decoded views of the whole text
 *    with the phrase rules: ROT13 (when a word is the ROT13 form of "ignore", "instructions",
 *    "system", ...), quoted-printable and URL-encoding (from 3 escapes on), Unicode tag
 *    characters and variation selectors used as bytes; each view holds at most max_b64_decoded
 *    bytes. Those hits are not streaming-exact (a view is of the text given).
 *  - The learned scorer (learned, default on): a logistic regression over hashed word features
 *    (src/scan/linscore.h, trained by tools/train/train_injection.py on the tune split), applied
 *    to the text, to each decoded base64/hex/base32 run and to each view; the best probability is
 *    the text's. kt_injection_assess reports it; its verdict is p >= cutoff (default
 *    kt_injection_default_cutoff(): chosen by the trainer on the tune split's out-of-fold curve).
 *  - Score: each hit adds its rule's weight (points: strong 100, medium 50, weak 25); the verdict
 *    is positive when the score reaches `threshold` (default 100: any strong rule).
 *  - Every phrase found is reported; a hit inside another (non-base64) hit of the same rule does
 *    not add to the score.
 */
#ifndef KT_INJECTION_H
#define KT_INJECTION_H

#include <stddef.h>
#include <stdint.h>

#define KT_INJ_STRONG 100u
#define KT_INJ_MEDIUM 50u
#define KT_INJ_WEAK 25u
#define KT_INJ_DEFAULT_THRESHOLD KT_INJ_STRONG
#define KT_INJ_HIT_BASE64 1u
/* Bytes of already-emitted text a streaming caller keeps in front of the held tail. */
#define KT_INJECTION_CONTEXT 8

typedef struct kt_injection_opts {
    int normalize_unicode;            /* default 1 */
    int decode_base64;                /* default 1 */
    unsigned threshold;               /* points; 0 = KT_INJ_DEFAULT_THRESHOLD */
    /* Extra phrases (rule "custom"), in the template syntax of the built-in rules:
     * "{a|b}" one of, "[a|b]" optionally one of, e.g. "{leak|send} [all] customer data". */
    const char *const *extra_phrases;
    size_t n_extra;
    unsigned extra_weight;            /* 0 = KT_INJ_STRONG */
    size_t max_b64_runs;              /* 0 = 64 */
    size_t max_b64_decoded;           /* bytes per run; 0 = 65536 */
    int decode_more;                  /* ROT13, QP, URL, tag and variation-selector views */
    int learned;                      /* the learned scorer (default 1) */
    float cutoff;                     /* its probability cutoff; 0 = the shipped one */
} kt_injection_opts;

struct kt__lex;
struct kt__cooc;

typedef struct kt_injection {
    struct kt__cooc *combos;  /* phrase families tolerant to inserted words (injection_combos.c) */
    struct kt__lex *phrases;  /* word phrases (punctuation and line breaks looked through) */
    struct kt__lex *markers;  /* role and boundary markers (punctuation and lines significant) */
    unsigned tflags;
    int decode_base64;
    unsigned threshold;
    unsigned extra_weight;
    size_t max_b64_runs, max_b64_decoded;
    int decode_more, learned;
    float cutoff;
} kt_injection;

typedef struct kt_injection_hit {
    size_t start, end;        /* [start, end) byte offsets in the original text */
    int rule;                 /* kt_injection_rule_name(rule) */
    unsigned weight;
    unsigned flags;           /* KT_INJ_HIT_BASE64 */
} kt_injection_hit;

void kt_injection_opts_default(kt_injection_opts *o);
/* The learned scorer's shipped cutoff. */
float kt_injection_default_cutoff(void);
/* o may be NULL (defaults). KT_EINVAL when an extra phrase is empty, cannot match or expands to
 * more than 100000 phrases; KT_ENOMEM. */
int kt_injection_init(kt_injection *d, const kt_injection_opts *o);
void kt_injection_free(kt_injection *d);

/* Hits in text[0..len), sorted by start (then end). Returns the number stored (<= max);
 * *truncated (if not NULL) is set to 1 when there were more. */
size_t kt_injection_scan(const kt_injection *d, const char *text, size_t len,
                         kt_injection_hit *hits, size_t max, int *truncated);
/* With left context: text[0..from) was already emitted and is only looked at (line starts, word
 * boundaries, a base64 run that began before `from` is not decoded); no hit starts before from. */
size_t kt_injection_scan_ctx(const kt_injection *d, const char *text, size_t len, size_t from,
                             kt_injection_hit *hits, size_t max, int *truncated);
/* Sums the weights into *score (if not NULL); 1 if it reaches the threshold, else 0. */
int kt_injection_verdict(const kt_injection *d, const kt_injection_hit *hits, size_t n,
                         unsigned *score);
/* Scan and verdict without a hit array (nothing is truncated). */
int kt_injection_eval(const kt_injection *d, const char *text, size_t len, unsigned *score);

/* What the decoded views and the learned scorer add to the phrase scan of text[0..len). */
typedef struct kt_injection_assessment {
    unsigned view_score;      /* summed weights of the rules found in decoded views (one per
                               * rule and view) */
    int view_rule;            /* the first such rule, -1 */
    size_t view_start;        /* where the first view's encoded text starts */
    unsigned combo_score;     /* summed weights of the phrase-family matches (one per family) */
    int combo;                /* the first family matched (kt_injection_combo_name), -1 */
    size_t combo_start, combo_end;
    float p;                  /* the learned score (0 when learned is off) */
    size_t start, end;        /* the span of the best-scoring window in the original text (the
                               * encoded run or the text, for a decoded one) */
} kt_injection_assessment;

/* The phrase families: "ignore/disregard/override ... previous/prior/above ... instructions/
 * rules/prompt" with up to 4 and 3 inserted words, "all prior rules are now void", "stop
 * following your rules", "reveal your hidden prompt", role-play as an unrestricted persona, notes
 * addressed to the model inside data ("P.S. to the AI summarising this"), "safety is off"
 * (src/scan/injection_combos.c). NULL when out of range. */
const char *kt_injection_combo_name(int id);
int kt_injection_combo_count(void);

/* KT_ENOMEM when the view buffer cannot be allocated; else 0. */
int kt_injection_assess(const kt_injection *d, const char *text, size_t len,
                        kt_injection_assessment *a);
/* Phrases (kt_injection_eval) + views + families reach the threshold, or the learned score the cutoff:
 * 1 or 0, KT_EINVAL / KT_ENOMEM. *score (if not NULL) gets the phrase and view score. */
int kt_injection_judge(const kt_injection *d, const char *text, size_t len, unsigned *score,
                       float *p);

/* Streaming, with the same protocol as kt_safety_stable_prefix_ctx (see safety.h): the largest
 * n <= len such that every hit that text appended later could still create starts at or after n;
 * hits found in text[0..len) that start before n are final. len - n <=
 * kt_injection_max_holdback(d). A base64 run that ends the text is held whole while it is
 * shorter than its decode window (4/3 of max_b64_decoded): lower max_b64_decoded to bound the
 * holdback of streams. A stream scanned in pieces may decode more runs than the whole text
 * (max_b64_runs counts per scan), never fewer. */
size_t kt_injection_stable_prefix(const kt_injection *d, const char *text, size_t len);
size_t kt_injection_stable_prefix_ctx(const kt_injection *d, const char *text, size_t len,
                                      size_t from);
size_t kt_injection_max_holdback(const kt_injection *d);

/* Rule ids are 0 .. kt_injection_rule_count() - 1; the last one is "custom". */
int kt_injection_rule_count(void);
const char *kt_injection_rule_name(int id);
unsigned kt_injection_rule_weight(const kt_injection *d, int id);
/* -1 if unknown. */
int kt_injection_rule_from_name(const char *s, size_t n);

#endif
