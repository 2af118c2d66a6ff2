/* The x86-64 kernels of AES-GCM (kt/aesgcm.h): AES-NI for the block cipher, PCLMULQDQ for
 * GHASH. Compiled with target attributes; aesgcm.c calls them only when kt_aesgcm_available()
 * says the CPU has the instructions. Empty on other targets.
 *
 * AES-128 and AES-256 differ only in the key schedule and the round count (10 or 14). Every
 * kernel takes the round count nr as a parameter and is always inlined; each entry point looks
 * at the key's round count once and calls the kernel with the constant 10 or 14, so the compiler
 * makes two copies with the rounds fully unrolled and AES-128 runs exactly the code it would
 * without AES-256.
 *
 * AES-CTR encrypts eight counter blocks side by side (the aesenc latency hides behind the other
 * seven), a short tail four or eight at once. GHASH (SP 800-38D §6.4) folds eight blocks into one
 * reduction: Y' = (Y ^ X1)·H^8 ^ X2·H^7 ^ ... ^ X8·H, with H^1..H^8 made once by
 * kt__aesgcm_x86_init. The multiplications of one chunk are interleaved with the AES rounds of
 * another so both units work at once: sealing hashes chunk c-1 while encrypting chunk c; opening
 * a record of up to KT__AG_KS_MAX bytes hashes chunk c while making chunk c's keystream, which is
 * XORed in only once the tag has matched.
 *
 * The field representation: GCM puts the x^0 coefficient in the top bit of a block's first byte.
 * Loaded byte-reversed (bswap128), a block becomes an integer whose bit 127-i holds x^i. Read as
 * a polynomial in y = 1/x, that integer is y^127·A, A taken modulo the reflected polynomial
 * P'(y) = y^128 + y^127 + y^126 + y^121 + 1; a carry-less product then needs no bit shifts. The
 * stored powers are y^128·H^i (byte-reversed H^i shifted left one bit, P' folded back in), so a
 * Montgomery reduction (dividing the 256-bit product by y^128: two folds of 64 bits with the
 * constant 0xc2 << 56 = (y^127 + y^126 + y^121) / y^64) brings (y^127·X)·(y^128·H^i) back to
 * y^127·X·H^i, the form X came in. Products are Karatsuba (three multiplications) with each
 * power's two halves XORed in advance (hkar). */
#include <string.h>

#include "aesgcm_priv.h"

#if KT__AG_X86
#include <immintrin.h>

#define KT__AG __attribute__((target("aes,pclmul,ssse3,sse4.1")))
#define KT__AG_INLINE                                                                              \
    static inline __attribute__((target("aes,pclmul,ssse3,sse4.1"), always_inline))
/* Loops over the blocks of a batch and the rounds are unrolled so the blocks stay in registers. */
#define KT__PRAGMA(x) _Pragma(#x)
#define KT__UNROLL(n) KT__PRAGMA(GCC unroll n)

KT__AG_INLINE __m128i ld(const uint8_t *p)
{
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

KT__AG_INLINE void st(uint8_t *p, __m128i v) { _mm_storeu_si128((__m128i *)(void *)p, v); }

KT__AG_INLINE __m128i bswap128(__m128i x)
{
    return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

KT__AG_INLINE __m128i swap64(__m128i x) { return _mm_shuffle_epi32(x, 0x4e); }

/* ---- partial blocks: 1..15 bytes moved in 8/4/2/1-byte pieces through general registers, so
 * nothing is read or written past the buffer and no plaintext or keystream lands on the stack */

/* r (0..7) bytes at p as the low bytes of a little-endian word, the rest zero. */
KT__AG_INLINE uint64_t ld_upto7(const uint8_t *p, size_t r)
{
    uint64_t w = 0;
    size_t o = 0;
    if (r & 4) {
        uint32_t t;
        memcpy(&t, p, 4);
        w = t;
        o = 4;
    }
    if (r & 2) {
        uint16_t t;
        memcpy(&t, p + o, 2);
        w |= (uint64_t)t << (8 * o);
        o += 2;
    }
    if (r & 1) w |= (uint64_t)p[o] << (8 * o);
    return w;
}

KT__AG_INLINE void st_upto7(uint8_t *p, uint64_t w, size_t r)
{
    if (r & 4) {
        uint32_t t = (uint32_t)w;
        memcpy(p, &t, 4);
        p += 4;
        w >>= 32;
    }
    if (r & 2) {
        uint16_t t = (uint16_t)w;
        memcpy(p, &t, 2);
        p += 2;
        w >>= 16;
    }
    if (r & 1) *p = (uint8_t)w;
}

/* The r (1..15) bytes at p, zero-padded to a block. */
KT__AG_INLINE __m128i ld_partial(const uint8_t *p, size_t r)
{
    uint64_t lo, hi = 0;
    if (r & 8) {
        memcpy(&lo, p, 8);
        hi = ld_upto7(p + 8, r & 7);
    } else {
        lo = ld_upto7(p, r & 7);
    }
    return _mm_set_epi64x((long long)hi, (long long)lo);
}

/* The first r (1..15) bytes of v to p. */
KT__AG_INLINE void st_partial(uint8_t *p, __m128i v, size_t r)
{
    uint64_t lo = (uint64_t)_mm_cvtsi128_si64(v), hi = (uint64_t)_mm_extract_epi64(v, 1);
    if (r & 8) {
        memcpy(p, &lo, 8);
        st_upto7(p + 8, hi, r & 7);
    } else {
        st_upto7(p, lo, r & 7);
    }
}

/* ---- AES-128 and AES-256 (FIPS 197) ---------------------------------------------------------- */

/* The round key Nk words after round key a (Nk = 4 for AES-128, 8 for AES-256), given t, temp of
 * §5.2 in all four lanes: words w[i] = w[i-Nk] ^ temp, w[i+1] = w[i+1-Nk] ^ w[i], ..., the running
 * XOR done by three shifted copies. */
KT__AG_INLINE __m128i kexp(__m128i a, __m128i t)
{
    a = _mm_xor_si128(a, _mm_slli_si128(a, 4));
    a = _mm_xor_si128(a, _mm_slli_si128(a, 4));
    a = _mm_xor_si128(a, _mm_slli_si128(a, 4));
    return _mm_xor_si128(a, t);
}

/* The round key after b, from a, the one Nk words back (b itself for AES-128), and temp made from
 * b's last word: through RotWord, SubWord and Rcon (aeskeygenassist's word 3) or, for AES-256's
 * odd round keys (i mod Nk = 4), through SubWord alone (its word 2). */
#define KT__KEXP_ROT(a, b, rcon)                                                                   \
    kexp(a, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(b, rcon), 0xff))
#define KT__KEXP_SUB(a, b) kexp(a, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(b, 0), 0xaa))

/* The 11 round keys of AES-128 into rk. */
KT__AG_INLINE void expand128(__m128i *rk, const uint8_t key[16])
{
    __m128i t = ld(key);
    rk[0] = t;
    rk[1] = t = KT__KEXP_ROT(t, t, 0x01);
    rk[2] = t = KT__KEXP_ROT(t, t, 0x02);
    rk[3] = t = KT__KEXP_ROT(t, t, 0x04);
    rk[4] = t = KT__KEXP_ROT(t, t, 0x08);
    rk[5] = t = KT__KEXP_ROT(t, t, 0x10);
    rk[6] = t = KT__KEXP_ROT(t, t, 0x20);
    rk[7] = t = KT__KEXP_ROT(t, t, 0x40);
    rk[8] = t = KT__KEXP_ROT(t, t, 0x80);
    rk[9] = t = KT__KEXP_ROT(t, t, 0x1b);
    rk[10] = KT__KEXP_ROT(t, t, 0x36);
}

/* The 15 round keys of AES-256 into rk: the key's two halves, then pairs made from the pair
 * before, the first of each with the next Rcon. */
KT__AG_INLINE void expand256(__m128i *rk, const uint8_t key[32])
{
    __m128i a = ld(key), b = ld(key + 16);
    rk[0] = a;
    rk[1] = b;
    rk[2] = a = KT__KEXP_ROT(a, b, 0x01);
    rk[3] = b = KT__KEXP_SUB(b, a);
    rk[4] = a = KT__KEXP_ROT(a, b, 0x02);
    rk[5] = b = KT__KEXP_SUB(b, a);
    rk[6] = a = KT__KEXP_ROT(a, b, 0x04);
    rk[7] = b = KT__KEXP_SUB(b, a);
    rk[8] = a = KT__KEXP_ROT(a, b, 0x08);
    rk[9] = b = KT__KEXP_SUB(b, a);
    rk[10] = a = KT__KEXP_ROT(a, b, 0x10);
    rk[11] = b = KT__KEXP_SUB(b, a);
    rk[12] = a = KT__KEXP_ROT(a, b, 0x20);
    rk[13] = b = KT__KEXP_SUB(b, a);
    rk[14] = KT__KEXP_ROT(a, b, 0x40);
}

/* k, hidden from the optimiser: key material read through it is then loaded where it is used,
 * not hoisted out of a loop into registers that would spill to the stack, leaving copies there. */
KT__AG_INLINE const kt_aesgcm_key *fresh(const kt_aesgcm_key *k)
{
    __asm__("" : "+r"(k));
    return k;
}

/* The round keys live in the key struct (16-byte aligned): read in place, never copied. */
KT__AG_INLINE const __m128i *round_keys(const kt_aesgcm_key *k)
{
    return (const __m128i *)(const void *)k->rk;
}

/* Round key r, loaded where it is used: the optimiser may not keep all 11 or 15 in registers,
 * which would push the blocks being encrypted (keystream) out to the stack. */
KT__AG_INLINE __m128i rkey(const __m128i *rk, int r)
{
    __asm__("" : "+r"(rk));
    return rk[r];
}

/* One block, nr (10 or 14) rounds; nr is a constant wherever this is inlined, as in all the
 * kernels below. */
KT__AG_INLINE __m128i aes1(const __m128i *rk, __m128i b, int nr)
{
    b = _mm_xor_si128(b, rkey(rk, 0));
    KT__UNROLL(13)
    for (int r = 1; r < nr; r++) b = _mm_aesenc_si128(b, rkey(rk, r));
    return _mm_aesenclast_si128(b, rkey(rk, nr));
}

/* One block with k's round count (key setup and the tests, outside the kernels). */
KT__AG_INLINE __m128i aes1_key(const kt_aesgcm_key *k, __m128i b)
{
    return k->rounds == 14 ? aes1(round_keys(k), b, 14) : aes1(round_keys(k), b, 10);
}

/* n blocks side by side, nr rounds (n and nr constants where this is inlined). */
KT__AG_INLINE void aesn(const __m128i *rk, __m128i *b, int n, int nr)
{
    __m128i t = rkey(rk, 0);
    KT__UNROLL(8)
    for (int i = 0; i < n; i++) b[i] = _mm_xor_si128(b[i], t);
    KT__UNROLL(13)
    for (int r = 1; r < nr; r++) {
        t = rkey(rk, r);
        KT__UNROLL(8)
        for (int i = 0; i < n; i++) b[i] = _mm_aesenc_si128(b[i], t);
    }
    t = rkey(rk, nr);
    KT__UNROLL(8)
    for (int i = 0; i < n; i++) b[i] = _mm_aesenclast_si128(b[i], t);
}

/* ---- counter blocks (SP 800-38D §7.1): J0 = nonce || 1, data from inc32(J0) on ---------------- */

/* J0 byte-reversed: its 32-bit counter is then the integer's low lane. */
KT__AG_INLINE __m128i j0_reversed(const uint8_t nonce[12])
{
    uint64_t lo;
    uint32_t hi;
    memcpy(&lo, nonce, 8);
    memcpy(&hi, nonce + 8, 4);
    /* bytes 12..15 = 00 00 00 01, read little-endian */
    return bswap128(_mm_set_epi64x((long long)((uint64_t)1 << 56 | hi), (long long)lo));
}

/* Counter block J0 + i, the 32-bit counter wrapping (inc32). */
KT__AG_INLINE __m128i ctr_block(__m128i j0r, uint32_t i)
{
    return bswap128(_mm_add_epi32(j0r, _mm_cvtsi32_si128((int)i)));
}

/* ---- GHASH ----------------------------------------------------------------------------------- */

/* An unreduced sum of products: 256 bits as lo + hi·y^128, and Karatsuba's middle terms. */
typedef struct kt__gh {
    __m128i lo, hi, mid;
} kt__gh;

KT__AG_INLINE const __m128i *hpow(const kt_aesgcm_key *k, int i)   /* y^128·H^i, i = 1..8 */
{
    return (const __m128i *)(const void *)(k->hpow + 16 * (i - 1));
}

/* a += x·H^i (x byte-reversed). */
KT__AG_INLINE void gh_acc(kt__gh *a, const kt_aesgcm_key *k, __m128i x, int i)
{
    __m128i h = *hpow(k, i);
    __m128i hk = _mm_loadl_epi64((const __m128i *)(const void *)(k->hkar + 8 * (i - 1)));
    a->lo = _mm_xor_si128(a->lo, _mm_clmulepi64_si128(x, h, 0x00));
    a->hi = _mm_xor_si128(a->hi, _mm_clmulepi64_si128(x, h, 0x11));
    a->mid = _mm_xor_si128(a->mid, _mm_clmulepi64_si128(_mm_xor_si128(x, swap64(x)), hk, 0x00));
}

/* lo + hi·y^128 divided by y^128 modulo P' (Montgomery): two folds of the low 64 bits. */
KT__AG_INLINE __m128i gh_reduce(__m128i lo, __m128i hi)
{
    const __m128i c = _mm_set_epi64x(0, (long long)0xc200000000000000ull);
    __m128i x = _mm_xor_si128(swap64(lo), _mm_clmulepi64_si128(lo, c, 0x00));
    x = _mm_xor_si128(swap64(x), _mm_clmulepi64_si128(x, c, 0x00));
    return _mm_xor_si128(hi, x);
}

/* The reduced sum: Karatsuba's middle (a0^a1)(b0^b1) ^ lo ^ hi added in at y^64 first. */
KT__AG_INLINE __m128i gh_finish(kt__gh a)
{
    __m128i mid = _mm_xor_si128(a.mid, _mm_xor_si128(a.lo, a.hi));
    return gh_reduce(_mm_xor_si128(a.lo, _mm_slli_si128(mid, 8)),
                     _mm_xor_si128(a.hi, _mm_srli_si128(mid, 8)));
}

/* y after absorbing the n (1..8) byte-reversed blocks x: (y ^ x0)·H^n ^ x1·H^(n-1) ^ ... */
KT__AG_INLINE __m128i gh_blocks(__m128i y, const kt_aesgcm_key *k, const __m128i *x, size_t n)
{
    kt__gh a = { _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128() };
    k = fresh(k);
    gh_acc(&a, k, _mm_xor_si128(y, x[0]), (int)n);
    KT__UNROLL(7)
    for (size_t j = 1; j < n; j++) gh_acc(&a, k, x[j], (int)(n - j));
    return gh_finish(a);
}

/* x = the len (1..127) bytes at p as byte-reversed blocks, the last one zero-padded; returns how
 * many (1..8). Only public bytes (AAD, ciphertext) come through here. */
KT__AG_INLINE size_t load_tail(const uint8_t *p, size_t len, __m128i x[8])
{
    size_t n = len / 16;
    for (size_t j = 0; j < n; j++) x[j] = bswap128(ld(p + 16 * j));
    if (len % 16) {
        x[n] = bswap128(ld_partial(p + 16 * n, len % 16));
        n++;
    }
    return n;
}

/* y after absorbing len bytes at p, zero-padded to whole blocks (the AAD). */
KT__AG_INLINE __m128i gh_bytes(__m128i y, const kt_aesgcm_key *k, const uint8_t *p, size_t len)
{
    __m128i x[8];
    for (; len >= 128; len -= 128, p += 128) {
        KT__UNROLL(8)
        for (int j = 0; j < 8; j++) x[j] = bswap128(ld(p + 16 * j));
        y = gh_blocks(y, k, x, 8);
    }
    if (len) y = gh_blocks(y, k, x, load_tail(p, len, x));
    return y;
}

/* The lengths block len(A) || len(C) in bits (64 bits each), byte-reversed. */
KT__AG_INLINE __m128i lengths_block(size_t aad_len, size_t len)
{
    return _mm_set_epi64x((long long)((uint64_t)aad_len * 8), (long long)((uint64_t)len * 8));
}

/* y after absorbing the last `rem` (0..127) ciphertext bytes at p, padded, and the lengths block,
 * in one reduction unless that makes nine blocks. */
KT__AG_INLINE __m128i gh_last(__m128i y, const kt_aesgcm_key *k, const uint8_t *p, size_t rem,
                              __m128i lens)
{
    __m128i x[9];
    size_t n = rem ? load_tail(p, rem, x) : 0;
    x[n++] = lens;
    y = gh_blocks(y, k, x, n < 8 ? n : 8);
    return n > 8 ? gh_blocks(y, k, x + 8, 1) : y;
}

/* GHASH over aad and ct (both padded) and the lengths block, byte-reversed. */
KT__AG_INLINE __m128i gh_all(const kt_aesgcm_key *k, const uint8_t *aad, size_t aad_len,
                             const uint8_t *ct, size_t len)
{
    __m128i y = gh_bytes(_mm_setzero_si128(), k, aad, aad_len), x[8];
    size_t rem = len;
    for (; rem >= 128; rem -= 128, ct += 128) {
        KT__UNROLL(8)
        for (int j = 0; j < 8; j++) x[j] = bswap128(ld(ct + 16 * j));
        y = gh_blocks(y, k, x, 8);
    }
    return gh_last(y, k, ct, rem, lengths_block(aad_len, len));
}

/* ---- CTR ------------------------------------------------------------------------------------- */

/* out = in ^ keystream for the last len (1..127) bytes, counter blocks J0 + ctr + 1 on: four or
 * eight blocks in one pass. Unrolled so the keystream stays in registers. */
KT__AG_INLINE void ctr_tail(const __m128i *rk, __m128i j0r, uint32_t ctr, const uint8_t *in,
                            size_t len, uint8_t *out, int nr)
{
    __m128i ks[8];
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) ks[j] = ctr_block(j0r, ctr + 1 + (uint32_t)j);
    if (len <= 64) aesn(rk, ks, 4, nr);
    else aesn(rk, ks, 8, nr);
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) {
        size_t o = 16 * (size_t)j;
        if (len >= o + 16) st(out + o, _mm_xor_si128(ks[j], ld(in + o)));
        else if (len > o)
            st_partial(out + o, _mm_xor_si128(ks[j], ld_partial(in + o, len - o)), len - o);
    }
}

/* The keystream for the last len (1..127) bytes, counter blocks J0 + ctr + 1 on, into ks in
 * whole blocks (four or eight); returns how many bytes that is. */
KT__AG_INLINE size_t ks_tail(const __m128i *rk, __m128i j0r, uint32_t ctr, size_t len, uint8_t *ks,
                             int nr)
{
    __m128i b[8];
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) b[j] = ctr_block(j0r, ctr + 1 + (uint32_t)j);
    if (len <= 64) {
        aesn(rk, b, 4, nr);
        KT__UNROLL(4)
        for (int j = 0; j < 4; j++) st(ks + 16 * j, b[j]);
        return 64;
    }
    aesn(rk, b, 8, nr);
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) st(ks + 16 * j, b[j]);
    return 128;
}

/* The keystream of 8 blocks (counter blocks J0 + ctr + 1 ..) into b, nr rounds; when g is not
 * NULL, also returns y after the 8 blocks at g, the multiplications interleaved with the first
 * eight AES rounds so that the AES units and the carry-less multiplier work side by side (g NULL:
 * returns y as it is). */
KT__AG_INLINE __m128i ks8_gh8(const kt_aesgcm_key *k, __m128i j0r, uint32_t ctr, const uint8_t *g,
                              __m128i y, __m128i b[8], int nr)
{
    kt__gh a = { _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128() };
    k = fresh(k);
    const __m128i *rk = round_keys(k);
    __m128i t = rkey(rk, 0);
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) b[j] = _mm_xor_si128(ctr_block(j0r, ctr + 1 + (uint32_t)j), t);
    KT__UNROLL(13)
    for (int r = 1; r < nr; r++) {
        t = rkey(rk, r);
        KT__UNROLL(8)
        for (int j = 0; j < 8; j++) b[j] = _mm_aesenc_si128(b[j], t);
        if (g && r <= 8) {   /* block r-1 at g times H^(9-r) */
            __m128i x = bswap128(ld(g + 16 * (r - 1)));
            gh_acc(&a, k, r == 1 ? _mm_xor_si128(x, y) : x, 9 - r);
        }
    }
    t = rkey(rk, nr);
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) b[j] = _mm_aesenclast_si128(b[j], t);
    return g ? gh_finish(a) : y;
}

/* out = in ^ b for 8 blocks. */
KT__AG_INLINE void xor8(const uint8_t *in, uint8_t *out, const __m128i b[8])
{
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) st(out + 16 * j, _mm_xor_si128(b[j], ld(in + 16 * j)));
}

/* Seals nchunks (>= 1) whole 128-byte chunks and returns y after their ciphertext: the AES of
 * chunk c runs alongside the GHASH of chunk c-1, read back from out (so in place works). */
KT__AG_INLINE __m128i seal_chunks(const kt_aesgcm_key *k, __m128i j0r, __m128i y,
                                  const uint8_t *in, uint8_t *out, size_t nchunks, int nr)
{
    __m128i b[8];
    ks8_gh8(k, j0r, 0, NULL, y, b, nr);
    xor8(in, out, b);
    for (size_t c = 1; c < nchunks; c++) {
        y = ks8_gh8(k, j0r, (uint32_t)(8 * c), out + 128 * (c - 1), y, b, nr);
        xor8(in + 128 * c, out + 128 * c, b);
    }
    const uint8_t *last = out + 128 * (nchunks - 1);
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) b[j] = bswap128(ld(last + 16 * j));
    return gh_blocks(y, k, b, 8);
}

/* ---- the kernels, for nr rounds -------------------------------------------------------------- */

KT__AG_INLINE void seal_nr(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
                           size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                           uint8_t tag[16], int nr)
{
    __m128i j0r = j0_reversed(nonce);
    __m128i y = gh_bytes(_mm_setzero_si128(), k, aad, aad_len);
    size_t chunks = len / 128, rem = len % 128;
    if (chunks) {
        y = seal_chunks(k, j0r, y, in, out, chunks, nr);
        in += 128 * chunks;
        out += 128 * chunks;
    }
    /* J0 + 8·chunks was the last counter block used */
    if (rem) ctr_tail(round_keys(k), j0r, (uint32_t)(8 * chunks), in, rem, out, nr);
    y = gh_last(y, k, out, rem, lengths_block(aad_len, len));
    st(tag, _mm_xor_si128(bswap128(y), aes1(round_keys(k), bswap128(j0r), nr)));
}

KT__AG_INLINE size_t tag_nr(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
                            size_t aad_len, const uint8_t *ct, size_t len, uint8_t tag[16],
                            uint8_t *ks, int nr)
{
    __m128i j0r = j0_reversed(nonce), y;
    size_t made = 0;
    if (ks) {
        size_t chunks = len / 128, rem = len % 128;
        y = gh_bytes(_mm_setzero_si128(), k, aad, aad_len);
        for (size_t c = 0; c < chunks; c++, made += 128) {
            __m128i b[8];
            y = ks8_gh8(k, j0r, (uint32_t)(8 * c), ct + made, y, b, nr);
            KT__UNROLL(8)
            for (int j = 0; j < 8; j++) st(ks + made + 16 * j, b[j]);
        }
        if (rem) made += ks_tail(round_keys(k), j0r, (uint32_t)(8 * chunks), rem, ks + made, nr);
        y = gh_last(y, k, chunks ? ct + 128 * chunks : ct, rem, lengths_block(aad_len, len));
    } else {
        y = gh_all(k, aad, aad_len, ct, len);
    }
    st(tag, _mm_xor_si128(bswap128(y), aes1(round_keys(k), bswap128(j0r), nr)));
    return made;
}

KT__AG_INLINE void ctr_nr(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *in,
                          size_t len, uint8_t *out, int nr)
{
    __m128i j0r = j0_reversed(nonce), b[8];
    uint32_t ctr = 0;   /* J0 + ctr was the last counter block used */
    for (; len >= 128; len -= 128, in += 128, out += 128, ctr += 8) {
        ks8_gh8(k, j0r, ctr, NULL, j0r, b, nr);
        xor8(in, out, b);
    }
    if (len) ctr_tail(round_keys(k), j0r, ctr, in, len, out, nr);
}

/* ---- entry points: each picks the copy for the key's round count, once per call -------------- */

KT__AG void kt__aesgcm_x86_init(kt_aesgcm_key *k, const uint8_t *key, size_t key_len)
{
    __m128i *rk = (__m128i *)(void *)k->rk, *hp = (__m128i *)(void *)k->hpow;
    if (key_len == KT_AESGCM_KEY256) {
        expand256(rk, key);
        k->rounds = 14;
    } else {
        expand128(rk, key);
        for (int i = 11; i < 15; i++) rk[i] = _mm_setzero_si128();   /* unused */
        k->rounds = 10;
    }
    /* H = E(K, 0^128); y·H, reduced: a 128-bit shift left by one, P' folded in if a bit fell out */
    __m128i h = bswap128(aes1_key(k, _mm_setzero_si128()));
    __m128i carry = _mm_srli_epi64(h, 63);
    __m128i top = _mm_shuffle_epi32(_mm_srai_epi32(h, 31), 0xff);   /* all ones if bit 127 */
    h = _mm_or_si128(_mm_slli_epi64(h, 1), _mm_slli_si128(carry, 8));
    h = _mm_xor_si128(h, _mm_and_si128(top, _mm_set_epi64x((long long)0xc200000000000000ull, 1)));
    /* hkar must hold H^1 before gh_acc can multiply by it */
    hp[0] = h;
    _mm_storel_epi64((__m128i *)(void *)k->hkar, _mm_xor_si128(h, swap64(h)));
    for (int i = 1; i < 8; i++) {
        kt__gh a = { _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128() };
        gh_acc(&a, k, hp[i - 1], 1);
        hp[i] = gh_finish(a);
        _mm_storel_epi64((__m128i *)(void *)(k->hkar + 8 * i), _mm_xor_si128(hp[i], swap64(hp[i])));
    }
}

KT__AG void kt__aesgcm_x86_xor(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t len)
{
    size_t i = 0;
    for (; i + 16 <= len; i += 16) st(out + i, _mm_xor_si128(ld(in + i), ld(ks + i)));
    if (i < len)
        st_partial(out + i, _mm_xor_si128(ld_partial(in + i, len - i), ld(ks + i)), len - i);
}

__attribute__((noinline)) KT__AG void kt__aesgcm_x86_wipe_stack(void)
{
    __m128i pad[KT__AG_KERNEL_STACK / 16];
    KT__UNROLL(48)
    for (size_t i = 0; i < sizeof pad / sizeof *pad; i++) pad[i] = _mm_setzero_si128();
    __asm__ __volatile__("" : : "r"(pad) : "memory");   /* the stores must happen */
}

KT__AG void kt__aes_block(const kt_aesgcm_key *k, const uint8_t in[16], uint8_t out[16])
{
    st(out, aes1_key(k, ld(in)));
}

KT__AG void kt__ghash(const kt_aesgcm_key *k, const uint8_t *aad, size_t aad_len,
                      const uint8_t *c, size_t len, uint8_t out[16])
{
    st(out, bswap128(gh_all(k, aad, aad_len, c, len)));
}

KT__AG void kt__aesgcm_x86_seal(const kt_aesgcm_key *k, const uint8_t nonce[12],
                                const uint8_t *aad, size_t aad_len, const uint8_t *in,
                                size_t len, uint8_t *out, uint8_t tag[16])
{
    if (k->rounds == 14) seal_nr(k, nonce, aad, aad_len, in, len, out, tag, 14);
    else seal_nr(k, nonce, aad, aad_len, in, len, out, tag, 10);
}

KT__AG size_t kt__aesgcm_x86_tag(const kt_aesgcm_key *k, const uint8_t nonce[12],
                                 const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                                 size_t len, uint8_t tag[16], uint8_t *ks)
{
    if (k->rounds == 14) return tag_nr(k, nonce, aad, aad_len, ct, len, tag, ks, 14);
    return tag_nr(k, nonce, aad, aad_len, ct, len, tag, ks, 10);
}

KT__AG void kt__aesgcm_x86_ctr(const kt_aesgcm_key *k, const uint8_t nonce[12],
                               const uint8_t *in, size_t len, uint8_t *out)
{
    if (k->rounds == 14) ctr_nr(k, nonce, in, len, out, 14);
    else ctr_nr(k, nonce, in, len, out, 10);
}

#else
typedef int kt__aesgcm_x86_empty; /* ISO C wants a declaration in every file */
#endif
