/* Fuzzes the bounded decoders (hex, base32, ROT13, quoted-printable, URL-encoding, tag characters,
 * variation selectors), the learned scorer and the co-occurrence rules. Invariants: no decoder
 * writes more than its cap or reads past its input (ASan), the ones that map a unit to a byte
 * produce at most as many bytes as they read, ROT13 twice is the identity; the learned scores
 * are probabilities with their window inside the text, and the learned verdict (kt_safety_learned,
 * logit bounds) is theirs against the cutoffs, window starts included, kt_safety_extra's one pass
 * gives what the separate scans give; every combination match lies in bounds
 * and names an enabled category or a known family. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/scan/cooc.h"
#include "../../src/scan/decode.h"
#include "../../src/scan/linscore.h"
#include "kt/injection.h"
#include "kt/safety.h"

static kt_safety *kt__s;
static kt_injection *kt__d;

static void check_cap(size_t (*dec)(const char *, size_t, char *, size_t), const char *t,
                      size_t len, char *out, size_t cap)
{
    size_t n = dec(t, len, out, cap);
    if (n > cap || n > len) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!kt__s) {
        kt__s = malloc(sizeof *kt__s);
        kt__d = malloc(sizeof *kt__d);
        if (!kt__s || !kt__d || kt_safety_init(kt__s, KT_SAFETY_ALL_MASK, 0, 0) ||
            kt_injection_init(kt__d, NULL))
            abort();
    }
    if (size < 1 || size > 8192) return 0;
    size_t cap = data[0] % 64 + 1;
    const char *t = (const char *)data + 1;
    size_t len = size - 1;
    char *out = malloc(cap), *big = malloc(len + 1), *back = malloc(len + 1);
    if (!out || !big || !back) abort();
    check_cap(kt__dec_hex, t, len, out, cap);
    check_cap(kt__dec_base32, t, len, out, cap);
    check_cap(kt__dec_rot13, t, len, out, cap);
    check_cap(kt__dec_qp, t, len, out, cap);
    check_cap(kt__dec_url, t, len, out, cap);
    check_cap(kt__dec_tags, t, len, out, cap);
    check_cap(kt__dec_vsel, t, len, out, cap);
    if (kt__dec_rot13(t, len, big, len + 1) != len) abort();
    if (kt__dec_rot13(big, len, back, len + 1) != len || memcmp(back, t, len)) abort();
    if (kt__count_escapes(t, len, '%', 5) > 5 || kt__count_escapes(t, len, '=', 5) > 5) abort();
    (void)kt__rot13_suspect(t, len);

    kt_safety_scores sc;
    kt_safety_score(kt__s, t, len, &sc);
    for (int k = 0; k < KT_SAFETY__COUNT; k++)
        if (!(sc.p[k] >= 0.0f && sc.p[k] <= 1.0f) || sc.start[k] > sc.end[k] || sc.end[k] > len)
            abort();
    size_t ls[KT_SAFETY__COUNT];
    uint32_t lm = kt_safety_learned(kt__s, t, len, ls);
    for (int k = 0; k < KT_SAFETY__COUNT; k++) {
        int over = sc.p[k] >= kt__s->cutoff[k];
        if (over != !!(lm & KT_SAFETY_BIT(k)) || (over && ls[k] != sc.start[k])) abort();
    }
    kt_safety_hit h[16];
    size_t nh = kt_safety_combos(kt__s, t, len, h, 16);
    if (nh > 16) abort();
    for (size_t i = 0; i < nh; i++)
        if (h[i].start >= h[i].end || h[i].end > len || h[i].category < 0 ||
            h[i].category >= KT_SAFETY__COUNT)
            abort();
    /* the one-pass form gives what the two scans give */
    kt_safety_hit h2[16];
    size_t nh2, ls2[KT_SAFETY__COUNT];
    uint32_t lm2 = kt_safety_extra(kt__s, t, len, 1, h2, 16, &nh2, ls2);
    if (lm2 != lm || nh2 != nh || memcmp(h2, h, nh * sizeof h[0])) abort();
    for (int k = 0; k < KT_SAFETY__COUNT; k++)
        if ((lm & KT_SAFETY_BIT(k)) && ls2[k] != ls[k]) abort();
    kt_injection_assessment a;
    if (kt_injection_assess(kt__d, t, len, &a)) abort();
    if (!(a.p >= 0.0f && a.p <= 1.0f) || a.start > a.end || a.end > len) abort();
    if (a.combo >= 0 && (!kt_injection_combo_name(a.combo) || a.combo_start >= a.combo_end ||
                         a.combo_end > len))
        abort();
    if (a.view_rule >= 0 && (!kt_injection_rule_name(a.view_rule) || a.view_start > len)) abort();
    free(out);
    free(big);
    free(back);
    return 0;
}
