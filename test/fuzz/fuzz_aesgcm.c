/* Fuzzes the AES-GCM AEAD against mbedTLS, AES-128 and AES-256: the key size (the low bit of the
 * first byte), key, nonce, AAD length and a tag come from the input's head, the rest is the
 * message. Sealing must give mbedTLS's ciphertext and tag, in place and not; opening must accept
 * exactly what mbedTLS accepts (the fuzzed tag is almost always wrong: then out stays untouched)
 * and give the same plaintext, and mbedTLS must open what kt sealed. Does nothing on a CPU without
 * AES-NI and PCLMULQDQ. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/gcm.h>

#include "kt/aesgcm.h"

/* size byte, key (32 bytes read; AES-128 uses the first 16), nonce, AAD length, tag */
#define KT__HEAD (1 + 32 + 12 + 1 + 16)

static void check_seal(mbedtls_gcm_context *ctx, const kt_aesgcm_key *k, const uint8_t *nonce,
                       const uint8_t *aad, size_t alen, const uint8_t *msg, size_t n)
{
    uint8_t *want = malloc(n + 1), *out = malloc(n + 1), tag[16], got_tag[16];
    if (!want || !out) abort();
    if (mbedtls_gcm_crypt_and_tag(ctx, MBEDTLS_GCM_ENCRYPT, n, nonce, 12, aad, alen, msg, want,
                                  16, tag))
        abort();
    kt_aesgcm_seal(k, nonce, aad, alen, msg, n, out, got_tag);
    if (memcmp(out, want, n) || memcmp(got_tag, tag, 16)) abort();
    memcpy(out, msg, n);
    kt_aesgcm_seal(k, nonce, aad, alen, out, n, out, got_tag);
    if (memcmp(out, want, n) || memcmp(got_tag, tag, 16)) abort();
    if (mbedtls_gcm_auth_decrypt(ctx, n, nonce, 12, aad, alen, got_tag, 16, out, want)) abort();
    if (memcmp(want, msg, n)) abort();
    if (kt_aesgcm_open(k, nonce, aad, alen, out, n, tag, out)) abort();
    if (memcmp(out, msg, n)) abort();
    free(want);
    free(out);
}

/* msg taken as a ciphertext under tag. */
static void check_open(mbedtls_gcm_context *ctx, const kt_aesgcm_key *k, const uint8_t *nonce,
                       const uint8_t *aad, size_t alen, const uint8_t *msg, size_t n,
                       const uint8_t *tag)
{
    uint8_t *want = malloc(n + 1), *out = malloc(n + 1);
    if (!want || !out) abort();
    int ok = mbedtls_gcm_auth_decrypt(ctx, n, nonce, 12, aad, alen, tag, 16, msg, want) == 0;
    memset(out, 0xc3, n + 1);
    int rc = kt_aesgcm_open(k, nonce, aad, alen, msg, n, tag, out);
    if (rc != (ok ? 0 : -1)) abort();
    for (size_t i = 0; i < n + 1; i++)
        if (out[i] != (ok && i < n ? want[i] : 0xc3)) abort();
    free(want);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < KT__HEAD || !kt_aesgcm_available()) return 0;
    size_t key_len = data[0] & 1 ? KT_AESGCM_KEY256 : KT_AESGCM_KEY;
    const uint8_t *key = data + 1, *nonce = data + 33, *tag_in = data + 46;
    size_t rest = size - KT__HEAD, alen = data[45] % 64;
    if (alen > rest) alen = rest;
    const uint8_t *aad = data + KT__HEAD, *msg = aad + alen;
    size_t n = rest - alen;

    mbedtls_gcm_context ctx;
    kt_aesgcm_key k;
    mbedtls_gcm_init(&ctx);
    if (mbedtls_gcm_setkey(&ctx, MBEDTLS_CIPHER_ID_AES, key, 8 * (unsigned)key_len)) abort();
    kt_aesgcm_init(&k, key, key_len);
    check_seal(&ctx, &k, nonce, aad, alen, msg, n);
    check_open(&ctx, &k, nonce, aad, alen, msg, n, tag_in);
    /* the genuine tag over msg as ciphertext opens */
    uint8_t *ct = malloc(n + 1), tag[16];
    if (!ct) abort();
    kt_aesgcm_seal(&k, nonce, aad, alen, msg, n, ct, tag);
    check_open(&ctx, &k, nonce, aad, alen, ct, n, tag);
    free(ct);
    kt_aesgcm_wipe(&k);
    mbedtls_gcm_free(&ctx);
    return 0;
}
