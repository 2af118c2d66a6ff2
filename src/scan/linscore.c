/* The learned scorer (see linscore.h): hashed word features summed over sliding windows of 64
 * words. The hashing must stay identical to tools/train/kt_features.py. */
#include <stdbool.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cooc.h"
#include "kt/fmath.h"
#include "linscore.h"

/* The folded form of a word byte, 0 for a separator. */
static const uint8_t *fold_table(void)
{
    static const uint8_t t[256] = {
#define R8(a) [a] = a, [a + 1] = a + 1, [a + 2] = a + 2, [a + 3] = a + 3, [a + 4] = a + 4, \
              [a + 5] = a + 5, [a + 6] = a + 6, [a + 7] = a + 7
        ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6',
        ['7'] = '7', ['8'] = '8', ['9'] = '9',
        ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f', ['G'] = 'g',
        ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n',
        ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't', ['U'] = 'u',
        ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z',
        ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f', ['g'] = 'g',
        ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n',
        ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't', ['u'] = 'u',
        ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y', ['z'] = 'z',
        R8(0x80), R8(0x88), R8(0x90), R8(0x98), R8(0xA0), R8(0xA8), R8(0xB0), R8(0xB8),
        R8(0xC0), R8(0xC8), R8(0xD0), R8(0xD8), R8(0xE0), R8(0xE8), R8(0xF0), R8(0xF8),
#undef R8
    };
    return t;
}

#define KT__LIN_ID_DIGITS 3   /* a word with this many digits and a letter is an identifier */
#define FNV_BASIS 0x811C9DC5u
#define FNV_PRIME 0x01000193u

static inline uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* Inlined into each caller, so the per-word callback is a direct call the compiler can inline
 * too (the scorer runs once per scanned text; a call through a pointer per word cost a third of
 * its instructions). */
#define KT__LIN_INLINE static inline __attribute__((always_inline))

/* One word's feature ids (prev: the previous word's hash, when have_prev). */
KT__LIN_INLINE unsigned word_ids(uint32_t h, uint32_t h4, size_t n, int have_prev, uint32_t prev,
                                 uint32_t ids[3])
{
    unsigned k = 0;
    ids[k++] = fmix32(h ^ 0x9E3779B9u);
    if (have_prev) ids[k++] = fmix32((prev * FNV_PRIME) ^ h ^ 0x85EBCA6Bu);
    if (n > 4) ids[k++] = fmix32(h4 ^ 0xC2B2AE35u);
    return k;
}

/* Calls fn(ud, ids, nids, start, end) for every word of the text. */
typedef void (*kt__linword_fn)(void *ud, const uint32_t *ids, unsigned n, size_t s, size_t e);

/* 1 for the digits '0'..'9' (folding keeps them): a word's digits are counted with one table read
 * a byte; whether it also has a letter is asked only of the rare word with enough digits. */
static const uint8_t *digit_table(void)
{
    static const uint8_t t[256] = { ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
                                    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1 };
    return t;
}

static bool has_letter(const uint8_t *ft, const unsigned char *s, const unsigned char *e)
{
    for (; s < e; s++)
        if ((unsigned)(ft[*s] - 'a') < 26u) return true;
    return false;
}

/* Calls raw(ud, text, s, e, hash, digits) for every word, identifiers included (the
 * co-occurrence rules read the same words, see kt__lin_score_cooc); hash: the FNV-1a of its first
 * KT__LIN_WORD_MAX folded bytes. NULL in the plain scorer. */
typedef void (*kt__linraw_fn)(void *ud, const char *text, size_t s, size_t e, uint32_t h,
                              unsigned digits);

KT__LIN_INLINE void each_word_raw(const char *text, size_t len, kt__linword_fn fn,
                                  kt__linraw_fn raw, void *ud)
{
    const uint8_t *ft = fold_table(), *dt = digit_table();
    const unsigned char *base = (const unsigned char *)text, *p = base, *end = base + len;
    uint32_t prev = 0;
    int have_prev = 0;
    for (;;) {
        while (p < end && !ft[*p]) p++;
        if (p == end) return;
        const unsigned char *s = p;
        const unsigned char *hend = (size_t)(end - p) > KT__LIN_WORD_MAX ? p + KT__LIN_WORD_MAX : end;
        const unsigned char *end4 = hend - p > 4 ? p + 4 : hend;
        uint32_t h = FNV_BASIS, h4 = 0;
        unsigned digits = 0;
        uint8_t f;
        /* the 4-byte prefix, then the rest of the hashed 32 bytes, then bytes only counted */
        for (; p < end4 && (f = ft[*p]); p++) {
            h = (h ^ f) * FNV_PRIME;
            digits += dt[f];
        }
        h4 = h;
        if (p == end4)
            for (; p < hend && (f = ft[*p]); p++) {
                h = (h ^ f) * FNV_PRIME;
                digits += dt[f];
            }
        if (p == hend)
            for (; p < end && (f = ft[*p]); p++) digits += dt[f];
        size_t n = (size_t)(p - s);
        if (raw) raw(ud, text, (size_t)(s - base), (size_t)(p - base), h, digits);
        if (digits >= KT__LIN_ID_DIGITS && has_letter(ft, s, p)) {
            /* an identifier (a hex request id, a serial, a base64 run), not language: its hashed
             * prefixes land in buckets at random, so it has no features and ends the pair chain */
            have_prev = 0;
            continue;
        }
        uint32_t ids[3];
        unsigned k = word_ids(h, h4, n, have_prev, prev, ids);
        fn(ud, ids, k, (size_t)(s - base), (size_t)(p - base));
        prev = h;
        have_prev = 1;
    }
}

KT__LIN_INLINE void each_word(const char *text, size_t len, kt__linword_fn fn, void *ud)
{
    each_word_raw(text, len, fn, NULL, ud);
}

/* ---- features (tests) ---------------------------------------------------------------------- */

typedef struct kt__linids {
    uint32_t *ids;
    size_t max, n;
} kt__linids;

KT__LIN_INLINE void collect(void *ud, const uint32_t *ids, unsigned n, size_t s, size_t e)
{
    kt__linids *c = ud;
    (void)s, (void)e;
    for (unsigned k = 0; k < n; k++, c->n++)
        if (c->n < c->max) c->ids[c->n] = ids[k];
}

size_t kt__lin_features(const char *text, size_t len, uint32_t *ids, size_t max)
{
    kt__linids c = { ids, max, 0 };
    each_word(text, len, collect, &c);
    return c.n;
}

/* ---- scoring ------------------------------------------------------------------------------- */

/* The per-class sums as one vector (GCC's vector extensions, as in detect_block.h): the safety
 * model's four int8 weights of a bucket are widened and added in one step. */
typedef int32_t kt__linv __attribute__((vector_size(KT__LIN_MAXCLS * sizeof(int32_t))));

/* A bucket's four int8 weights as four int32 lanes. SSE2 (every x86-64) sign-extends them with
 * two unpacks and a shift; elsewhere the compiler widens the vector. */
static inline kt__linv widen(const int8_t *row)
{
#if defined(__SSE2__)
    int32_t v;
    memcpy(&v, row, sizeof v);
    __m128i x = _mm_cvtsi32_si128(v);
    x = _mm_unpacklo_epi8(x, x);
    x = _mm_unpacklo_epi16(x, x);
    return (kt__linv)_mm_srai_epi32(x, 24);
#else
    typedef int8_t kt__linq __attribute__((vector_size(KT__LIN_MAXCLS)));
    kt__linq q;
    memcpy(&q, row, sizeof q);
    return __builtin_convertvector(q, kt__linv);
#endif
}

typedef struct kt__linwin {
    kt__linv sum;
    size_t start;
} kt__linwin;

typedef struct kt__linrun {
    const kt__linmodel *m;
    uint32_t mask;
    kt__linwin win[2];      /* the windows starting at (t / 32) * 32 and 32 words before */
    size_t ntok, last_end;
    int have[KT__LIN_MAXCLS];
    int32_t best[KT__LIN_MAXCLS];
    size_t bs[KT__LIN_MAXCLS], be[KT__LIN_MAXCLS];
} kt__linrun;

static void finish_window(kt__linrun *r, const kt__linwin *w, size_t end)
{
    for (unsigned k = 0; k < r->m->ncls; k++)
        if (!r->have[k] || w->sum[k] > r->best[k]) {
            r->have[k] = 1;
            r->best[k] = w->sum[k];
            r->bs[k] = w->start;
            r->be[k] = end;
        }
}

KT__LIN_INLINE void score_word(void *ud, const uint32_t *ids, unsigned n, size_t s, size_t e)
{
    kt__linrun *r = ud;
    const kt__linmodel *m = r->m;
    size_t t = r->ntok;
    if (t % KT__LIN_STEP == 0) {
        kt__linwin *w = &r->win[(t / KT__LIN_STEP) & 1];
        if (t >= KT__LIN_WINDOW) finish_window(r, w, r->last_end);
        memset(w, 0, sizeof *w);
        w->start = s;
    }
    kt__linwin *a = &r->win[(t / KT__LIN_STEP) & 1], *b = &r->win[((t / KT__LIN_STEP) & 1) ^ 1];
    kt__linv add = { 0 };
    unsigned ncls = m->ncls;
    for (unsigned i = 0; i < n; i++) {
        const int8_t *row = m->w + (size_t)(ids[i] & r->mask) * ncls;
        if (ncls == KT__LIN_MAXCLS) {   /* the safety model: one widening add a bucket */
            add += widen(row);
        } else {
            for (unsigned k = 0; k < ncls; k++) add[k] += row[k];
        }
    }
    a->sum += add;
    if (t >= KT__LIN_STEP) b->sum += add;
    r->ntok++;
    r->last_end = e;
}

static void lin_start(kt__linrun *r, const kt__linmodel *m)
{
    memset(r, 0, sizeof *r);
    r->m = m;
    r->mask = (1u << m->bits) - 1u;
}

static void lin_finish(kt__linrun *r, kt__linres *res)
{
    const kt__linmodel *m = r->m;
    /* The first window that reaches the end of the text is the last one scored. */
    size_t n = r->ntok, s = 0;
    if (n > KT__LIN_WINDOW) s = (n - KT__LIN_WINDOW + KT__LIN_STEP - 1) / KT__LIN_STEP * KT__LIN_STEP;
    finish_window(r, &r->win[(s / KT__LIN_STEP) & 1], r->last_end);
    memset(res, 0, sizeof *res);
    for (unsigned k = 0; k < m->ncls && k < KT__LIN_MAXCLS; k++) {
        res->logit[k] = m->bias[k] + m->scale[k] * (float)r->best[k];
        res->start[k] = r->bs[k];
        res->end[k] = r->be[k];
    }
}

void kt__lin_score(const kt__linmodel *m, const char *text, size_t len, kt__linres *res)
{
    kt__linrun r;
    lin_start(&r, m);
    each_word(text, len, score_word, &r);
    lin_finish(&r, res);
}

/* The scorer's run first, so score_word reads its ud as a kt__linrun. */
typedef struct kt__lincooc {
    kt__linrun lin;
    kt__coocrun *cooc;
} kt__lincooc;

KT__LIN_INLINE void cooc_word(void *ud, const char *text, size_t s, size_t e, uint32_t h,
                              unsigned digits)
{
    kt__cooc_step(((kt__lincooc *)ud)->cooc, text, s, e, h, digits);
}

/* The co-occurrence rules' words are the scorer's but for '@' and '$', which they keep inside a
 * word: without either byte in the text both read the same words. */
static bool same_words(const char *text, size_t len)
{
    return !memchr(text, '@', len) && !memchr(text, '$', len);
}

void kt__lin_score_cooc(const kt__linmodel *m, const char *text, size_t len, kt__linres *res,
                        kt__coocrun *cooc)
{
    if (!same_words(text, len)) {   /* the words differ: each reads its own */
        kt__cooc_text(cooc, text, len);
        kt__lin_score(m, text, len, res);
        return;
    }
    kt__lincooc r;
    lin_start(&r.lin, m);
    r.cooc = cooc;
    each_word_raw(text, len, score_word, cooc_word, &r);
    lin_finish(&r.lin, res);
}

float kt__lin_prob(float logit) { return 1.0f / (1.0f + kt_expf(-logit)); }

#define KT__LIN_LOGIT_MIN (-110.0f)   /* kt__lin_prob is 0 below -104 and 1 above 88.8 */
#define KT__LIN_LOGIT_MAX 100.0f
#define KT__LIN_MARGIN 0.01f

void kt__lin_bounds(float cutoff, float b[2])
{
    float lo = KT__LIN_LOGIT_MIN, hi = KT__LIN_LOGIT_MAX;   /* p(lo) < cutoff <= p(hi) */
    for (int i = 0; i < 64; i++) {
        float mid = 0.5f * (lo + hi);
        if (mid <= lo || mid >= hi) break;
        if (kt__lin_prob(mid) >= cutoff)
            hi = mid;
        else
            lo = mid;
    }
    b[0] = lo - KT__LIN_MARGIN;
    b[1] = hi + KT__LIN_MARGIN;
}

int kt__lin_over(const float b[2], float cutoff, float logit)
{
    if (logit <= b[0]) return 0;
    if (logit >= b[1]) return 1;
    return kt__lin_prob(logit) >= cutoff;
}
