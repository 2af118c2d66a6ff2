/* The AES-GCM AEAD (kt/aesgcm.h), AES-128 and AES-256: the FIPS 197 AES-128 and AES-256 vectors
 * and the block cipher against mbedTLS; GHASH and the AEAD on the test cases of McGrew and Viega's
 * GCM specification and NIST CAVP vectors (and CAVP's forged records rejected); for both key
 * sizes the same results as mbedTLS for every length up to 1100 bytes and a spread of longer ones
 * (so both ways open decrypts: one pass up to 1 KiB, two beyond), AAD of 0..40 bytes and longer,
 * in place and not, each side opening what the other sealed; and any flipped bit of tag,
 * ciphertext or AAD is rejected without writing the output. A key length other than 16 or 32
 * aborts (a caller bug), so it is not called here. On a CPU without AES-NI and PCLMULQDQ the tests
 * that need them say so and pass. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/gcm.h>

#include "../../src/aesgcm_priv.h"
#include "kt/aesgcm.h"
#include "kt_test.h"
#include "kt_test_bytes.h"

/* Returns from the test when the CPU cannot run the AES-NI code. */
#define KT_NEED_AESNI()                                                                            \
    do {                                                                                           \
        if (!kt_aesgcm_available()) {                                                              \
            printf("# skipped: this CPU lacks AES-NI, PCLMULQDQ, SSSE3 or SSE4.1\n");              \
            return;                                                                                \
        }                                                                                          \
    } while (0)


/* ---- AES-128 and AES-256 --------------------------------------------------------------------- */

/* The two key sizes, in bytes. */
static const size_t kt_key_lens[] = { KT_AESGCM_KEY, KT_AESGCM_KEY256 };

/* FIPS 197 Appendix C.1 (AES-128) and C.3 (AES-256). */
KT_TEST(aes_fips197_vectors)
{
    KT_NEED_AESNI();
#if KT__AG_X86
    static const char *const keys[] = {
        "000102030405060708090a0b0c0d0e0f",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    };
    static const char *const outs[] = { "69c4e0d86a7b0430d8cdb78070b4c55a",
                                        "8ea2b7ca516745bfeafc49904b496089" };
    for (int i = 0; i < 2; i++) {
        uint8_t key[32], in[16], want[16], got[16];
        kt_aesgcm_key k;
        size_t key_len = unhex(keys[i], key);
        unhex("00112233445566778899aabbccddeeff", in);
        unhex(outs[i], want);
        kt_aesgcm_init(&k, key, key_len);
        KT_ASSERT_EQ_INT(k.rounds, i ? 14 : 10);
        kt__aes_block(&k, in, got);
        if (memcmp(got, want, 16)) KT_FAILF("AES-%zu", 8 * key_len);
        kt_aesgcm_wipe(&k);
    }
#endif
}

/* The key schedules and block function against mbedTLS's for random keys and blocks. */
KT_TEST(aes_matches_mbedtls)
{
    KT_NEED_AESNI();
#if KT__AG_X86
    uint64_t s = 0xae5c0001;
    for (int i = 0; i < 1000; i++) {
        uint8_t key[32], in[16], want[16], got[16];
        size_t key_len = kt_key_lens[i % 2];
        kt_aesgcm_key k;
        mbedtls_aes_context ctx;
        fill(&s, key, key_len);
        fill(&s, in, sizeof in);
        mbedtls_aes_init(&ctx);
        KT_ASSERT_EQ_INT(mbedtls_aes_setkey_enc(&ctx, key, 8 * (unsigned)key_len), 0);
        KT_ASSERT_EQ_INT(mbedtls_aes_crypt_ecb(&ctx, MBEDTLS_AES_ENCRYPT, in, want), 0);
        mbedtls_aes_free(&ctx);
        kt_aesgcm_init(&k, key, key_len);
        kt__aes_block(&k, in, got);
        if (memcmp(got, want, 16)) KT_FAILF("key %d (AES-%zu)", i, 8 * key_len);
    }
#endif
}

/* ---- the AEAD -------------------------------------------------------------------------------- */

typedef struct kt_gcm_vec {
    const char *key, *nonce, *aad, *plain, *cipher, *tag, *ghash;
} kt_gcm_vec;

#define KT_GCM_P60                                                                                 \
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"                             \
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define KT_GCM_C60                                                                                 \
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"                             \
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"

#define KT_GCM_C60_256                                                                             \
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"                             \
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
#define KT_GCM_K256 "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define KT_GCM_K0_256 "0000000000000000000000000000000000000000000000000000000000000000"

/* Test Cases 1-4 (AES-128, 96-bit IV) and 13-16 (AES-256, 96-bit IV) of D. McGrew and J. Viega,
 * "The Galois/Counter Mode of Operation (GCM)", revised submission to NIST (2005), Appendix B,
 * with the GHASH(H, A, C) values given there; then NIST CAVP gcmEncryptExtIV128 vectors (96-bit
 * IV, 128-bit tag) as carried in Go's crypto/cipher/gcm_test.go, among them a 13-byte AAD (the TLS
 * 1.2 record's size) and a 51-byte plaintext with a 20-byte AAD; then NIST CAVP
 * gcmEncryptExtIV256 vectors ([Keylen = 256][IVlen = 96][Taglen = 128], from the CAVP
 * gcmtestvectors.zip, as quoted in other projects' test suites, e.g. aws-sdk-go's
 * service/s3/s3crypto tests for the AADlen = 0 ones): [PTlen = 0][AADlen = 0] Count 0,
 * [PTlen = 0][AADlen = 128] Count 0, [PTlen = 0][AADlen = 160] Count 0, [PTlen = 128][AADlen =
 * 128] Counts 0 and 1, and with AADlen = 0 a 13-byte (PTlen = 104, Count 3) and a 51-byte
 * (PTlen = 408, Count 8) plaintext. The key size is the key's length. */
static const kt_gcm_vec kt_gcm_vecs[] = {
    { "00000000000000000000000000000000", "000000000000000000000000", "", "", "",
      "58e2fccefa7e3061367f1d57a4e7455a", "00000000000000000000000000000000" },
    { "00000000000000000000000000000000", "000000000000000000000000", "",
      "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78",
      "ab6e47d42cec13bdf53a67b21257bddf", "f38cbb1ad69223dcc3457ae5b6b0f885" },
    { "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
      KT_GCM_P60 "1aafd255", KT_GCM_C60 "473f5985", "4d5c2af327cd64a62cf35abd2ba6fab4",
      "7f1b32b81b820d02614f8895ac1d4eac" },
    { "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
      "feedfacedeadbeeffeedfacedeadbeefabaddad2", KT_GCM_P60, KT_GCM_C60,
      "5bc94fbc3221a5db94fae95ae7121a47", "698e57f70e6ecc7fd9463b7260a9ae5f" },
    { "11754cd72aec309bf52f7687212e8957", "3c819d9a9bed087615030b65", "", "", "",
      "250327c674aaf477aef2675748cf6971", NULL },
    { "fbe3467cc254f81be8e78d765a2e6333", "c6697351ff4aec29cdbaabf2", "67", "", "",
      "3659cdc25288bf499ac736c03bfc1159", NULL },
    { "8a7f9d80d08ad0bd5a20fb689c88f9fc", "88b7b27d800937fda4f47301",
      "50edd0503e0d7b8c91608eb5a1", "", "", "ed6f65322a4740011f91d2aae22dd44e", NULL },
    { "7fddb57453c241d03efbed3ac44e371c", "ee283a3fc75575e33efd4887", "",
      "d5de42b461646c255c87bd2962d3b9a2", "2ccda4a5415cb91e135c2a0f78c9b2fd",
      "b36d1df9b9d5e596f83e8b7f52971cb3", NULL },
    { "fe47fcce5fc32665d2ae399e4eec72ba", "5adb9609dbaeb58cbd6e7275",
      "88319d6e1d3ffa5f987199166c8a9b56c2aeba5a",
      "7c0e88c88899a779228465074797cd4c2e1498d259b54390b85e3eef1c02df60e743f1b840382c4bccaf3b"
      "afb4ca8429bea063",
      "98f4826f05a265e6dd2be82db241c0fbbbf9ffb1c173aa83964b7cf5393043736365253ddbc5db8778371495"
      "da76d269e5db3e",
      "291ef1982e4defedaa2249f898556b47", NULL },
    { "fe9bb47deb3a61e423c2231841cfd1fb", "4d328eb776f500a2f7fb47aa", "",
      "f1cc3818e421876bb6b8bbd6c9", "b88c5c1977b35b517b0aeae967",
      "43fd4727fe5cdb4b5b42818dea7ef8c9", NULL },
    /* McGrew-Viega Test Cases 13-16 (AES-256) */
    { KT_GCM_K0_256, "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b",
      "00000000000000000000000000000000" },
    { KT_GCM_K0_256, "000000000000000000000000", "", "00000000000000000000000000000000",
      "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919",
      "83de425c5edc5d498f382c441041ca92" },
    { KT_GCM_K256, "cafebabefacedbaddecaf888", "", KT_GCM_P60 "1aafd255",
      KT_GCM_C60_256 "898015ad", "b094dac5d93471bdec1a502270e3cc6c",
      "4db870d37cb75fcb46097c36230d1612" },
    { KT_GCM_K256, "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
      KT_GCM_P60, KT_GCM_C60_256, "76fc6ece0f4e1768cddf8853bb2d551b",
      "8bd0c4d8aacd391e67cca447e8c38f65" },
    /* CAVP gcmEncryptExtIV256 */
    { "b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4",
      "516c33929df5a3284ff463d7", "", "", "", "bdc1ac884d332457a1d2664f168c76f0", NULL },
    { "78dc4e0aaf52d935c3c01eea57428f00ca1fd475f5da86a49c8dd73d68c8e223",
      "d79cf22d504cc793c3fb6c8a", "b96baa8c1c75a671bfb2d08d06be5f36", "", "",
      "3e5d486aa2e30b22e040b85723a06e76", NULL },
    { "886cff5f3e6b8d0e1ad0a38fcdb26de97e8acbe79f6bed66959a598fa5047d65",
      "3a8efa1cd74bbab5448f9945", "519fee519d25c7a304d6c6aa1897ee1eb8c59655", "", "",
      "f6d47505ec96c98a42dc3ae719877b87", NULL },
    { "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
      "ac93a1a6145299bde902f21a", "1e0889016f67601c8ebea4943bc23ad6",
      "2d71bcfa914e4ac045b2aa60955fad24", "8995ae2e6df3dbf96fac7b7137bae67f",
      "eca5aa77d51d4a0a14d9c51e1da474ab", NULL },
    { "7da3bccaffb3464178ca7c722379836db50ce0bfb47640b9572163865332e486",
      "c04fd2e701c3dc62b68738b3", "fec0311013202e4ffdc4204926ae0ddf",
      "fd671cab1ee21f0df6bb610bf94f0e69", "6be61b17b7f7d494a7cdf270562f37ba",
      "5e702a38323fe1160b780d17adad3e96", NULL },
    { "e5a0eb92cc2b064e1bc80891faf1fab5e9a17a9c3a984e25416720e30e6c2b21",
      "4742357c335913153ff0eb0f", "", "8499893e16b0ba8b007d54665a", "eb8e6175f1fe38eb1acf95fd51",
      "88a8b74bb74fda553e91020a23deed45", NULL },
    { "595f259c55abe00ae07535ca5d9b09d6efb9f7e9abb64605c337acbd6b14fc7e",
      "92f258071d79af3e63672285", "",
      "a6fee33eb110a2d769bbc52b0f36969c287874f665681477a25fc4c48015c541fbe2394133ba490a34ee2d"
      "d67b898177849a91",
      "bbca4a9e09ae9690c0f6f8d405e53dccd666aa9c5fa13c8758bc30abe1ddd1bcce0d36a1eaaaaffef20cd3"
      "c5970b9673f8a65c",
      "26ccecb9976fd6ac9c2c0f372c52c821", NULL },
};

KT_TEST(ghash_vectors)
{
    KT_NEED_AESNI();
#if KT__AG_X86
    for (size_t i = 0; i < sizeof kt_gcm_vecs / sizeof *kt_gcm_vecs; i++) {
        const kt_gcm_vec *v = &kt_gcm_vecs[i];
        uint8_t key[32], aad[32], ct[64], want[16], got[16];
        kt_aesgcm_key k;
        if (!v->ghash) continue;
        size_t key_len = unhex(v->key, key);
        size_t alen = unhex(v->aad, aad), n = unhex(v->cipher, ct);
        unhex(v->ghash, want);
        kt_aesgcm_init(&k, key, key_len);
        kt__ghash(&k, aad, alen, ct, n, got);
        if (memcmp(got, want, 16)) KT_FAILF("test case %zu", i + 1);
    }
#endif
}

KT_TEST(aead_vectors)
{
    KT_NEED_AESNI();
    for (size_t i = 0; i < sizeof kt_gcm_vecs / sizeof *kt_gcm_vecs; i++) {
        const kt_gcm_vec *v = &kt_gcm_vecs[i];
        uint8_t key[32], nonce[12], aad[32], plain[64], want[64], tag[16], got[64], got_tag[16];
        kt_aesgcm_key k;
        size_t key_len = unhex(v->key, key);
        KT_ASSERT_EQ_INT(unhex(v->nonce, nonce), 12);
        size_t alen = unhex(v->aad, aad), n = unhex(v->plain, plain);
        KT_ASSERT_EQ_INT(unhex(v->cipher, want), n);
        unhex(v->tag, tag);
        kt_aesgcm_init(&k, key, key_len);
        kt_aesgcm_seal(&k, nonce, aad, alen, plain, n, got, got_tag);
        if (memcmp(got, want, n) || memcmp(got_tag, tag, 16)) KT_FAILF("seal vector %zu", i);
        memset(got, 0, sizeof got);
        KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, aad, alen, want, n, tag, got), 0);
        if (memcmp(got, plain, n)) KT_FAILF("open vector %zu", i);
        kt_aesgcm_wipe(&k);
    }
}

/* NIST CAVP gcmDecrypt256 records whose expected result is FAIL ([Keylen = 256][IVlen = 96]
 * [PTlen = 128][AADlen = 128][Taglen = 128], Counts 2 and 4; the same source as above): open
 * says -1 and writes nothing. */
KT_TEST(aead_forgeries_rejected)
{
    KT_NEED_AESNI();
    static const char *const v[][5] = {
        { "9a0343f850a6427120f764789ffec6d237447b898fbf51d2182f065d3861497d",
          "3deef6f453dd70d92143adcd", "dbb8226a624520863db6897017b2a4f8",
          "e93165935ac18e3a2845d15fe31a9286", "f5fc50d18766bc3d9e16dd136d45816b" },
        { "2a765ceac97265c15209eea90bea85cd9586b972160502ff592a306dc017e6b9",
          "62c545d9d4e3c7acb66b4bf1", "7d12474e23dc233bc6312d4d5b2deee4",
          "ae0594a7b66d3a958e4e6212d3288f91", "ec9aa846d185cc0f43d392240cd6e2c4" },
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        uint8_t key[32], nonce[12], aad[16], ct[16], tag[16], out[16];
        kt_aesgcm_key k;
        KT_ASSERT_EQ_INT(unhex(v[i][0], key), 32);
        unhex(v[i][1], nonce);
        size_t alen = unhex(v[i][2], aad), n = unhex(v[i][3], ct);
        unhex(v[i][4], tag);
        kt_aesgcm_init(&k, key, sizeof key);
        memset(out, 0xee, sizeof out);
        KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, aad, alen, ct, n, tag, out), -1);
        for (size_t j = 0; j < sizeof out; j++) KT_ASSERT_EQ_INT(out[j], 0xee);
        kt_aesgcm_wipe(&k);
    }
}

/* One length: kt (in place and not) against mbedTLS, and each opening what the other sealed. */
static void kt_diff_one(uint64_t *s, size_t key_len, size_t n, size_t alen, uint8_t *plain,
                        uint8_t *want, uint8_t *got)
{
    uint8_t key[32], nonce[12], aad[40], tag[16], got_tag[16];
    kt_aesgcm_key k;
    fill(s, key, key_len);
    fill(s, nonce, sizeof nonce);
    fill(s, aad, alen);
    fill(s, plain, n);
    if (n % 5 == 0) memset(plain, 0, n);   /* ciphertext = keystream */
    mbedtls_gcm_context ctx;
    mbedtls_gcm_init(&ctx);
    unsigned bits = 8 * (unsigned)key_len;
    KT_ASSERT_EQ_INT(mbedtls_gcm_setkey(&ctx, MBEDTLS_CIPHER_ID_AES, key, bits), 0);
    KT_ASSERT_EQ_INT(mbedtls_gcm_crypt_and_tag(&ctx, MBEDTLS_GCM_ENCRYPT, n, nonce, 12, aad, alen,
                                               plain, want, 16, tag), 0);
    kt_aesgcm_init(&k, key, key_len);
    const uint8_t *a = alen ? aad : NULL;   /* no AAD may come as NULL */
    memset(got, 0xa5, n);
    kt_aesgcm_seal(&k, nonce, a, alen, plain, n, got, got_tag);
    if (memcmp(got, want, n) || memcmp(got_tag, tag, 16))
        KT_FAILF("AES-%zu seal %zu/%zu", 8 * key_len, n, alen);
    /* in place */
    memcpy(got, plain, n);
    kt_aesgcm_seal(&k, nonce, a, alen, got, n, got, got_tag);
    if (memcmp(got, want, n) || memcmp(got_tag, tag, 16))
        KT_FAILF("AES-%zu seal in place %zu", 8 * key_len, n);
    /* mbedTLS opens what kt sealed */
    KT_ASSERT_EQ_INT(mbedtls_gcm_auth_decrypt(&ctx, n, nonce, 12, aad, alen, got_tag, 16, got,
                                              want), 0);
    if (memcmp(want, plain, n)) KT_FAILF("AES-%zu mbedtls open %zu", 8 * key_len, n);
    /* kt opens what mbedTLS sealed, in place and not */
    KT_ASSERT_EQ_INT(mbedtls_gcm_crypt_and_tag(&ctx, MBEDTLS_GCM_ENCRYPT, n, nonce, 12, aad, alen,
                                               plain, want, 16, tag), 0);
    memset(got, 0x5a, n);
    KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, a, alen, want, n, tag, got), 0);
    if (memcmp(got, plain, n)) KT_FAILF("AES-%zu open %zu/%zu", 8 * key_len, n, alen);
    KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, a, alen, want, n, tag, want), 0);
    if (memcmp(want, plain, n)) KT_FAILF("AES-%zu open in place %zu/%zu", 8 * key_len, n, alen);
    kt_aesgcm_wipe(&k);
    mbedtls_gcm_free(&ctx);
}

KT_TEST(aead_matches_mbedtls)
{
    KT_NEED_AESNI();
    static const size_t longer[] = { 1151, 1152, 1153, 2047, 2048, 2049, 4095, 4096, 4097, 8191,
                                     8192, 8193, 9000, 12345, 16383, 16384, 16385, 16400, 16401,
                                     16408, 16640, 17000, 18000, 19999, 20000 };
    size_t cap = 20000;
    uint8_t *plain = malloc(cap), *want = malloc(cap), *got = malloc(cap);
    uint64_t s = 0xae5c0002;
    KT_ASSERT(plain && want && got);
    for (size_t ki = 0; ki < 2; ki++) {
        size_t kl = kt_key_lens[ki];
        for (size_t n = 0; n <= 1100; n++) {
            kt_diff_one(&s, kl, n, 13, plain, want, got);   /* the TLS 1.2 record's AAD */
            kt_diff_one(&s, kl, n, (size_t)(kt_rnd(&s) % 41), plain, want, got);
        }
        for (size_t alen = 0; alen <= 40; alen++)
            for (size_t n = 0; n <= 300; n += 17) kt_diff_one(&s, kl, n, alen, plain, want, got);
        for (size_t i = 0; i < sizeof longer / sizeof *longer; i++)
            kt_diff_one(&s, kl, longer[i], (size_t)(kt_rnd(&s) % 41), plain, want, got);
        for (int i = 0; i < 40; i++)
            kt_diff_one(&s, kl, 1101 + (size_t)(kt_rnd(&s) % (cap - 1100)),
                        (size_t)(kt_rnd(&s) % 41), plain, want, got);
    }
    free(plain);
    free(want);
    free(got);
}

/* A longer AAD (several 128-byte GHASH chunks and a tail), against mbedTLS. */
KT_TEST(long_aad_matches_mbedtls)
{
    KT_NEED_AESNI();
    static const size_t alens[] = { 127, 128, 129, 255, 256, 257, 1000, 4099 };
    uint64_t s = 0xae5c0004;
    uint8_t key[32], nonce[12], aad[4099], plain[300], want[300], got[300], tag[16], got_tag[16];
    kt_aesgcm_key k;
    for (size_t i = 0; i < 2 * sizeof alens / sizeof *alens; i++) {
        size_t n = (size_t)(kt_rnd(&s) % sizeof plain), key_len = kt_key_lens[i % 2];
        size_t alen = alens[i / 2];
        fill(&s, key, key_len);
        fill(&s, nonce, sizeof nonce);
        fill(&s, aad, alen);
        fill(&s, plain, n);
        mbedtls_gcm_context ctx;
        mbedtls_gcm_init(&ctx);
        unsigned bits = 8 * (unsigned)key_len;
        KT_ASSERT_EQ_INT(mbedtls_gcm_setkey(&ctx, MBEDTLS_CIPHER_ID_AES, key, bits), 0);
        KT_ASSERT_EQ_INT(mbedtls_gcm_crypt_and_tag(&ctx, MBEDTLS_GCM_ENCRYPT, n, nonce, 12, aad,
                                                   alen, plain, want, 16, tag), 0);
        mbedtls_gcm_free(&ctx);
        kt_aesgcm_init(&k, key, key_len);
        kt_aesgcm_seal(&k, nonce, aad, alen, plain, n, got, got_tag);
        if (memcmp(got, want, n) || memcmp(got_tag, tag, 16))
            KT_FAILF("AES-%zu aad %zu", 8 * key_len, alen);
        KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, aad, alen, want, n, tag, got), 0);
        KT_ASSERT(memcmp(got, plain, n) == 0);
    }
}

/* Flips each bit of tag, ciphertext and AAD in turn: open says -1 and leaves out alone. */
static void kt_tamper(uint64_t *s, size_t key_len)
{
    static const size_t lens[] = { 0, 1, 15, 16, 17, 127, 128, 129, 500, 513, 1100 };
    uint8_t key[32] = { 0 }, nonce[12], aad[13], tag[16], plain[1100], ct[1100], out[1100];
    kt_aesgcm_key k, k2, k3;
    fill(s, key, key_len);
    fill(s, nonce, sizeof nonce);
    fill(s, aad, sizeof aad);
    kt_aesgcm_init(&k, key, key_len);
    /* the other key size on the same first 16 bytes (zeros after them for AES-256) */
    uint8_t other[32] = { 0 };
    memcpy(other, key, 16);
    kt_aesgcm_init(&k3, other, KT_AESGCM_KEY + KT_AESGCM_KEY256 - key_len);
    key[key_len - 1] ^= 0x80;
    kt_aesgcm_init(&k2, key, key_len);   /* a key one bit off, in its last byte */
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t n = lens[li], bad = 0;
        fill(s, plain, n);
        kt_aesgcm_seal(&k, nonce, aad, sizeof aad, plain, n, ct, tag);
        for (size_t bit = 0; bit < 8 * (16 + n + sizeof aad); bit++) {
            uint8_t *p = bit < 128 ? tag : bit < 128 + 8 * n ? ct : aad;
            size_t off = bit < 128 ? bit : bit < 128 + 8 * n ? bit - 128 : bit - 128 - 8 * n;
            p[off / 8] ^= (uint8_t)(1u << (off % 8));
            memset(out, 0xee, sizeof out);
            int rc = kt_aesgcm_open(&k, nonce, aad, sizeof aad, ct, n, tag, out);
            p[off / 8] ^= (uint8_t)(1u << (off % 8));
            for (size_t j = 0; j < sizeof out; j++) bad |= out[j] != 0xee;
            bad |= rc != -1;
        }
        if (bad) KT_FAILF("AES-%zu length %zu", 8 * key_len, n);
        /* in place too: a rejected record stays as it was */
        memcpy(out, ct, n);
        tag[3] ^= 0x40;
        KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, aad, sizeof aad, out, n, tag, out), -1);
        tag[3] ^= 0x40;
        KT_ASSERT(memcmp(out, ct, n) == 0);
        /* a wrong key or nonce, a shorter record or a shorter AAD fail too */
        nonce[0] ^= 1;
        KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, aad, sizeof aad, ct, n, tag, out), -1);
        nonce[0] ^= 1;
        KT_ASSERT_EQ_INT(kt_aesgcm_open(&k2, nonce, aad, sizeof aad, ct, n, tag, out), -1);
        KT_ASSERT_EQ_INT(kt_aesgcm_open(&k3, nonce, aad, sizeof aad, ct, n, tag, out), -1);
        if (n)
            KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, aad, sizeof aad, ct, n - 1, tag, out), -1);
        KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, aad, sizeof aad - 1, ct, n, tag, out), -1);
        KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, aad, sizeof aad, ct, n, tag, out), 0);
        KT_ASSERT(memcmp(out, plain, n) == 0);
    }
    kt_aesgcm_wipe(&k);
    kt_aesgcm_wipe(&k2);
    kt_aesgcm_wipe(&k3);
}

KT_TEST(tampering_is_rejected)
{
    KT_NEED_AESNI();
    uint64_t s = 0xae5c0003;
    kt_tamper(&s, KT_AESGCM_KEY);
    kt_tamper(&s, KT_AESGCM_KEY256);
}

/* Longer than the 32-bit counter allows: rejected before anything is read. */
KT_TEST(open_rejects_too_long)
{
    KT_NEED_AESNI();
    uint8_t key[32] = { 0 }, nonce[12] = { 0 }, tag[16] = { 0 }, buf[1] = { 0x42 };
    kt_aesgcm_key k;
    if (sizeof(size_t) < 8) return;   /* no such length fits a size_t */
    for (size_t ki = 0; ki < 2; ki++) {
        kt_aesgcm_init(&k, key, kt_key_lens[ki]);
        size_t len = (size_t)KT_AESGCM_MAX_LEN + 1;
        KT_ASSERT_EQ_INT(kt_aesgcm_open(&k, nonce, NULL, 0, buf, len, tag, buf), -1);
        KT_ASSERT_EQ_INT(buf[0], 0x42);
    }
}

/* Runs on any CPU: the wipe zeroes the whole key and the layout keeps its alignment. */
KT_TEST(wipe_and_layout)
{
    kt_aesgcm_key k;
    memset(&k, 0x77, sizeof k);
    kt_aesgcm_wipe(&k);
    size_t nonzero = 0;
    for (size_t i = 0; i < sizeof k; i++) nonzero += ((const uint8_t *)&k)[i] != 0;
    KT_ASSERT_EQ_INT(nonzero, 0);
    KT_ASSERT_EQ_INT(_Alignof(kt_aesgcm_key), 16);
    KT_ASSERT_EQ_INT(sizeof(kt_aesgcm_key), 448);
    KT_ASSERT_EQ_INT(KT_AESGCM_MAX_LEN, ((uint64_t)1 << 36) - 32);
#if !KT__AG_X86
    KT_ASSERT(!kt_aesgcm_available());
#endif
}

int main(void)
{
    KT_RUN(aes_fips197_vectors);
    KT_RUN(aes_matches_mbedtls);
    KT_RUN(ghash_vectors);
    KT_RUN(aead_vectors);
    KT_RUN(aead_forgeries_rejected);
    KT_RUN(aead_matches_mbedtls);
    KT_RUN(long_aad_matches_mbedtls);
    KT_RUN(tampering_is_rejected);
    KT_RUN(open_rejects_too_long);
    KT_RUN(wipe_and_layout);
    return KT_DONE();
}
