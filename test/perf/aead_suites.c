/* Which AEAD the linked mbedTLS seals TLS records fastest with: ChaCha20-Poly1305, AES-128-GCM
 * and AES-256-GCM on 1 KiB and 16 KiB records, in process CPU time. It decides kt's suite order
 * (src/tls/tls.c, set_ciphersuites) on each distribution. Not built by make; run on the host
 * (mbedTLS 2.28) and in the Debian 13 root (3.6):
 *   cc -std=c11 -D_GNU_SOURCE -O2 test/perf/aead_suites.c -lmbedcrypto -o /tmp/aead_suites \
 *      && /tmp/aead_suites */
#include <stdio.h>
#include <time.h>

#include <mbedtls/cipher.h>
#include <mbedtls/version.h>

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void measure(mbedtls_cipher_type_t type, const char *name, size_t rec)
{
    static unsigned char in[16384], out[16384 + 16];
    unsigned char key[32] = { 1 }, iv[12] = { 2 }, ad[13] = { 3 };
    mbedtls_cipher_context_t c;
    mbedtls_cipher_init(&c);
    if (mbedtls_cipher_setup(&c, mbedtls_cipher_info_from_type(type)) ||
        mbedtls_cipher_setkey(&c, key, (int)mbedtls_cipher_get_key_bitlen(&c), MBEDTLS_ENCRYPT)) {
        printf("%-18s not available\n", name);
        mbedtls_cipher_free(&c);
        return;
    }
    size_t total = 0, olen;
    double t0 = cpu_s();
    while (cpu_s() - t0 < 0.5) {
        for (int i = 0; i < 64; i++) {
            if (mbedtls_cipher_auth_encrypt_ext(&c, iv, sizeof iv, ad, sizeof ad, in, rec, out,
                                                sizeof out, &olen, 16))
                return;
            total += rec;
        }
    }
    printf("%-18s %5zu-byte records: %5.0f MB/s\n", name, rec, total / (cpu_s() - t0) / 1e6);
    mbedtls_cipher_free(&c);
}

int main(void)
{
    static const size_t recs[] = { 1024, 16384 };
    printf("%s\n", MBEDTLS_VERSION_STRING_FULL);
    for (size_t r = 0; r < 2; r++) {
        measure(MBEDTLS_CIPHER_CHACHA20_POLY1305, "chacha20-poly1305", recs[r]);
        measure(MBEDTLS_CIPHER_AES_128_GCM, "aes-128-gcm", recs[r]);
        measure(MBEDTLS_CIPHER_AES_256_GCM, "aes-256-gcm", recs[r]);
    }
    return 0;
}
