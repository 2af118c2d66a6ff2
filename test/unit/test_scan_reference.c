/* The learned scorer and the co-occurrence rules against plain reference implementations of what
 * they compute (the code they had before they were made faster: one byte test at a time, every
 * rule looked at for every word), on random texts built from the rule sets' own words with
 * leetspeak, case, long words, identifiers, long separators and stray bytes. The fast code must
 * give the same logits, spans and matches, bit for bit. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/scan/cooc.h"
#include "../../src/scan/linscore.h"
#include "kt/common.h"
#include "kt_test.h"
#include "kt_test_rnd.h"

/* ---- random texts ------------------------------------------------------------------------- */

typedef kt_test_rnd rnd;

static uint64_t next(rnd *r) { return kt_test_next(r); }

static const char *const extra_words[] = {
    "the", "a", "and", "how", "to", "make", "Kill", "SHOOT", "k1ll", "h4te", "1gn0re", "@ll",
    "pr3v10us", "$cript", "12345", "a1b2c3d4", "c850b17abe7505945f412754b3e919fe", "café",
    "日本語", "x9y8z7w6v5", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij", "e1f2", "0123456789", "—",
};

/* Appends a word of the set (with leetspeak or upper case now and then) or another word. */
static size_t add_word(rnd *r, const kt__cooc_set *set, char *buf, size_t n)
{
    uint64_t x = next(r);
    const char *w = x % 3 ? set->words[(x >> 8) % set->nwords].w
                          : extra_words[(x >> 8) % KT_ARRAY_LEN(extra_words)];
    size_t l = strlen(w);
    for (size_t i = 0; i < l; i++) {
        char c = w[i];
        unsigned m = (unsigned)(x >> (16 + i % 40)) & 15u;
        if (m == 0 && c == 'o') c = '0';
        else if (m == 1 && c == 'e') c = '3';
        else if (m == 2 && c == 's') c = '$';
        else if (m == 3 && c >= 'a' && c <= 'z') c = (char)(c - 32);
        buf[n++] = c;
    }
    return n;
}

static size_t make_text(rnd *r, const kt__cooc_set *set, char *buf, size_t cap)
{
    size_t n = 0, words = next(r) % 160;
    for (size_t k = 0; k < words && n + 128 < cap; k++) {
        n = add_word(r, set, buf, n);
        uint64_t x = next(r);
        switch (x % 23) {
        case 0: memset(buf + n, ' ', 70); n += 70; break;
        case 1: buf[n++] = '.'; break;
        case 2: buf[n++] = (char)(x >> 8); break;
        case 3: buf[n++] = '\n'; break;
        default: buf[n++] = ' '; break;
        }
    }
    return n;
}

/* ---- reference learned scorer -------------------------------------------------------------- */

static uint32_t ref_fmix(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

static uint8_t ref_fold(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return (uint8_t)(c + 32);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80) return c;
    return 0;
}

typedef struct ref_run {
    const kt__linmodel *m;
    int32_t win[2][KT__LIN_MAXCLS];
    size_t wstart[2], ntok, last_end;
    int have[KT__LIN_MAXCLS];
    int32_t best[KT__LIN_MAXCLS];
    size_t bs[KT__LIN_MAXCLS], be[KT__LIN_MAXCLS];
} ref_run;

static void ref_finish(ref_run *r, int w, size_t end)
{
    for (unsigned k = 0; k < r->m->ncls; k++)
        if (!r->have[k] || r->win[w][k] > r->best[k]) {
            r->have[k] = 1;
            r->best[k] = r->win[w][k];
            r->bs[k] = r->wstart[w];
            r->be[k] = end;
        }
}

static void ref_word(ref_run *r, const uint32_t *ids, unsigned n, size_t s, size_t e)
{
    size_t t = r->ntok;
    int a = (int)((t / KT__LIN_STEP) & 1);
    if (t % KT__LIN_STEP == 0) {
        if (t >= KT__LIN_WINDOW) ref_finish(r, a, r->last_end);
        memset(r->win[a], 0, sizeof r->win[a]);
        r->wstart[a] = s;
    }
    uint32_t mask = (1u << r->m->bits) - 1u;
    for (unsigned i = 0; i < n; i++)
        for (unsigned k = 0; k < r->m->ncls; k++) {
            int32_t v = r->m->w[(size_t)(ids[i] & mask) * r->m->ncls + k];
            r->win[a][k] += v;
            if (t >= KT__LIN_STEP) r->win[a ^ 1][k] += v;
        }
    r->ntok++;
    r->last_end = e;
}

static void ref_score(const kt__linmodel *m, const char *text, size_t len, kt__linres *res)
{
    ref_run r;
    memset(&r, 0, sizeof r);
    r.m = m;
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    uint32_t prev = 0;
    int have_prev = 0;
    while (i < len) {
        if (!ref_fold(p[i])) {
            i++;
            continue;
        }
        size_t s = i;
        uint32_t h = 0x811C9DC5u, h4 = 0;
        unsigned digits = 0, letters = 0;
        for (; i < len && ref_fold(p[i]); i++) {
            uint8_t f = ref_fold(p[i]);
            if (i - s < KT__LIN_WORD_MAX) h = (h ^ f) * 0x01000193u;
            if (i - s == 3) h4 = h;
            digits += f >= '0' && f <= '9';
            letters |= f >= 'a' && f <= 'z';
        }
        size_t n = i - s;
        if (n <= 4) h4 = h;
        if (digits >= 3 && letters) {
            have_prev = 0;
            continue;
        }
        uint32_t ids[3];
        unsigned k = 0;
        ids[k++] = ref_fmix(h ^ 0x9E3779B9u);
        if (have_prev) ids[k++] = ref_fmix((prev * 0x01000193u) ^ h ^ 0x85EBCA6Bu);
        if (n > 4) ids[k++] = ref_fmix(h4 ^ 0xC2B2AE35u);
        ref_word(&r, ids, k, s, i);
        prev = h;
        have_prev = 1;
    }
    size_t n = r.ntok, s = 0;
    if (n > KT__LIN_WINDOW) s = (n - KT__LIN_WINDOW + KT__LIN_STEP - 1) / KT__LIN_STEP * KT__LIN_STEP;
    ref_finish(&r, (int)((s / KT__LIN_STEP) & 1), r.last_end);
    memset(res, 0, sizeof *res);
    for (unsigned k = 0; k < m->ncls; k++) {
        res->logit[k] = m->bias[k] + m->scale[k] * (float)r.best[k];
        res->start[k] = r.bs[k];
        res->end[k] = r.be[k];
    }
}

KT_TEST(learned_scores_equal_the_reference)
{
    const kt__linmodel *models[] = { &kt__linmodel_safety, &kt__linmodel_injection };
    char *buf = malloc(16384);
    KT_ASSERT(buf != NULL);
    if (!buf) return;
    rnd r = { 0x9E3779B97F4A7C15ull };
    int bad = 0;
    for (int it = 0; it < 3000 && !bad; it++) {
        size_t n = make_text(&r, &kt__cooc_safety, buf, 16384);
        for (size_t mi = 0; mi < KT_ARRAY_LEN(models); mi++) {
            kt__linres a, b;
            kt__lin_score(models[mi], buf, n, &a);
            ref_score(models[mi], buf, n, &b);
            for (unsigned k = 0; k < models[mi]->ncls; k++)
                if (a.logit[k] != b.logit[k] || a.start[k] != b.start[k] || a.end[k] != b.end[k])
                    bad = 1;
        }
    }
    KT_ASSERT_EQ_INT(bad, 0);
    free(buf);
}

/* ---- reference co-occurrence rules --------------------------------------------------------- */

typedef struct match {
    const kt__cooc_rule *rule;
    size_t start, end;
} match;

typedef struct matches {
    match m[512];
    size_t n;
} matches;

static void record(void *ud, const kt__cooc_rule *rule, size_t start, size_t end)
{
    matches *ms = ud;
    if (ms->n < KT_ARRAY_LEN(ms->m)) ms->m[ms->n] = (match){ rule, start, end };
    ms->n++;
}

static char ref_leet(char c)
{
    switch (c) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': case '@': return 'a';
    case '5': case '$': return 's';
    default: return c;
    }
}

static bool ref_wb(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '@' || c == '$' || c >= 0x80;
}

/* The classes of the folded word w[0..n) (a linear search of the set: slow and plain). */
static uint32_t ref_classes(const kt__cooc_set *set, const char *w, size_t n)
{
    uint32_t m = 0;
    for (size_t i = 0; i < set->nwords; i++)
        if (strlen(set->words[i].w) == n && !memcmp(set->words[i].w, w, n)) m |= set->words[i].cls;
    return m;
}

/* Per rule and element: the token index + 1 of the latest match and the byte it started at. */
typedef struct ref_state {
    size_t at[KT__COOC_MAXRULES][KT__COOC_MAXEL], from[KT__COOC_MAXRULES][KT__COOC_MAXEL];
} ref_state;

static void ref_cooc(const kt__cooc_set *set, ref_state *st, const char *text, size_t len,
                     matches *out)
{
    memset(st, 0, sizeof *st);
    size_t (*at)[KT__COOC_MAXEL] = st->at, (*from)[KT__COOC_MAXEL] = st->from;
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0, last_end = 0, ntok = 0;
    while (i < len) {
        if (!ref_wb(p[i])) {
            i++;
            continue;
        }
        size_t s = i;
        char w[40];
        size_t n = 0;
        bool letter = false;
        for (; i < len && ref_wb(p[i]); i++) {
            char c = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
            letter |= c >= 'a' && c <= 'z';
            if (n <= 32) w[n++] = c;
        }
        if (s - last_end > 64) ntok += 64;
        last_end = i;
        if (n > 32) {
            ntok++;
            continue;
        }
        if (letter)
            for (size_t k = 0; k < n; k++) w[k] = ref_leet(w[k]);
        size_t t = ++ntok;
        uint32_t m = ref_classes(set, w, n);
        for (size_t k = 0; m && k < set->nrules; k++) {
            const kt__cooc_rule *ru = &set->rules[k];
            for (int e = ru->n - 1; e >= 0; e--) {
                if (!(m & ru->cls[e])) continue;
                if (e == 0) {
                    at[k][0] = t;
                    from[k][0] = s;
                    continue;
                }
                size_t q = at[k][e - 1];
                if (!q || q >= t || t - q - 1 > ru->gap[e - 1]) continue;
                if (e == ru->n - 1) {
                    record(out, ru, from[k][e - 1], i);
                    at[k][e - 1] = 0;
                } else {
                    at[k][e] = t;
                    from[k][e] = from[k][e - 1];
                }
            }
        }
    }
}

static void cooc_equal_reference(const kt__cooc_set *set, uint64_t seed)
{
    kt__cooc c;
    KT_ASSERT_EQ_INT(kt__cooc_init(&c, set), KT_OK);
    char *buf = malloc(16384);
    matches *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    ref_state *st = malloc(sizeof *st);
    KT_ASSERT(buf && a && b && st);
    rnd r = { seed };
    size_t total = 0, fused = 0, fused_total = 0;
    int bad = 0;
    for (int it = 0; buf && a && b && st && it < 3000 && !bad; it++) {
        size_t n = make_text(&r, set, buf, 16384);
        a->n = b->n = 0;
        if (it % 2) /* half the texts without '@' and '$': the words the learned scorer reads */
            for (size_t i = 0; i < n; i++)
                if (buf[i] == '@' || buf[i] == '$') buf[i] = (char)(it % 4 == 1 ? 'a' : '-');
        size_t got = kt__cooc_scan(&c, 0, buf, n, record, a);
        ref_cooc(set, st, buf, n, b);
        if (got != a->n || a->n != b->n || memcmp(a->m, b->m, KT_MIN(a->n, 512) * sizeof a->m[0]))
            bad = 1;
        total += b->n;
        /* the same matches and the same scores when the scorer's pass reads the words (texts
         * with '@' or '$' through the rules' own scan) */
        kt__coocrun *run = malloc(sizeof *run);
        KT_ASSERT(run != NULL);
        if (!run) break;
        a->n = 0;
        kt__cooc_begin(run, &c, record, a);
        kt__linres x, y;
        const kt__linmodel *lm = set == &kt__cooc_safety ? &kt__linmodel_safety
                                                          : &kt__linmodel_injection;
        kt__lin_score_cooc(lm, buf, n, &x, run);
        kt__lin_score(lm, buf, n, &y);
        if (kt__cooc_end(run) != b->n || a->n != b->n ||
            memcmp(a->m, b->m, KT_MIN(a->n, 512) * sizeof a->m[0]) || memcmp(&x, &y, sizeof x))
            bad = 1;
        fused++;
        fused_total += b->n;
        free(run);
    }
    KT_ASSERT_EQ_INT(bad, 0);
    KT_ASSERT(total > 1000);   /* the texts do exercise the rules */
    KT_ASSERT(fused > 1000 && fused_total > 500);
    free(buf);
    free(a);
    free(b);
    free(st);
    kt__cooc_free(&c);
}

KT_TEST(safety_combinations_equal_the_reference)
{
    cooc_equal_reference(&kt__cooc_safety, 0x2545F4914F6CDD1Dull);
}

KT_TEST(injection_families_equal_the_reference)
{
    cooc_equal_reference(&kt__cooc_injection, 0x5851F42D4C957F2Dull);
}

int main(void)
{
    KT_RUN(learned_scores_equal_the_reference);
    KT_RUN(safety_combinations_equal_the_reference);
    KT_RUN(injection_families_equal_the_reference);
    return KT_DONE();
}
