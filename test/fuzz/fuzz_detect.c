/* Fuzz target for the content detectors. Invariants, for a mask (entities and phone regions)
 * chosen by the first bytes:
 * matches are in order, disjoint, non-empty and in bounds, and only of enabled entities; the
 * stable prefix is within [from, len] and holds back at most kt_detect_max_holdback; no match
 * straddles the cut; and feeding the text in chunks through the streaming protocol of detect.h
 * redacts exactly like the whole text; and the SIMD chunk classifiers used on long texts give
 * exactly what the portable table classifier gives. */
#include <stdlib.h>
#include <string.h>

#include "../../src/scan/detect_int.h"
#include "kt/common.h"
#include "kt/detect.h"

#define KT_FZ_MAX 4096

static void kt_fz_check(const char *t, size_t len, size_t from, uint32_t mask)
{
    kt_match m[256];
    int tr = 0;
    size_t n = kt_detect_ctx(t, len, from, mask, m, 256, &tr);
    size_t prev = from;
    for (size_t k = 0; k < n; k++) {
        if (m[k].start < prev || m[k].end <= m[k].start || m[k].end > len) abort();
        if (!(mask & KT_ENT_BIT(m[k].ent))) abort();
        prev = m[k].end;
    }
    kt_match p[256];
    int tp = 0;
    if (kt__detect_plain(t, len, from, mask, p, 256, &tp) != n || tp != tr) abort();
    for (size_t k = 0; k < n; k++)
        if (p[k].start != m[k].start || p[k].end != m[k].end || p[k].ent != m[k].ent) abort();
    size_t sp = kt_detect_stable_prefix_ctx(t, len, from, mask);
    if (sp != kt__stable_prefix_plain(t, len, from, mask)) abort();
    if (sp > len || sp < KT_MIN(from, len) || len - sp > kt_detect_max_holdback(mask)) abort();
    for (size_t k = 0; k < n; k++)
        if (m[k].start < sp && m[k].end > sp) abort();
}

/* Redacts t[a..b) into o by replacing each match with its entity number in one byte. */
static size_t kt_fz_emit(char *o, size_t on, const char *t, size_t a, size_t b, const kt_match *m, size_t nm)
{
    for (size_t k = 0; k < nm; k++) {
        if (m[k].end <= a || m[k].start >= b) continue;
        if (m[k].start < a || m[k].end > b) abort();
        memcpy(o + on, t + a, m[k].start - a);
        on += m[k].start - a;
        o[on++] = (char)(0x80 | m[k].ent);
        a = m[k].end;
    }
    memcpy(o + on, t + a, b - a);
    return on + (b - a);
}

static void kt_fz_stream(const char *t, size_t len, uint32_t mask, unsigned chunk_seed)
{
    static char whole[KT_FZ_MAX + 8], out[KT_FZ_MAX + 8], hold[KT_FZ_MAX + 8];
    static kt_match m[KT_FZ_MAX];
    size_t nm = kt_detect(t, len, mask, m, KT_FZ_MAX, NULL);
    size_t wn = kt_fz_emit(whole, 0, t, 0, len, m, nm);
    size_t on = 0, hl = 0, ctx = 0, off = 0;
    unsigned s = chunk_seed | 1;
    while (off < len) {
        s = s * 1103515245u + 12345u;
        size_t c = 1 + (s >> 16) % 7;
        if (c > len - off) c = len - off;
        memcpy(hold + hl, t + off, c);
        hl += c;
        off += c;
        size_t n = kt_detect_stable_prefix_ctx(hold, hl, ctx, mask);
        size_t k = kt_detect_ctx(hold, hl, ctx, mask, m, KT_FZ_MAX, NULL), keep = 0;
        while (keep < k && m[keep].end <= n) keep++;
        if (keep < k && m[keep].start < n) abort();
        on = kt_fz_emit(out, on, hold, ctx, n, m, keep);
        size_t kk = KT_MIN(n, (size_t)KT_DETECT_CONTEXT);
        memmove(hold, hold + (n - kk), hl - (n - kk));
        hl -= n - kk;
        ctx = kk;
    }
    nm = kt_detect_ctx(hold, hl, ctx, mask, m, KT_FZ_MAX, NULL);
    on = kt_fz_emit(out, on, hold, ctx, hl, m, nm);
    if (on != wn || memcmp(out, whole, wn) != 0) abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 2 || size > KT_FZ_MAX + 2) return 0;
    uint32_t mask = data[0] & 1 ? KT_DETECT_ALL_MASK : ((uint32_t)data[0] << 4 | data[1]) & KT_DETECT_ENT_MASK;
    /* Phone regions: all (no bit), none (REGIONS_SET alone) or a subset picked by the bytes. */
    if (data[0] & 2) mask |= KT_DETECT_REGIONS_SET | (((uint32_t)data[1] * 0x9e3779b1u) & KT_DETECT_REGIONS_ALL);
    unsigned seed = data[1];
    const char *t = (const char *)data + 2;
    size_t len = size - 2;
    kt_fz_check(t, len, 0, mask);
    kt_fz_check(t, len, len ? seed % (len + 1) : 0, mask);
    for (size_t cut = 0; cut <= len; cut += 1 + len / 8) kt_fz_check(t, cut, 0, mask);
    kt_fz_stream(t, len, mask, seed);
    return 0;
}
