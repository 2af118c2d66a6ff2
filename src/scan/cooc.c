/* Co-occurrence rules over word classes (see cooc.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "classify_priv.h"
#include "cooc.h"
#include "kt/common.h"

#define KT__COOC_MAXRULES 128

static int word_cmp(const void *a, const void *b)
{
    const kt__cooc_word *x = a, *y = b;
    size_t nx = strlen(x->w), ny = strlen(y->w);
    if (nx != ny) return nx < ny ? -1 : 1;
    return memcmp(x->w, y->w, nx);
}

int kt__cooc_init(kt__cooc *c, const kt__cooc_set *set)
{
    memset(c, 0, sizeof *c);
    if (set->nrules > KT__COOC_MAXRULES) return KT_EINVAL;
    c->sorted = kt_malloc((set->nwords ? set->nwords : 1) * sizeof *c->sorted);
    if (!c->sorted) return KT_ENOMEM;
    memcpy(c->sorted, set->words, set->nwords * sizeof *c->sorted);
    qsort(c->sorted, set->nwords, sizeof *c->sorted, word_cmp);
    /* A word listed twice has the union of its classes (in its first entry). */
    size_t o = 0;
    for (size_t i = 0; i < set->nwords; i++) {
        if (o && !word_cmp(&c->sorted[o - 1], &c->sorted[i])) {
            c->sorted[o - 1].cls |= c->sorted[i].cls;
            continue;
        }
        c->sorted[o++] = c->sorted[i];
    }
    c->n = o;
    c->set = set;
    return KT_OK;
}

void kt__cooc_free(kt__cooc *c)
{
    free(c->sorted);
    memset(c, 0, sizeof *c);
}

static uint32_t classes(const kt__cooc *c, const char *s, size_t n)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *w = c->sorted[mid].w;
        size_t nw = strlen(w);
        int d = nw != n ? (nw < n ? -1 : 1) : memcmp(w, s, n);
        if (!d) return c->sorted[mid].cls;
        if (d < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
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

static void on_token(void *ud, const kt__token *t)
{
    kt__coocrun *r = ud;
    if (t->kind != KT__TK_WORD) {
        if (t->kind == KT__TK_BREAK) r->ntok += 64;   /* a long separator ends every match */
        return;
    }
    size_t i = ++r->ntok;
    uint32_t m = classes(r->c, t->s, t->n);
    if (!m) return;
    const kt__cooc_set *set = r->c->set;
    for (size_t k = 0; k < set->nrules; k++) {
        const kt__cooc_rule *ru = &set->rules[k];
        /* Latest element first, so one word never serves as two elements. */
        for (int e = ru->n - 1; e >= 0; e--) {
            if (!(m & ru->cls[e])) continue;
            if (e == 0) {
                r->at[k][0] = i;
                r->from[k][0] = t->start;
                continue;
            }
            size_t p = r->at[k][e - 1];
            if (!p || p >= i || i - p - 1 > ru->gap[e - 1]) continue;
            if (e == ru->n - 1) {
                r->hits++;
                r->fn(r->ud, ru, r->from[k][e - 1], t->end);
                r->at[k][e - 1] = 0;   /* one match per run of the prefix */
            } else {
                r->at[k][e] = i;
                r->from[k][e] = r->from[k][e - 1];
            }
        }
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
    kt__tok tok;
    kt__tok_begin(&tok, tflags & ~(unsigned)(KT__TF_PUNCT | KT__TF_LINES), text, 0, on_token, r);
    kt__tok_feed(&tok, text, len);
    kt__tok_finish(&tok);
    return r->hits;
}
