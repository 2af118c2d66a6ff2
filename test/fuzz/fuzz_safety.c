/* Fuzzes the safety classifier. Invariants: hits lie in bounds, are sorted by start and carry a
 * valid category and weight; the stable prefix is within [from, len] and holds back at most
 * kt_safety_max_holdback; the verdict over the hits equals kt_safety_eval; and the streaming
 * contract: for a cut c, with n = stable_prefix(text[0..c)), the hits of the whole text that start
 * before n are exactly the hits of text[0..c) that start before n, and the others are exactly the
 * hits of scanning the whole text from n (with left context). */
#include <stdlib.h>
#include <string.h>

#include "kt/safety.h"

#define MAXH 512

static kt_safety *kt__s;

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
    }
    if (size < 2 || size > 4096) return 0;
    size_t cut = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    const char *t = (const char *)data + 2;
    size_t len = size - 2;
    static kt_safety_hit w[MAXH], p[MAXH], r[MAXH];
    int tr = 0, tp = 0, trr = 0;
    size_t nw = kt_safety_scan(kt__s, t, len, w, MAXH, &tr);
    check_hits(w, nw, 0, len);
    uint32_t c1, c2;
    if (!tr) {
        int v1 = kt_safety_verdict(kt__s, w, nw, &c1), v2 = kt_safety_eval(kt__s, t, len, &c2);
        if (v1 != v2 || c1 != c2) abort();
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
