/* Co-occurrence rules over word classes (see cooc.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cooc.h"
#include "kt/common.h"

#define KT__COOC_WORD_MAX 32

#define FNV_BASIS 0x811C9DC5u
#define FNV_PRIME 0x01000193u

static uint32_t hash_end(uint32_t h) { return h ^ (h >> 15); }

static uint32_t word_hash(const char *s, size_t n)
{
    uint32_t h = FNV_BASIS;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
    return hash_end(h);
}

/* The slot of word s[0..n) whose word_hash is h. */
static kt__cooc_slot *slot_at(const kt__cooc *c, const char *s, size_t n, uint32_t h)
{
    for (uint32_t i = h & c->mask;; i = (i + 1) & c->mask) {
        kt__cooc_slot *e = &c->tab[i];
        if (!e->w || (e->n == n && !memcmp(e->w, s, n))) return e;
    }
}

static kt__cooc_slot *slot_of(const kt__cooc *c, const char *s, size_t n)
{
    return slot_at(c, s, n, word_hash(s, n));
}

int kt__cooc_init(kt__cooc *c, const kt__cooc_set *set)
{
    memset(c, 0, sizeof *c);
    if (set->nrules > KT__COOC_MAXRULES) return KT_EINVAL;
    uint32_t size = 16;
    while (size < set->nwords * 4) size *= 2;   /* at most a quarter full: short probes */
    c->tab = kt_calloc(size, sizeof *c->tab);
    if (!c->tab) return KT_ENOMEM;
    c->mask = size - 1;
    for (size_t i = 0; i < set->nwords; i++) {
        size_t n = strlen(set->words[i].w);
        if (n == 0 || n > KT__COOC_WORD_MAX) {
            kt__cooc_free(c);
            return KT_EINVAL;
        }
        /* a word listed twice has the union of its classes */
        kt__cooc_slot *e = slot_of(c, set->words[i].w, n);
        e->w = set->words[i].w;
        e->n = (uint8_t)n;
        e->cls |= set->words[i].cls;
        c->lens |= 1ull << n;
    }
    for (size_t k = 0; k < set->nrules; k++)
        for (unsigned e = 0; e < set->rules[k].n && e < KT__COOC_MAXEL; e++)
            for (uint32_t b = set->rules[k].cls[e]; b; b &= b - 1)
                c->rules_of[__builtin_ctz(b)][k / 64] |= 1ull << (k % 64);
    c->set = set;
    return KT_OK;
}

void kt__cooc_free(kt__cooc *c)
{
    free(c->tab);
    memset(c, 0, sizeof *c);
}

/* h: word_hash(s, n), which the scan computes as it reads the word. */
static uint32_t classes(const kt__cooc *c, const char *s, size_t n, uint32_t h)
{
    if (n > KT__COOC_WORD_MAX || !(c->lens >> n & 1)) return 0;
    return slot_at(c, s, n, h)->cls;
}

/* Rule k's elements for a word of classes m (its index i, its bytes [start, end)). */
static void on_rule(kt__coocrun *r, size_t k, uint32_t m, size_t i, size_t start, size_t end)
{
    const kt__cooc_rule *ru = &r->c->set->rules[k];
    /* Latest element first, so one word never serves as two elements. */
    for (int e = ru->n - 1; e >= 0; e--) {
        if (!(m & ru->cls[e])) continue;
        if (e == 0) {
            r->at[k][0] = i;
            r->from[k][0] = start;
            continue;
        }
        size_t p = r->at[k][e - 1];
        if (!p || p >= i || i - p - 1 > ru->gap[e - 1]) continue;
        if (e == ru->n - 1) {
            r->hits++;
            r->fn(r->ud, ru, r->from[k][e - 1], end);
            r->at[k][e - 1] = 0;   /* one match per run of the prefix */
        } else {
            r->at[k][e] = i;
            r->from[k][e] = r->from[k][e - 1];
        }
    }
}

/* Only the rules with an element among the word's classes m, in rule order. */
static inline __attribute__((always_inline)) void on_word(kt__coocrun *r, uint32_t m, size_t start,
                                                          size_t end)
{
    size_t i = ++r->ntok;
    if (!m) return;
    enum { Q = KT__COOC_MAXRULES / 64 };
    uint64_t sel[Q] = { 0 };
    for (uint32_t b = m; b; b &= b - 1)
        for (size_t q = 0; q < Q; q++) sel[q] |= r->c->rules_of[__builtin_ctz(b)][q];
    for (size_t q = 0; q < Q; q++)
        for (uint64_t x = sel[q]; x; x &= x - 1)
            on_rule(r, q * 64 + (size_t)__builtin_ctzll(x), m, i, start, end);
}

/* Word bytes: ASCII letters and digits, '@' '$' inside a word, bytes >= 0x80 (UTF-8, kept as
 * they are). Folding: ASCII lower case, and in a word that has a letter the leetspeak digits
 * 0 1 3 4 5 and @ $ become o i e a s. Both are tables (a byte a lookup: the scan runs on every
 * text a policy reads, and the tests per byte cost more than the rest of the scan). */
#define KT__WB(c) (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z') || \
                   ((c) >= 'A' && (c) <= 'Z') || (c) == '@' || (c) == '$' || (c) >= 0x80)
#define KT__LOW(c) ((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))
#define KT__FOLD(c) ((unsigned char)(KT__WB(c) ? KT__LOW(c) : 0))
#define KT__LEET(c) ((unsigned char)((c) == '0' ? 'o' : (c) == '1' ? 'i' : (c) == '3' ? 'e' : \
                                     (c) == '4' ? 'a' : (c) == '5' ? 's' : (c) == '@' ? 'a' : \
                                     (c) == '$' ? 's' : (c)))
#define KT__R4(f, b) f(b), f(b + 1), f(b + 2), f(b + 3)
#define KT__R16(f, b) KT__R4(f, b), KT__R4(f, b + 4), KT__R4(f, b + 8), KT__R4(f, b + 12)
#define KT__R64(f, b) KT__R16(f, b), KT__R16(f, b + 16), KT__R16(f, b + 32), KT__R16(f, b + 48)
#define KT__R256(f) KT__R64(f, 0), KT__R64(f, 64), KT__R64(f, 128), KT__R64(f, 192)

/* fold[c]: the word byte c lower-cased, 0 for a separator */
static const unsigned char fold[256] = { KT__R256(KT__FOLD) };
static const unsigned char leet[256] = { KT__R256(KT__LEET) };

/* The kinds of a folded byte: KT__K_LETTER for a-z, KT__K_LEET for the bytes leet[] changes. */
#define KT__K_LETTER 1u
#define KT__K_LEET 2u
#define KT__KIND(c) ((unsigned char)(((c) >= 'a' && (c) <= 'z' ? KT__K_LETTER : 0) | \
                                     (KT__LEET(c) != (c) ? KT__K_LEET : 0)))

/* The three in one read a byte, by raw byte: its folded form (bits 0-7, 0 for a separator), the
 * folded form's kinds (bits 8-15) and its leetspeak rewrite (bits 16-23). */
#define KT__PACK(c) ((uint32_t)KT__FOLD(c) | (uint32_t)KT__KIND(KT__FOLD(c)) << 8 | \
                     (uint32_t)KT__LEET(KT__FOLD(c)) << 16)
static const uint32_t packed[256] = { KT__R256(KT__PACK) };

/* The classes of the folded word w[0..n) (w is rewritten in place when it has leetspeak) whose
 * leetspeak-undone FNV-1a, before its final mix, is h, of kinds `kinds`. */
static inline uint32_t folded_classes(const kt__cooc *c, char *w, size_t n, uint32_t h,
                                      unsigned kinds)
{
    if (!(kinds & KT__K_LETTER)) {
        h = word_hash(w, n);
    } else {
        h = hash_end(h);
        if (kinds & KT__K_LEET)
            for (size_t k = 0; k < n; k++) w[k] = (char)leet[(unsigned char)w[k]];
    }
    return classes(c, w, n, h);
}

/* Each word is read once: folded into w, its kinds collected, and hashed as it will be looked up
 * when it has a letter (leetspeak undone: leet[] changes no letter, so hashing leet[c] of every
 * byte is hashing the word after the rewrite). Words without a letter are hashed again as they
 * are, and only words with a leetspeak byte are rewritten. */
static void each_word(kt__coocrun *r, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        if (!fold[p[i]]) {
            i++;
            continue;
        }
        size_t s = i;
        char w[KT__COOC_WORD_MAX + 1];
        size_t n = 0;
        unsigned kinds = 0;
        uint32_t h = FNV_BASIS;
        /* the first KT__COOC_WORD_MAX + 1 bytes are kept (one more says "too long") */
        size_t lim = len - i > KT__COOC_WORD_MAX + 1 ? i + KT__COOC_WORD_MAX + 1 : len;
        for (; i < lim; i++) {
            uint32_t v = packed[p[i]];
            if (!(v & 0xFFu)) break;
            kinds |= v;
            w[n++] = (char)v;
            h = (h ^ (v >> 16)) * FNV_PRIME;
        }
        for (; i < len && fold[p[i]]; i++) kinds |= packed[p[i]];
        kinds = kinds >> 8 & 0xFFu;
        /* a long separator ends every match */
        if (s - r->last_end > 64) r->ntok += 64;
        r->last_end = i;
        if (n > KT__COOC_WORD_MAX) {
            r->ntok++;
            continue;
        }
        on_word(r, folded_classes(r->c, w, n, h, kinds), s, i);
    }
}

static size_t set_rules(const kt__cooc *c) { return c->set ? c->set->nrules : 0; }

void kt__cooc_begin(kt__coocrun *r, const kt__cooc *c, kt__cooc_fn fn, void *ud)
{
    memset(r, 0, offsetof(kt__coocrun, at));
    memset(r->at, 0, set_rules(c) * sizeof r->at[0]);
    r->c = c;
    r->fn = fn;
    r->ud = ud;
}

size_t kt__cooc_end(const kt__coocrun *r) { return r->hits; }

void kt__cooc_text(kt__coocrun *r, const char *text, size_t len)
{
    if (r->c->set) each_word(r, text, len);
}

size_t kt__cooc_scan(const kt__cooc *c, unsigned tflags, const char *text, size_t len,
                     kt__cooc_fn fn, void *ud)
{
    kt__coocrun run;
    kt__cooc_begin(&run, c, fn, ud);
    (void)tflags;
    kt__cooc_text(&run, text, len);
    return kt__cooc_end(&run);
}

/* ---- words read by the caller ------------------------------------------------------------------ */

/* The slot of the word raw[0..n) as folded (ASCII lower case) whose hash is h. */
static kt__cooc_slot *slot_at_raw(const kt__cooc *c, const unsigned char *raw, size_t n,
                                  uint32_t h)
{
    for (uint32_t i = h & c->mask;; i = (i + 1) & c->mask) {
        kt__cooc_slot *e = &c->tab[i];
        if (!e->w) return e;
        if (e->n != n) continue;
        size_t k = 0;
        while (k < n && (unsigned char)e->w[k] == fold[raw[k]]) k++;
        if (k == n) return e;
    }
}

/* A word as each_word reads it, from its bytes (the slow path: words with a digit, which may be
 * leetspeak). */
static __attribute__((noinline)) void word_bytes(kt__coocrun *r, const unsigned char *p, size_t s,
                                                  size_t e)
{
    char w[KT__COOC_WORD_MAX + 1];
    size_t n = e - s;
    unsigned kinds = 0;
    uint32_t h = FNV_BASIS;
    for (size_t k = 0; k < n; k++) {
        uint32_t v = packed[p[s + k]];
        kinds |= v;
        w[k] = (char)v;
        h = (h ^ (v >> 16)) * FNV_PRIME;
    }
    on_word(r, folded_classes(r->c, w, n, h, kinds >> 8 & 0xFFu), s, e);
}

/* A word of some classes, out of line: most words have none, and kt__cooc_step stays small. */
static __attribute__((noinline)) void on_word_cold(kt__coocrun *r, uint32_t m, size_t s, size_t e)
{
    on_word(r, m, s, e);
}

/* Without a digit a word has no leetspeak, so each_word's hash is the folded bytes' FNV-1a with
 * its final mix, whether the word has a letter or not. */
void kt__cooc_step(kt__coocrun *r, const char *text, size_t s, size_t e, uint32_t fnv,
                   unsigned digits)
{
    size_t n = e - s;
    if (s - r->last_end > 64) r->ntok += 64;   /* a long separator ends every match */
    r->last_end = e;
    const unsigned char *p = (const unsigned char *)text;
    if (digits && n <= KT__COOC_WORD_MAX) {
        word_bytes(r, p, s, e);
        return;
    }
    /* (a set-less run has no lengths: every word is one of no class) */
    uint32_t m = 0;
    if (n <= KT__COOC_WORD_MAX && (r->c->lens >> n & 1))
        m = slot_at_raw(r->c, p + s, n, hash_end(fnv))->cls;
    if (!m) {
        r->ntok++;
        return;
    }
    on_word_cold(r, m, s, e);
}
