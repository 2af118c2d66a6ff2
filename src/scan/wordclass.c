/* Word classes of a phrase set: words that stand at exactly the same places of the phrase
 * templates are interchangeable, so the word-level automaton can be keyed by one symbol for all
 * of them (kt__lex_alias) and hold one path where the templates' cartesian products held one per
 * word. A place is a part of a template (a group, or literal text between groups), an
 * alternative's length, a position in it and the alternative's other words: "all the" puts "the"
 * at (part, 2, second, "all _"). A word of a template expanded as text is its own class.
 *
 * Why the matches stay the same: if w and w' have the same places, replacing w by w' at one
 * position of a phrase gives a phrase of the same templates (each template is a product of its
 * parts; w's position lies in an alternative of a part, and the same alternative with w' there is
 * one too), hence of the same first rule and tag. So a text's suffix is a phrase exactly when its
 * symbol string is the symbol string of a phrase, with the same tag and length. */
#include <stdlib.h>
#include <string.h>

#include "classify_priv.h"

#define KT__WCLASS_MAX (1u << 22)
#define KT__WCLASS_SOLO 0x80000000u

void kt__wclass_init(kt__wclass *c) { memset(c, 0, sizeof *c); }

void kt__wclass_free(kt__wclass *c)
{
    free(c->e);
    free(c->pool);
    free(c->tab);
    memset(c, 0, sizeof *c);
}

static uint32_t hash_words(const uint32_t *w, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 32; b += 8) h = (h ^ ((w[i] >> b) & 0xff)) * 16777619u;
    return h;
}

static int pool_room(kt__wclass *c, size_t need)
{
    if (c->npool + need <= c->pcap) return KT_OK;
    size_t nc = c->pcap ? c->pcap * 2 : 4096;
    while (nc < c->npool + need) nc *= 2;
    if (nc > KT__WCLASS_MAX) return KT_ELIMIT;
    uint32_t *p = realloc(c->pool, nc * sizeof *p);
    if (!p) return KT_ENOMEM;
    c->pool = p;
    c->pcap = nc;
    return KT_OK;
}

/* Keeps the table of places at most half full (entries: pool offset + 1, 0 = empty). */
static int tab_room(kt__wclass *c)
{
    if ((size_t)(c->nplaces + 1) * 2 <= c->tsize) return KT_OK;
    size_t size = c->tsize ? c->tsize * 2 : 1024;
    uint32_t *t = calloc(size, sizeof *t);
    if (!t) return KT_ENOMEM;
    for (size_t i = 0; i < c->tsize; i++) {
        if (!c->tab[i]) continue;
        const uint32_t *k = c->pool + c->tab[i] - 1;
        size_t j = hash_words(k + 1, k[0]) & (size - 1);
        while (t[j]) j = (j + 1) & (size - 1);
        t[j] = c->tab[i];
    }
    free(c->tab);
    c->tab = t;
    c->tsize = size;
    return KT_OK;
}

/* The id of a place given as n words (pool layout: n, the words, the id). */
static int place_id(kt__wclass *c, const uint32_t *key, uint32_t n, uint32_t *id)
{
    int rc = tab_room(c);
    if (rc) return rc;
    size_t j = hash_words(key, n) & (c->tsize - 1);
    for (; c->tab[j]; j = (j + 1) & (c->tsize - 1)) {
        const uint32_t *k = c->pool + c->tab[j] - 1;
        if (k[0] == n && !memcmp(k + 1, key, n * sizeof *key)) {
            *id = k[n + 1];
            return KT_OK;
        }
    }
    if (c->nplaces >= KT__WCLASS_SOLO - 1) return KT_ELIMIT;
    if ((rc = pool_room(c, (size_t)n + 2))) return rc;
    c->tab[j] = (uint32_t)c->npool + 1;
    c->pool[c->npool++] = n;
    memcpy(c->pool + c->npool, key, n * sizeof *key);
    c->npool += n;
    *id = c->pool[c->npool++] = c->nplaces++;
    return KT_OK;
}

static int push(kt__wclass *c, uint32_t word, uint32_t key)
{
    if (c->n == c->cap) {
        if (c->cap >= KT__WCLASS_MAX) return KT_ELIMIT;
        size_t nc = c->cap ? c->cap * 2 : 1024;
        uint64_t *e = realloc(c->e, nc * sizeof *e);
        if (!e) return KT_ENOMEM;
        c->e = e;
        c->cap = nc;
    }
    c->e[c->n++] = (uint64_t)word << 32 | key;
    return KT_OK;
}

int kt__wclass_place(kt__wclass *c, uint32_t part, const uint32_t *alt, unsigned n, unsigned j)
{
    uint32_t key[KT__MAXDEPTH + 3], id;
    if (n == 0 || n > KT__MAXDEPTH || j >= n || !alt[j]) return KT_EINVAL;
    key[0] = part;
    key[1] = n;
    key[2] = j;
    memcpy(key + 3, alt, n * sizeof *alt);
    key[3 + j] = 0;
    int rc = place_id(c, key, n + 3, &id);
    return rc ? rc : push(c, alt[j], id);
}

int kt__wclass_solo(kt__wclass *c, uint32_t word)
{
    if (!word) return KT_EINVAL;
    if (c->solo == KT__WCLASS_SOLO - 1) return KT_ELIMIT;
    return push(c, word, KT__WCLASS_SOLO | c->solo++);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

typedef struct kt__wsig {
    const uint64_t *e; /* the word's places, sorted */
    uint32_t n, id;
} kt__wsig;

static int cmp_sig(const void *a, const void *b)
{
    const kt__wsig *x = a, *y = b;
    for (uint32_t i = 0; i < x->n && i < y->n; i++) {
        uint32_t p = (uint32_t)x->e[i], q = (uint32_t)y->e[i];
        if (p != q) return (p > q) - (p < q);
    }
    if (x->n != y->n) return (x->n > y->n) - (x->n < y->n);
    return (x->id > y->id) - (x->id < y->id); /* equal places: by id, so the smallest leads */
}

static int same_places(const kt__wsig *x, const kt__wsig *y)
{
    if (x->n != y->n) return 0;
    for (uint32_t i = 0; i < x->n; i++)
        if ((uint32_t)x->e[i] != (uint32_t)y->e[i]) return 0;
    return 1;
}

/* Sorts the notes by word and place and gives each word its signature (a word never noted, which
 * no template placed, keeps an empty one of its own). */
static void signatures(kt__wclass *c, kt__wsig *sig, uint32_t nwords)
{
    if (c->n) qsort(c->e, c->n, sizeof *c->e, cmp_u64);
    size_t i = 0;
    for (uint32_t id = 1; id <= nwords; id++) {
        while (i < c->n && (uint32_t)(c->e[i] >> 32) < id) i++;
        size_t j = i;
        while (j < c->n && (uint32_t)(c->e[j] >> 32) == id) j++;
        sig[id - 1] = (kt__wsig){ j > i ? c->e + i : NULL, (uint32_t)(j - i), id };
        i = j;
    }
}

int kt__wclass_assign(kt__wclass *c, kt__lex *x)
{
    uint32_t nw = x->nwords;
    kt__wsig *sig = malloc(((size_t)nw + 1) * sizeof *sig);
    uint32_t *lead = malloc(((size_t)nw + 1) * sizeof *lead);
    uint32_t *sym = calloc((size_t)nw + 1, sizeof *sym);
    int rc = KT_ENOMEM;
    if (!sig || !lead || !sym) goto done;
    signatures(c, sig, nw);
    qsort(sig, nw, sizeof *sig, cmp_sig);
    /* lead[id]: the smallest id with the same places (an unplaced word leads itself) */
    for (uint32_t k = 0; k < nw; k++) {
        int same = k && sig[k].n && same_places(&sig[k], &sig[k - 1]);
        lead[sig[k].id] = same ? lead[sig[k - 1].id] : sig[k].id;
    }
    uint32_t nsym = 0;
    for (uint32_t id = 1; id <= nw; id++) /* symbols numbered by their first word */
        sym[id] = lead[id] == id ? ++nsym : sym[lead[id]];
    rc = kt__lex_alias(x, sym, nsym);
done:
    free(sig);
    free(lead);
    free(sym);
    return rc;
}
