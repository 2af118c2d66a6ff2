/* ChaCha20-Poly1305 (kt/chachapoly.h): the portable ChaCha20, Poly1305 with 64-bit limbs, the
 * AEAD construction of RFC 8439 §2.8 and the per-call choice of ChaCha20 kernel (the AVX2 one is
 * in chachapoly_simd.c). */
#include <stdlib.h>
#include <string.h>

#include "kt/chachapoly.h"
#include "chachapoly_priv.h"

#if !defined(__SIZEOF_INT128__)
#error "Poly1305 here needs unsigned __int128 (any 64-bit GCC or Clang target)"
#endif
typedef unsigned __int128 kt__u128;

/* Up to this many bytes one scalar block is cheaper than a vector pass. A 16-block AVX-512 pass
 * costs what an 8-block AVX2 one does (both ~225 ns on the Xeon this was measured on, a scalar
 * block ~125 ns), so with AVX-512 every vector pass is a 16-block one. */
#define KT__SCALAR_TAIL 64

static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ld64(const uint8_t *p) { return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32; }

static inline void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void st64(uint8_t *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t rotl32(uint32_t x, int b) { return (x << b) | (x >> (32 - b)); }

/* out = in ^ ks over n bytes; out == in allowed. */
static void xor_bytes(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        memcpy(&a, in + i, 8);
        memcpy(&b, ks + i, 8);
        a ^= b;
        memcpy(out + i, &a, 8);
    }
    for (; i < n; i++) out[i] = in[i] ^ ks[i];
}

/* ---- ChaCha20 (RFC 8439 §2.1-2.4), scalar ---------------------------------------------------- */

#define KT__QR(a, b, c, d)                                                                         \
    do {                                                                                           \
        a += b; d ^= a; d = rotl32(d, 16);                                                         \
        c += d; b ^= c; b = rotl32(b, 12);                                                         \
        a += b; d ^= a; d = rotl32(d, 8);                                                          \
        c += d; b ^= c; b = rotl32(b, 7);                                                          \
    } while (0)

void kt__chacha20_init(uint32_t st[16], const uint8_t key[32], uint32_t counter,
                       const uint8_t nonce[12])
{
    st[0] = 0x61707865;   /* "expand 32-byte k" */
    st[1] = 0x3320646e;
    st[2] = 0x79622d32;
    st[3] = 0x6b206574;
    for (int i = 0; i < 8; i++) st[4 + i] = ld32(key + 4 * i);
    st[12] = counter;
    for (int i = 0; i < 3; i++) st[13 + i] = ld32(nonce + 4 * i);
}

void kt__chacha20_block(const uint32_t st[16], uint8_t out[64])
{
    uint32_t x[16];
    memcpy(x, st, sizeof x);
    for (int i = 0; i < 10; i++) KT__CHACHA_DOUBLE_ROUND(KT__QR, x);
    for (int i = 0; i < 16; i++) st32(out + 4 * i, x[i] + st[i]);
    explicit_bzero(x, sizeof x);
}

static void chacha20_xor_scalar(uint32_t st[16], const uint8_t *in, uint8_t *out, size_t len)
{
    uint8_t ks[64];
    for (size_t i = 0; i < len; i += 64) {
        size_t n = len - i < 64 ? len - i : 64;
        kt__chacha20_block(st, ks);
        xor_bytes(out + i, in + i, ks, n);
        st[12]++;
    }
    explicit_bzero(ks, sizeof ks);
}

/* The widest kernel allowed and present: 16 blocks (AVX-512F), 8 (AVX2) or 1 (scalar). */
static int kernel_width(kt__cc_impl impl)
{
#if KT__CC_X86
    if (impl == KT__CC_BEST && __builtin_cpu_supports("avx512f")) return 16;
    if (impl != KT__CC_SCALAR && __builtin_cpu_supports("avx2")) return 8;
#endif
    (void)impl;
    return 1;
}

#if KT__CC_X86
/* Keystream for the first len (< 1024) bytes at st's counter, XORed in with one vector pass when
 * that is cheaper than scalar blocks; returns the bytes done (len or 0). */
static size_t vector_tail(const uint32_t st[16], const uint8_t *in, uint8_t *out, size_t len,
                          int width)
{
    uint8_t ks[1024];
    size_t made;
    if (len <= KT__SCALAR_TAIL) return 0;
    if (width == 16) {
        kt__chacha20_ks16_avx512(st, ks);
        made = 1024;
    } else if (width == 8) {
        kt__chacha20_ks8_avx2(st, ks);
        made = 512;
    } else {
        return 0;
    }
    xor_bytes(out, in, ks, len);
    explicit_bzero(ks, made);
    return len;
}
#endif

void kt__chacha20_xor(const uint32_t st_in[16], const uint8_t *in, uint8_t *out, size_t len,
                      kt__cc_impl impl)
{
    uint32_t st[16];
    memcpy(st, st_in, sizeof st);
#if KT__CC_X86
    int width = kernel_width(impl);
    size_t done = 0;
    if (width == 16 && len >= 1024) {
        size_t chunks = len / 1024;
        kt__chacha20_xor16_avx512(st, in, out, chunks);
        st[12] += (uint32_t)(chunks * 16);
        done = chunks * 1024;
    }
    if (width == 8 && len >= 512) {
        size_t chunks = len / 512;
        kt__chacha20_xor8_avx2(st, in, out, chunks);
        st[12] += (uint32_t)(chunks * 8);
        done = chunks * 512;
    }
    if (len > done) {
        size_t n = vector_tail(st, in + done, out + done, len - done, width);
        st[12] += (uint32_t)(n / 64);   /* n is 0 or the whole rest */
        done += n;
    }
    if (done) {
        in += done;
        out += done;
        len -= done;
    }
#else
    (void)impl;
#endif
    chacha20_xor_scalar(st, in, out, len);
    explicit_bzero(st, sizeof st);
}

/* ---- Poly1305 (RFC 8439 §2.5): h = (h + m) * r mod 2^130-5 in 2x64 bits + 2 ------------------ */

typedef struct kt__poly {
    uint64_t r0, r1, s1;   /* clamped r; s1 = r1 * 5/4 (r1's low two bits are clear) */
    uint64_t h0, h1, h2;   /* accumulator, partially reduced: h2 stays small */
    uint64_t pad0, pad1;   /* s */
} kt__poly;

static void poly_init(kt__poly *p, const uint8_t key[32])
{
    p->r0 = ld64(key) & 0x0ffffffc0fffffffull;
    p->r1 = ld64(key + 8) & 0x0ffffffc0ffffffcull;
    p->s1 = p->r1 + (p->r1 >> 2);
    p->h0 = p->h1 = p->h2 = 0;
    p->pad0 = ld64(key + 16);
    p->pad1 = ld64(key + 24);
}

/* nblocks 16-byte blocks, each with 2^128 added (hibit 1) or not (0: a padded final block). */
static void poly_blocks(kt__poly *p, const uint8_t *m, size_t nblocks, uint64_t hibit)
{
    const uint64_t r0 = p->r0, r1 = p->r1, s1 = p->s1;
    uint64_t h0 = p->h0, h1 = p->h1, h2 = p->h2;
    for (size_t i = 0; i < nblocks; i++, m += 16) {
        kt__u128 t = (kt__u128)h0 + ld64(m);
        h0 = (uint64_t)t;
        t = (kt__u128)h1 + ld64(m + 8) + (uint64_t)(t >> 64);
        h1 = (uint64_t)t;
        h2 += (uint64_t)(t >> 64) + hibit;
        /* h * r, folding 2^130 back in as 5 */
        kt__u128 d0 = (kt__u128)h0 * r0 + (kt__u128)h1 * s1;
        kt__u128 d1 = (kt__u128)h0 * r1 + (kt__u128)h1 * r0 + (kt__u128)(h2 * s1);
        h2 *= r0;
        h0 = (uint64_t)d0;
        d1 += (uint64_t)(d0 >> 64);
        h1 = (uint64_t)d1;
        h2 += (uint64_t)(d1 >> 64);
        /* partial reduction: bits from 2^130 up times 5 back into the bottom */
        uint64_t c = (h2 >> 2) + (h2 & ~(uint64_t)3);
        h2 &= 3;
        t = (kt__u128)h0 + c;
        h0 = (uint64_t)t;
        t = (kt__u128)h1 + (uint64_t)(t >> 64);
        h1 = (uint64_t)t;
        h2 += (uint64_t)(t >> 64);
    }
    p->h0 = h0;
    p->h1 = h1;
    p->h2 = h2;
}

/* tag = (h mod p) + s mod 2^128; the last reduction by masking, not by branching. */
static void poly_finish(const kt__poly *p, uint8_t tag[16])
{
    uint64_t h0 = p->h0, h1 = p->h1;
    kt__u128 t = (kt__u128)h0 + 5;
    uint64_t g0 = (uint64_t)t;
    t = (kt__u128)h1 + (uint64_t)(t >> 64);
    uint64_t g1 = (uint64_t)t;
    uint64_t g2 = p->h2 + (uint64_t)(t >> 64);
    uint64_t take_g = 0 - (g2 >> 2);   /* all ones when h + 5 >= 2^130, i.e. h >= p */
    h0 = (h0 & ~take_g) | (g0 & take_g);
    h1 = (h1 & ~take_g) | (g1 & take_g);
    t = (kt__u128)h0 + p->pad0;
    st64(tag, (uint64_t)t);
    st64(tag + 8, h1 + p->pad1 + (uint64_t)(t >> 64));
}

void kt__poly1305(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t tag[16])
{
    kt__poly p;
    poly_init(&p, key);
    if (len / 16) poly_blocks(&p, msg, len / 16, 1);
    if (len % 16) {
        uint8_t last[16] = { 0 };
        memcpy(last, msg + len / 16 * 16, len % 16);
        last[len % 16] = 1;
        poly_blocks(&p, last, 1, 0);
    }
    poly_finish(&p, tag);
    explicit_bzero(&p, sizeof p);
}

/* m, then zeros up to a multiple of 16 bytes (RFC 8439 §2.8). */
static void poly_padded(kt__poly *p, const uint8_t *m, size_t len)
{
    if (len / 16) poly_blocks(p, m, len / 16, 1);
    if (len % 16) {
        uint8_t last[16] = { 0 };
        memcpy(last, m + len / 16 * 16, len % 16);
        poly_blocks(p, last, 1, 1);
    }
}

/* The AEAD tag over aad and ciphertext under the one-time key (RFC 8439 §2.8). */
static void aead_tag(const uint8_t otk[32], const uint8_t *aad, size_t aad_len,
                     const uint8_t *ct, size_t len, uint8_t tag[16])
{
    kt__poly p;
    uint8_t lens[16];
    poly_init(&p, otk);
    poly_padded(&p, aad, aad_len);
    poly_padded(&p, ct, len);
    st64(lens, (uint64_t)aad_len);
    st64(lens + 8, (uint64_t)len);
    poly_blocks(&p, lens, 1, 1);
    poly_finish(&p, tag);
    explicit_bzero(&p, sizeof p);
}

/* 0 when the tags are equal, -1 otherwise; time independent of where they differ. */
static int tag_check(const uint8_t a[16], const uint8_t b[16])
{
    unsigned d = 0;
    for (int i = 0; i < 16; i++) d |= (unsigned)(a[i] ^ b[i]);
    return (int)(1 & ((d - 1) >> 8)) - 1;
}

/* ---- the AEAD -------------------------------------------------------------------------------- */

/* The one-time Poly1305 key (block 0, in ks[0..32)) and, when it pays, keystream for the first
 * data bytes (blocks 1.. from ks + 64) from the same vector pass. Returns how many data keystream
 * bytes it made (0, 448 or 960). */
static size_t first_pass(const uint32_t st[16], size_t len, uint8_t ks[1024], kt__cc_impl impl)
{
#if KT__CC_X86
    int width = kernel_width(impl);
    if (width == 16 && len > KT__SCALAR_TAIL) {
        kt__chacha20_ks16_avx512(st, ks);
        return 960;
    }
    if (width == 8 && len > KT__SCALAR_TAIL) {
        kt__chacha20_ks8_avx2(st, ks);
        return 448;
    }
#endif
    (void)len;
    (void)impl;
    kt__chacha20_block(st, ks);
    return 0;
}

/* out = in ^ keystream from block 1 on, the first `head` bytes of it already in ks + 64. */
static void apply_keystream(uint32_t st[16], const uint8_t ks[1024], size_t head,
                            const uint8_t *in, size_t len, uint8_t *out, kt__cc_impl impl)
{
    size_t n = head < len ? head : len;
    xor_bytes(out, in, ks + 64, n);
    if (len > n) {
        st[12] = (uint32_t)(1 + n / 64);
        kt__chacha20_xor(st, in + n, out + n, len - n, impl);
    }
}

void kt__chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                         size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                         uint8_t tag[16], kt__cc_impl impl)
{
    uint32_t st[16];
    uint8_t ks[1024];
    if ((uint64_t)len > KT_CHACHAPOLY_MAX_LEN) abort();   /* the block counter would wrap */
    kt__chacha20_init(st, key, 0, nonce);
    size_t head = first_pass(st, len, ks, impl);
    apply_keystream(st, ks, head, in, len, out, impl);
    aead_tag(ks, aad, aad_len, out, len, tag);
    explicit_bzero(st, sizeof st);
    explicit_bzero(ks, 64 + head);   /* what first_pass wrote */
}

int kt__chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                        size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                        uint8_t *out, kt__cc_impl impl)
{
    uint32_t st[16];
    uint8_t ks[1024], want[16];
    if ((uint64_t)len > KT_CHACHAPOLY_MAX_LEN) return -1;
    kt__chacha20_init(st, key, 0, nonce);
    size_t head = first_pass(st, len, ks, impl);
    aead_tag(ks, aad, aad_len, in, len, want);
    int rc = tag_check(want, tag);
    if (rc == 0) apply_keystream(st, ks, head, in, len, out, impl);
    explicit_bzero(st, sizeof st);
    explicit_bzero(ks, 64 + head);
    explicit_bzero(want, sizeof want);
    return rc;
}

void kt_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                        size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                        uint8_t tag[16])
{
    kt__chachapoly_seal(key, nonce, aad, aad_len, in, len, out, tag, KT__CC_BEST);
}

int kt_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                       uint8_t *out)
{
    return kt__chachapoly_open(key, nonce, aad, aad_len, in, len, tag, out, KT__CC_BEST);
}
