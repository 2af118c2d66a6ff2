/* The folding tokenizer: UTF-8 bytes in, folded tokens out, one byte at a time with bounded state.
 *
 * A word is a run of letters, digits, '@' and '$' (invisible characters inside are skipped); it
 * is folded to lower-case ASCII, with leetspeak digits folded only in words that also have a
 * letter, so numbers stay numbers. A word longer than KT__WORD_MAX folded bytes or KT__ORIG_MAX
 * original bytes, or with a letter of another script, is DEAD: it matches nothing. Separator runs
 * longer than KT__SEP_MAX emit one BREAK, which ends every phrase in progress. */
#include <string.h>

#include "classify_priv.h"

/* While the consumer is quiet, whether it must see this token: one that may start a phrase. */
static int quiet_sees(const kt__tok *t, kt__tk_kind kind, const char *s, size_t n)
{
    if (kind == KT__TK_DEAD || kind == KT__TK_BREAK || n > KT__WORD_MAX) return 0;
    uint64_t h = kt__qf_hash((const unsigned char *)s, n);
    for (unsigned f = 0; f < t->nqf; f++)
        if (kt__qf_has(t->qf[f], h)) return 1;
    return 0;
}

/* `from` is where the token's characters begin (a may be later: a dropped leading '@'). */
static void emit_at(kt__tok *t, kt__tk_kind kind, const char *s, size_t n, size_t a, size_t b,
                    size_t from)
{
    size_t cut = from;
    if (kind == KT__TK_LINE) cut = b;
    else if (t->at_line && kind != KT__TK_BREAK) cut = t->line_end;
    kt__token tk = { kind, s, n, a, b, cut };
    if (!t->quiet || quiet_sees(t, kind, s, n)) t->fn(t->ud, &tk);
    if (kind == KT__TK_LINE) {
        t->at_line = 1;
        t->line_end = b;
    } else {
        t->at_line = 0;
    }
}

static void emit(kt__tok *t, kt__tk_kind kind, const char *s, size_t n, size_t a, size_t b)
{
    emit_at(t, kind, s, n, a, b, a);
}

static char leet(char c)
{
    switch (c) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '@': return 'a';
    case '$': return 's';
    default: return c;
    }
}

/* Folds the pending word into buf; returns its length, or 0 when it cannot match. */
static size_t fold_word(const kt__tok *t, char *buf, size_t *a, size_t *b)
{
    int latin = 0, conf = 0;
    for (unsigned i = 0; i < t->nch; i++) {
        if (t->ch[i].cls == KT__FC_LETTER) latin = 1;
        if (t->ch[i].cls == KT__FC_CONF) conf = 1;
        if (t->ch[i].cls == KT__FC_OTHER) return 0;
    }
    if (conf && !((t->flags & KT__TF_CONF_ALL) || ((t->flags & KT__TF_CONF_MIXED) && latin))) return 0;
    int lt = (t->flags & KT__TF_LEET) && latin;
    size_t n = 0;
    int first = 1;
    for (unsigned i = 0; i < t->nch; i++) {
        const kt__tchar *c = &t->ch[i];
        char o = c->out[0];
        if (c->cls == KT__FC_LEET) {
            if (!lt || i == 0 || i + 1 == t->nch) continue;
            o = leet(o);
        } else if (c->cls == KT__FC_DIGIT && lt) {
            o = leet(o);
        }
        if (n + c->nout > KT__WORD_MAX) return 0;
        buf[n] = o;
        if (c->nout > 1) memcpy(buf + n + 1, c->out + 1, c->nout - 1u);
        n += c->nout;
        if (first) *a = t->tstart + c->start;
        first = 0;
        *b = t->tstart + c->end;
    }
    return n;
}

static void flush(kt__tok *t)
{
    if (!t->pend) return;
    int pend = t->pend;
    t->pend = 0;
    if (t->dead) {
        emit(t, KT__TK_DEAD, NULL, 0, t->tstart, t->tend);
        return;
    }
    if (pend == 2) {
        char c = (char)t->pcp;
        emit(t, KT__TK_PUNCT, &c, 1, t->tstart, t->tend);
        return;
    }
    char buf[KT__WORD_MAX];
    size_t a = t->tstart, b = t->tend;
    size_t n = fold_word(t, buf, &a, &b);
    if (n) emit_at(t, KT__TK_WORD, buf, n, a, b, t->tstart);
    else if (t->nch) emit(t, KT__TK_DEAD, NULL, 0, t->tstart, t->tend);
}

static void sep_add(kt__tok *t, size_t w)
{
    t->sep_run += w;
    if (t->sep_run > KT__SEP_MAX && !t->broke) {
        t->broke = 1;
        emit(t, KT__TK_BREAK, NULL, 0, t->pos, t->pos);
    }
}

static void on_visible(kt__tok *t)
{
    t->ign_run = 0;
    t->sep_run = 0;
    t->broke = 0;
}

static void word_char(kt__tok *t, int cls, const char *out, size_t cs, size_t ce)
{
    on_visible(t);
    if (t->pend == 2) flush(t);
    if (!t->pend) {
        t->pend = 1;
        t->dead = t->taint_word;
        t->nch = 0;
        t->tstart = cs;
    }
    t->taint_word = 0;
    t->taint_punct = 0;
    t->tend = ce;
    if (t->dead) return;
    if (t->nch == KT__TOK_MAXCH || ce - t->tstart > KT__ORIG_MAX) {
        t->dead = 1;
        return;
    }
    kt__tchar *c = &t->ch[t->nch++];
    size_t n = !out[1] ? 1 : !out[2] ? 2 : 3;
    c->cls = (uint8_t)cls;
    c->nout = (uint8_t)n;
    memcpy(c->out, out, n);
    c->start = (uint16_t)(cs - t->tstart);
    c->end = (uint16_t)(ce - t->tstart);
}

/* word_char for an ASCII letter or digit continuing a word. */
static void word_fast(kt__tok *t, unsigned char b, int alpha)
{
    t->ign_run = 0;
    t->sep_run = 0;
    t->broke = 0;
    t->tend = t->pos;
    if (t->dead) return;
    if (t->nch == KT__TOK_MAXCH || t->tend - t->tstart > KT__ORIG_MAX) {
        t->dead = 1;
        return;
    }
    kt__tchar *c = &t->ch[t->nch++];
    c->cls = alpha ? KT__FC_LETTER : KT__FC_DIGIT;
    c->nout = 1;
    c->out[0] = (char)(alpha ? (b | 0x20) : b);
    c->start = (uint16_t)(t->cstart - t->tstart);
    c->end = (uint16_t)(t->pos - t->tstart);
}

static void punct_char(kt__tok *t, uint32_t cp, size_t cs, size_t ce)
{
    on_visible(t);
    if (t->pend == 2 && t->pcp == cp) {
        t->tend = ce;
        if (ce - t->tstart > KT__ORIG_MAX) t->dead = 1;
        return;
    }
    flush(t);
    t->pend = 2;
    t->pcp = cp;
    t->dead = t->taint_punct == cp;
    t->tstart = cs;
    t->tend = ce;
    t->taint_word = 0;
    t->taint_punct = 0;
}

static void on_char(kt__tok *t, uint32_t cp, size_t cs, size_t ce)
{
    char out[4] = { 0 };   /* kt__fold_cp sets only what its class needs */
    int cls = kt__fold_cp(cp, (t->flags & KT__TF_TAGS) ? KT__FF_TAGS : 0, out);
    if (cls == KT__FC_PUNCT && !(t->flags & KT__TF_PUNCT)) cls = KT__FC_SEP;
    if (cls == KT__FC_NEWLINE && !(t->flags & KT__TF_LINES)) cls = KT__FC_SEP;
    switch (cls) {
    case KT__FC_IGNORE:
        t->ign_run += ce - cs;
        if (t->ign_run > KT__IGN_MAX) {
            flush(t);
            t->taint_word = 0;
            t->taint_punct = 0;
        }
        if (!t->pend) sep_add(t, ce - cs);
        break;
    case KT__FC_NEWLINE:
        flush(t);
        on_visible(t);
        t->taint_word = 0;
        t->taint_punct = 0;
        emit(t, KT__TK_LINE, "\n", 1, cs, ce);
        break;
    case KT__FC_PUNCT:
        punct_char(t, (uint32_t)(unsigned char)out[0], cs, ce);
        break;
    case KT__FC_SEP:
        flush(t);
        t->ign_run = 0;
        t->taint_word = 0;
        t->taint_punct = 0;
        sep_add(t, ce - cs);
        break;
    default:
        word_char(t, cls, out, cs, ce);
        break;
    }
}

/* Decodes the character that ends at `end`, looking no further back than lo. */
static int prev_char(const char *text, size_t lo, size_t end, uint32_t *cp, size_t *start)
{
    size_t i = end;
    while (i > lo && end - i < 4) {
        i--;
        if (((unsigned char)text[i] & 0xC0) != 0x80) break;
    }
    unsigned char c = (unsigned char)text[i];
    if (i == end || (c & 0xC0) == 0x80) return 0;
    unsigned need = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    if (end - i != need + 1u) return 0;
    uint32_t v = need ? (c & (0x3Fu >> need)) : c;
    for (size_t j = i + 1; j < end; j++) v = (v << 6) | ((unsigned char)text[j] & 0x3Fu);
    static const uint32_t min[4] = { 0, 0x80, 0x800, 0x10000 };
    /* what the forward decoder makes of an overlong, surrogate or out-of-range sequence */
    if (v < min[need] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || c > 0xF4) v = 0xFFFD;
    *cp = v;
    *start = i;
    return 1;
}

/* Sets the context at `from`: a line start, or a word or punctuation run that continues. */
static void look_back(kt__tok *t, const char *text, size_t from)
{
    size_t lo = from > KT__LOOKBACK ? from - KT__LOOKBACK : 0, end = from;
    int line = from == 0;
    while (end > lo) {
        uint32_t cp;
        size_t st;
        if (!prev_char(text, lo, end, &cp, &st)) break;
        char out[4] = { 0 };
        int cls = kt__fold_cp(cp, (t->flags & KT__TF_TAGS) ? KT__FF_TAGS : 0, out);
        if (cls == KT__FC_PUNCT && !(t->flags & KT__TF_PUNCT)) cls = KT__FC_SEP;
        if (cls == KT__FC_IGNORE) {
            end = st;
            continue;
        }
        if (cls == KT__FC_NEWLINE) line = 1;
        else if (cls == KT__FC_PUNCT) t->taint_punct = (uint32_t)(unsigned char)out[0];
        else if (cls >= KT__FC_LETTER) t->taint_word = 1;
        break;
    }
    if (line && (t->flags & KT__TF_LINES)) emit(t, KT__TK_LINE, "\n", 1, from, from);
    else t->at_line = 0;
}

void kt__tok_begin(kt__tok *t, unsigned flags, const char *text, size_t from, kt__token_fn fn,
                   void *ud)
{
    memset(t, 0, offsetof(kt__tok, ch));
    t->flags = flags;
    t->fn = fn;
    t->ud = ud;
    t->pos = from;
    look_back(t, text, from);
}

static void bad_seq(kt__tok *t)
{
    t->need = 0;
    on_char(t, 0xFFFD, t->cstart, t->pos);
}

static int is_alnum(unsigned char c)
{
    return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9');
}

/* An ASCII byte that ends a word whatever the flags (not a letter, digit, '@' or '$'). */
static int ends_word(unsigned char c) { return c < 0x80 && !is_alnum(c) && c != '@' && c != '$'; }

/* Fast path for a whole ASCII word (no token pending, the next byte ends it): the same token
 * the per-character path would emit. */
static void word_whole(kt__tok *t, const char *s, size_t len)
{
    size_t a = t->cstart, b = a + len;
    on_visible(t);
    t->taint_punct = 0;
    t->pos = b;
    if (len > KT__WORD_MAX) {
        emit(t, KT__TK_DEAD, NULL, 0, a, b);
        return;
    }
    char buf[KT__WORD_MAX];
    int letter = 0;
    for (size_t k = 0; k < len; k++) letter |= (s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'z';
    int lt = (t->flags & KT__TF_LEET) && letter;
    for (size_t k = 0; k < len; k++) {
        char c = s[k];
        buf[k] = c >= '0' && c <= '9' ? (lt ? leet(c) : c) : (char)(c | 0x20);
    }
    emit_at(t, KT__TK_WORD, buf, len, a, b, a);
}

/* ---- the quiet path ------------------------------------------------------------------------
 * While the consumer is quiet (no phrase in progress), a word that starts no phrase, a DEAD
 * token and a BREAK change nothing for it, so they need not be folded or emitted. The quiet path
 * passes over plain ASCII text byte-class by byte-class and leaves the tokenizer in the state
 * the per-character path would (position, separator run, break flag, line context), and stops
 * where that path would do something the consumer may see. */
enum { KT__Q_SEP, KT__Q_LETTER, KT__Q_DIGIT, KT__Q_NL, KT__Q_PUNCT, KT__Q_STOP };

/* Byte classes: NL and PUNCT are separators unless the flags make them tokens; STOP is '@',
 * '$' (they may continue a word) and every non-ASCII byte. */
static const unsigned char kt__qclass[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 4, 0, 4, 0, 4, 0,
    5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 0, 4, 0, 0,
    4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 4, 0, 0, 0,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
};

/* One bit per byte of a 64-byte chunk: letters and digits, digits, and the bytes the quiet path
 * stops at (STOP, and NL or PUNCT when they are tokens); bytes past the text count as stops. */
typedef struct kt__qmask {
    uint64_t word, digit, stop;
} kt__qmask;

static unsigned quiet_stops(unsigned flags)
{
    unsigned k = 1u << KT__Q_STOP;
    if (flags & KT__TF_LINES) k |= 1u << KT__Q_NL;
    if (flags & KT__TF_PUNCT) k |= 1u << KT__Q_PUNCT;
    return k;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* The masks of 16 bytes with SSE2 (every x86-64). */
static inline void qblock(const unsigned char *p, unsigned flags, uint32_t *w, uint32_t *d,
                          uint32_t *st)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* a byte in [lo, lo + n) as (c + 0x80 - lo) < -128 + n in signed bytes */
    __m128i let = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(x, _mm_set1_epi8(0x20)),
                                              _mm_set1_epi8((char)(0x80 - 'a'))),
                                 _mm_set1_epi8((char)(-128 + 26)));
    __m128i dig = _mm_cmplt_epi8(_mm_add_epi8(x, _mm_set1_epi8((char)(0x80 - '0'))),
                                 _mm_set1_epi8((char)(-128 + 10)));
    __m128i s = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('@')),
                             _mm_cmpeq_epi8(x, _mm_set1_epi8('$')));
    if (flags & KT__TF_LINES) s = _mm_or_si128(s, _mm_cmpeq_epi8(x, _mm_set1_epi8('\n')));
    if (flags & KT__TF_PUNCT) {
        static const char pc[] = "<>|[]/#`:";
        for (size_t k = 0; k + 1 < sizeof pc; k++)
            s = _mm_or_si128(s, _mm_cmpeq_epi8(x, _mm_set1_epi8(pc[k])));
    }
    *w = (uint32_t)_mm_movemask_epi8(_mm_or_si128(let, dig));
    *d = (uint32_t)_mm_movemask_epi8(dig);
    *st = (uint32_t)(_mm_movemask_epi8(s) | _mm_movemask_epi8(x)); /* and non-ASCII */
}
#else
/* The masks of 16 bytes by table. */
static inline void qblock(const unsigned char *p, unsigned flags, uint32_t *w, uint32_t *d,
                          uint32_t *st)
{
    unsigned stopk = quiet_stops(flags);
    *w = *d = *st = 0;
    for (size_t k = 0; k < 16; k++) {
        unsigned c = kt__qclass[p[k]];
        *w |= (uint32_t)(c == KT__Q_LETTER || c == KT__Q_DIGIT) << k;
        *d |= (uint32_t)(c == KT__Q_DIGIT) << k;
        *st |= (uint32_t)(stopk >> c & 1) << k;
    }
}
#endif

/* The masks of p[0..64), of which p[0..avail) is text. */
static void qmask(const unsigned char *p, size_t avail, unsigned flags, kt__qmask *m)
{
    m->word = m->digit = m->stop = 0;
    for (size_t b = 0; b < 64; b += 16) {
        uint32_t w = 0, d = 0, st = 0xFFFF; /* past the text: stops */
        if (b < avail && avail - b >= 16) {
            qblock(p + b, flags, &w, &d, &st);
        } else if (b < avail) {
            unsigned char tail[16];
            memset(tail, 0x80, sizeof tail); /* a stop */
            memcpy(tail, p + b, avail - b);
            qblock(tail, flags, &w, &d, &st);
        }
        m->word |= (uint64_t)w << b;
        m->digit |= (uint64_t)d << b;
        m->stop |= (uint64_t)st << b;
    }
}

/* The quiet filter hash of the ASCII word s[0..n) (letters and digits, n <= KT__WORD_MAX) as the
 * tokenizer folds it; `readable` bytes from s may be read. */
static uint64_t quiet_hash(const kt__tok *t, const unsigned char *s, size_t n, int mixed,
                           size_t readable)
{
    if (mixed && (t->flags & KT__TF_LEET)) {
        unsigned char buf[KT__WORD_MAX];
        for (size_t k = 0; k < n; k++) buf[k] = (unsigned char)leet((char)s[k]);
        return kt__qf_hash(buf, n);
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (readable >= 8) {
        uint64_t head, tail = 0;
        memcpy(&head, s, 8);
        head |= 0x2020202020202020ull;
        if (n < 8) head &= ~0ull >> (8 * (8 - n)); /* zero-pad */
        if (n > 8) {
            memcpy(&tail, s + n - 8, 8);
            tail |= 0x2020202020202020ull;
        }
        return kt__qf_mix(head, tail, n);
    }
#else
    (void)readable;
#endif
    return kt__qf_hash(s, n);
}

/* Whether the word p[q..e) of the chunk at p can matter to the consumer. */
static int quiet_admits(const kt__tok *t, const unsigned char *p, size_t n, const kt__qmask *m,
                        size_t q, size_t e)
{
    size_t len = e - q;
    if (len > KT__WORD_MAX) return 0; /* DEAD */
    uint64_t span = ((1ull << len) - 1) << q;
    int mixed = (m->digit & span) && (m->word & ~m->digit & span);
    uint64_t h = quiet_hash(t, p + q, len, mixed, n - q);
    if (kt__qf_has(t->qf[0], h)) return 1;
    for (unsigned f = 1; f < t->nqf; f++)
        if (kt__qf_has(t->qf[f], h)) return 1;
    return 0;
}

/* The masks of the chunk at p[base] (valid when `have`), kept across calls within one feed. */
typedef struct kt__qchunk {
    size_t base;
    int have;
    kt__qmask m;
} kt__qchunk;

/* The length of the well-formed UTF-8 character at p[i] (before n) when it separates words,
 * else 0. */
static size_t quiet_sep_char(const kt__tok *t, const unsigned char *p, size_t i, size_t n)
{
    unsigned char b = p[i];
    size_t len = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (!len || n - i < len) return 0;
    uint32_t cp = b & (0x7Fu >> len);
    for (size_t k = 1; k < len; k++) {
        if ((p[i + k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i + k] & 0x3Fu);
    }
    static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    char out[4] = { 0 };   /* kt__fold_cp sets only what its class needs */
    int cls = kt__fold_cp(cp, (t->flags & KT__TF_TAGS) ? KT__FF_TAGS : 0, out);
    if (cls == KT__FC_PUNCT && !(t->flags & KT__TF_PUNCT)) cls = KT__FC_SEP;
    if (cls == KT__FC_NEWLINE && !(t->flags & KT__TF_LINES)) cls = KT__FC_SEP;
    return cls == KT__FC_SEP ? len : 0;
}

/* A whole word at p[i] (i < n) of ASCII letters and digits and Latin-1 or Latin Extended-A
 * letters, ended by a separator, that no filter admits: returns its end, folding it as fold_word
 * would; 0 for anything else (the per-character path decides). */
static size_t quiet_latin(const kt__tok *t, const unsigned char *p, size_t i, size_t n)
{
    unsigned char buf[KT__WORD_MAX];
    size_t len = 0, j = i;
    int letter = 0;
    while (j < n) {
        unsigned char b = p[j];
        unsigned k = kt__qclass[b];
        char out[4] = { (char)(b | 0x20), 0, 0, 0 };
        size_t cl = 1;
        if (k == KT__Q_LETTER || k == KT__Q_DIGIT) {
            letter |= k == KT__Q_LETTER;
        } else if (b >= 0xC3 && b <= 0xC5 && j + 1 < n && (p[j + 1] & 0xC0) == 0x80) {
            /* U+00C0..U+017F */
            if (kt__fold_cp(((b & 0x1Fu) << 6) | (p[j + 1] & 0x3Fu), 0, out) != KT__FC_LETTER) break;
            letter = 1;
            cl = 2;
        } else {
            break;
        }
        size_t no = out[1] ? 2 : 1;
        if (len + no <= KT__WORD_MAX) memcpy(buf + len, out, no);
        len += no;
        j += cl;
    }
    /* the word must end here, on a separator */
    if (j == i || j == n || p[j] == '@' || p[j] == '$') return 0;
    if (p[j] >= 0x80 && !quiet_sep_char(t, p, j, n)) return 0;
    if (len > KT__WORD_MAX) return j; /* DEAD */
    if (letter && (t->flags & KT__TF_LEET))
        for (size_t k = 0; k < len; k++) buf[k] = (unsigned char)leet((char)buf[k]);
    uint64_t h = kt__qf_hash(buf, len);
    for (unsigned f = 0; f < t->nqf; f++)
        if (kt__qf_has(t->qf[f], h)) return 0;
    return j;
}

/* Passes over the longest run of separators (ASCII, or well-formed UTF-8 that folds to one) and
 * whole words no filter admits from p[i] on, a 64-byte chunk at a time; returns where it ends.
 * Words are ASCII, read from the chunk's byte classes, or have Latin letters (quiet_latin). */
static size_t quiet_run(kt__tok *t, const unsigned char *p, size_t i, size_t n, kt__qchunk *c)
{
    unsigned k0 = kt__qclass[p[i]];
    if (k0 != KT__Q_STOP ? quiet_stops(t->flags) >> k0 & 1 : !quiet_sep_char(t, p, i, n)) return i;
    size_t from = i, sep = t->sep_run, r;
    int words = 0;
    if (c->have && i >= c->base && i - c->base < 64) {
        r = i - c->base;
    } else {
        c->have = 0;
        r = 64;
    }
    for (;;) {
        if (r == 64) {
            if (i >= n) break;
            qmask(p + i, n - i, t->flags, &c->m);
            c->base = i;
            c->have = 1;
            r = 0;
        }
        const kt__qmask *m = &c->m;
        uint64_t ns = (m->word | m->stop) >> r;
        if (!ns) {
            sep += 64 - r;
            i += 64 - r;
            r = 64;
            continue;
        }
        size_t q = r + (size_t)__builtin_ctzll(ns);
        sep += q - r;
        i += q - r;
        r = q;
        size_t end = 0; /* of a word passed over */
        if (m->stop >> q & 1) {
            if (i >= n) break;
            size_t cl = quiet_sep_char(t, p, i, n);
            if (cl) {
                sep += cl;
                i += cl;
                r = q + cl < 64 ? q + cl : 64;
                continue;
            }
            end = quiet_latin(t, p, i, n);
            if (!end) break;
        } else {
            uint64_t nw = ~m->word >> q;
            if (!nw) {
                if (q == 0) break; /* a word of 64 bytes or more: the per-character path */
                r = 64;            /* the chunk ends inside the word: a new chunk from its start */
                continue;
            }
            size_t e = q + (size_t)__builtin_ctzll(nw);
            if (!(m->stop >> e & 1) || (c->base + e < n && quiet_sep_char(t, p, c->base + e, n))) {
                if (quiet_admits(t, p + c->base, n - c->base, m, q, e)) break;
                end = c->base + e;
            } else {
                /* the word goes on (or the text ends) */
                if (c->base + e >= n || !(end = quiet_latin(t, p, i, n))) break;
            }
        }
        sep = 0;
        words = 1;
        r = end - c->base < 64 ? end - c->base : 64;
        i = end;
    }
    if (i == from) return i;
    t->pos += i - from;
    t->broke = (words ? 0 : t->broke) || sep > KT__SEP_MAX;
    t->sep_run = sep;
    t->ign_run = 0;
    t->taint_word = 0;
    t->taint_punct = 0;
    if (words || sep > KT__SEP_MAX) t->at_line = 0; /* a word or a BREAK was passed over */
    return i;
}

void kt__tok_feed(kt__tok *t, const char *p, size_t n)
{
    kt__qchunk qc = { 0, 0, { 0, 0, 0 } };
    for (size_t i = 0; i < n; i++) {
        if (t->quiet && !t->pend && !t->need && !t->taint_word) {
            i = quiet_run(t, (const unsigned char *)p, i, n, &qc);
            if (i == n) break;
        }
        unsigned char b = (unsigned char)p[i];
        if (t->need) {
            if ((b & 0xC0) == 0x80) {
                t->cp = (t->cp << 6) | (b & 0x3Fu);
                t->pos++;
                if (--t->need) continue;
                uint32_t cp = t->cp;
                if (cp < t->min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
                on_char(t, cp, t->cstart, t->pos);
                continue;
            }
            bad_seq(t);
        }
        t->cstart = t->pos++;
        if (b < 0x80) {
            int alpha = (b | 0x20) >= 'a' && (b | 0x20) <= 'z', digit = b >= '0' && b <= '9';
            if (!t->pend && (alpha || digit) && !t->taint_word) {
                size_t j = i + 1;
                while (j < n && j - i <= KT__ORIG_MAX && is_alnum((unsigned char)p[j])) j++;
                if (j < n && ends_word((unsigned char)p[j])) {
                    word_whole(t, p + i, j - i);
                    i = j - 1;
                    continue;
                }
            }
            if (t->pend == 1 && (alpha || digit)) {
                word_fast(t, b, alpha);
                continue;
            }
            on_char(t, b, t->cstart, t->pos);
        } else if (b >= 0xC2 && b <= 0xDF) {
            t->need = 1, t->cp = b & 0x1Fu, t->min = 0x80;
        } else if (b >= 0xE0 && b <= 0xEF) {
            t->need = 2, t->cp = b & 0x0Fu, t->min = 0x800;
        } else if (b >= 0xF0 && b <= 0xF4) {
            t->need = 3, t->cp = b & 0x07u, t->min = 0x10000;
        } else {
            on_char(t, 0xFFFD, t->cstart, t->pos);
        }
    }
}

void kt__tok_finish(kt__tok *t)
{
    if (t->need) bad_seq(t);
    flush(t);
}

size_t kt__tok_hold(const kt__tok *t)
{
    size_t h = t->need ? t->cstart : t->pos;
    if (t->pend) {
        size_t b = t->dead ? t->tend : t->at_line ? t->line_end : t->tstart;
        if (b < h) h = b;
    }
    return h;
}
