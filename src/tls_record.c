/* TLS 1.2 AEAD records, sealed and opened by kt after mbedTLS's handshake (see
 * kt/tls_record.h). The record layout is RFC 5246 §6.2.3.3: additional data = sequence number,
 * type, version and plaintext length. Nonces: ChaCha20-Poly1305 (RFC 7905) xors the 12-byte IV
 * with the sequence number and sends none; AES-GCM (RFC 5288) is the 4-byte salt followed by 8
 * explicit bytes sent before the ciphertext, for which kt uses the sequence number. */
#include <string.h>

#include "kt/chachapoly.h"
#include "kt/tls_record.h"

#define KT_TLS_REC_EXPLICIT 8   /* AES-GCM's explicit nonce */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static void chacha_nonce(const uint8_t iv[12], uint64_t seq, uint8_t nonce[12])
{
    uint8_t s[8];
    put_be64(s, seq);
    memcpy(nonce, iv, 12);
    for (int i = 0; i < 8; i++) nonce[4 + i] ^= s[i];
}

static void record_aad(uint64_t seq, uint8_t type, size_t len, uint8_t aad[13])
{
    put_be64(aad, seq);
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = (uint8_t)(len >> 8);
    aad[12] = (uint8_t)len;
}

kt_tls_rec_suite kt_tls_rec_suite_of(size_t keylen, size_t ivlen)
{
    if (keylen == 32 && ivlen == 12) return KT_TLS_REC_CHACHA20_POLY1305;
    if (ivlen != 4 || !kt_aesgcm_available()) return KT_TLS_REC_NONE;
    return keylen == 16 ? KT_TLS_REC_AES128_GCM
                        : keylen == 32 ? KT_TLS_REC_AES256_GCM : KT_TLS_REC_NONE;
}

static bool is_gcm(const kt_tls_rec *r)
{
    return r->suite == KT_TLS_REC_AES128_GCM || r->suite == KT_TLS_REC_AES256_GCM;
}

void kt_tls_rec_init(kt_tls_rec *r, kt_tls_rec_suite suite, const uint8_t *key_block, uint64_t seq)
{
    memset(r, 0, sizeof *r);
    r->suite = suite;
    r->wseq = seq;
    r->rseq = seq;
    if (is_gcm(r)) {
        size_t kl = suite == KT_TLS_REC_AES128_GCM ? KT_AESGCM_KEY : KT_AESGCM_KEY256;
        kt_aesgcm_init(&r->wgcm, key_block, kl);
        kt_aesgcm_init(&r->rgcm, key_block + kl, kl);
        memcpy(r->wiv, key_block + 2 * kl, 4);
        memcpy(r->riv, key_block + 2 * kl + 4, 4);
    } else if (suite == KT_TLS_REC_CHACHA20_POLY1305) {
        memcpy(r->wkey, key_block, 32);
        memcpy(r->rkey, key_block + 32, 32);
        memcpy(r->wiv, key_block + 64, 12);
        memcpy(r->riv, key_block + 76, 12);
    }
}

void kt_tls_rec_wipe(kt_tls_rec *r)
{
    explicit_bzero(r, sizeof *r);
}

size_t kt_tls_rec_body(const kt_tls_rec *r)
{
    return KT_TLS_REC_HEADER + (is_gcm(r) ? KT_TLS_REC_EXPLICIT : 0);
}

/* Encrypts body[0..len) in place and puts the tag after it; `body - explicit` holds the explicit
 * nonce for AES-GCM. */
static void seal_body(kt_tls_rec *r, uint8_t type, uint8_t *body, size_t len)
{
    uint8_t nonce[12], aad[13];
    record_aad(r->wseq, type, len, aad);
    if (is_gcm(r)) {
        memcpy(nonce, r->wiv, 4);
        put_be64(nonce + 4, r->wseq);
        memcpy(body - KT_TLS_REC_EXPLICIT, nonce + 4, KT_TLS_REC_EXPLICIT);
        kt_aesgcm_seal(&r->wgcm, nonce, aad, sizeof aad, body, len, body, body + len);
    } else {
        chacha_nonce(r->wiv, r->wseq, nonce);
        kt_chachapoly_seal(r->wkey, nonce, aad, sizeof aad, body, len, body, body + len);
    }
}

int kt_tls_rec_seal(kt_tls_rec *r, uint8_t type, const void *a, size_t alen, const void *b,
                    size_t blen, kt_buf *out)
{
    size_t len = alen + blen, hdr = kt_tls_rec_body(r);
    /* A sequence number must never repeat under one key (RFC 5246 §6.1). */
    if (len > KT_TLS_REC_PLAIN_MAX || r->wseq == UINT64_MAX || r->suite == KT_TLS_REC_NONE)
        return KT_ETLS;
    size_t wire = hdr - KT_TLS_REC_HEADER + len + KT_TLS_REC_TAG;   /* the length field */
    int rc = kt_buf_reserve(out, KT_TLS_REC_HEADER + wire);
    if (rc) return rc;
    uint8_t *p = (uint8_t *)out->p + out->len;
    p[0] = type;
    p[1] = 3;
    p[2] = 3;
    p[3] = (uint8_t)(wire >> 8);
    p[4] = (uint8_t)wire;
    uint8_t *body = p + hdr;
    if (alen) memcpy(body, a, alen);
    if (blen) memcpy(body + alen, b, blen);
    seal_body(r, type, body, len);
    r->wseq++;
    out->len += KT_TLS_REC_HEADER + wire;
    out->p[out->len] = '\0';
    return KT_OK;
}

long kt_tls_rec_frame(const kt_tls_rec *r, const uint8_t *in, size_t avail, uint8_t *type,
                      size_t *plain_len)
{
    if (avail < KT_TLS_REC_HEADER) return KT_TLS_REC_NEED;
    size_t wire = (size_t)in[3] << 8 | in[4];
    size_t over = kt_tls_rec_body(r) - KT_TLS_REC_HEADER + KT_TLS_REC_TAG;
    /* The AEAD adds exactly the nonce and tag, so the plaintext cap bounds the record. */
    if (in[1] != 3 || in[2] != 3 || wire < over || wire > KT_TLS_REC_PLAIN_MAX + over)
        return KT_ETLS;
    if (avail - KT_TLS_REC_HEADER < wire) return KT_TLS_REC_NEED;
    *type = in[0];
    *plain_len = wire - over;
    return (long)(KT_TLS_REC_HEADER + wire);
}

int kt_tls_rec_open(kt_tls_rec *r, const uint8_t *rec, size_t plain_len, uint8_t *out)
{
    if (r->rseq == UINT64_MAX || r->suite == KT_TLS_REC_NONE) return KT_ETLS;
    uint8_t nonce[12], aad[13];
    record_aad(r->rseq, rec[0], plain_len, aad);
    const uint8_t *body = rec + kt_tls_rec_body(r), *tag = body + plain_len;
    int bad;
    if (is_gcm(r)) {
        memcpy(nonce, r->riv, 4);
        memcpy(nonce + 4, body - KT_TLS_REC_EXPLICIT, KT_TLS_REC_EXPLICIT);
        bad = kt_aesgcm_open(&r->rgcm, nonce, aad, sizeof aad, body, plain_len, tag, out);
    } else {
        chacha_nonce(r->riv, r->rseq, nonce);
        bad = kt_chachapoly_open(r->rkey, nonce, aad, sizeof aad, body, plain_len, tag, out);
    }
    if (bad) return KT_ETLS;
    r->rseq++;
    return KT_OK;
}
