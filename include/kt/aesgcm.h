/* AES-GCM AEAD (NIST SP 800-38D) with 128- or 256-bit keys and 96-bit nonces, for sealing and
 * opening TLS 1.2 application-data records (AES_128_GCM and AES_256_GCM suites) once mbedTLS has
 * finished the handshake. The key is expanded once per connection and direction (kt_aesgcm_init,
 * which also fixes the key size); each record is then one call, no state between calls.
 *
 * x86-64 only, on CPUs with AES-NI, PCLMULQDQ, SSSE3 and SSE4.1 (kt_aesgcm_available says so per
 * call): AES-CTR eight blocks at a time, GHASH by carry-less multiplication with eight blocks
 * folded per reduction. No table lookups and no branches on key, nonce or data (only lengths
 * change the path taken), so it is constant time; keystream and partial blocks are wiped from
 * the stack before returning. Elsewhere kt_aesgcm_available is false and kt uses
 * ChaCha20-Poly1305 (kt/chachapoly.h) instead; the other functions then abort.
 *
 * Buffers need no particular alignment. `out` may equal `in` (in place) but must not otherwise
 * overlap it. Data uses counter blocks 2 .. 2^32-1 after J0 = nonce || 0x00000001, which limits
 * one message to KT_AESGCM_MAX_LEN bytes (2^36 - 32, ~64 GiB; SP 800-38D §5.2.1.1):
 * kt_aesgcm_seal aborts the process beyond it (a caller bug: TLS records are at most ~16 KiB),
 * kt_aesgcm_open rejects it (returns -1). */
#ifndef KT_AESGCM_H
#define KT_AESGCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_AESGCM_KEY 16    /* AES-128 */
#define KT_AESGCM_KEY256 32 /* AES-256 */
#define KT_AESGCM_NONCE 12
#define KT_AESGCM_TAG 16
#define KT_AESGCM_MAX_LEN ((((uint64_t)1 << 32) - 2) * 16) /* data blocks 2 .. 2^32-1 */

/* The expanded key: the AES round keys (11 for AES-128, 15 for AES-256) and the round count, and
 * the GHASH key H's powers H^1..H^8 in the form the carry-less multiplication wants
 * (byte-reflected, times x), with the XOR of each power's two 64-bit halves for Karatsuba. Plain
 * bytes so the header needs no intrinsics; 448 bytes, 16-byte aligned. Secret: wipe it with
 * kt_aesgcm_wipe. */
typedef struct kt_aesgcm_key {
    _Alignas(16) uint8_t rk[15 * 16];
    _Alignas(16) uint8_t hpow[8 * 16];
    _Alignas(16) uint8_t hkar[8 * 8];
    uint32_t rounds; /* 10 (AES-128) or 14 (AES-256) */
} kt_aesgcm_key;

/* True when this CPU can run it: x86-64 with AES-NI, PCLMULQDQ, SSSE3 and SSE4.1. Asks the CPU
 * on every call (no global state). Always false on other architectures. */
bool kt_aesgcm_available(void);

/* Expands the key_len-byte `key` into k: KT_AESGCM_KEY (16) for AES-128, KT_AESGCM_KEY256 (32)
 * for AES-256; any other length is a caller bug and aborts. seal and open then use that key size.
 * Only call when kt_aesgcm_available(). */
void kt_aesgcm_init(kt_aesgcm_key *k, const uint8_t *key, size_t key_len);

/* Zeroes k (explicit_bzero). */
void kt_aesgcm_wipe(kt_aesgcm_key *k);

/* Encrypts len bytes of `in` into `out` (out == in allowed; otherwise they must not overlap) and
 * writes the 16-byte tag. */
void kt_aesgcm_seal(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16]);

/* Verifies the tag over aad + ciphertext FIRST (constant-time compare); only when it matches
 * decrypts into `out` (out == in allowed) and returns 0. On mismatch returns -1 and leaves `out`
 * untouched. */
int kt_aesgcm_open(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                   uint8_t *out);

#endif
