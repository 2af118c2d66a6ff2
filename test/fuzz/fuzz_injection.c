/* Fuzzes the prompt-injection classifier (base64 decoding on, a small decode window). Invariants:
 * hits lie in bounds, are sorted by start and name a rule; the stable prefix is within [0, cut]
 * and holds back at most kt_injection_max_holdback; verdict over the hits equals
 * kt_injection_eval; and the streaming contract: for a cut c, with n = stable_prefix(text[0..c)),
 * the hits of the whole text that start before n are exactly the hits of text[0..c) that start
 * before n, and the others are exactly the hits of scanning the whole text from n. And the
 * tokenizer's quiet path changes nothing: scans and stable prefixes equal the plain reference
 * paths (kt__injection_scan_plain). And kt_injection_judge (phrases + families + decoded views
 * + the learned score) never says less than kt_injection_eval. */
#include <stdlib.h>
#include <string.h>

#include "../../src/scan/classify_priv.h"
#include "kt/injection.h"

#define MAXH 512

static kt_injection *kt__d;

static void check_hits(const kt_injection_hit *h, size_t n, size_t from, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (h[i].start < from || h[i].start >= h[i].end || h[i].end > len) abort();
        if (!kt_injection_rule_name(h[i].rule) || !h[i].weight) abort();
        if (i && h[i - 1].start > h[i].start) abort();
    }
}

static int same_hit(const kt_injection_hit *a, const kt_injection_hit *b)
{
    return a->start == b->start && a->end == b->end && a->rule == b->rule && a->flags == b->flags;
}

static int contains(const kt_injection_hit *h, size_t n, const kt_injection_hit *x)
{
    for (size_t i = 0; i < n; i++)
        if (same_hit(&h[i], x)) return 1;
    return 0;
}

static void same_as_plain(const char *t, size_t len, size_t from, size_t max)
{
    static kt_injection_hit a[MAXH], b[MAXH];
    int ta = 0, tb = 0;
    size_t na = kt_injection_scan_ctx(kt__d, t, len, from, a, max, &ta);
    size_t nb = kt__injection_scan_plain(kt__d, t, len, from, b, max, &tb);
    if (na != nb || ta != tb) abort();
    for (size_t i = 0; i < na; i++)
        if (!same_hit(&a[i], &b[i]) || a[i].weight != b[i].weight) abort();
    if (kt_injection_stable_prefix_ctx(kt__d, t, len, from) !=
        kt__injection_stable_prefix_plain(kt__d, t, len, from))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!kt__d) {
        kt_injection_opts o;
        kt_injection_opts_default(&o);
        o.max_b64_decoded = 300;
        o.max_b64_runs = 100000;
        kt__d = malloc(sizeof *kt__d);
        if (!kt__d || kt_injection_init(kt__d, &o)) abort();
    }
    if (size < 2 || size > 4096) return 0;
    size_t cut = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    const char *t = (const char *)data + 2;
    size_t len = size - 2;
    same_as_plain(t, len, 0, MAXH);
    same_as_plain(t, cut, cut / 2, 2);
    same_as_plain(t, len, cut, MAXH);
    static kt_injection_hit w[MAXH], p[MAXH], r[MAXH];
    int tr = 0, tp = 0, trr = 0;
    size_t nw = kt_injection_scan(kt__d, t, len, w, MAXH, &tr);
    check_hits(w, nw, 0, len);
    if (!tr) {
        unsigned s1, s2;
        int v1 = kt_injection_verdict(kt__d, w, nw, &s1), v2 = kt_injection_eval(kt__d, t, len, &s2);
        if (v1 != v2 || s1 != s2) abort();
        unsigned s3 = 0;
        float p3 = 0;
        int v3 = kt_injection_judge(kt__d, t, len, &s3, &p3);
        if (v3 < 0 || s3 < s2 || (v2 && !v3) || !(p3 >= 0.0f && p3 <= 1.0f)) abort();
    }
    size_t n = kt_injection_stable_prefix(kt__d, t, cut);
    if (n > cut || cut - n > kt_injection_max_holdback(kt__d)) abort();
    size_t np = kt_injection_scan(kt__d, t, cut, p, MAXH, &tp);
    size_t nr = kt_injection_scan_ctx(kt__d, t, len, n, r, MAXH, &trr);
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
