/* The ChaCha20-Poly1305 AEAD (kt/chachapoly.h): every RFC 8439 test vector for the block
 * function, encryption, Poly1305, the one-time key and the AEAD; the same results as mbedTLS for
 * every length up to 1100 bytes and a spread of longer ones, in place and not, with every
 * ChaCha20 kernel the CPU has (AVX-512, AVX2, scalar) alike; and any flipped bit of tag,
 * ciphertext or AAD is rejected without writing the output. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/chachapoly.h>
#include <mbedtls/poly1305.h>

#include "../../src/chachapoly_priv.h"
#include "kt/chachapoly.h"
#include "kt_test.h"
#include "kt_test_bytes.h"

static const kt__cc_impl kt_impls[] = { KT__CC_BEST, KT__CC_AVX2, KT__CC_SCALAR };
#define KT_NIMPLS (sizeof kt_impls / sizeof *kt_impls)

/* ---- ChaCha20 -------------------------------------------------------------------------------- */

typedef struct kt_block_vec {
    const char *key, *nonce;
    uint32_t counter;
    const char *out;
} kt_block_vec;

/* §2.3.2 and A.1 #1-#5: the serialized block. */
static const kt_block_vec kt_block_vecs[] = {
    { "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
      "000000090000004a00000000", 1,
      "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
      "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e" },
    { "0000000000000000000000000000000000000000000000000000000000000000",
      "000000000000000000000000", 0,
      "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
      "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586" },
    { "0000000000000000000000000000000000000000000000000000000000000000",
      "000000000000000000000000", 1,
      "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
      "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f" },
    { "0000000000000000000000000000000000000000000000000000000000000001",
      "000000000000000000000000", 1,
      "3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a"
      "8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0" },
    { "00ff000000000000000000000000000000000000000000000000000000000000",
      "000000000000000000000000", 2,
      "72d54dfbf12ec44b362692df94137f328fea8da73990265ec1bbbea1ae9af0ca"
      "13b25aa26cb4a648cb9b9d1be65b2c0924a66c54d545ec1b7374f4872e99f096" },
    { "0000000000000000000000000000000000000000000000000000000000000000",
      "000000000000000000000002", 0,
      "c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c7"
      "8a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d" },
};

KT_TEST(block_function_vectors)
{
    for (size_t i = 0; i < sizeof kt_block_vecs / sizeof *kt_block_vecs; i++) {
        const kt_block_vec *v = &kt_block_vecs[i];
        uint8_t key[32], nonce[12], want[64], got[64];
        uint32_t st[16];
        unhex(v->key, key);
        unhex(v->nonce, nonce);
        unhex(v->out, want);
        kt__chacha20_init(st, key, v->counter, nonce);
        kt__chacha20_block(st, got);
        KT_ASSERT(memcmp(got, want, 64) == 0);
        /* the keystream through the xor path, scalar and SIMD */
        for (size_t k = 0; k < KT_NIMPLS; k++) {
            memset(got, 0, sizeof got);
            kt__chacha20_xor(st, got, got, 64, kt_impls[k]);
            KT_ASSERT(memcmp(got, want, 64) == 0);
        }
    }
}

typedef struct kt_enc_vec {
    const char *key, *nonce;
    uint32_t counter;
    const char *plain, *cipher;
} kt_enc_vec;

#define KT_IETF_TEXT                                                                               \
    "416e79207375626d697373696f6e20746f20746865204945544620696e74656e"                             \
    "6465642062792074686520436f6e7472696275746f7220666f72207075626c69"                             \
    "636174696f6e20617320616c6c206f722070617274206f6620616e2049455446"                             \
    "20496e7465726e65742d4472616674206f722052464320616e6420616e792073"                             \
    "746174656d656e74206d6164652077697468696e2074686520636f6e74657874"                             \
    "206f6620616e204945544620616374697669747920697320636f6e7369646572"                             \
    "656420616e20224945544620436f6e747269627574696f6e222e205375636820"                             \
    "73746174656d656e747320696e636c756465206f72616c2073746174656d656e"                             \
    "747320696e20494554462073657373696f6e732c2061732077656c6c20617320"                             \
    "7772697474656e20616e6420656c656374726f6e696320636f6d6d756e696361"                             \
    "74696f6e73206d61646520617420616e792074696d65206f7220706c6163652c"                             \
    "207768696368206172652061646472657373656420746f"
#define KT_JABBERWOCKY                                                                             \
    "2754776173206272696c6c69672c20616e642074686520736c6974687920746f"                             \
    "7665730a446964206779726520616e642067696d626c6520696e207468652077"                             \
    "6162653a0a416c6c206d696d737920776572652074686520626f726f676f7665"                             \
    "732c0a416e6420746865206d6f6d65207261746873206f757467726162652e"
#define KT_SUNSCREEN                                                                               \
    "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"                             \
    "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"                             \
    "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"                             \
    "637265656e20776f756c642062652069742e"

/* §2.4.2 and A.2 #1-#3. */
static const kt_enc_vec kt_enc_vecs[] = {
    { "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
      "000000000000004a00000000", 1, KT_SUNSCREEN,
      "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
      "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
      "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
      "5af90bbf74a35be6b40b8eedf2785e42874d" },
    { "0000000000000000000000000000000000000000000000000000000000000000",
      "000000000000000000000000", 0,
      "0000000000000000000000000000000000000000000000000000000000000000"
      "0000000000000000000000000000000000000000000000000000000000000000",
      "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
      "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586" },
    { "0000000000000000000000000000000000000000000000000000000000000001",
      "000000000000000000000002", 1, KT_IETF_TEXT,
      "a3fbf07df3fa2fde4f376ca23e82737041605d9f4f4f57bd8cff2c1d4b7955ec"
      "2a97948bd3722915c8f3d337f7d370050e9e96d647b7c39f56e031ca5eb6250d"
      "4042e02785ececfa4b4bb5e8ead0440e20b6e8db09d881a7c6132f420e527950"
      "42bdfa7773d8a9051447b3291ce1411c680465552aa6c405b7764d5e87bea85a"
      "d00f8449ed8f72d0d662ab052691ca66424bc86d2df80ea41f43abf937d3259d"
      "c4b2d0dfb48a6c9139ddd7f76966e928e635553ba76c5c879d7b35d49eb2e62b"
      "0871cdac638939e25e8a1e0ef9d5280fa8ca328b351c3c765989cbcf3daa8b6c"
      "cc3aaf9f3979c92b3720fc88dc95ed84a1be059c6499b9fda236e7e818b04b0b"
      "c39c1e876b193bfe5569753f88128cc08aaa9b63d1a16f80ef2554d7189c411f"
      "5869ca52c5b83fa36ff216b9c1d30062bebcfd2dc5bce0911934fda79a86f6e6"
      "98ced759c3ff9b6477338f3da4f9cd8514ea9982ccafb341b2384dd902f3d1ab"
      "7ac61dd29c6f21ba5b862f3730e37cfdc4fd806c22f221" },
    { "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
      "000000000000000000000002", 42, KT_JABBERWOCKY,
      "62e6347f95ed87a45ffae7426f27a1df5fb69110044c0d73118effa95b01e5cf"
      "166d3df2d721caf9b21e5fb14c616871fd84c54f9d65b283196c7fe4f60553eb"
      "f39c6402c42234e32a356b3e764312a61a5532055716ead6962568f87d3f3f77"
      "04c6a8d1bcd1bf4d50d6154b6da731b187b58dfd728afa36757a797ac188d1" },
};

KT_TEST(encryption_vectors)
{
    for (size_t i = 0; i < sizeof kt_enc_vecs / sizeof *kt_enc_vecs; i++)
        for (size_t k = 0; k < KT_NIMPLS; k++) {
            const kt_enc_vec *v = &kt_enc_vecs[i];
            uint8_t key[32], nonce[12], plain[512], want[512], got[512];
            uint32_t st[16];
            unhex(v->key, key);
            unhex(v->nonce, nonce);
            size_t n = unhex(v->plain, plain);
            KT_ASSERT_EQ_INT(unhex(v->cipher, want), n);
            kt__chacha20_init(st, key, v->counter, nonce);
            kt__chacha20_xor(st, plain, got, n, kt_impls[k]);
            KT_ASSERT(memcmp(got, want, n) == 0);
            kt__chacha20_xor(st, got, got, n, kt_impls[k]);   /* in place, back */
            KT_ASSERT(memcmp(got, plain, n) == 0);
        }
}

/* ---- Poly1305 -------------------------------------------------------------------------------- */

typedef struct kt_mac_vec {
    const char *key, *msg, *tag;
} kt_mac_vec;

/* §2.5.2 and A.3 #1-#11. */
static const kt_mac_vec kt_mac_vecs[] = {
    { "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b",
      "43727970746f6772617068696320466f72756d2052657365617263682047726f7570",
      "a8061dc1305136c6c22b8baf0c0127a9" },
    { "0000000000000000000000000000000000000000000000000000000000000000",
      "0000000000000000000000000000000000000000000000000000000000000000"
      "0000000000000000000000000000000000000000000000000000000000000000",
      "00000000000000000000000000000000" },
    { "0000000000000000000000000000000036e5f6b5c5e06070f0efca96227a863e", KT_IETF_TEXT,
      "36e5f6b5c5e06070f0efca96227a863e" },
    { "36e5f6b5c5e06070f0efca96227a863e00000000000000000000000000000000", KT_IETF_TEXT,
      "f3477e7cd95417af89a6b8794c310cf0" },
    { "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0", KT_JABBERWOCKY,
      "4541669a7eaaee61e708dc7cbcc5eb62" },
    { "0200000000000000000000000000000000000000000000000000000000000000",
      "ffffffffffffffffffffffffffffffff", "03000000000000000000000000000000" },
    { "02000000000000000000000000000000ffffffffffffffffffffffffffffffff",
      "02000000000000000000000000000000", "03000000000000000000000000000000" },
    { "0100000000000000000000000000000000000000000000000000000000000000",
      "fffffffffffffffffffffffffffffffff0ffffffffffffffffffffffffffffff"
      "11000000000000000000000000000000",
      "05000000000000000000000000000000" },
    { "0100000000000000000000000000000000000000000000000000000000000000",
      "fffffffffffffffffffffffffffffffffbfefefefefefefefefefefefefefefe"
      "01010101010101010101010101010101",
      "00000000000000000000000000000000" },
    { "0200000000000000000000000000000000000000000000000000000000000000",
      "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff" },
    { "0100000000000000040000000000000000000000000000000000000000000000",
      "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000"
      "0000000000000000000000000000000001000000000000000000000000000000",
      "14000000000000005500000000000000" },
    { "0100000000000000040000000000000000000000000000000000000000000000",
      "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000"
      "00000000000000000000000000000000",
      "13000000000000000000000000000000" },
};

KT_TEST(poly1305_vectors)
{
    for (size_t i = 0; i < sizeof kt_mac_vecs / sizeof *kt_mac_vecs; i++) {
        const kt_mac_vec *v = &kt_mac_vecs[i];
        uint8_t key[32], msg[512], want[16], got[16];
        unhex(v->key, key);
        size_t n = unhex(v->msg, msg);
        unhex(v->tag, want);
        kt__poly1305(key, msg, n, got);
        if (memcmp(got, want, 16) != 0) KT_FAILF("A.3 vector %zu", i);
    }
}

KT_TEST(poly1305_matches_mbedtls)
{
    uint64_t s = 0x5eed0001;
    uint8_t key[32], msg[700], a[16], b[16];
    for (size_t n = 0; n < sizeof msg; n++) {
        fill(&s, key, sizeof key);
        fill(&s, msg, n);
        if (n % 7 == 0) memset(msg, 0xff, n);   /* all-ones: the carries at their longest */
        if (n % 11 == 0) memset(key, 0xff, 16);
        kt__poly1305(key, msg, n, a);
        KT_ASSERT_EQ_INT(mbedtls_poly1305_mac(key, msg, n, b), 0);
        if (memcmp(a, b, 16) != 0) KT_FAILF("length %zu", n);
    }
}

typedef struct kt_keygen_vec {
    const char *key, *nonce, *otk;
} kt_keygen_vec;

/* §2.6.2 and A.4 #1-#3: the one-time key is the first half of block 0. */
static const kt_keygen_vec kt_keygen_vecs[] = {
    { "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
      "000000000001020304050607",
      "8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646" },
    { "0000000000000000000000000000000000000000000000000000000000000000",
      "000000000000000000000000",
      "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7" },
    { "0000000000000000000000000000000000000000000000000000000000000001",
      "000000000000000000000002",
      "ecfa254f845f647473d3cb140da9e87606cb33066c447b87bc2666dde3fbb739" },
    { "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
      "000000000000000000000002",
      "965e3bc6f9ec7ed9560808f4d229f94b137ff275ca9b3fcbdd59deaad23310ae" },
};

KT_TEST(poly1305_key_generation_vectors)
{
    for (size_t i = 0; i < sizeof kt_keygen_vecs / sizeof *kt_keygen_vecs; i++) {
        const kt_keygen_vec *v = &kt_keygen_vecs[i];
        uint8_t key[32], nonce[12], want[32], got[64];
        uint32_t st[16];
        unhex(v->key, key);
        unhex(v->nonce, nonce);
        unhex(v->otk, want);
        kt__chacha20_init(st, key, 0, nonce);
        kt__chacha20_block(st, got);
        KT_ASSERT(memcmp(got, want, 32) == 0);
    }
}

/* ---- the AEAD -------------------------------------------------------------------------------- */

typedef struct kt_aead_vec {
    const char *key, *nonce, *aad, *plain, *cipher, *tag;
} kt_aead_vec;

/* §2.8.2 and A.5. */
static const kt_aead_vec kt_aead_vecs[] = {
    { "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
      "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7", KT_SUNSCREEN,
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
      "3ff4def08e4b7a9de576d26586cec64b6116",
      "1ae10b594f09e26a7e902ecbd0600691" },
    { "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
      "000000000102030405060708", "f33388860000000000004e91",
      "496e7465726e65742d4472616674732061726520647261667420646f63756d65"
      "6e74732076616c696420666f722061206d6178696d756d206f6620736978206d"
      "6f6e74687320616e64206d617920626520757064617465642c207265706c6163"
      "65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65"
      "6e747320617420616e792074696d652e20497420697320696e617070726f7072"
      "6961746520746f2075736520496e7465726e65742d4472616674732061732072"
      "65666572656e6365206d6174657269616c206f7220746f206369746520746865"
      "6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67"
      "726573732e2fe2809d",
      "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
      "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
      "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
      "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
      "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
      "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
      "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
      "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
      "a6ad5cb4022b02709b",
      "eead9d67890cbb22392336fea1851f38" },
};

KT_TEST(aead_vectors)
{
    for (size_t i = 0; i < sizeof kt_aead_vecs / sizeof *kt_aead_vecs; i++)
        for (size_t k = 0; k < KT_NIMPLS; k++) {
            const kt_aead_vec *v = &kt_aead_vecs[i];
            uint8_t key[32], nonce[12], aad[16], plain[512], want[512], tag[16], got[512];
            uint8_t got_tag[16];
            unhex(v->key, key);
            unhex(v->nonce, nonce);
            size_t alen = unhex(v->aad, aad), n = unhex(v->plain, plain);
            KT_ASSERT_EQ_INT(unhex(v->cipher, want), n);
            unhex(v->tag, tag);
            kt__chachapoly_seal(key, nonce, aad, alen, plain, n, got, got_tag, kt_impls[k]);
            KT_ASSERT(memcmp(got, want, n) == 0);
            KT_ASSERT(memcmp(got_tag, tag, 16) == 0);
            memset(got, 0, sizeof got);
            KT_ASSERT_EQ_INT(kt__chachapoly_open(key, nonce, aad, alen, want, n, tag, got,
                                                 kt_impls[k]), 0);
            KT_ASSERT(memcmp(got, plain, n) == 0);
        }
}

/* One length: kt (both kernels, in place and not) against mbedTLS. */
static void kt_diff_one(uint64_t *s, size_t n, uint8_t *plain, uint8_t *want, uint8_t *got)
{
    uint8_t key[32], nonce[12], aad[40], tag[16], got_tag[16];
    size_t alen = (size_t)(kt_rnd(s) % 41);
    fill(s, key, sizeof key);
    fill(s, nonce, sizeof nonce);
    fill(s, aad, alen);
    fill(s, plain, n);
    mbedtls_chachapoly_context ctx;
    mbedtls_chachapoly_init(&ctx);
    mbedtls_chachapoly_setkey(&ctx, key);
    KT_ASSERT_EQ_INT(mbedtls_chachapoly_encrypt_and_tag(&ctx, n, nonce, aad, alen, plain, want,
                                                        tag), 0);
    for (size_t k = 0; k < KT_NIMPLS; k++) {
        const uint8_t *a = alen ? aad : NULL;   /* no AAD may come as NULL */
        memset(got, 0xa5, n);
        kt__chachapoly_seal(key, nonce, a, alen, plain, n, got, got_tag, kt_impls[k]);
        if (memcmp(got, want, n) || memcmp(got_tag, tag, 16)) KT_FAILF("seal %zu/%zu", n, k);
        /* in place */
        memcpy(got, plain, n);
        kt__chachapoly_seal(key, nonce, a, alen, got, n, got, got_tag, kt_impls[k]);
        if (memcmp(got, want, n) || memcmp(got_tag, tag, 16)) KT_FAILF("seal in place %zu", n);
        /* open, in place and not */
        KT_ASSERT_EQ_INT(kt__chachapoly_open(key, nonce, a, alen, got, n, tag, got,
                                             kt_impls[k]), 0);
        if (memcmp(got, plain, n)) KT_FAILF("open in place %zu/%zu", n, k);
        memset(got, 0x5a, n);
        KT_ASSERT_EQ_INT(kt__chachapoly_open(key, nonce, a, alen, want, n, tag, got,
                                             kt_impls[k]), 0);
        if (memcmp(got, plain, n)) KT_FAILF("open %zu/%zu", n, k);
    }
    /* and mbedTLS opens what kt sealed (the public entry points) */
    kt_chachapoly_seal(key, nonce, aad, alen, plain, n, got, got_tag);
    KT_ASSERT_EQ_INT(mbedtls_chachapoly_auth_decrypt(&ctx, n, nonce, aad, alen, got_tag, got,
                                                     want), 0);
    if (memcmp(want, plain, n)) KT_FAILF("mbedtls open %zu", n);
    mbedtls_chachapoly_free(&ctx);
}

KT_TEST(aead_matches_mbedtls)
{
    static const size_t longer[] = { 1151, 1152, 1153, 1535, 1536, 1537, 2047, 2048, 2049, 4095,
                                     4096, 4097, 8191, 8192, 8193, 9000, 12345, 16383, 16384,
                                     16385, 16408, 16640, 17000, 18000, 19999, 20000 };
    size_t cap = 20000;
    uint8_t *plain = malloc(cap), *want = malloc(cap), *got = malloc(cap);
    uint64_t s = 0x5eed0002;
    KT_ASSERT(plain && want && got);
    for (size_t n = 0; n <= 1100; n++) kt_diff_one(&s, n, plain, want, got);
    for (size_t i = 0; i < sizeof longer / sizeof *longer; i++)
        kt_diff_one(&s, longer[i], plain, want, got);
    for (int i = 0; i < 40; i++) kt_diff_one(&s, 1101 + (size_t)(kt_rnd(&s) % (cap - 1100)),
                                             plain, want, got);
    free(plain);
    free(want);
    free(got);
}

/* Flips each bit of tag, ciphertext and AAD in turn: open says -1 and leaves out alone. */
KT_TEST(tampering_is_rejected)
{
    static const size_t lens[] = { 0, 1, 63, 64, 65, 447, 448, 449, 500, 513, 1100 };
    uint64_t s = 0x5eed0003;
    uint8_t key[32], nonce[12], aad[13], tag[16], plain[1100], ct[1100], out[1100];
    fill(&s, key, sizeof key);
    fill(&s, nonce, sizeof nonce);
    fill(&s, aad, sizeof aad);
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++)
        for (size_t k = 0; k < KT_NIMPLS; k++) {
            size_t n = lens[li], bad = 0;
            fill(&s, plain, n);
            kt_chachapoly_seal(key, nonce, aad, sizeof aad, plain, n, ct, tag);
            for (size_t bit = 0; bit < 8 * (16 + n + sizeof aad); bit++) {
                uint8_t *p = bit < 128 ? tag : bit < 128 + 8 * n ? ct : aad;
                size_t off = bit < 128 ? bit : bit < 128 + 8 * n ? bit - 128 : bit - 128 - 8 * n;
                p[off / 8] ^= (uint8_t)(1u << (off % 8));
                memset(out, 0xee, sizeof out);
                int rc = kt__chachapoly_open(key, nonce, aad, sizeof aad, ct, n, tag, out,
                                             kt_impls[k]);
                p[off / 8] ^= (uint8_t)(1u << (off % 8));
                for (size_t j = 0; j < sizeof out; j++) bad |= out[j] != 0xee;
                bad |= rc != -1;
            }
            if (bad) KT_FAILF("length %zu kernel %zu", n, k);
            /* in place too: a rejected record stays as it was */
            memcpy(out, ct, n);
            tag[3] ^= 0x40;
            KT_ASSERT_EQ_INT(kt__chachapoly_open(key, nonce, aad, sizeof aad, out, n, tag, out,
                                                 kt_impls[k]), -1);
            tag[3] ^= 0x40;
            KT_ASSERT(memcmp(out, ct, n) == 0);
            /* a wrong key or nonce, or a shorter record, fail too */
            nonce[0] ^= 1;
            KT_ASSERT_EQ_INT(kt_chachapoly_open(key, nonce, aad, sizeof aad, ct, n, tag, out), -1);
            nonce[0] ^= 1;
            key[31] ^= 0x80;
            KT_ASSERT_EQ_INT(kt_chachapoly_open(key, nonce, aad, sizeof aad, ct, n, tag, out), -1);
            key[31] ^= 0x80;
            if (n) KT_ASSERT_EQ_INT(kt_chachapoly_open(key, nonce, aad, sizeof aad, ct, n - 1,
                                                       tag, out), -1);
            KT_ASSERT_EQ_INT(kt_chachapoly_open(key, nonce, aad, sizeof aad, ct, n, tag, out), 0);
            KT_ASSERT(memcmp(out, plain, n) == 0);
        }
}

/* Longer than the 32-bit block counter allows: rejected before anything is read. */
KT_TEST(open_rejects_too_long)
{
    uint8_t key[32] = { 0 }, nonce[12] = { 0 }, tag[16] = { 0 }, buf[1] = { 0x42 };
    size_t len = (size_t)KT_CHACHAPOLY_MAX_LEN + 1;
    KT_ASSERT_EQ_INT(kt_chachapoly_open(key, nonce, NULL, 0, buf, len, tag, buf), -1);
    KT_ASSERT_EQ_INT(buf[0], 0x42);
}

int main(void)
{
    KT_RUN(block_function_vectors);
    KT_RUN(encryption_vectors);
    KT_RUN(poly1305_vectors);
    KT_RUN(poly1305_matches_mbedtls);
    KT_RUN(poly1305_key_generation_vectors);
    KT_RUN(aead_vectors);
    KT_RUN(aead_matches_mbedtls);
    KT_RUN(tampering_is_rejected);
    KT_RUN(open_rejects_too_long);
    return KT_DONE();
}
