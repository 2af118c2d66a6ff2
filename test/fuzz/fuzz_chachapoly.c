/* Fuzzes the ChaCha20-Poly1305 AEAD against mbedTLS: key, nonce, AAD length and a tag come from
 * the input's head, the rest is the message. Sealing must give mbedTLS's ciphertext and tag with
 * every ChaCha20 kernel the CPU has (AVX-512, AVX2, scalar), in place and not; opening must accept
 * exactly what mbedTLS accepts (the fuzzed tag is almost always wrong: then out stays untouched)
 * and give the same plaintext. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/chachapoly.h>

#include "../../src/chachapoly_priv.h"
#include "kt/chachapoly.h"

#define KT__HEAD (32 + 12 + 1 + 16)

static void check_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t alen,
                       const uint8_t *msg, size_t n, const uint8_t *want, const uint8_t *tag)
{
    static const kt__cc_impl impls[] = { KT__CC_BEST, KT__CC_AVX2, KT__CC_SCALAR };
    uint8_t *out = malloc(n + 1), got_tag[16];
    if (!out) abort();
    for (size_t k = 0; k < 3; k++) {
        kt__chachapoly_seal(key, nonce, aad, alen, msg, n, out, got_tag, impls[k]);
        if (memcmp(out, want, n) || memcmp(got_tag, tag, 16)) abort();
        memcpy(out, msg, n);
        kt__chachapoly_seal(key, nonce, aad, alen, out, n, out, got_tag, impls[k]);
        if (memcmp(out, want, n) || memcmp(got_tag, tag, 16)) abort();
        if (kt__chachapoly_open(key, nonce, aad, alen, out, n, tag, out, impls[k])) abort();
        if (memcmp(out, msg, n)) abort();
    }
    free(out);
}

/* msg taken as a ciphertext under the fuzzed tag. */
static void check_open(mbedtls_chachapoly_context *ctx, const uint8_t *key, const uint8_t *nonce,
                       const uint8_t *aad, size_t alen, const uint8_t *msg, size_t n,
                       const uint8_t *tag)
{
    static const kt__cc_impl impls[] = { KT__CC_BEST, KT__CC_AVX2, KT__CC_SCALAR };
    uint8_t *want = malloc(n + 1), *out = malloc(n + 1);
    if (!want || !out) abort();
    int ok = mbedtls_chachapoly_auth_decrypt(ctx, n, nonce, aad, alen, tag, msg, want) == 0;
    for (size_t k = 0; k < 3; k++) {
        memset(out, 0xc3, n + 1);
        int rc = kt__chachapoly_open(key, nonce, aad, alen, msg, n, tag, out, impls[k]);
        if (rc != (ok ? 0 : -1)) abort();
        for (size_t i = 0; i < n + 1; i++)
            if (out[i] != (ok && i < n ? want[i] : 0xc3)) abort();
    }
    free(want);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < KT__HEAD) return 0;
    const uint8_t *key = data, *nonce = data + 32, *tag_in = data + 45;
    size_t rest = size - KT__HEAD, alen = data[44] % 64;
    if (alen > rest) alen = rest;
    const uint8_t *aad = data + KT__HEAD, *msg = aad + alen;
    size_t n = rest - alen;

    mbedtls_chachapoly_context ctx;
    mbedtls_chachapoly_init(&ctx);
    mbedtls_chachapoly_setkey(&ctx, key);
    uint8_t *want = malloc(n + 1), tag[16];
    if (!want) abort();
    if (mbedtls_chachapoly_encrypt_and_tag(&ctx, n, nonce, aad, alen, msg, want, tag)) abort();
    check_seal(key, nonce, aad, alen, msg, n, want, tag);
    check_open(&ctx, key, nonce, aad, alen, msg, n, tag_in);
    /* the genuine tag over msg as ciphertext opens */
    uint8_t *pt = malloc(n + 1);
    if (!pt) abort();
    kt_chachapoly_seal(key, nonce, aad, alen, msg, n, pt, tag);
    check_open(&ctx, key, nonce, aad, alen, pt, n, tag);
    free(pt);
    free(want);
    mbedtls_chachapoly_free(&ctx);
    return 0;
}
