/* Fuzzes the word classes (wordclass.c) with phrase templates from the input: an automaton keyed
 * by the classes (kt__expand_places, kt__wclass_assign, then kt__expand_lex, as the
 * prompt-injection loader does) must report, after every token of the text, the same phrases
 * (tag and length, longest first), busy state and hold as one keyed by each word (kt__expand_lex
 * alone). Input: templates, one per line, then a NUL byte and the text (no NUL: the templates'
 * own text is scanned). Both loads must also agree on whether the templates are accepted. */
#include <stdlib.h>
#include <string.h>

#include "../../src/scan/classify_priv.h"

#define MAXTPL 8
#define TFLAGS (KT__TF_LEET | KT__TF_PUNCT | KT__TF_LINES)

typedef struct pair {
    const kt__lex *a, *b;
    uint32_t sa, sb;
} pair;

static void same_outputs(const kt__lex *a, uint32_t sa, const kt__lex *b, uint32_t sb)
{
    if (!sa != !sb || a->hold[sa] != b->hold[sb]) abort();
    uint32_t x = a->tag[sa] != KT__NOTAG ? sa : a->dict[sa];
    uint32_t y = b->tag[sb] != KT__NOTAG ? sb : b->dict[sb];
    for (; x || y; x = a->dict[x], y = b->dict[y])
        if (!x || !y || a->tag[x] != b->tag[y] || a->depth[x] != b->depth[y]) abort();
}

static void on_token(void *ud, const kt__token *t)
{
    pair *p = ud;
    if (t->kind == KT__TK_BREAK || t->kind == KT__TK_DEAD) {
        p->sa = p->sb = 0;
        return;
    }
    if (KT__INJ_SKIP & (1u << t->kind)) return;
    p->sa = kt__lex_step(p->a, p->sa, kt__lex_word(p->a, t->s, t->n));
    p->sb = kt__lex_step(p->b, p->sb, kt__lex_word(p->b, t->s, t->n));
    same_outputs(p->a, p->sa, p->b, p->sb);
}

/* Loads the templates into x, through the classes or word by word. */
static int load(kt__lex *x, char *const *tpl, size_t n, int classes)
{
    int rc = kt__lex_init(x);
    if (classes) {
        kt__wclass wc;
        kt__wclass_init(&wc);
        for (size_t i = 0; i < n && !rc; i++)
            rc = kt__expand_places(x, TFLAGS, KT__INJ_SKIP, tpl[i], (uint32_t)i, &wc);
        if (!rc) rc = kt__wclass_assign(&wc, x);
        kt__wclass_free(&wc);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        size_t budget = 2000;
        rc = kt__expand_lex(x, TFLAGS, KT__INJ_SKIP, tpl[i], (uint32_t)i % 3, &budget);
    }
    return rc ? rc : kt__lex_build(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2048) return 0;
    char *buf = malloc(size + 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    buf[size] = 0;
    size_t tl = strlen(buf);
    const char *text = tl < size ? buf + tl + 1 : (const char *)data;
    size_t textlen = tl < size ? size - tl - 1 : size;
    char *tpl[MAXTPL];
    size_t n = 0;
    for (char *p = buf; n < MAXTPL && *p;) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        tpl[n++] = p;
        if (!e) break;
        p = e + 1;
    }
    kt__lex a, b;
    int ra = load(&a, tpl, n, 0), rb = load(&b, tpl, n, 1);
    if (!ra != !rb) abort();
    if (!ra) {
        if (a.maxdepth != b.maxdepth || b.nnodes > a.nnodes) abort();
        pair p = { &a, &b, 0, 0 };
        kt__tok t;
        kt__tok_begin(&t, TFLAGS, text, 0, on_token, &p);
        kt__tok_feed(&t, text, textlen);
        kt__tok_finish(&t);
    }
    kt__lex_free(&a);
    kt__lex_free(&b);
    free(buf);
    return 0;
}
