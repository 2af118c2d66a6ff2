/* A word-level Aho-Corasick automaton: phrases are sequences of word ids, the text is a sequence
 * of tokens, and one step per token (amortised O(1) through failure links) finds every phrase
 * that ends there. Words and trie edges live in open-addressing hash tables, so memory is
 * proportional to the lexicon and a token costs one hash lookup whatever the vocabulary size. */
#include <stdlib.h>
#include <string.h>

#include "classify_priv.h"

#define KT__LEX_MAX_NODES (1u << 22)

static uint32_t hash_str(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static uint32_t hash_edge(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap) return KT_OK;
    uint32_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    void *np = realloc(*p, (size_t)nc * elem);
    if (!np) return KT_ENOMEM;
    *p = np;
    *cap = nc;
    return KT_OK;
}

static int new_node(kt__lex *x, unsigned depth, uint32_t *id)
{
    if (x->nnodes >= KT__LEX_MAX_NODES) return KT_ELIMIT;
    if (x->nnodes == x->ncap) {
        uint32_t nc = x->ncap ? x->ncap * 2 : 256;
        uint32_t *f = realloc(x->fail, nc * sizeof *f);
        if (f) x->fail = f;
        uint32_t *d = realloc(x->dict, nc * sizeof *d);
        if (d) x->dict = d;
        uint32_t *t = realloc(x->tag, nc * sizeof *t);
        if (t) x->tag = t;
        uint8_t *dp = realloc(x->depth, nc);
        if (dp) x->depth = dp;
        uint8_t *hd = realloc(x->hold, nc);
        if (hd) x->hold = hd;
        if (!f || !d || !t || !dp || !hd) return KT_ENOMEM;
        x->ncap = nc;
    }
    uint32_t n = x->nnodes++;
    x->fail[n] = x->dict[n] = 0;
    x->tag[n] = KT__NOTAG;
    x->depth[n] = (uint8_t)depth;
    x->hold[n] = 0;
    *id = n;
    return KT_OK;
}

int kt__lex_init(kt__lex *x)
{
    memset(x, 0, sizeof *x);
    x->plog = 1;
    uint32_t root;
    return new_node(x, 0, &root);
}

void kt__lex_free(kt__lex *x)
{
    free(x->vstr);
    free(x->voff);
    free(x->vn);
    free(x->vtab);
    free(x->vsym);
    free(x->fail);
    free(x->dict);
    free(x->tag);
    free(x->depth);
    free(x->hold);
    free(x->ekey);
    free(x->eval);
    memset(x, 0, sizeof *x);
}

uint32_t kt__lex_id(const kt__lex *x, const char *s, size_t n)
{
    if (!x->vtab || n == 0 || n > KT__WORD_MAX) return 0;
    unsigned char c0 = (unsigned char)s[0];
    if (!(x->lenmask >> n & 1) || !(x->first[c0 >> 6] >> (c0 & 63) & 1)) return 0;
    for (uint32_t i = hash_str(s, n) & x->vmask;; i = (i + 1) & x->vmask) {
        uint32_t id = x->vtab[i];
        if (!id) return 0;
        if (x->vn[id] != n) continue;
        const char *v = x->vstr + x->voff[id];
        size_t k = 0;
        while (k < n && v[k] == s[k]) k++;
        if (k == n) return id;
    }
}

uint32_t kt__lex_word(const kt__lex *x, const char *s, size_t n)
{
    return kt__lex_symbol(x, kt__lex_id(x, s, n));
}

uint32_t kt__lex_symbol(const kt__lex *x, uint32_t id) { return x->vsym ? x->vsym[id] : id; }

int kt__lex_alias(kt__lex *x, const uint32_t *sym, uint32_t nsym)
{
    if (x->nnodes > 1 || nsym > x->nwords) return KT_EINVAL;
    uint32_t *v = malloc(((size_t)x->wcap + 1) * sizeof *v);
    if (!v) return KT_ENOMEM;
    for (uint32_t id = 0; id <= x->nwords; id++) {
        if (sym[id] > nsym || !sym[id] != !id) {
            free(v);
            return KT_EINVAL;
        }
        v[id] = sym[id];
    }
    free(x->vsym);
    x->vsym = v;
    x->nsym = nsym;
    return KT_OK;
}

static int vtab_rehash(kt__lex *x, uint32_t size)
{
    uint32_t *tab = calloc(size, sizeof *tab);
    if (!tab) return KT_ENOMEM;
    for (uint32_t id = 1; id <= x->nwords; id++) {
        uint32_t i = hash_str(x->vstr + x->voff[id], x->vn[id]) & (size - 1);
        while (tab[i]) i = (i + 1) & (size - 1);
        tab[i] = id;
    }
    free(x->vtab);
    x->vtab = tab;
    x->vmask = size - 1;
    return KT_OK;
}

int kt__lex_intern(kt__lex *x, const char *s, size_t n, uint32_t *id)
{
    if (n == 0 || n > KT__WORD_MAX) return KT_EINVAL;
    if ((*id = kt__lex_id(x, s, n))) return KT_OK;
    uint32_t w = x->nwords + 1;
    uint32_t cap = x->wcap;
    int rc = grow((void **)&x->voff, &cap, w + 1, sizeof *x->voff);
    if (rc) return rc;
    if (cap != x->wcap) {
        uint8_t *vn = realloc(x->vn, cap);
        if (!vn) return KT_ENOMEM;
        x->vn = vn;
        if (x->vsym) {
            uint32_t *v = realloc(x->vsym, ((size_t)cap + 1) * sizeof *v);
            if (!v) return KT_ENOMEM;
            x->vsym = v;
        }
        x->wcap = cap;
    }
    if (x->vlen + n > x->vcap) {
        size_t nc = x->vcap ? x->vcap * 2 : 1024;
        while (nc < x->vlen + n) nc *= 2;
        char *p = realloc(x->vstr, nc);
        if (!p) return KT_ENOMEM;
        x->vstr = p;
        x->vcap = nc;
    }
    memcpy(x->vstr + x->vlen, s, n);
    x->voff[w] = (uint32_t)x->vlen;
    x->vn[w] = (uint8_t)n;
    x->vlen += n;
    x->lenmask |= 1ull << n;
    x->first[(unsigned char)s[0] >> 6] |= 1ull << ((unsigned char)s[0] & 63);
    x->nwords = w;
    if (x->vsym) x->vsym[w] = ++x->nsym;
    if (!x->vtab || (uint64_t)w * 2 > x->vmask) {
        rc = vtab_rehash(x, x->vtab ? (x->vmask + 1) * 2 : 256);
        if (rc) return rc;
    } else {
        uint32_t i = hash_str(s, n) & x->vmask;
        while (x->vtab[i]) i = (i + 1) & x->vmask;
        x->vtab[i] = w;
    }
    *id = w;
    return KT_OK;
}

static uint32_t edge_get(const kt__lex *x, uint32_t node, uint32_t w)
{
    if (!x->ekey) return 0;
    uint64_t k = ((uint64_t)node << 32) | w;
    for (uint32_t i = hash_edge(k) & x->emask;; i = (i + 1) & x->emask) {
        if (x->ekey[i] == k) return x->eval[i];
        if (!x->ekey[i]) return 0;
    }
}

static void edge_put_raw(uint64_t *keys, uint32_t *vals, uint32_t mask, uint64_t k, uint32_t v)
{
    uint32_t i = hash_edge(k) & mask;
    while (keys[i]) i = (i + 1) & mask;
    keys[i] = k;
    vals[i] = v;
}

/* Grows the edge table to hold `need` edges at most three quarters full (linear probing stays
 * short at that load, and the table is half the size of a half-full one: fewer pages to fault in
 * and to sweep at build). */
static int edge_room(kt__lex *x, uint64_t need)
{
    if (x->ekey && need * 4 <= (uint64_t)x->emask * 3) return KT_OK;
    uint32_t size = x->ekey ? (x->emask + 1) * 2 : 1024;
    while ((uint64_t)size * 3 / 4 < need + 1) size *= 2;
    uint64_t *keys = calloc(size, sizeof *keys);
    uint32_t *vals = calloc(size, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return KT_ENOMEM;
    }
    for (uint32_t i = 0; x->ekey && i <= x->emask; i++)
        if (x->ekey[i]) edge_put_raw(keys, vals, size - 1, x->ekey[i], x->eval[i]);
    free(x->ekey);
    free(x->eval);
    x->ekey = keys;
    x->eval = vals;
    x->emask = size - 1;
    return KT_OK;
}

static int edge_put(kt__lex *x, uint32_t node, uint32_t w, uint32_t child)
{
    int rc = edge_room(x, (uint64_t)x->nedges + 1);
    if (rc) return rc;
    edge_put_raw(x->ekey, x->eval, x->emask, ((uint64_t)node << 32) | w, child);
    x->nedges++;
    x->fail[child] = node; /* the parent log: see kt__lex.plog */
    x->dict[child] = w;
    return KT_OK;
}

int kt__lex_reserve(kt__lex *x, uint32_t nodes)
{
    if (nodes > KT__LEX_MAX_NODES) nodes = KT__LEX_MAX_NODES;
    int rc = edge_room(x, nodes);
    if (rc || nodes <= x->ncap) return rc;
    uint32_t *f = realloc(x->fail, nodes * sizeof *f);
    if (f) x->fail = f;
    uint32_t *d = realloc(x->dict, nodes * sizeof *d);
    if (d) x->dict = d;
    uint32_t *t = realloc(x->tag, nodes * sizeof *t);
    if (t) x->tag = t;
    uint8_t *dp = realloc(x->depth, nodes);
    if (dp) x->depth = dp;
    uint8_t *hd = realloc(x->hold, nodes);
    if (hd) x->hold = hd;
    if (!f || !d || !t || !dp || !hd) return KT_ENOMEM;
    x->ncap = nodes;
    return KT_OK;
}

int kt__lex_add(kt__lex *x, const uint32_t *w, size_t n, uint32_t tag)
{
    if (n == 0 || n > KT__MAXDEPTH) return KT_EINVAL;
    if (!w[0] || w[0] > x->nwords) return KT_EINVAL;
    kt__qf_set(x->qf, kt__qf_hash((const unsigned char *)x->vstr + x->voff[w[0]], x->vn[w[0]]));
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!w[i] || w[i] > x->nwords) return KT_EINVAL;
        uint32_t y = kt__lex_symbol(x, w[i]), c = edge_get(x, s, y);
        if (!c) {
            int rc = new_node(x, (unsigned)i + 1, &c);
            if (!rc) rc = edge_put(x, s, y, c);
            if (rc) return rc;
        }
        s = c;
    }
    if (x->tag[s] == KT__NOTAG) x->tag[s] = tag;
    if (n > x->maxdepth) x->maxdepth = (unsigned)n;
    x->built = 0;
    return KT_OK;
}

int kt__lex_child(kt__lex *x, uint32_t s, uint32_t w, unsigned depth, uint32_t *c)
{
    if (!w || w > x->nwords || depth == 0 || depth > KT__MAXDEPTH) return KT_EINVAL;
    uint32_t y = kt__lex_symbol(x, w);
    *c = edge_get(x, s, y);
    if (*c) return KT_OK;
    int rc = new_node(x, depth, c);
    if (!rc) rc = edge_put(x, s, y, *c);
    x->built = 0;
    return rc;
}

void kt__lex_first(kt__lex *x, uint32_t first)
{
    kt__qf_set(x->qf, kt__qf_hash((const unsigned char *)x->vstr + x->voff[first], x->vn[first]));
}

void kt__lex_mark(kt__lex *x, uint32_t s, unsigned depth, uint32_t tag)
{
    if (x->tag[s] == KT__NOTAG) x->tag[s] = tag;
    if (depth > x->maxdepth) x->maxdepth = depth;
    x->built = 0;
}

uint32_t kt__lex_step(const kt__lex *x, uint32_t s, uint32_t w)
{
    if (!w) return 0;
    for (;;) {
        uint32_t c = edge_get(x, s, w);
        if (c) return c;
        if (!s) return 0;
        s = x->fail[s];
    }
}

/* The child of u by word w in the build's compact children lists (sorted by word within each
 * node), following failure links like kt__lex_step: the lists are a fraction of the edge table's
 * size, so the failure computation stays in cache. */
static uint32_t csr_step(const kt__lex *x, const uint32_t *first, const uint32_t *kids,
                         const uint32_t *kword, const uint32_t *root, uint32_t s, uint32_t w)
{
    for (; s; s = x->fail[s]) {
        uint32_t lo = first[s], hi = first[s + 1];
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (kword[mid] < w) lo = mid + 1;
            else hi = mid;
        }
        if (lo < first[s + 1] && kword[lo] == w) return kids[lo];
    }
    return root[w];   /* every chain ends at the root, whose children are a table by word */
}

/* Sorts one node's children by word (insertion sort: most nodes have one or two). */
static void sort_kids(uint32_t *kids, uint32_t *kword, uint32_t a, uint32_t b)
{
    for (uint32_t i = a + 1; i < b; i++) {
        uint32_t w = kword[i], k = kids[i], j = i;
        while (j > a && kword[j - 1] > w) {
            kword[j] = kword[j - 1];
            kids[j] = kids[j - 1];
            j--;
        }
        kword[j] = w;
        kids[j] = k;
    }
}

/* Breadth-first order over the trie: children lists from the edge table (counting sort). */
int kt__lex_build(kt__lex *x)
{
    int rc = KT_ENOMEM;
    uint32_t nn = x->nnodes;
    uint32_t *first = calloc((size_t)nn + 1, sizeof *first);
    uint32_t *kids = malloc(((size_t)x->nedges + 1) * sizeof *kids);
    uint32_t *kword = malloc(((size_t)x->nedges + 1) * sizeof *kword);
    uint32_t *queue = malloc((size_t)nn * sizeof *queue);
    uint32_t *root = calloc((size_t)(x->vsym ? x->nsym : x->nwords) + 1, sizeof *root);
    if (!first || !kids || !kword || !queue || !root) goto fail;
    if (x->plog) { /* every node's parent and word are logged: no sweep of the edge table */
        for (uint32_t v = 1; v < nn; v++) first[x->fail[v] + 1]++;
        for (uint32_t i = 0; i < nn; i++) first[i + 1] += first[i];
        for (uint32_t v = 1; v < nn; v++) {
            uint32_t p = x->fail[v];
            kids[first[p]] = v;
            kword[first[p]++] = x->dict[v];
        }
    } else {
        for (uint32_t i = 0; x->ekey && i <= x->emask; i++)
            if (x->ekey[i]) first[(x->ekey[i] >> 32) + 1]++;
        for (uint32_t i = 0; i < nn; i++) first[i + 1] += first[i];
        for (uint32_t i = 0; x->ekey && i <= x->emask; i++) {
            if (!x->ekey[i]) continue;
            uint32_t p = (uint32_t)(x->ekey[i] >> 32);
            kids[first[p]] = x->eval[i];
            kword[first[p]++] = (uint32_t)x->ekey[i];
        }
    }
    x->plog = 0;
    for (uint32_t i = nn; i > 0; i--) first[i] = first[i - 1];
    first[0] = 0;
    for (uint32_t u = 0; u < nn; u++)
        if (first[u + 1] - first[u] > 1) sort_kids(kids, kword, first[u], first[u + 1]);
    for (uint32_t k = first[0]; k < first[1]; k++) root[kword[k]] = kids[k];
    uint32_t qh = 0, qt = 0;
    queue[qt++] = 0;
    x->fail[0] = x->dict[0] = 0;
    x->hold[0] = 0;
    while (qh < qt) {
        uint32_t u = queue[qh++];
        if (u) x->hold[u] = first[u + 1] > first[u] ? x->depth[u] : x->hold[x->fail[u]];
        for (uint32_t k = first[u]; k < first[u + 1]; k++) {
            uint32_t v = kids[k], f = 0;
            if (u) f = csr_step(x, first, kids, kword, root, x->fail[u], kword[k]);
            x->fail[v] = f;
            x->dict[v] = x->tag[f] != KT__NOTAG ? f : x->dict[f];
            queue[qt++] = v;
        }
    }
    x->built = 1;
    rc = KT_OK;
fail:
    free(first);
    free(kids);
    free(kword);
    free(queue);
    free(root);
    return rc;
}
