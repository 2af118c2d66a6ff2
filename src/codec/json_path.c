/* Path patterns (`messages[*].content`) matched against walker paths, and top-level field
 * lookups for the request path. */
#include <stdbool.h>
#include <string.h>

#include "kt/json_text.h"

typedef enum seg_kind { SEG_KEY, SEG_ANY_KEY, SEG_REST, SEG_INDEX, SEG_ANY_INDEX } seg_kind;

typedef struct seg {
    seg_kind kind;
    const char *key;
    size_t key_len;
    size_t index;
} seg;

/* Parses the next segment at *pos. Returns 1 with a segment, 0 at the end, -1 when malformed. */
static int next_seg(const char **pos, int first, seg *out)
{
    const char *s = *pos;
    if (!*s) return 0;
    if (*s == '[') {
        s++;
        if (*s == '*') {
            out->kind = SEG_ANY_INDEX;
            s++;
        } else {
            size_t v = 0;
            const char *d = s;
            while (*s >= '0' && *s <= '9') {
                if (v > (SIZE_MAX - 9) / 10) return -1;
                v = v * 10 + (size_t)(*s++ - '0');
            }
            if (s == d || (s - d > 1 && *d == '0')) return -1;
            out->kind = SEG_INDEX;
            out->index = v;
        }
        if (*s++ != ']') return -1;
        *pos = s;
        return 1;
    }
    if (!first) {
        if (*s != '.') return -1;
        s++;
    }
    const char *k = s;
    while (*s && *s != '.' && *s != '[' && *s != ']') s++;
    if (s == k) return -1;
    out->key = k;
    out->key_len = (size_t)(s - k);
    if (out->key_len == 2 && k[0] == '*' && k[1] == '*') {
        if (*s) return -1; /* `**` only at the end */
        out->kind = SEG_REST;
    } else if (out->key_len == 1 && k[0] == '*') {
        out->kind = SEG_ANY_KEY;
    } else {
        out->kind = SEG_KEY;
    }
    *pos = s;
    return 1;
}

int kt_json_path_pattern_valid(const char *pattern)
{
    seg sg;
    int rc, first = 1;
    if (!pattern) return 0;
    while ((rc = next_seg(&pattern, first, &sg)) == 1) first = 0;
    return rc == 0;
}

static int seg_matches(const kt_json_path *p, const kt_json_path_elem *e, const seg *sg)
{
    switch (sg->kind) {
    case SEG_ANY_INDEX: return e->is_index;
    case SEG_INDEX: return e->is_index && e->index == sg->index;
    case SEG_ANY_KEY: return !e->is_index;
    case SEG_KEY:
        return !e->is_index &&
               kt_json_key_eq(p->buf + e->key_start, e->key_len, sg->key, sg->key_len);
    case SEG_REST: return 1;
    }
    return 0;
}

int kt_json_path_match(const kt_json_path *p, const char *pattern)
{
    seg sg;
    int rc, d = 0, first = 1;
    if (!p || !kt_json_path_pattern_valid(pattern)) return 0;
    while ((rc = next_seg(&pattern, first, &sg)) == 1) {
        first = 0;
        if (sg.kind == SEG_REST) return 1;
        if (d >= p->depth || !seg_matches(p, &p->el[d], &sg)) return 0;
        d++;
    }
    return rc == 0 && d == p->depth;
}

typedef struct field_ctx {
    const char *key;
    size_t key_len;
    int found;
    kt_json_value v;
    kt_json_type root;
} field_ctx;

static int field_visit(void *ud, const kt_json_path *path, const kt_json_value *v)
{
    field_ctx *f = ud;
    if (path->depth == 0) {
        f->root = v->type;
        return KT_OK;
    }
    const kt_json_path_elem *e = &path->el[0];
    if (path->depth == 1 && !e->is_index &&
        kt_json_key_eq(path->buf + e->key_start, e->key_len, f->key, f->key_len)) {
        f->found = 1;
        f->v = *v; /* last occurrence wins */
    }
    return KT_OK;
}

int kt_json_top_field(const char *buf, size_t len, const char *key, kt_json_value *out)
{
    field_ctx f;
    memset(&f, 0, sizeof f);
    f.key = key;
    f.key_len = strlen(key);
    int rc = kt_json_scan(buf, len, NULL, field_visit, &f);
    if (rc) return rc;
    if (f.root != KT_JSON_OBJECT) return KT_EINVAL;
    if (!f.found) return KT_ENOTFOUND;
    *out = f.v;
    return KT_OK;
}

int kt_json_top_string(const char *buf, size_t len, const char *key, kt_buf *out)
{
    kt_json_value v;
    int rc = kt_json_top_field(buf, len, key, &v);
    if (rc) return rc;
    if (v.type != KT_JSON_STRING) return KT_EINVAL;
    return kt_json_str_decode(buf + v.start, v.end - v.start, out, NULL, 0);
}

int kt_json_top_bool(const char *buf, size_t len, const char *key, int *out)
{
    kt_json_value v;
    int rc = kt_json_top_field(buf, len, key, &v);
    if (rc) return rc;
    if (v.type != KT_JSON_TRUE && v.type != KT_JSON_FALSE) return KT_EINVAL;
    *out = v.type == KT_JSON_TRUE;
    return KT_OK;
}

int kt_json_path_sig(const kt_json_path *p, char *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < p->depth; i++) {
        const kt_json_path_elem *e = &p->el[i];
        if (e->is_index) {
            if (n + 3 >= cap) return -1;
            memcpy(out + n, "[*]", 3);
            n += 3;
            continue;
        }
        const char *k = p->buf + e->key_start;
        if (!e->plain && memchr(k, '\\', e->key_len)) return -1;
        if (n + e->key_len + 1 >= cap) return -1;
        if (i) out[n++] = '.';
        memcpy(out + n, k, e->key_len);
        n += e->key_len;
    }
    out[n] = '\0';
    return (int)n;
}

int kt_json_sig_match(const char *sig, size_t n, const char *pattern)
{
    if (n && pattern[0] != sig[0]) return 0;   /* most patterns differ at once */
    size_t pl = strlen(pattern);
    if (pl >= 3 && memcmp(pattern + pl - 3, ".**", 3) == 0) {
        size_t pre = pl - 3;   /* "a.b.**" matches "a.b" and everything below it */
        return n >= pre && memcmp(sig, pattern, pre) == 0 && (n == pre || sig[pre] == '.' || sig[pre] == '[');
    }
    return n == pl && memcmp(sig, pattern, n) == 0;
}

kt_json_pat kt_json_pat_of(const char *pattern)
{
    size_t len = strlen(pattern);
    bool rest = len >= 3 && memcmp(pattern + len - 3, ".**", 3) == 0;
    return (kt_json_pat){ pattern, len, rest ? len - 3 : len };
}

/* The cells of position k (see kt_json_patset): one per distinct byte the patterns have there.
 * Returns the number written, or -1 when more than `room`. */
static int cells_at(kt_json_patset *ps, size_t k, size_t base, size_t room)
{
    size_t nc = 0;
    for (size_t i = 0; i < ps->n; i++) {
        if (k >= ps->pats[i].len) continue;
        uint8_t c = (uint8_t)ps->pats[i].s[k];
        size_t j = 0;
        while (j < nc && ps->cbyte[base + j] != c) j++;
        if (j == nc) {
            if (nc == room) return -1;
            ps->cbyte[base + nc] = c;
            ps->cmask[base + nc++] = 0;
        }
        ps->cmask[base + j] |= (kt_json_patmask)1 << i;
    }
    return (int)nc;
}

int kt_json_patset_compile(kt_json_patset *ps, const kt_json_pat *pats, size_t n)
{
    if (n > KT_JSON_PATHSET_MAX) return KT_EINVAL;
    ps->pats = pats;
    ps->n = n;
    ps->rest = 0;
    for (size_t i = 0; i < n; i++)
        if (pats[i].lim != pats[i].len) ps->rest |= (kt_json_patmask)1 << i;
    size_t used = 0, k = 0;
    ps->at[0] = 0;
    for (; k < KT_JSON_SIG_CAP; k++) {
        int nc = cells_at(ps, k, used, KT_JSON_PATSET_CELLS - used);
        if (nc < 0) break;
        used += (size_t)nc;
        ps->at[k + 1] = (uint16_t)used;
    }
    ps->cov = (uint16_t)k;
    return KT_OK;
}

void kt_json_pathset_start(kt_json_pathset *set, const kt_json_patset *ps)
{
    set->ps = ps;
    set->buf = NULL;
    set->depth = 0;
    set->alive[0] = ps->n == KT_JSON_PATHSET_MAX ? ~(kt_json_patmask)0
                                                 : ((kt_json_patmask)1 << ps->n) - 1;
    set->done[0] = 0;
    set->siglen[0] = 0;
}

int kt_json_pathset_init(kt_json_pathset *set, const kt_json_pat *pats, size_t n)
{
    int rc = kt_json_patset_compile(&set->own, pats, n);
    if (rc) return rc;
    kt_json_pathset_start(set, &set->own);
    return KT_OK;
}

static bool bytes_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* Appends step d's piece to the signature (as kt_json_path_sig writes it); -1 when it has none. */
static int sig_append(kt_json_pathset *set, const kt_json_path *p, int d)
{
    const kt_json_path_elem *e = &p->el[d];
    size_t n = (size_t)set->siglen[d];
    if (e->is_index) {
        if (n + 3 >= KT_JSON_SIG_CAP) return -1;
        memcpy(set->sig + n, "[*]", 3);
        return (int)(n + 3);
    }
    const char *k = p->buf + e->key_start;
    if ((!e->plain && memchr(k, '\\', e->key_len)) || n + e->key_len + 1 >= KT_JSON_SIG_CAP)
        return -1;
    if (d) set->sig[n++] = '.';
    memcpy(set->sig + n, k, e->key_len);
    return (int)(n + e->key_len);
}

/* The patterns among `m` whose byte at position k is c. */
static kt_json_patmask cell_mask(const kt_json_patset *ps, size_t k, uint8_t c,
                                 kt_json_patmask m)
{
    for (size_t j = ps->at[k]; j < ps->at[k + 1]; j++)
        if (ps->cbyte[j] == c) return m & ps->cmask[j];
    return 0;
}

/* A ".**" pattern alive above whose prefix ends inside the new piece [n0, n) is matched for good
 * when the piece goes on with '.' or '[' (kt_json_sig_match's rule; its first-byte shortcut
 * matters only when the prefix is empty). */
static kt_json_patmask rest_done(const kt_json_patset *ps, const char *sig, size_t n0, size_t n,
                                 kt_json_patmask m)
{
    kt_json_patmask done = 0;
    for (m &= ps->rest; m; m &= m - 1) {
        int i = __builtin_ctzll(m);
        const kt_json_pat *pt = &ps->pats[i];
        if (n > pt->lim && bytes_eq(sig + n0, pt->s + n0, pt->lim - n0) &&
            (sig[pt->lim] == '.' || sig[pt->lim] == '[') && (pt->lim || sig[0] == pt->s[0]))
            done |= (kt_json_patmask)1 << i;
    }
    return done;
}

/* Level d + 1 from level d: which patterns still agree with the longer signature (each byte of
 * the new piece narrows the alive set by its cell; past `cov`, and for the length, the few
 * patterns left are compared one by one), and which ".**" patterns it matches for good. */
static void pathset_step(kt_json_pathset *set, const kt_json_path *p, int d)
{
    const kt_json_patset *ps = set->ps;
    set->key[d] = p->el[d].is_index ? 0 : p->el[d].key_start;
    set->done[d + 1] = set->done[d];
    set->alive[d + 1] = 0;
    if (set->siglen[d] < 0 || (set->siglen[d + 1] = (int16_t)sig_append(set, p, d)) < 0) {
        set->siglen[d + 1] = -1;
        return;
    }
    size_t n0 = (size_t)set->siglen[d], n = (size_t)set->siglen[d + 1];
    const char *sig = set->sig;
    kt_json_patmask m = set->alive[d];
    if (m & ps->rest) set->done[d + 1] |= rest_done(ps, sig, n0, n, m);
    size_t k = n0, covered = KT_MIN(n, (size_t)ps->cov);
    for (; k < covered && m; k++) m = cell_mask(ps, k, (uint8_t)sig[k], m);
    for (kt_json_patmask t = m; t; t &= t - 1) {
        int i = __builtin_ctzll(t);
        const kt_json_pat *pt = &ps->pats[i];
        if (n > pt->lim || (k < n && !bytes_eq(sig + k, pt->s + k, n - k)))
            m &= ~((kt_json_patmask)1 << i);
    }
    set->alive[d + 1] = m;
}

int kt_json_pathset_match(kt_json_pathset *set, const kt_json_path *p)
{
    int d = 0, depth = p->depth;
    if (set->buf != p->buf) {
        set->buf = p->buf;
        set->depth = 0;
    }
    while (d < set->depth && d < depth &&
           set->key[d] == (p->el[d].is_index ? 0 : p->el[d].key_start))
        d++;
    for (; d < depth; d++) pathset_step(set, p, d);
    set->depth = depth;
    const kt_json_patset *ps = set->ps;
    if (set->siglen[depth] < 0) {
        for (size_t i = 0; i < ps->n; i++)
            if (kt_json_path_match(p, ps->pats[i].s)) return 1;
        return 0;
    }
    if (set->done[depth]) return 1;
    for (kt_json_patmask m = set->alive[depth]; m; m &= m - 1)
        if (ps->pats[__builtin_ctzll(m)].lim == (size_t)set->siglen[depth]) return 1;
    return 0;
}

/* ---- several top-level fields in one pass ------------------------------------------------------ */

int kt_json_top_begin(kt_json_top *t, const char *const *keys, size_t n)
{
    memset(t, 0, sizeof *t);
    if (n > KT_JSON_TOP_MAX) return KT_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(keys[i], '.');
        if (dot && strchr(dot + 1, '.')) return KT_EINVAL;
        size_t n0 = dot ? (size_t)(dot - keys[i]) : strlen(keys[i]);
        size_t n1 = dot ? strlen(dot + 1) : 0;
        if (n0 > UINT16_MAX || n1 > UINT16_MAX) return KT_EINVAL;
        t->n0[i] = (uint16_t)n0;
        t->n1[i] = (uint16_t)n1;
        t->depth[i] = dot ? 2 : 1;
    }
    t->keys = keys;
    t->nkeys = n;
    return KT_OK;
}

/* Whether path element `e` is the key [k, k + kn). A raw key without a backslash is its own
 * decoded form, so the byte comparison decides; only escaped keys are decoded. */
static bool elem_is(const kt_json_path *p, const kt_json_path_elem *e, const char *k, size_t kn)
{
    if (e->is_index || e->key_len < kn) return false;   /* decoding never lengthens a key */
    const char *raw = p->buf + e->key_start;
    if (e->key_len == kn && memcmp(raw, k, kn) == 0) return true;
    if (e->plain || !memchr(raw, '\\', e->key_len)) return false;
    return kt_json_key_eq(raw, e->key_len, k, kn) == 1;
}

static bool key_matches(const kt_json_top *t, const kt_json_path *p, size_t i)
{
    const char *key = t->keys[i];
    size_t n0 = t->n0[i];
    if (p->depth != t->depth[i] || !elem_is(p, &p->el[0], key, n0)) return false;
    return t->depth[i] == 1 || elem_is(p, &p->el[1], key + n0 + 1, t->n1[i]);
}

void kt_json_top_note(kt_json_top *t, const kt_json_path *p, const kt_json_value *v)
{
    if (p->depth > 2) return;
    if (p->depth == 0) {
        t->root = v->type;
        t->root_seen = true;
        return;
    }
    if (p->el[0].is_index) return;
    for (size_t i = 0; i < t->nkeys; i++) {
        if (!key_matches(t, p, i)) continue;
        t->found |= 1u << i;
        t->v[i] = *v;   /* last occurrence wins */
    }
}

static int top_visit(void *ud, const kt_json_path *p, const kt_json_value *v)
{
    kt_json_top_note(ud, p, v);
    return KT_OK;
}

int kt_json_top_scan(kt_json_top *t, const char *buf, size_t len)
{
    int rc = kt_json_scan(buf, len, NULL, top_visit, t);
    if (!rc) t->complete = true;
    return rc;
}

const kt_json_value *kt_json_top_get(const kt_json_top *t, size_t i)
{
    if (i >= t->nkeys || !(t->found & (1u << i)) || !t->root_seen || t->root != KT_JSON_OBJECT)
        return NULL;
    return &t->v[i];
}
