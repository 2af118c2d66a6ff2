#ifndef KT_CHACHAPOLY_H
#define KT_CHACHAPOLY_H
#include <stddef.h>
#include <stdint.h>
#define KT_CHACHAPOLY_KEY 32
#define KT_CHACHAPOLY_NONCE 12
#define KT_CHACHAPOLY_TAG 16
void kt_chachapoly_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                        size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16]);
int kt_chachapoly_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16], uint8_t *out);
#endif
