/* The scanning driver shared by the classifiers: tokens from the tokenizer step one or two
 * automata; each reports the phrases that end at the token with their original byte spans, and
 * remembers where its longest phrase in progress starts (the streaming hold). */
#include <string.h>

#include "classify_priv.h"

static void run_token(kt__scan *sc, int ri, const kt__token *t)
{
    kt__lexrun *r = &sc->run[ri];
    if (t->kind == KT__TK_BREAK || t->kind == KT__TK_DEAD) {
        r->state = 0;
        r->skip = 0;
        return;
    }
    if (r->skip_kinds & (1u << t->kind)) {
        if (++r->skip > KT__SKIP_MAX) r->state = 0;
        return;
    }
    r->skip = 0;
    uint32_t w = kt__lex_word(r->lex, t->s, t->n);
    kt__ringent *e = &r->ring[r->ntok % KT__RING];
    e->start = t->start;
    e->end = t->end;
    e->cut = t->cut;
    e->line = t->kind == KT__TK_LINE;
    r->ntok++;
    r->state = kt__lex_step(r->lex, r->state, w);
    const kt__lex *x = r->lex;
    uint32_t s = x->tag[r->state] != KT__NOTAG ? r->state : x->dict[r->state];
    for (; s; s = x->dict[s]) {
        size_t L = x->depth[s];
        const kt__ringent *a = &r->ring[(r->ntok - L) % KT__RING];
        if (a->line && L > 1) a = &r->ring[(r->ntok - L + 1) % KT__RING];
        sc->on_hit(sc->ud, ri, x->tag[s], a->start, e->end);
    }
}

/* The tokenizer may pass over tokens that start no phrase while every automaton is at its root. */
static void set_quiet(kt__scan *sc)
{
    uint32_t busy = 0;
    for (int i = 0; i < sc->nrun; i++) busy |= sc->run[i].state;
    sc->tok.quiet = !busy && sc->tok.nqf;
}

static void on_token(void *ud, const kt__token *t)
{
    kt__scan *sc = ud;
    for (int i = 0; i < sc->nrun; i++) run_token(sc, i, t);
    set_quiet(sc);
}

void kt__scan_begin(kt__scan *sc, kt__hit_fn on_hit, void *ud)
{
    sc->nrun = 0;
    sc->on_hit = on_hit;
    sc->ud = ud;
    sc->plain = 0;
}

void kt__scan_add_lex(kt__scan *sc, const kt__lex *lex, unsigned skip_kinds)
{
    kt__lexrun *r = &sc->run[sc->nrun++];
    r->lex = lex;
    r->skip_kinds = skip_kinds;
    r->state = 0;
    r->skip = 0;
    r->ntok = 0;
}

void kt__scan_start(kt__scan *sc, unsigned tflags, const char *text, size_t from)
{
    kt__tok_begin(&sc->tok, tflags, text, from, on_token, sc);
    for (int i = 0; i < sc->nrun && !sc->plain; i++) sc->tok.qf[sc->tok.nqf++] = sc->run[i].lex->qf;
    set_quiet(sc);
}

size_t kt__scan_hold(const kt__scan *sc)
{
    size_t h = kt__tok_hold(&sc->tok);
    for (int i = 0; i < sc->nrun; i++) {
        const kt__lexrun *r = &sc->run[i];
        size_t d = r->lex->hold[r->state];
        if (!d) continue;
        const kt__ringent *a = &r->ring[(r->ntok - d) % KT__RING];
        if (a->cut < h) h = a->cut;
    }
    return h;
}

typedef struct kt__collect {
    uint32_t w[KT__MAXDEPTH];
    size_t n;
    unsigned skip_kinds;
    kt__lex *x;
    int rc;
} kt__collect;

static void collect(void *ud, const kt__token *t)
{
    kt__collect *c = ud;
    if (c->rc) return;
    if (t->kind == KT__TK_BREAK || t->kind == KT__TK_DEAD) {
        c->rc = KT_EINVAL;
        return;
    }
    if (c->skip_kinds & (1u << t->kind)) return;
    if (c->n == KT__MAXDEPTH) {
        c->rc = KT_ELIMIT;
        return;
    }
    c->rc = kt__lex_intern(c->x, t->s, t->n, &c->w[c->n]);
    if (!c->rc) c->n++;
}

int kt__lex_tokens(kt__lex *x, unsigned tflags, unsigned skip_kinds, const char *text,
                   size_t len, uint32_t w[KT__MAXDEPTH], size_t *n)
{
    kt__collect c = { .n = 0, .skip_kinds = skip_kinds, .x = x, .rc = 0 };
    kt__tok t;
    /* a phrase does not start a line unless it says so with a leading newline */
    kt__tok_begin(&t, tflags & ~(unsigned)KT__TF_LINES, text, 0, collect, &c);
    t.flags = tflags;
    kt__tok_feed(&t, text, len);
    kt__tok_finish(&t);
    memcpy(w, c.w, c.n * sizeof *w);
    *n = c.n;
    return c.rc;
}

int kt__lex_add_text(kt__lex *x, unsigned tflags, unsigned skip_kinds, const char *text,
                     size_t len, uint32_t tag)
{
    uint32_t w[KT__MAXDEPTH];
    size_t n = 0;
    int rc = kt__lex_tokens(x, tflags, skip_kinds, text, len, w, &n);
    if (rc) return rc;
    if (n == 0) return KT_EINVAL;
    if (n == 1 && skip_kinds == 0 && (tflags & KT__TF_LINES)) {
        /* a lone line break would match every line */
        if (kt__lex_id(x, "\n", 1) == w[0]) return KT_EINVAL;
    }
    return kt__lex_add(x, w, n, tag);
}

size_t kt__holdback_bound(unsigned maxdepth, unsigned skip_max)
{
    /* A phrase in progress spans at most maxdepth tokens of <= KT__ORIG_MAX bytes; between two
     * of them lie at most skip_max transparent tokens and skip_max + 1 separator runs of
     * <= KT__SEP_MAX bytes (plus an invisible run, <= KT__IGN_MAX, before each). The pending
     * token and a partial UTF-8 character come on top. */
    size_t gap = (size_t)(skip_max + 1) * (KT__SEP_MAX + KT__IGN_MAX + 4) + (size_t)skip_max * KT__ORIG_MAX;
    size_t d = maxdepth ? maxdepth : 1;
    return d * (KT__ORIG_MAX + gap) + KT__ORIG_MAX + KT__IGN_MAX + 8;
}

int kt__contained(size_t s, size_t e, size_t s2, size_t e2)
{
    return s2 <= s && e <= e2 && (s2 != s || e2 != e);
}

/* The accepted hits of a group never nest, so they are ordered by start and end alike: a new hit
 * is inside the last one or nothing, and the hits inside it are a suffix of the stack. A hit
 * more than KT__RING accepted hits back spans more tokens than any phrase and cannot be inside. */
void kt__tally_add(kt__tally *t, size_t s, size_t e, unsigned w)
{
    if (t->n) {
        unsigned i = t->top;
        if (kt__contained(s, e, t->s[i], t->e[i])) return;
    }
    while (t->n && t->s[t->top] >= s) {
        t->sum -= t->w[t->top];
        t->count--;
        t->top = (t->top + KT__RING - 1) % KT__RING;
        t->n--;
    }
    t->top = (t->top + 1) % KT__RING;
    if (t->n < KT__RING) t->n++;
    t->s[t->top] = s;
    t->e[t->top] = e;
    t->w[t->top] = w;
    t->sum += w;
    t->count++;
}
