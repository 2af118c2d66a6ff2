/* ChaCha20-Poly1305 AEAD (RFC 8439 §2.8), for sealing and opening TLS 1.2 application-data
 * records once mbedTLS has finished the handshake. One call per record; no state between calls.
 *
 * ChaCha20 runs 16 blocks at a time with AVX-512F or 8 with AVX2 where the CPU has them (chosen
 * per call at run time), otherwise the portable scalar code; Poly1305 uses 64-bit limbs. Both are constant time with
 * respect to key, nonce and data (only lengths change the path taken). Key material and keystream
 * are wiped from the stack before returning.
 *
 * Buffers need no particular alignment. `out` may equal `in` (in place) but must not otherwise
 * overlap it. The 32-bit block counter (block 0 makes the Poly1305 key, data starts at block 1)
 * limits one message to KT_CHACHAPOLY_MAX_LEN bytes (~256 GiB): kt_chachapoly_seal aborts the
 * process beyond it (a caller bug: TLS records are at most ~16 KiB), kt_chachapoly_open rejects
 * it (returns -1). */
#ifndef KT_CHACHAPOLY_H
#define KT_CHACHAPOLY_H

#include <stddef.h>
#include <stdint.h>

#define KT_CHACHAPOLY_KEY 32
#define KT_CHACHAPOLY_NONCE 12
#define KT_CHACHAPOLY_TAG 16
#define KT_CHACHAPOLY_MAX_LEN ((((uint64_t)1 << 32) - 1) * 64) /* data blocks 1 .. 2^32-1 */

/* Encrypts len bytes of `in` into `out` (out == in allowed; otherwise they must not overlap) and
 * writes the 16-byte tag. */
void kt_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                        size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                        uint8_t tag[16]);

/* Verifies the tag over aad + ciphertext FIRST (constant-time compare); only when it matches
 * decrypts into `out` (out == in allowed) and returns 0. On mismatch returns -1 and leaves `out`
 * untouched. */
int kt_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                       uint8_t *out);

#endif
