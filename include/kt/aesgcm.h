/* AES-128-GCM for kt's TLS record layer. Interim: on mbedTLS's GCM until the AES-NI code lands. */
#ifndef KT_AESGCM_H
#define KT_AESGCM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#define KT_AESGCM_KEY 16
#define KT_AESGCM_NONCE 12
#define KT_AESGCM_TAG 16
typedef struct kt_aesgcm_key { uint8_t key[16]; } kt_aesgcm_key;
bool kt_aesgcm_available(void);
void kt_aesgcm_init(kt_aesgcm_key *k, const uint8_t key[16]);
void kt_aesgcm_wipe(kt_aesgcm_key *k);
void kt_aesgcm_seal(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                    const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16]);
int kt_aesgcm_open(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                   const uint8_t *in, size_t len, const uint8_t tag[16], uint8_t *out);
#endif
