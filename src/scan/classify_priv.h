/* Internal to the text classifiers (src/safety*.c, src/injection*.c): character folding, the
 * folding tokenizer and a word-level Aho-Corasick automaton, shared by both detectors.
 *
 * Pipeline: UTF-8 bytes -> code points -> folded classes (textfold.c) -> tokens (tokenize.c) ->
 * word ids -> automaton states (wordac.c) -> hits (lexscan.c). Every stage is one pass over its
 * input with bounded state, so a scan is linear in the text whatever the lexicon size. */
#ifndef KT_CLASSIFY_PRIV_H
#define KT_CLASSIFY_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "kt/common.h"

/* ---- limits ------------------------------------------------------------------------------- */
#define KT__WORD_MAX 32        /* folded bytes in a matchable token */
#define KT__TOK_MAXCH 40       /* characters kept for a pending token */
#define KT__ORIG_MAX 256       /* original bytes in a matchable token (invisible chars included) */
#define KT__SEP_MAX 64         /* a separator run longer than this ends every phrase in progress */
#define KT__IGN_MAX 32         /* a run of invisible characters longer than this is a separator */
#define KT__SKIP_MAX 2         /* transparent tokens tolerated inside a phrase (injection) */
#define KT__MAXDEPTH 24        /* tokens in one phrase */
#define KT__RING 32            /* > KT__MAXDEPTH */
#define KT__LOOKBACK 8         /* bytes of left context examined at `from` */

/* ---- character folding (textfold.c) ------------------------------------------------------- */
enum {
    KT__FC_SEP,      /* whitespace, punctuation, symbols, emoji, CJK: separates words */
    KT__FC_IGNORE,   /* zero-width, soft hyphen, combining marks, variation selectors */
    KT__FC_NEWLINE,  /* '\n', U+2028, U+2029 */
    KT__FC_PUNCT,    /* one of < > | [ ] / # ` : (a token of its own for role markers) */
    KT__FC_LETTER,   /* Latin letter, folded to lower-case ASCII (1-3 bytes) */
    KT__FC_DIGIT,
    KT__FC_LEET,     /* '@' or '$' */
    KT__FC_CONF,     /* Greek/Cyrillic look-alike of a Latin letter */
    KT__FC_OTHER,    /* a letter of another script: part of a word that never matches */
};

#define KT__FF_TAGS 1u /* decode Unicode tag characters (U+E0020..E007E) to ASCII */

/* Classifies `cp` and writes its folded ASCII form (NUL-terminated, <= 3 bytes) to out. */
int kt__fold_cp(uint32_t cp, unsigned flags, char out[4]);

/* ---- quiet filter: the first words of a lexicon's phrases ------------------------------------ */
/* A two-bit Bloom filter over the folded first word of every phrase. While no phrase is in
 * progress, a word the filter rejects cannot change the automaton, so the tokenizer passes over
 * it without emitting it (see kt__tok.quiet). The hash reads a word's bytes ORed with 0x20 (which
 * leaves folded letters and digits as they are and lower-cases ASCII letters): its first eight
 * and, when longer, its last eight as little-endian words, zero-padded, and its length; the
 * tokenizer loads them straight from the text. */
#define KT__QF_BITS 8192u

static inline uint64_t kt__qf_mix(uint64_t head, uint64_t tail, size_t n)
{
    uint64_t h = (head ^ (uint64_t)n * 0x9E3779B97F4A7C15ull) * 0xff51afd7ed558ccdull;
    h = (h ^ tail ^ (h >> 29)) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 32);
}

static inline uint64_t kt__qf_hash(const unsigned char *s, size_t n)
{
    uint64_t head = 0, tail = 0;
    for (size_t k = 0; k < n && k < 8; k++) head |= (uint64_t)(s[k] | 0x20u) << (8 * k);
    for (size_t k = 0; n > 8 && k < 8; k++) tail |= (uint64_t)(s[n - 8 + k] | 0x20u) << (8 * k);
    return kt__qf_mix(head, tail, n);
}

static inline int kt__qf_has(const uint64_t *f, uint64_t h)
{
    uint32_t a = (uint32_t)(h >> 51) % KT__QF_BITS, b = (uint32_t)(h >> 13) % KT__QF_BITS;
    return (f[a / 64] >> (a % 64) & 1) && (f[b / 64] >> (b % 64) & 1);
}

static inline void kt__qf_set(uint64_t *f, uint64_t h)
{
    uint32_t a = (uint32_t)(h >> 51) % KT__QF_BITS, b = (uint32_t)(h >> 13) % KT__QF_BITS;
    f[a / 64] |= 1ull << (a % 64);
    f[b / 64] |= 1ull << (b % 64);
}

/* ---- tokenizer (tokenize.c) ---------------------------------------------------------------- */
enum {
    KT__TF_LEET = 1u,       /* 0 1 3 4 5 -> o i e a s, inner @ $ -> a s, in words with letters */
    KT__TF_CONF_MIXED = 2u, /* fold look-alikes in words that also have Latin letters */
    KT__TF_CONF_ALL = 4u,   /* fold look-alikes everywhere */
    KT__TF_PUNCT = 8u,      /* emit role-marker punctuation as tokens */
    KT__TF_LINES = 16u,     /* emit a LINE token at the start and after every newline */
    KT__TF_TAGS = 32u,      /* decode tag characters */
};

typedef enum { KT__TK_WORD, KT__TK_PUNCT, KT__TK_LINE, KT__TK_DEAD, KT__TK_BREAK } kt__tk_kind;

typedef struct kt__token {
    kt__tk_kind kind;
    const char *s;      /* folded text (WORD, PUNCT, LINE) */
    size_t n;
    size_t start, end;  /* original byte span */
    size_t cut;         /* where a rescan must start to see this token in the same context:
                           the start, or the end of the line break before a line's first token */
} kt__token;

typedef void (*kt__token_fn)(void *ud, const kt__token *t);

typedef struct kt__tchar {
    uint8_t cls;
    uint8_t nout;
    char out[3];
    uint16_t start, end;  /* relative to the token start (a token spans <= KT__ORIG_MAX bytes) */
} kt__tchar;

typedef struct kt__tok {
    unsigned flags;
    kt__token_fn fn;
    void *ud;
    size_t pos;           /* offset of the next byte */
    uint32_t cp;          /* UTF-8 assembly */
    unsigned need, have;
    uint32_t min;
    size_t cstart;
    int pend;             /* 0 none, 1 word, 2 punct */
    int dead;
    uint32_t pcp;
    size_t tstart, tend;
    unsigned nch;
    size_t ign_run, sep_run;
    int broke;
    int at_line;          /* no visible token since the last line break */
    size_t line_end;
    const uint64_t *qf[2]; /* the consumer's quiet filters (KT__QF_BITS bits each) */
    unsigned nqf;
    int quiet;            /* set by the consumer: tokens no filter admits change nothing now */
    int taint_word;       /* the text at `from` continues a word */
    uint32_t taint_punct; /* ... or a run of this punctuation character */
    kt__tchar ch[KT__TOK_MAXCH]; /* last: kt__tok_begin clears everything before it */
} kt__tok;

/* Starts tokenizing text at `from`; text[0..from) is only looked at (word and line context). */
void kt__tok_begin(kt__tok *t, unsigned flags, const char *text, size_t from, kt__token_fn fn,
                   void *ud);
void kt__tok_feed(kt__tok *t, const char *p, size_t n);
/* End of text: flushes a partial UTF-8 sequence and the pending token. */
void kt__tok_finish(kt__tok *t);
/* Without finishing: the first offset whose tokenization more text could still change. */
size_t kt__tok_hold(const kt__tok *t);

/* ---- word-level Aho-Corasick (wordac.c) ----------------------------------------------------- */
#define KT__NOTAG UINT32_MAX

typedef struct kt__lex {
    /* vocabulary: folded words -> ids 1..nwords (0 = not in any phrase) */
    char *vstr;
    size_t vlen, vcap;
    uint32_t *voff;
    uint8_t *vn;
    uint32_t nwords, wcap;
    uint32_t *vtab;       /* open addressing: id or 0 */
    uint32_t vmask;
    /* word id -> the symbol the trie is keyed by (kt__lex_alias); NULL: every word is its own
     * symbol. Words that no phrase tells apart share one, so the trie has one path for them. */
    uint32_t *vsym;
    uint32_t nsym;
    /* trie */
    uint32_t nnodes, ncap;
    uint32_t *fail, *dict, *tag;
    uint8_t *depth;
    uint8_t *hold;        /* depth of the longest suffix state that can still grow */
    uint64_t *ekey;       /* open addressing: (node << 32 | word), 0 = empty */
    uint32_t *eval;
    uint32_t emask, nedges;
    unsigned maxdepth;
    int built;
    /* Until a build, fail[n] and dict[n] of a node n >= 1 hold its parent and its word (the
     * build reads the children lists from them instead of sweeping the edge table); 0 once a
     * build has overwritten them (a later build sweeps the table). */
    int plog;
    uint64_t lenmask;     /* bit n: a word of n bytes exists (quick reject) */
    uint64_t first[4];    /* bit c: a word starts with byte c */
    uint64_t qf[KT__QF_BITS / 64]; /* quiet filter: the first words of the phrases */
} kt__lex;

int kt__lex_init(kt__lex *x);
void kt__lex_free(kt__lex *x);
int kt__lex_intern(kt__lex *x, const char *s, size_t n, uint32_t *id);
/* The symbol of a word for scanning (kt__lex_step); 0 when no phrase has it. */
uint32_t kt__lex_word(const kt__lex *x, const char *s, size_t n);
/* The symbol of word id `id` (ids 1..nwords). */
uint32_t kt__lex_symbol(const kt__lex *x, uint32_t id);
/* The word's id (kt__lex_intern's), 0 when it is not in the vocabulary. */
uint32_t kt__lex_id(const kt__lex *x, const char *s, size_t n);
/* Keys the trie by sym[id] instead of each word id (ids 1..nwords, symbols 1..nsym, sym[0] = 0)
 * before any phrase is added; words interned later get symbols of their own. The phrases added
 * must not tell two words of one symbol apart (kt__wclass_assign computes such symbols), or the
 * automaton matches phrases that were never added. KT_EINVAL once the trie has nodes. */
int kt__lex_alias(kt__lex *x, const uint32_t *sym, uint32_t nsym);
/* Adds a phrase of word ids with `tag`; the first tag given to a phrase is kept. */
int kt__lex_add(kt__lex *x, const uint32_t *w, size_t n, uint32_t tag);
int kt__lex_build(kt__lex *x);
/* The child of node s by word w (created at `depth` when missing), and marking node s (reached
 * by `depth` words) as the end of a phrase: kt__lex_add in steps, so a caller can
 * walk shared prefixes once (the rule templates' cartesian products). */
/* Room for `nodes` nodes and edges before they are added (fewer regrowths). */
int kt__lex_reserve(kt__lex *x, uint32_t nodes);
int kt__lex_child(kt__lex *x, uint32_t s, uint32_t w, unsigned depth, uint32_t *c);
/* The phrase's first word, once per first word (the quiet filter's entry). */
void kt__lex_first(kt__lex *x, uint32_t first);
void kt__lex_mark(kt__lex *x, uint32_t s, unsigned depth, uint32_t tag);
uint32_t kt__lex_step(const kt__lex *x, uint32_t s, uint32_t w);

/* ---- word classes (wordclass.c) ------------------------------------------------------------- */
typedef struct kt__wclass {
    uint64_t *e;         /* word << 32 | place id */
    size_t n, cap;
    uint32_t *pool;      /* the places: key length, key words, id */
    size_t npool, pcap;
    uint32_t *tab;       /* open addressing over the places: pool offset + 1 */
    size_t tsize;
    uint32_t nplaces;
    uint32_t solo;       /* places handed out by kt__wclass_solo */
} kt__wclass;

void kt__wclass_init(kt__wclass *c);
void kt__wclass_free(kt__wclass *c);
/* Notes that alt[j] stands at position j of the n-word alternative alt of a template's part
 * (`part` numbers the parts of all templates). */
int kt__wclass_place(kt__wclass *c, uint32_t part, const uint32_t *alt, unsigned n, unsigned j);
/* Notes an occurrence of `word` that no other word can stand in for. */
int kt__wclass_solo(kt__wclass *c, uint32_t word);
/* Gives the words of x with the same places one symbol (kt__lex_alias), before any phrase is
 * added. Sorts the notes. */
int kt__wclass_assign(kt__wclass *c, kt__lex *x);

/* ---- scanning driver (lexscan.c) ------------------------------------------------------------ */
typedef struct kt__ringent {
    size_t start, end, cut;
    int line;
} kt__ringent;

typedef struct kt__lexrun {
    const kt__lex *lex;
    unsigned skip_kinds; /* bit (1u << kind): tokens this lexicon looks through */
    uint32_t state;
    unsigned skip;
    size_t ntok;
    kt__ringent ring[KT__RING];
} kt__lexrun;

/* Called for each phrase that ends at the current token, longest first. */
typedef void (*kt__hit_fn)(void *ud, int run, uint32_t tag, size_t start, size_t end);

typedef struct kt__scan {
    kt__tok tok;
    kt__lexrun run[2];
    int nrun;
    kt__hit_fn on_hit;
    void *ud;
    int plain;           /* no quiet filter: every token goes through the automata (tests) */
} kt__scan;

void kt__scan_begin(kt__scan *sc, kt__hit_fn on_hit, void *ud);
void kt__scan_add_lex(kt__scan *sc, const kt__lex *lex, unsigned skip_kinds);
/* kt__scan_begin feeds nothing: call kt__scan_add_lex, then this, then feed/finish. */
void kt__scan_start(kt__scan *sc, unsigned tflags, const char *text, size_t from);
/* The first offset a match in progress (or a pending token) could still cover. */
size_t kt__scan_hold(const kt__scan *sc);

/* Tokenizes `text` like scanned text and adds it as one phrase (tokens of `skip_kinds` dropped).
 * KT_EINVAL when it has no token, an unmatchable word or more than KT__MAXDEPTH tokens. */
int kt__lex_add_text(kt__lex *x, unsigned tflags, unsigned skip_kinds, const char *text,
                     size_t len, uint32_t tag);

/* Tokenizes and interns `text` like kt__lex_add_text (tokens of `skip_kinds` dropped) into
 * w[0..*n). KT_EINVAL for an unmatchable word, KT_ELIMIT past KT__MAXDEPTH tokens. */
int kt__lex_tokens(kt__lex *x, unsigned tflags, unsigned skip_kinds, const char *text,
                   size_t len, uint32_t w[KT__MAXDEPTH], size_t *n);

/* Bytes a phrase in progress can span at most (see max_holdback in the public headers). */
size_t kt__holdback_bound(unsigned maxdepth, unsigned skip_max);

/* ---- scoring: hits inside another hit of the same group do not count ------------------------ */
typedef struct kt__tally {
    size_t s[KT__RING], e[KT__RING];
    unsigned w[KT__RING];
    unsigned n, top;
    unsigned long sum;
    unsigned count;
} kt__tally;

/* Hits must arrive by non-decreasing end, the longer first at one end (the scan order). */
void kt__tally_add(kt__tally *t, size_t s, size_t e, unsigned w);
/* [s, e) lies inside [s2, e2) and is not the same span. */
int kt__contained(size_t s, size_t e, size_t s2, size_t e2);

/* ---- reference paths (tests) ----------------------------------------------------------------- */
struct kt_safety;
struct kt_safety_hit;
/* kt_safety_scan_ctx, kt_injection_scan_ctx and their stable prefixes without the tokenizer's
 * quiet path: every token goes through the automata. The tests check that both give the same
 * results. */
size_t kt__safety_scan_plain(const struct kt_safety *s, const char *text, size_t len, size_t from,
                             struct kt_safety_hit *hits, size_t max, int *truncated);
size_t kt__safety_stable_prefix_plain(const struct kt_safety *s, const char *text, size_t len,
                                      size_t from);
struct kt_injection;
struct kt_injection_hit;
size_t kt__injection_scan_plain(const struct kt_injection *d, const char *text, size_t len,
                                size_t from, struct kt_injection_hit *hits, size_t max,
                                int *truncated);
size_t kt__injection_stable_prefix_plain(const struct kt_injection *d, const char *text,
                                         size_t len, size_t from);

/* ---- injection rules (injection_rules.c) ---------------------------------------------------- */
typedef struct kt__inj_rule {
    const char *name;
    unsigned weight;
    int marker;                /* 0: phrase templates, 1: literal marker token sequences */
    const char *const *pats;   /* NULL-terminated */
} kt__inj_rule;

const kt__inj_rule *kt__inj_rules(size_t *n);

/* The tokens the prompt-injection phrases look through. */
#define KT__INJ_SKIP ((1u << KT__TK_PUNCT) | (1u << KT__TK_LINE))

/* Adds every expansion of the template to x as a phrase with `tag`, tokenizing each literal part
 * and alternative once and walking shared prefixes of the trie once: the phrases kt__expand +
 * kt__lex_add_text would add. A template where a group touches a letter or digit ("{a|b}c")
 * is expanded as text. *budget caps the number of phrases (KT_ELIMIT). */
int kt__expand_lex(kt__lex *x, unsigned tflags, unsigned skip_kinds, const char *tpl,
                   uint32_t tag, size_t *budget);

/* The places of the template's words (the first pass of loading, before kt__wclass_assign and
 * kt__expand_lex; see wordclass.c): the parts of template `serial` are serial * 32 + g; the words
 * of a template expanded as text are solo. serial < 2^26. */
int kt__expand_places(kt__lex *x, unsigned tflags, unsigned skip_kinds, const char *tpl,
                      uint32_t serial, kt__wclass *wc);

typedef int (*kt__expand_fn)(void *ud, const char *s, size_t n);
/* Calls fn for every expansion of the template; *budget caps the number (KT_ELIMIT). */
int kt__expand(const char *tpl, kt__expand_fn fn, void *ud, size_t *budget);

#endif
