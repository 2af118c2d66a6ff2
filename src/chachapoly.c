/* ChaCha20-Poly1305 AEAD (RFC 8439) for kt's TLS record layer. Interim: on mbedTLS's scalar code. */
#include <mbedtls/chachapoly.h>
#include "kt/chachapoly.h"
void kt_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                        size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    mbedtls_chachapoly_context c;
    mbedtls_chachapoly_init(&c);
    mbedtls_chachapoly_setkey(&c, key);
    mbedtls_chachapoly_encrypt_and_tag(&c, len, nonce, aad, aad_len, in, out, tag);
    mbedtls_chachapoly_free(&c);
}
int kt_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16], uint8_t *out)
{
    mbedtls_chachapoly_context c;
    mbedtls_chachapoly_init(&c);
    mbedtls_chachapoly_setkey(&c, key);
    int rc = mbedtls_chachapoly_auth_decrypt(&c, len, nonce, aad, aad_len, tag, in, out);
    mbedtls_chachapoly_free(&c);
    return rc ? -1 : 0;
}
