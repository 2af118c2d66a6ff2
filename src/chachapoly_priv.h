/* Internal interface of the ChaCha20-Poly1305 AEAD (kt/chachapoly.h): the building blocks the
 * RFC 8439 test vectors check one by one, the AEAD with a choice of ChaCha20 kernel (so tests can
 * hold the SIMD path against the scalar one), and the x86 vector kernels (chachapoly_simd.c).
 * Not part of the public API.
 *
 * A ChaCha20 state is the 16 input words of RFC 8439 §2.3: constants, key, counter (word 12),
 * nonce. */
#ifndef KT_CHACHAPOLY_PRIV_H
#define KT_CHACHAPOLY_PRIV_H

#include <stddef.h>
#include <stdint.h>

/* One ChaCha20 double round (RFC 8439 §2.3: four column rounds, then four diagonal rounds) over
 * the 16 words x[0..15], with QR the quarter round of the caller's word type (scalar, AVX2 or
 * AVX-512 lanes). */
#define KT__CHACHA_DOUBLE_ROUND(QR, x)                                                             \
    do {                                                                                           \
        QR((x)[0], (x)[4], (x)[8], (x)[12]);                                                       \
        QR((x)[1], (x)[5], (x)[9], (x)[13]);                                                       \
        QR((x)[2], (x)[6], (x)[10], (x)[14]);                                                      \
        QR((x)[3], (x)[7], (x)[11], (x)[15]);                                                      \
        QR((x)[0], (x)[5], (x)[10], (x)[15]);                                                      \
        QR((x)[1], (x)[6], (x)[11], (x)[12]);                                                      \
        QR((x)[2], (x)[7], (x)[8], (x)[13]);                                                       \
        QR((x)[3], (x)[4], (x)[9], (x)[14]);                                                       \
    } while (0)

/* Which ChaCha20 kernels may run: the best the CPU has, at most AVX2, or only the portable scalar
 * code (the last two for tests and benchmarks). */
typedef enum { KT__CC_BEST = 0, KT__CC_AVX2 = 1, KT__CC_SCALAR = 2 } kt__cc_impl;

/* The state for key, block counter and nonce. */
void kt__chacha20_init(uint32_t st[16], const uint8_t key[32], uint32_t counter,
                       const uint8_t nonce[12]);
/* One 64-byte keystream block for st (RFC 8439 §2.3), scalar. */
void kt__chacha20_block(const uint32_t st[16], uint8_t out[64]);
/* out = in ^ keystream from block counter st[12] on (RFC 8439 §2.4); out == in allowed. */
void kt__chacha20_xor(const uint32_t st[16], const uint8_t *in, uint8_t *out, size_t len,
                      kt__cc_impl impl);
/* The one-time authenticator of msg (RFC 8439 §2.5). */
void kt__poly1305(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t tag[16]);
/* The AEAD of kt/chachapoly.h with a choice of kernel. */
void kt__chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                         size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                         uint8_t tag[16], kt__cc_impl impl);
int kt__chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                        size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                        uint8_t *out, kt__cc_impl impl);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KT__CC_X86 1
/* 8 keystream blocks, counters st[12] .. st[12]+7, into ks (AVX2 required). */
void kt__chacha20_ks8_avx2(const uint32_t st[16], uint8_t ks[512]);
/* out = in ^ keystream for nchunks * 512 bytes from counter st[12] on (AVX2 required). */
void kt__chacha20_xor8_avx2(const uint32_t st[16], const uint8_t *in, uint8_t *out,
                            size_t nchunks);
/* 16 keystream blocks, counters st[12] .. st[12]+15, into ks (AVX-512F required). */
void kt__chacha20_ks16_avx512(const uint32_t st[16], uint8_t ks[1024]);
/* out = in ^ keystream for nchunks * 1024 bytes from counter st[12] on (AVX-512F required). */
void kt__chacha20_xor16_avx512(const uint32_t st[16], const uint8_t *in, uint8_t *out,
                               size_t nchunks);
#else
#define KT__CC_X86 0
#endif

#endif
