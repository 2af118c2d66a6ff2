/* One block of the detector's anchor scan, written once over GCC vector extensions and included
 * by detect.c once per width: KT__W bytes (16 with SSE2, 32 with AVX2), function names KT__BLOCK
 * and KT__CLASSIFY, function attributes KT__ATTR, and KT__MOVEMASK(m) giving one bit per byte of
 * a 0/0xff mask. KT__CLASSIFY marks the candidates of a chunk of KT__CHUNK bytes; its loop makes
 * no calls, so the vector constants stay in registers or are used from memory.
 *
 * The result is a superset of the bytes whose handler can act (the handlers re-check all).
 * Besides the anchor byte the block checks a neighbour that every handler of that byte requires:
 * `b` must be followed by `e` to start "Bearer" (either case), `_` must follow `k`, `b` or `h?`
 * to end a key prefix or precede `k`/`K` ("secret_access_key"), `-` must follow `k`, `x?` or
 * `pp` ("xapp-") or precede another `-`, `A` must precede `K`, `S` or `I`, `J` must follow `y`,
 * `.` must follow `ks` ("hooks.slack.com"), and `:` must follow a hex letter or precede another
 * `:`. That
 * keeps common bytes of prose and code from waking a handler. Digits count where a run starts (the
 * scan then asks kt__digit_quiet before it calls a handler).
 *
 * The caller guarantees p[-2] and p[KT__CHUNK] are readable. */

static KT__ATTR inline uint64_t KT__BLOCK(const kt__anchors *a, const unsigned char (*k)[32],
                                          const unsigned char *p, uint64_t *digits)
{
    typedef unsigned char vu __attribute__((vector_size(KT__W), may_alias));
    typedef signed char vs __attribute__((vector_size(KT__W)));
    vu x, xp, xp2, xn, m = {0};
    memcpy(&x, p, KT__W);
    memcpy(&xp, p - 1, KT__W);
    memcpy(&xp2, p - 2, KT__W);
    memcpy(&xn, p + 1, KT__W);
#define KT__KV(r) (*(const vu *)(const void *)k[r]) /* rows are 32-byte aligned */
#define KT__EQ(v, r) ((vu)((v) == KT__KV(r)))
/* bytes in a range: (v + add) < lim, compared as signed bytes */
#define KT__IN(v, add, lim) ((vu)((vs)((v) + KT__KV(add)) < (vs)KT__KV(lim)))
    if (a->at) m |= KT__EQ(x, KT__R_AT);
    if (a->colon)
        m |= KT__EQ(x, KT__R_COLON) &
             (KT__IN(xp | KT__KV(KT__R_CASE), KT__R_HEX_ADD, KT__R_HEX_LIM) |
              KT__EQ(xn, KT__R_COLON));
    if (a->dash)
        m |= KT__EQ(x, KT__R_DASH) &
             (KT__EQ(xn, KT__R_DASH) | KT__EQ(xp, KT__R_K) | KT__EQ(xp2, KT__R_X) |
              (KT__EQ(xp, KT__R_P) & KT__EQ(xp2, KT__R_P)));
    if (a->under)
        m |= KT__EQ(x, KT__R_UNDER) &
             (KT__EQ(xp, KT__R_K) | KT__EQ(xp, KT__R_B) | KT__EQ(xp2, KT__R_H) |
              KT__EQ(xn | KT__KV(KT__R_CASE), KT__R_K));
    if (a->upper_a)
        m |= KT__EQ(x, KT__R_UA) &
             (KT__EQ(xn, KT__R_UK) | KT__EQ(xn, KT__R_US) | KT__EQ(xn, KT__R_UI));
    if (a->bee)
        m |= KT__EQ(x | KT__KV(KT__R_CASE), KT__R_B) & KT__EQ(xn | KT__KV(KT__R_CASE), KT__R_E);
    if (a->jay) m |= KT__EQ(x, KT__R_UJ) & KT__EQ(xp, KT__R_Y);
    if (a->dot) m |= KT__EQ(x, KT__R_DOT) & KT__EQ(xp, KT__R_S) & KT__EQ(xp2, KT__R_K);
    *digits = a->digits ? KT__MOVEMASK(KT__IN(x, KT__R_DIG_ADD, KT__R_DIG_LIM)) : 0;
#undef KT__KV
#undef KT__EQ
#undef KT__IN
    return KT__MOVEMASK(m);
}

/* Marks the chunk p[0..KT__CHUNK): anchor candidates and digit-run starts in bits[], all digits
 * in digits[]. A digit counts as a run start when the byte before it is no digit. */
static KT__ATTR void KT__CLASSIFY(const kt__anchors *a, const unsigned char *p, uint64_t *bits,
                                  uint64_t *digits)
{
    /* The constants are read through a pointer the optimiser cannot see through: otherwise it
     * rebuilds each one inside the loop (two instructions) instead of using it from memory. */
    const unsigned char(*k)[32] = kt__vk;
    __asm__("" : "+r"(k));
    uint64_t carry = kt__digit(p[-1]);
    for (size_t w = 0; w < KT__CHUNK / 64; w++) {
        uint64_t word = 0, dw = 0, d;
        for (size_t j = 0; j < 64; j += KT__W) {
            word |= KT__BLOCK(a, k, p + w * 64 + j, &d) << j;
            dw |= d << j;
        }
        bits[w] = word | (dw & ~((dw << 1) | carry));
        digits[w] = dw;
        carry = dw >> 63;
    }
}
