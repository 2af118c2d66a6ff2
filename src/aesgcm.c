/* AES-GCM (kt/aesgcm.h): the CPU check, the key length check, the message length limit, the
 * constant-time tag comparison and the order of open (verify first, decrypt only then). The AES-NI
 * and PCLMULQDQ work is in aesgcm_x86.c; other architectures get stubs that abort. */
#include <stdlib.h>
#include <string.h>

#include "kt/aesgcm.h"
#include "aesgcm_priv.h"

bool kt_aesgcm_available(void)
{
#if KT__AG_X86
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul") &&
           __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1");
#else
    return false;
#endif
}

void kt_aesgcm_wipe(kt_aesgcm_key *k)
{
    explicit_bzero(k, sizeof *k);
}

#if KT__AG_X86

void kt_aesgcm_init(kt_aesgcm_key *k, const uint8_t *key, size_t key_len)
{
    if (!kt_aesgcm_available()) abort();   /* would be SIGILL later, in the middle of a record */
    if (key_len != KT_AESGCM_KEY && key_len != KT_AESGCM_KEY256) abort();   /* a caller bug */
    kt__aesgcm_x86_init(k, key, key_len);
    kt__aesgcm_x86_wipe_stack();
}

/* 0 when the tags are equal, -1 otherwise; time independent of where they differ. */
static int tag_check(const uint8_t a[16], const uint8_t b[16])
{
    unsigned d = 0;
    for (int i = 0; i < 16; i++) d |= (unsigned)(a[i] ^ b[i]);
    return (int)(1 & ((d - 1) >> 8)) - 1;
}

void kt_aesgcm_seal(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    if ((uint64_t)len > KT_AESGCM_MAX_LEN) abort();   /* the 32-bit counter would wrap to J0 */
    kt__aesgcm_x86_seal(k, nonce, aad, aad_len, in, len, out, tag);
    kt__aesgcm_x86_wipe_stack();
}

int kt_aesgcm_open(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                   uint8_t *out)
{
    uint8_t want[16], ks[KT__AG_KS_MAX];
    if ((uint64_t)len > KT_AESGCM_MAX_LEN) return -1;
    /* a short record's keystream comes with the tag; a longer one is decrypted in a second pass */
    int one_pass = len <= KT__AG_KS_MAX;
    size_t made = kt__aesgcm_x86_tag(k, nonce, aad, aad_len, in, len, want, one_pass ? ks : NULL);
    int rc = tag_check(want, tag);
    if (rc == 0 && one_pass) kt__aesgcm_x86_xor(out, in, ks, len);
    else if (rc == 0) kt__aesgcm_x86_ctr(k, nonce, in, len, out);
    kt__aesgcm_x86_wipe_stack();
    explicit_bzero(ks, made);
    explicit_bzero(want, sizeof want);
    return rc;
}

#else /* no AES-NI kernels on this architecture: kt_aesgcm_available() is false */

void kt_aesgcm_init(kt_aesgcm_key *k, const uint8_t *key, size_t key_len)
{
    (void)k;
    (void)key;
    (void)key_len;
    abort();
}

void kt_aesgcm_seal(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[16])
{
    (void)k, (void)nonce, (void)aad, (void)aad_len, (void)in, (void)len, (void)out, (void)tag;
    abort();
}

int kt_aesgcm_open(const kt_aesgcm_key *k, const uint8_t nonce[12], const uint8_t *aad,
                   size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                   uint8_t *out)
{
    (void)k, (void)nonce, (void)aad, (void)aad_len, (void)in, (void)len, (void)tag, (void)out;
    abort();
}

#endif
