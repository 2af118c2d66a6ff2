/* Internal interface of the AES-GCM AEAD (kt/aesgcm.h): the x86-64 kernels in aesgcm_x86.c
 * that aesgcm.c calls, and the two building blocks the test vectors check one by one (the AES
 * block cipher and GHASH). Not part of the public API.
 *
 * Every function here needs kt_aesgcm_available() and a key from kt_aesgcm_init. */
#ifndef KT_AESGCM_PRIV_H
#define KT_AESGCM_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "kt/aesgcm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KT__AG_X86 1
/* The round keys, round count and H powers for the key_len-byte key (16 or 32: the caller
 * checks). */
void kt__aesgcm_x86_init(kt_aesgcm_key *k, const uint8_t *key, size_t key_len);
/* One AES block with k's key size: out = E(K, in). */
void kt__aes_block(const kt_aesgcm_key *k, const uint8_t in[16], uint8_t out[16]);
/* GHASH(H, A, C) of SP 800-38D §6.4 over aad and c, each zero-padded to 16 bytes, and the
 * 64-bit bit lengths block. */
void kt__ghash(const kt_aesgcm_key *k, const uint8_t *aad, size_t aad_len, const uint8_t *c,
               size_t len, uint8_t out[16]);
/* The kernels keep keystream and GHASH sums in registers, but with sixteen of them the compiler
 * spills some into the kernel's frame (under 600 bytes with GCC 12 or Clang 14 at -O2). Called
 * right after a kernel, from the same frame, this zeroes the KT__AG_KERNEL_STACK bytes of stack
 * below it. */
#define KT__AG_KERNEL_STACK 768
void kt__aesgcm_x86_wipe_stack(void);
/* Encrypts and tags in one pass (len <= KT_AESGCM_MAX_LEN: the caller checks). */
void kt__aesgcm_x86_seal(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
                         size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                         uint8_t tag[16]);
/* Records up to this long are opened in one pass over the ciphertext: kt__aesgcm_x86_tag makes
 * their keystream alongside the GHASH, and decryption is then an XOR. */
#define KT__AG_KS_MAX 1024
/* The tag that aad and the ciphertext ct should carry. With ks (len <= KT__AG_KS_MAX) also the
 * keystream for ct, in whole blocks from counter block 2 on; returns how many bytes of ks it
 * wrote (>= len, at most KT__AG_KS_MAX), 0 without ks. */
size_t kt__aesgcm_x86_tag(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
                          size_t aad_len, const uint8_t *ct, size_t len, uint8_t tag[16],
                          uint8_t *ks);
/* out = in ^ ks for len bytes, ks in whole blocks (len rounded up); out == in allowed. */
void kt__aesgcm_x86_xor(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t len);
/* out = in ^ the keystream from counter block 2 on (decryption); out == in allowed. */
void kt__aesgcm_x86_ctr(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *in,
                        size_t len, uint8_t *out);
#else
#define KT__AG_X86 0
#endif

#endif
