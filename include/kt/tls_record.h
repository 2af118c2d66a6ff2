/* TLS 1.2 application records with AES-GCM (RFC 5288) or ChaCha20-Poly1305 (RFC 7905),
 * sealed and opened by kt itself once mbedTLS has finished the handshake and handed over the keys
 * (RFC 5246 §6.2).
 *
 * Why: mbedTLS 2.28 encrypts one scalar block at a time and its record layer was ~20% of kt's CPU
 * per proxied request; kt_aesgcm uses AES-NI and PCLMULQDQ, kt_chachapoly AVX2/AVX-512. Only the
 * record layer moves:
 * the handshake, certificate checks and session resumption stay in mbedTLS. Anything this layer
 * does not expect after the handshake (renegotiation, a change_cipher_spec, an unknown record
 * type, a bad length or tag) is a fatal error: the connection is dropped, never guessed at. */
#ifndef KT_TLS_RECORD_H
#define KT_TLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kt/aesgcm.h"
#include "kt/buf.h"

#define KT_TLS_REC_HEADER 5
#define KT_TLS_REC_TAG 16
#define KT_TLS_REC_PLAIN_MAX 16384   /* plaintext bytes in one TLS record (RFC 5246 §6.2.1) */

enum {
    KT_TLS_REC_APPDATA = 23,
    KT_TLS_REC_ALERT = 21,
    KT_TLS_REC_HANDSHAKE = 22,
};

typedef enum kt_tls_rec_suite {
    KT_TLS_REC_NONE = 0,
    KT_TLS_REC_CHACHA20_POLY1305,   /* nonce: the 12-byte IV xor the sequence number */
    KT_TLS_REC_AES128_GCM,          /* nonce: the 4-byte salt + an explicit 8 bytes on the wire */
    KT_TLS_REC_AES256_GCM,          /* the same with 32-byte keys */
} kt_tls_rec_suite;

typedef struct kt_tls_rec {
    kt_tls_rec_suite suite;
    uint8_t wkey[32], rkey[32];   /* ChaCha20-Poly1305: client_write_key, server_write_key */
    kt_aesgcm_key wgcm, rgcm;     /* AES-128-GCM: the same, expanded */
    uint8_t wiv[12], riv[12];     /* client_write_IV, server_write_IV (4 bytes for GCM) */
    uint64_t wseq, rseq;
} kt_tls_rec;

/* The suite whose key block has these sizes (maclen 0: AEAD; ChaCha20-Poly1305 32/12, AES-GCM
 * 16 or 32/4), or KT_TLS_REC_NONE when kt does not handle it (AES-GCM also needs
 * kt_aesgcm_available()). */
kt_tls_rec_suite kt_tls_rec_suite_of(size_t keylen, size_t ivlen);
/* Takes the keys from an mbedTLS TLS 1.2 key block (client side, AEAD: no MAC keys) with the
 * sequence numbers the first application records use (1 after the Finished messages). */
void kt_tls_rec_init(kt_tls_rec *r, kt_tls_rec_suite suite, const uint8_t *key_block, uint64_t seq);
void kt_tls_rec_wipe(kt_tls_rec *r);

/* Appends one record of `type` carrying `len` <= KT_TLS_REC_PLAIN_MAX bytes of a then b
 * (either may be empty) to `out`. KT_OK, or the kt_buf error when `out` is full. */
int kt_tls_rec_seal(kt_tls_rec *r, uint8_t type, const void *a, size_t alen, const void *b,
                    size_t blen, kt_buf *out);

/* The record at the front of in[0..avail): KT_TLS_REC_NEED when it is not complete yet,
 * KT_ETLS when it cannot be a valid record (bad version or length), else its total size. */
enum { KT_TLS_REC_NEED = 0 };
long kt_tls_rec_frame(const kt_tls_rec *r, const uint8_t *in, size_t avail, uint8_t *type,
                      size_t *plain_len);
/* Where a record's ciphertext starts (after the header and any explicit nonce). */
size_t kt_tls_rec_body(const kt_tls_rec *r);

/* Authenticates and decrypts the complete record at `rec` (as measured by kt_tls_rec_frame)
 * into `out` (which may be rec + kt_tls_rec_body(r)). KT_OK, or KT_ETLS on a bad tag. */
int kt_tls_rec_open(kt_tls_rec *r, const uint8_t *rec, size_t plain_len, uint8_t *out);

#endif
