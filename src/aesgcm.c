/* AES-128-GCM for kt's TLS record layer. Interim: on mbedTLS's GCM until the AES-NI code lands. */
#include <mbedtls/gcm.h>
#include <string.h>

#include "kt/aesgcm.h"

bool kt_aesgcm_available(void)
{
#if defined(__x86_64__)
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#else
    return false;
#endif
}

void kt_aesgcm_init(kt_aesgcm_key *k, const uint8_t key[16]) { memcpy(k->key, key, 16); }
void kt_aesgcm_wipe(kt_aesgcm_key *k) { explicit_bzero(k, sizeof *k); }

void kt_aesgcm_seal(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                    const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    mbedtls_gcm_context g;
    mbedtls_gcm_init(&g);
    mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, k->key, 128);
    mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT, len, nonce, 12, aad, aad_len, in, out, 16, tag);
    mbedtls_gcm_free(&g);
}

int kt_aesgcm_open(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                   const uint8_t *in, size_t len, const uint8_t tag[16], uint8_t *out)
{
    mbedtls_gcm_context g;
    mbedtls_gcm_init(&g);
    mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, k->key, 128);
    int rc = mbedtls_gcm_auth_decrypt(&g, len, nonce, 12, aad, aad_len, tag, 16, in, out);
    mbedtls_gcm_free(&g);
    return rc ? -1 : 0;
}
