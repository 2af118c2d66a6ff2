/* The x86-64 ChaCha20 kernel of the AEAD (kt/chachapoly.h): 8 blocks at a time with AVX2, one
 * block per 32-bit lane. Register i holds state word i of all 8 blocks, so the rounds are the
 * scalar ones on vectors; the 16 result registers are then transposed into 8 consecutive 64-byte
 * blocks. Compiled for AVX2 with target attributes; chachapoly.c calls it only when
 * __builtin_cpu_supports("avx2"). Empty elsewhere. */
#include "chachapoly_priv.h"

#if KT__CC_X86
#include <immintrin.h>

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
    for (int i = 0; i < 10; i++) {
        KT__VQR(x[0], x[4], x[8], x[12]);
        KT__VQR(x[1], x[5], x[9], x[13]);
        KT__VQR(x[2], x[6], x[10], x[14]);
        KT__VQR(x[3], x[7], x[11], x[15]);
        KT__VQR(x[0], x[5], x[10], x[15]);
        KT__VQR(x[1], x[6], x[11], x[12]);
        KT__VQR(x[2], x[7], x[8], x[13]);
        KT__VQR(x[3], x[4], x[9], x[14]);
    }
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

#else
typedef int kt__chachapoly_simd_empty; /* ISO C wants a declaration in every file */
#endif
