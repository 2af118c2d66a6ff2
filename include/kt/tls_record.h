/* TLS 1.2 application records with ChaCha20-Poly1305 (RFC 5246 §6.2, RFC 7905), sealed and
 * opened by kt itself once mbedTLS has finished the handshake and handed over the keys.
 *
 * Why: mbedTLS 2.28 encrypts one scalar ChaCha20 block at a time and was ~20% of kt's CPU per
 * proxied request; kt_chachapoly uses AVX2 where the CPU has it. Only the record layer moves:
 * the handshake, certificate checks and session resumption stay in mbedTLS. Anything this layer
 * does not expect after the handshake (renegotiation, a change_cipher_spec, an unknown record
 * type, a bad length or tag) is a fatal error: the connection is dropped, never guessed at. */
#ifndef KT_TLS_RECORD_H
#define KT_TLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kt/buf.h"

#define KT_TLS_REC_HEADER 5
#define KT_TLS_REC_TAG 16
#define KT_TLS_REC_PLAIN_MAX 16384

enum {
    KT_TLS_REC_APPDATA = 23,
    KT_TLS_REC_ALERT = 21,
    KT_TLS_REC_HANDSHAKE = 22,
};

typedef struct kt_tls_rec {
    uint8_t wkey[32], rkey[32];   /* client_write_key, server_write_key */
    uint8_t wiv[12], riv[12];     /* fixed IVs: the nonce is the IV xor the sequence number */
    uint64_t wseq, rseq;
} kt_tls_rec;

/* Takes the keys from an mbedTLS TLS 1.2 key block (client side, AEAD: no MAC keys) with the
 * sequence numbers the first application records use (1 after the Finished messages). */
void kt_tls_rec_init(kt_tls_rec *r, const uint8_t *key_block, uint64_t seq);
void kt_tls_rec_wipe(kt_tls_rec *r);

/* Appends one record of `type` carrying `len` <= KT_TLS_REC_PLAIN_MAX bytes of a then b
 * (either may be empty) to `out`. KT_OK, or the kt_buf error when `out` is full. */
int kt_tls_rec_seal(kt_tls_rec *r, uint8_t type, const void *a, size_t alen, const void *b,
                    size_t blen, kt_buf *out);

/* The record at the front of in[0..avail): KT_TLS_REC_NEED when it is not complete yet,
 * KT_ETLS when it cannot be a valid record (bad version or length), else its total size. */
enum { KT_TLS_REC_NEED = 0 };
long kt_tls_rec_frame(const uint8_t *in, size_t avail, uint8_t *type, size_t *plain_len);

/* Authenticates and decrypts the complete record at `rec` (as measured by kt_tls_rec_frame)
 * into `out` (which may be rec + KT_TLS_REC_HEADER). KT_OK, or KT_ETLS on a bad tag. */
int kt_tls_rec_open(kt_tls_rec *r, const uint8_t *rec, size_t plain_len, uint8_t *out);

#endif
