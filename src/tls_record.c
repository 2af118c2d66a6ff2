/* TLS 1.2 ChaCha20-Poly1305 records, sealed and opened by kt after mbedTLS's handshake (see
 * kt/tls_record.h). The record layout and nonce are RFC 5246 §6.2.3.3 with RFC 7905's nonce:
 * the 12-byte fixed IV xor the 64-bit sequence number, no explicit nonce on the wire. */
#include <string.h>

#include "kt/chachapoly.h"
#include "kt/tls_record.h"

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static void record_nonce(const uint8_t iv[12], uint64_t seq, uint8_t nonce[12])
{
    uint8_t s[8];
    put_be64(s, seq);
    memcpy(nonce, iv, 12);
    for (int i = 0; i < 8; i++) nonce[4 + i] ^= s[i];
}

/* additional_data = seq_num + TLSCompressed.type + version + length (of the plaintext) */
static void record_aad(uint64_t seq, uint8_t type, size_t len, uint8_t aad[13])
{
    put_be64(aad, seq);
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = (uint8_t)(len >> 8);
    aad[12] = (uint8_t)len;
}

void kt_tls_rec_init(kt_tls_rec *r, const uint8_t *key_block, uint64_t seq)
{
    memcpy(r->wkey, key_block, 32);
    memcpy(r->rkey, key_block + 32, 32);
    memcpy(r->wiv, key_block + 64, 12);
    memcpy(r->riv, key_block + 76, 12);
    r->wseq = seq;
    r->rseq = seq;
}

void kt_tls_rec_wipe(kt_tls_rec *r)
{
    explicit_bzero(r, sizeof *r);
}

int kt_tls_rec_seal(kt_tls_rec *r, uint8_t type, const void *a, size_t alen, const void *b,
                    size_t blen, kt_buf *out)
{
    size_t len = alen + blen;
    /* A sequence number must never repeat under one key (RFC 5246 §6.1). */
    if (len > KT_TLS_REC_PLAIN_MAX || r->wseq == UINT64_MAX) return KT_ETLS;
    size_t ct = len + KT_TLS_REC_TAG;
    int rc = kt_buf_reserve(out, KT_TLS_REC_HEADER + ct);
    if (rc) return rc;
    uint8_t *p = (uint8_t *)out->p + out->len;
    p[0] = type;
    p[1] = 3;
    p[2] = 3;
    p[3] = (uint8_t)(ct >> 8);
    p[4] = (uint8_t)ct;
    uint8_t *body = p + KT_TLS_REC_HEADER;
    if (alen) memcpy(body, a, alen);
    if (blen) memcpy(body + alen, b, blen);
    uint8_t nonce[12], aad[13];
    record_nonce(r->wiv, r->wseq, nonce);
    record_aad(r->wseq, type, len, aad);
    kt_chachapoly_seal(r->wkey, nonce, aad, sizeof aad, body, len, body, body + len);
    r->wseq++;
    out->len += KT_TLS_REC_HEADER + ct;
    out->p[out->len] = '\0';
    return KT_OK;
}

long kt_tls_rec_frame(const uint8_t *in, size_t avail, uint8_t *type, size_t *plain_len)
{
    if (avail < KT_TLS_REC_HEADER) return KT_TLS_REC_NEED;
    size_t ct = (size_t)in[3] << 8 | in[4];
    /* The AEAD adds exactly the tag, so the plaintext cap bounds the ciphertext. */
    if (in[1] != 3 || in[2] != 3 || ct < KT_TLS_REC_TAG ||
        ct > KT_TLS_REC_PLAIN_MAX + KT_TLS_REC_TAG)
        return KT_ETLS;
    if (avail - KT_TLS_REC_HEADER < ct) return KT_TLS_REC_NEED;
    *type = in[0];
    *plain_len = ct - KT_TLS_REC_TAG;
    return (long)(KT_TLS_REC_HEADER + ct);
}

int kt_tls_rec_open(kt_tls_rec *r, const uint8_t *rec, size_t plain_len, uint8_t *out)
{
    if (r->rseq == UINT64_MAX) return KT_ETLS;
    uint8_t nonce[12], aad[13];
    record_nonce(r->riv, r->rseq, nonce);
    record_aad(r->rseq, rec[0], plain_len, aad);
    const uint8_t *body = rec + KT_TLS_REC_HEADER;
    if (kt_chachapoly_open(r->rkey, nonce, aad, sizeof aad, body, plain_len, body + plain_len, out))
        return KT_ETLS;
    r->rseq++;
    return KT_OK;
}
