/* The x86-64 kernels of AES-128-GCM (kt/aesgcm.h): AES-NI for the block cipher, PCLMULQDQ for
 * GHASH. Compiled with target attributes; aesgcm.c calls them only when kt_aesgcm_available()
 * says the CPU has the instructions. Empty on other targets.
 *
 * AES-CTR encrypts eight counter blocks side by side (the aesenc latency hides behind the other
 * seven), a short tail four or eight at once. GHASH (SP 800-38D §6.4) folds eight blocks into one
 * reduction: Y' = (Y ^ X1)·H^8 ^ X2·H^7 ^ ... ^ X8·H, with H^1..H^8 made once by
 * kt__aesgcm_x86_init.
 *
 * The field representation: GCM puts the x^0 coefficient in the top bit of a block's first byte.
 * Loading a block byte-reversed (bswap128) makes that coefficient the integer's bit 127, x^i bit
 * 127-i. Read as a polynomial in y = 1/x, the integer is y^127·A with A taken modulo
 * P'(y) = y^128 + y^127 + y^126 + y^121 + 1 (the GCM polynomial reflected); multiplication
 * carries over unchanged and a 64x64 carry-less product needs no bit shifts. The stored powers
 * are y^128·H^i ("times x"), so that one Montgomery reduction (dividing the 256-bit product by
 * y^128, two folds of 64 bits with the constant 0xc2 << 56 = (y^127 + y^126 + y^121) / y^64)
 * brings (y^127·X)·(y^128·H^i) back to y^127·X·H^i, the same form X came in. Products are
 * Karatsuba (three multiplications) with each power's halves XORed in advance (hkar). */
#include <string.h>

#include "aesgcm_priv.h"

#if KT__AG_X86
#include <immintrin.h>

#define KT__AG __attribute__((target("aes,pclmul,ssse3,sse4.1")))
#define KT__AG_INLINE static inline __attribute__((target("aes,pclmul,ssse3,sse4.1"), always_inline))
/* Loops over the blocks of a batch and the rounds are unrolled so the blocks stay in registers. */
#define KT__PRAGMA(x) _Pragma(#x)
#define KT__UNROLL(n) KT__PRAGMA(GCC unroll n)

KT__AG_INLINE __m128i ld(const uint8_t *p) { return _mm_loadu_si128((const __m128i *)(const void *)p); }

KT__AG_INLINE void st(uint8_t *p, __m128i v) { _mm_storeu_si128((__m128i *)(void *)p, v); }

KT__AG_INLINE __m128i bswap128(__m128i x)
{
    return _mm_shuffle_epi8(x, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

KT__AG_INLINE __m128i swap64(__m128i x) { return _mm_shuffle_epi32(x, 0x4e); }

/* ---- AES-128 (FIPS 197) ---------------------------------------------------------------------- */

/* The next round key from k and aeskeygenassist's t: words w[i] = w[i-4] ^ w[i-1] of §5.2, the
 * running XOR done by three shifted copies. */
KT__AG_INLINE __m128i kexp(__m128i k, __m128i t)
{
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    return _mm_xor_si128(k, _mm_shuffle_epi32(t, 0xff));
}

#define KT__KEXP(k, rcon) kexp(k, _mm_aeskeygenassist_si128(k, rcon))

/* The round keys live in the key struct (16-byte aligned): read in place, never copied. */
KT__AG_INLINE const __m128i *round_keys(const kt_aesgcm_key *k)
{
    return (const __m128i *)(const void *)k->rk;
}

KT__AG_INLINE __m128i aes1(const __m128i *rk, __m128i b)
{
    b = _mm_xor_si128(b, rk[0]);
    KT__UNROLL(9)
    for (int r = 1; r < 10; r++) b = _mm_aesenc_si128(b, rk[r]);
    return _mm_aesenclast_si128(b, rk[10]);
}

/* n blocks side by side (n a constant where this is inlined). */
KT__AG_INLINE void aesn(const __m128i *rk, __m128i *b, int n)
{
    KT__UNROLL(8)
    for (int i = 0; i < n; i++) b[i] = _mm_xor_si128(b[i], rk[0]);
    KT__UNROLL(9)
    for (int r = 1; r < 10; r++) {
        KT__UNROLL(8)
        for (int i = 0; i < n; i++) b[i] = _mm_aesenc_si128(b[i], rk[r]);
    }
    KT__UNROLL(8)
    for (int i = 0; i < n; i++) b[i] = _mm_aesenclast_si128(b[i], rk[10]);
}

/* ---- counter blocks (SP 800-38D §7.1): J0 = nonce || 1, data from inc32(J0) on ---------------- */

/* J0 byte-reversed: its 32-bit counter is then the integer's low lane. */
KT__AG_INLINE __m128i j0_reversed(const uint8_t nonce[12])
{
    uint8_t j0[16];
    memcpy(j0, nonce, 12);
    j0[12] = j0[13] = j0[14] = 0;
    j0[15] = 1;
    return bswap128(ld(j0));
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
        uint8_t b[16] = { 0 };
        memcpy(b, p + 16 * n, len % 16);
        x[n++] = bswap128(ld(b));
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
 * eight blocks in one pass, the partial block through a stack buffer (no access past in or out).
 * Keystream and buffer are wiped. */
static KT__AG void ctr_tail(const __m128i *rk, __m128i j0r, uint32_t ctr, const uint8_t *in,
                            size_t len, uint8_t *out)
{
    __m128i ks[8];
    uint8_t b[16];
    size_t n = len / 16;
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) ks[j] = ctr_block(j0r, ctr + 1 + (uint32_t)j);
    if (len <= 64) aesn(rk, ks, 4);
    else aesn(rk, ks, 8);
    for (size_t j = 0; j < n; j++) st(out + 16 * j, _mm_xor_si128(ks[j], ld(in + 16 * j)));
    if (len % 16) {
        memcpy(b, in + 16 * n, len % 16);
        st(b, _mm_xor_si128(ks[n], ld(b)));
        memcpy(out + 16 * n, b, len % 16);
    }
    explicit_bzero(ks, sizeof ks);
    explicit_bzero(b, sizeof b);
}

/* Encrypts 8 blocks (counters J0 + ctr + 1 ..) of in into out; when sealing, also returns the
 * ciphertext byte-reversed in x, for GHASH (x NULL: decrypting). */
KT__AG_INLINE void ctr8(const __m128i *rk, __m128i j0r, uint32_t ctr, const uint8_t *in,
                        uint8_t *out, __m128i x[8])
{
    __m128i b[8];
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) b[j] = ctr_block(j0r, ctr + 1 + (uint32_t)j);
    aesn(rk, b, 8);
    KT__UNROLL(8)
    for (int j = 0; j < 8; j++) {
        b[j] = _mm_xor_si128(b[j], ld(in + 16 * j));
        st(out + 16 * j, b[j]);
        if (x) x[j] = bswap128(b[j]);
    }
}

/* ---- entry points ---------------------------------------------------------------------------- */

KT__AG void kt__aesgcm_x86_init(kt_aesgcm_key *k, const uint8_t key[16])
{
    __m128i *rk = (__m128i *)(void *)k->rk, *hp = (__m128i *)(void *)k->hpow;
    __m128i t = ld(key);
    rk[0] = t;
    rk[1] = t = KT__KEXP(t, 0x01);
    rk[2] = t = KT__KEXP(t, 0x02);
    rk[3] = t = KT__KEXP(t, 0x04);
    rk[4] = t = KT__KEXP(t, 0x08);
    rk[5] = t = KT__KEXP(t, 0x10);
    rk[6] = t = KT__KEXP(t, 0x20);
    rk[7] = t = KT__KEXP(t, 0x40);
    rk[8] = t = KT__KEXP(t, 0x80);
    rk[9] = t = KT__KEXP(t, 0x1b);
    rk[10] = KT__KEXP(t, 0x36);
    /* H = E(K, 0^128); y·H, reduced: a 128-bit shift left by one, P' folded in if a bit fell out */
    __m128i h = bswap128(aes1(rk, _mm_setzero_si128()));
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

KT__AG void kt__aes128_block(const kt_aesgcm_key *k, const uint8_t in[16], uint8_t out[16])
{
    st(out, aes1(round_keys(k), ld(in)));
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
    const __m128i *rk = round_keys(k);
    __m128i j0r = j0_reversed(nonce), x[8];
    __m128i y = gh_bytes(_mm_setzero_si128(), k, aad, aad_len);
    uint32_t ctr = 0;   /* J0 + ctr was the last counter block used */
    size_t rem = len;
    for (; rem >= 128; rem -= 128, in += 128, out += 128, ctr += 8) {
        ctr8(rk, j0r, ctr, in, out, x);
        y = gh_blocks(y, k, x, 8);
    }
    if (rem) ctr_tail(rk, j0r, ctr, in, rem, out);
    y = gh_last(y, k, out, rem, lengths_block(aad_len, len));
    st(tag, _mm_xor_si128(bswap128(y), aes1(rk, bswap128(j0r))));
}

KT__AG void kt__aesgcm_x86_tag(const kt_aesgcm_key *k, const uint8_t nonce[12],
                               const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t len,
                               uint8_t tag[16])
{
    __m128i y = gh_all(k, aad, aad_len, ct, len);
    st(tag, _mm_xor_si128(bswap128(y), aes1(round_keys(k), bswap128(j0_reversed(nonce)))));
}

KT__AG void kt__aesgcm_x86_ctr(const kt_aesgcm_key *k, const uint8_t nonce[12],
                               const uint8_t *in, size_t len, uint8_t *out)
{
    const __m128i *rk = round_keys(k);
    __m128i j0r = j0_reversed(nonce);
    uint32_t ctr = 0;
    for (; len >= 128; len -= 128, in += 128, out += 128, ctr += 8)
        ctr8(rk, j0r, ctr, in, out, NULL);
    if (len) ctr_tail(rk, j0r, ctr, in, len, out);
}

#else
typedef int kt__aesgcm_x86_empty; /* ISO C wants a declaration in every file */
#endif
