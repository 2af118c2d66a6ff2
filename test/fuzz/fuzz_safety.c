/* Fuzzes the safety classifier. Invariants: hits lie in bounds, are sorted by start and carry a
 * valid category and weight; the stable prefix is within [from, len] and holds back at most
 * kt_safety_max_holdback; the verdict over the hits equals kt_safety_eval; and the streaming
 * contract: for a cut c, with n = stable_prefix(text[0..c)), the hits of the whole text that start
 * before n are exactly the hits of text[0..c) that start before n, and the others are exactly the
 * hits of scanning the whole text from n (with left context). And the quiet path changes nothing:
 * scans and stable prefixes equal the plain reference paths (kt__safety_scan_plain), here and for
 * a second lexicon with custom terms. And kt_safety_judge (lexicon + combinations + learned
 * scores) finds every category kt_safety_eval finds. */
#include <stdlib.h>
#include <string.h>

#include "../../src/scan/classify_priv.h"
#include "kt/safety.h"

#define MAXH 512

static kt_safety *kt__s, *kt__c;

static void same_as_plain(const kt_safety *s, const char *t, size_t len, size_t from, size_t max)
{
    static kt_safety_hit a[MAXH], b[MAXH];
    int ta = 0, tb = 0;
    size_t na = kt_safety_scan_ctx(s, t, len, from, a, max, &ta);
    size_t nb = kt__safety_scan_plain(s, t, len, from, b, max, &tb);
    if (na != nb || ta != tb) abort();
    for (size_t i = 0; i < na; i++)
        if (a[i].start != b[i].start || a[i].end != b[i].end || a[i].category != b[i].category ||
            a[i].weight != b[i].weight)
            abort();
    if (kt_safety_stable_prefix_ctx(s, t, len, from) != kt__safety_stable_prefix_plain(s, t, len, from))
        abort();
}

static kt_safety *custom_lexicon(void)
{
    static const char *const terms[] = { "connection reuse", "the", "h4te speech", "x$y", "TLS",
                                         "caf\xc3\xa9 au lait", "4chan", "k1ll3r" };
    kt_safety *s = malloc(sizeof *s);
    if (!s || kt_safety_init(s, KT_SAFETY_BIT(KT_SAFETY_HATE) | KT_SAFETY_BIT(KT_SAFETY_SEXUAL), 2, 0))
        abort();
    for (size_t i = 0; i < sizeof terms / sizeof *terms; i++)
        if (kt_safety_add_term(s, (int)(i % KT_SAFETY__COUNT), terms[i], strlen(terms[i]), 1)) abort();
    if (kt_safety_build(s)) abort();
    return s;
}

static void check_hits(const kt_safety_hit *h, size_t n, size_t from, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (h[i].start < from || h[i].start >= h[i].end || h[i].end > len) abort();
        if (h[i].category < 0 || h[i].category >= KT_SAFETY__COUNT) abort();
        if (h[i].weight < 1 || h[i].weight > 3) abort();
        if (i && h[i - 1].start > h[i].start) abort();
    }
}

static int same_hit(const kt_safety_hit *a, const kt_safety_hit *b)
{
    return a->start == b->start && a->end == b->end && a->category == b->category;
}

static int contains(const kt_safety_hit *h, size_t n, const kt_safety_hit *x)
{
    for (size_t i = 0; i < n; i++)
        if (same_hit(&h[i], x)) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!kt__s) {
        kt__s = malloc(sizeof *kt__s);
        if (!kt__s || kt_safety_init(kt__s, KT_SAFETY_ALL_MASK, 0, 0)) abort();
        kt__c = custom_lexicon();
    }
    if (size < 2 || size > 4096) return 0;
    size_t cut = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    const char *t = (const char *)data + 2;
    size_t len = size - 2;
    same_as_plain(kt__s, t, len, 0, MAXH);
    same_as_plain(kt__s, t, cut, cut / 2, 2);
    same_as_plain(kt__s, t, len, cut, MAXH);
    same_as_plain(kt__c, t, len, 0, MAXH);
    same_as_plain(kt__c, t, cut, (size_t)data[0] % (cut + 1), MAXH);
    static kt_safety_hit w[MAXH], p[MAXH], r[MAXH];
    int tr = 0, tp = 0, trr = 0;
    size_t nw = kt_safety_scan(kt__s, t, len, w, MAXH, &tr);
    check_hits(w, nw, 0, len);
    uint32_t c1, c2;
    if (!tr) {
        int v1 = kt_safety_verdict(kt__s, w, nw, &c1), v2 = kt_safety_eval(kt__s, t, len, &c2);
        if (v1 != v2 || c1 != c2) abort();
        uint32_t c3 = 0;
        int v3 = kt_safety_judge(kt__s, t, len, &c3);
        if (v3 < 0 || (c2 & ~c3) || (v2 && !v3)) abort();
    }
    size_t n = kt_safety_stable_prefix(kt__s, t, cut);
    if (n > cut || cut - n > kt_safety_max_holdback(kt__s)) abort();
    size_t np = kt_safety_scan(kt__s, t, cut, p, MAXH, &tp);
    size_t nr = kt_safety_scan_ctx(kt__s, t, len, n, r, MAXH, &trr);
    check_hits(r, nr, n, len);
    if (tr || tp || trr) return 0;
    for (size_t i = 0; i < nw; i++) {
        if (w[i].start < n) {
            if (!contains(p, np, &w[i])) abort();
        } else if (!contains(r, nr, &w[i])) {
            abort();
        }
    }
    for (size_t i = 0; i < np; i++)
        if (p[i].start < n && !contains(w, nw, &p[i])) abort();
    for (size_t i = 0; i < nr; i++)
        if (!contains(w, nw, &r[i])) abort();
    return 0;
}
