/* The folding tokenizer: UTF-8 bytes in, folded tokens out, one byte at a time with bounded state.
 *
 * A word is a run of letters, digits, '@' and '$' (invisible characters inside are skipped); it
 * is folded to lower-case ASCII, with leetspeak digits folded only in words that also have a
 * letter, so numbers stay numbers. A word longer than KT__WORD_MAX folded bytes or KT__ORIG_MAX
 * original bytes, or with a letter of another script, is DEAD: it matches nothing. Separator runs
 * longer than KT__SEP_MAX emit one BREAK, which ends every phrase in progress. */
#include <string.h>

#include "classify_priv.h"

/* `from` is where the token's characters begin (a may be later: a dropped leading '@'). */
static void emit_at(kt__tok *t, kt__tk_kind kind, const char *s, size_t n, size_t a, size_t b,
                    size_t from)
{
    size_t cut = from;
    if (kind == KT__TK_LINE) cut = b;
    else if (t->at_line && kind != KT__TK_BREAK) cut = t->line_end;
    kt__token tk = { kind, s, n, a, b, cut };
    t->fn(t->ud, &tk);
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
    char out[4];
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
        char out[4];
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

void kt__tok_feed(kt__tok *t, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
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
