/* The x86-64 ChaCha20 kernels of the AEAD (kt/chachapoly.h): 8 blocks at a time with AVX2 and 16
 * with AVX-512F, one block per 32-bit lane. Register i holds state word i of all the blocks, so
 * the rounds are the scalar ones on vectors; the 16 result registers are then transposed into
 * consecutive 64-byte blocks. Compiled with target attributes; chachapoly.c calls a kernel only
 * when __builtin_cpu_supports says the CPU has its instructions. Empty on other targets. */
#include "chachapoly_priv.h"

#if KT__CC_X86
#include <immintrin.h>

/* ---- AVX2: 8 blocks; rotations by 16 and 8 are byte shuffles, by 12 and 7 two shifts -------- */

#define KT__AVX2 __attribute__((target("avx2")))
#define KT__AVX2_INLINE static inline __attribute__((target("avx2"), always_inline))

KT__AVX2_INLINE __m256i rotl16(__m256i x)
{
    const __m256i m = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
                                       2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    return _mm256_shuffle_epi8(x, m);
}

KT__AVX2_INLINE __m256i rotl8(__m256i x)
{
    const __m256i m = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14,
                                       3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
    return _mm256_shuffle_epi8(x, m);
}

#define KT__ROTL(x, b) _mm256_or_si256(_mm256_slli_epi32(x, b), _mm256_srli_epi32(x, 32 - (b)))

#define KT__VQR(a, b, c, d)                                                                        \
    do {                                                                                           \
        a = _mm256_add_epi32(a, b); d = rotl16(_mm256_xor_si256(d, a));                            \
        c = _mm256_add_epi32(c, d); b = KT__ROTL(_mm256_xor_si256(b, c), 12);                      \
        a = _mm256_add_epi32(a, b); d = rotl8(_mm256_xor_si256(d, a));                             \
        c = _mm256_add_epi32(c, d); b = KT__ROTL(_mm256_xor_si256(b, c), 7);                       \
    } while (0)

/* x[i] = word i of the 8 output blocks for counters ctr .. ctr+7 (rounds plus input). */
KT__AVX2_INLINE void blocks8(const uint32_t st[16], uint32_t ctr, __m256i x[16])
{
    for (int i = 0; i < 16; i++) x[i] = _mm256_set1_epi32((int)st[i]);
    x[12] = _mm256_add_epi32(_mm256_set1_epi32((int)ctr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i c12 = x[12];
    for (int i = 0; i < 10; i++) KT__CHACHA_DOUBLE_ROUND(KT__VQR, x);
    for (int i = 0; i < 16; i++)
        x[i] = _mm256_add_epi32(x[i], i == 12 ? c12 : _mm256_set1_epi32((int)st[i]));
}

/* a[i] = word i of blocks 0..7 in, o[j] = those 8 words of block j out. */
KT__AVX2_INLINE void transpose8(const __m256i a[8], __m256i o[8])
{
    __m256i t0 = _mm256_unpacklo_epi32(a[0], a[1]), t1 = _mm256_unpackhi_epi32(a[0], a[1]);
    __m256i t2 = _mm256_unpacklo_epi32(a[2], a[3]), t3 = _mm256_unpackhi_epi32(a[2], a[3]);
    __m256i t4 = _mm256_unpacklo_epi32(a[4], a[5]), t5 = _mm256_unpackhi_epi32(a[4], a[5]);
    __m256i t6 = _mm256_unpacklo_epi32(a[6], a[7]), t7 = _mm256_unpackhi_epi32(a[6], a[7]);
    /* per 128-bit lane: words 0-3 (u) and 4-7 (v) of blocks j and j+4 */
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i v0 = _mm256_unpacklo_epi64(t4, t6), v1 = _mm256_unpackhi_epi64(t4, t6);
    __m256i v2 = _mm256_unpacklo_epi64(t5, t7), v3 = _mm256_unpackhi_epi64(t5, t7);
    o[0] = _mm256_permute2x128_si256(u0, v0, 0x20);
    o[1] = _mm256_permute2x128_si256(u1, v1, 0x20);
    o[2] = _mm256_permute2x128_si256(u2, v2, 0x20);
    o[3] = _mm256_permute2x128_si256(u3, v3, 0x20);
    o[4] = _mm256_permute2x128_si256(u0, v0, 0x31);
    o[5] = _mm256_permute2x128_si256(u1, v1, 0x31);
    o[6] = _mm256_permute2x128_si256(u2, v2, 0x31);
    o[7] = _mm256_permute2x128_si256(u3, v3, 0x31);
}

/* 512 bytes of keystream for counters ctr.., XORed into in (in NULL: stored as is) at out. */
KT__AVX2_INLINE void chunk8(const uint32_t st[16], uint32_t ctr, const uint8_t *in, uint8_t *out)
{
    __m256i x[16], lo[8], hi[8];
    blocks8(st, ctr, x);
    transpose8(x, lo);
    transpose8(x + 8, hi);
    for (int j = 0; j < 8; j++) {
        __m256i *o = (__m256i *)(void *)(out + 64 * j);
        if (in) {
            const __m256i *p = (const __m256i *)(const void *)(in + 64 * j);
            lo[j] = _mm256_xor_si256(lo[j], _mm256_loadu_si256(p));
            hi[j] = _mm256_xor_si256(hi[j], _mm256_loadu_si256(p + 1));
        }
        _mm256_storeu_si256(o, lo[j]);
        _mm256_storeu_si256(o + 1, hi[j]);
    }
}

KT__AVX2 void kt__chacha20_ks8_avx2(const uint32_t st[16], uint8_t ks[512])
{
    chunk8(st, st[12], NULL, ks);
}

KT__AVX2 void kt__chacha20_xor8_avx2(const uint32_t st[16], const uint8_t *in, uint8_t *out,
                                     size_t nchunks)
{
    for (size_t c = 0; c < nchunks; c++)
        chunk8(st, st[12] + (uint32_t)(8 * c), in + 512 * c, out + 512 * c);
}

/* ---- AVX-512: 16 blocks, one per 32-bit lane of a zmm register; rotations are one instruction */

#define KT__AVX512 __attribute__((target("avx512f")))
#define KT__AVX512_INLINE static inline __attribute__((target("avx512f"), always_inline))

#define KT__ZQR(a, b, c, d)                                                                        \
    do {                                                                                           \
        a = _mm512_add_epi32(a, b); d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 16);              \
        c = _mm512_add_epi32(c, d); b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 12);              \
        a = _mm512_add_epi32(a, b); d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 8);               \
        c = _mm512_add_epi32(c, d); b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 7);               \
    } while (0)

/* x[i] = word i of the 16 output blocks for counters ctr .. ctr+15 (rounds plus input). */
KT__AVX512_INLINE void blocks16(const uint32_t st[16], uint32_t ctr, __m512i x[16])
{
    for (int i = 0; i < 16; i++) x[i] = _mm512_set1_epi32((int)st[i]);
    x[12] = _mm512_add_epi32(_mm512_set1_epi32((int)ctr),
                             _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    const __m512i c12 = x[12];
    for (int i = 0; i < 10; i++) KT__CHACHA_DOUBLE_ROUND(KT__ZQR, x);
    for (int i = 0; i < 16; i++)
        x[i] = _mm512_add_epi32(x[i], i == 12 ? c12 : _mm512_set1_epi32((int)st[i]));
}

/* x[i] = word i of blocks 0..15 in; o[b] = block b out (16 words, 64 bytes). */
KT__AVX512_INLINE void transpose16(const __m512i x[16], __m512i o[16])
{
    __m512i t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(x[2 * i], x[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(x[2 * i], x[2 * i + 1]);
    }
    /* u[4g + k], 128-bit lane L: words 4g..4g+3 of block 4L + k */
    for (int g = 0; g < 4; g++) {
        u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
        u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
    }
    for (int k = 0; k < 4; k++) {
        __m512i a_lo = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44);   /* g0 L0 L1, g1 L0 L1 */
        __m512i a_hi = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xee);   /* g0 L2 L3, g1 L2 L3 */
        __m512i b_lo = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44);
        __m512i b_hi = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xee);
        o[k] = _mm512_shuffle_i32x4(a_lo, b_lo, 0x88);
        o[4 + k] = _mm512_shuffle_i32x4(a_lo, b_lo, 0xdd);
        o[8 + k] = _mm512_shuffle_i32x4(a_hi, b_hi, 0x88);
        o[12 + k] = _mm512_shuffle_i32x4(a_hi, b_hi, 0xdd);
    }
}

/* 1024 bytes of keystream for counters ctr.., XORed into in (in NULL: stored as is) at out. */
KT__AVX512_INLINE void chunk16(const uint32_t st[16], uint32_t ctr, const uint8_t *in,
                               uint8_t *out)
{
    __m512i x[16], o[16];
    blocks16(st, ctr, x);
    transpose16(x, o);
    for (int b = 0; b < 16; b++) {
        if (in) o[b] = _mm512_xor_si512(o[b], _mm512_loadu_si512(in + 64 * b));
        _mm512_storeu_si512(out + 64 * b, o[b]);
    }
}

KT__AVX512 void kt__chacha20_ks16_avx512(const uint32_t st[16], uint8_t ks[1024])
{
    chunk16(st, st[12], NULL, ks);
}

KT__AVX512 void kt__chacha20_xor16_avx512(const uint32_t st[16], const uint8_t *in, uint8_t *out,
                                          size_t nchunks)
{
    for (size_t c = 0; c < nchunks; c++)
        chunk16(st, st[12] + (uint32_t)(16 * c), in + 1024 * c, out + 1024 * c);
}

#else
typedef int kt__chachapoly_simd_empty; /* ISO C wants a declaration in every file */
#endif
