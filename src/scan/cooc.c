/* Co-occurrence rules over word classes (see cooc.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cooc.h"
#include "kt/common.h"

#define KT__COOC_MAXRULES 128

#define KT__COOC_WORD_MAX 32

static uint32_t word_hash(const char *s, size_t n)
{
    uint32_t h = 0x811C9DC5u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x01000193u;
    return h ^ (h >> 15);
}

static kt__cooc_slot *slot_of(const kt__cooc *c, const char *s, size_t n)
{
    for (uint32_t i = word_hash(s, n) & c->mask;; i = (i + 1) & c->mask) {
        kt__cooc_slot *e = &c->tab[i];
        if (!e->w || (e->n == n && !memcmp(e->w, s, n))) return e;
    }
}

int kt__cooc_init(kt__cooc *c, const kt__cooc_set *set)
{
    memset(c, 0, sizeof *c);
    if (set->nrules > KT__COOC_MAXRULES) return KT_EINVAL;
    uint32_t size = 16;
    while (size < set->nwords * 2) size *= 2;
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
    c->set = set;
    return KT_OK;
}

void kt__cooc_free(kt__cooc *c)
{
    free(c->tab);
    memset(c, 0, sizeof *c);
}

static uint32_t classes(const kt__cooc *c, const char *s, size_t n)
{
    if (n > KT__COOC_WORD_MAX || !(c->lens >> n & 1)) return 0;
    return slot_of(c, s, n)->cls;
}

typedef struct kt__coocrun {
    const kt__cooc *c;
    kt__cooc_fn fn;
    void *ud;
    size_t ntok, hits;
    /* per rule and element: the token index + 1 of the latest match of elements 0..k (0: none),
     * and the byte where that match's first word starts */
    size_t at[KT__COOC_MAXRULES][KT__COOC_MAXEL];
    size_t from[KT__COOC_MAXRULES][KT__COOC_MAXEL];
} kt__coocrun;

static void on_word(kt__coocrun *r, const char *s, size_t n, size_t start, size_t end)
{
    size_t i = ++r->ntok;
    uint32_t m = classes(r->c, s, n);
    if (!m) return;
    const kt__cooc_set *set = r->c->set;
    for (size_t k = 0; k < set->nrules; k++) {
        const kt__cooc_rule *ru = &set->rules[k];
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

static void each_word(kt__coocrun *r, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0, last_end = 0;
    while (i < len) {
        if (!fold[p[i]]) {
            i++;
            continue;
        }
        size_t s = i;
        char w[KT__COOC_WORD_MAX + 1];
        size_t n = 0;
        unsigned letter = 0;
        for (; i < len; i++) {
            unsigned char c = fold[p[i]];
            if (!c) break;
            letter |= (unsigned)(c - 'a') < 26u;
            if (n <= KT__COOC_WORD_MAX) w[n++] = (char)c;
        }
        /* a long separator ends every match */
        if (s - last_end > 64) r->ntok += 64;
        last_end = i;
        if (n > KT__COOC_WORD_MAX) {
            r->ntok++;
            continue;
        }
        if (letter)
            for (size_t k = 0; k < n; k++) w[k] = (char)leet[(unsigned char)w[k]];
        on_word(r, w, n, s, i);
    }
}

static size_t set_rules(const kt__cooc *c) { return c->set->nrules; }

size_t kt__cooc_scan(const kt__cooc *c, unsigned tflags, const char *text, size_t len,
                     kt__cooc_fn fn, void *ud)
{
    if (!c->set) return 0;
    kt__coocrun run, *r = &run;
    memset(r, 0, offsetof(kt__coocrun, at));
    memset(r->at, 0, set_rules(c) * sizeof r->at[0]);
    r->c = c;
    r->fn = fn;
    r->ud = ud;
    (void)tflags;
    each_word(r, text, len);
    return r->hits;
}
