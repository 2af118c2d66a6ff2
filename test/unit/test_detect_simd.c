/* The SIMD chunk classifiers (detect_block.h) and the quiet-run filter must change nothing: on
 * texts long enough for whole chunks and on short ones (classified in a padded copy), kt_detect_ctx and kt_detect_stable_prefix_ctx give exactly
 * what the portable table classifier gives (kt__detect_plain, kt__stable_prefix_plain), for every
 * mask, start offset and cut. The texts mix entities with the benign look-alikes the filters are
 * tuned for (dates, times, versions, UUIDs, hashes, token counts), placed at every offset. */
#include <stdlib.h>
#include <string.h>

#include "../../src/scan/detect_int.h"
#include "kt/common.h"
#include "kt/detect.h"
#include "kt_test.h"

static const char *const kt_pieces[] = {
    "john.doe@example.com", "(415) 555-2671", "+1 415 555 2671", "+44 20 7946 0958",
    "123-45-6789", "219 09 9999", "4111 1111 1111 1111", "5555555555554444", "4111-1111-1111-1111",
    "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "192.168.1.10", "10.0.0.1:8080",
    "fe80::1", "2001:db8::8a2e:370:7334", "::ffff:192.0.2.128", "1:2:3:4:5:6:7:8",
    "sk-proj-Ab3dEf_Gh1jKlMn0pQrStUvWxYz-12345", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "AKIAIOSFODNN7EXAMPLE", "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "xoxb-123456789012-1234567890123-AbCdEfGh",
    "Bearer abcdef0123456789ABCDEF", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.SflKxwRJSMeKKF2QT4fw",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    "030 12345678", "01 23 45 67 89", "(0171) 123 4567", "98765 43210", "(11) 91234-5678",
    "03-1234-5678", "+44 (0)20 7946 0958", "415-555-2671 ext. 45", "(415) 555-2671x123",
    "SSN: 123456789", "social security number 078051120", "213100001234005",
    "RU0304452522540817810538091310419", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D4/aBcDeFgHiJkLmNoPqRsTuVwX",
    "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef", "order 01234 567890",
    /* look-alikes */
    "2024-11-29", "12:30:45", "2024-01-15T12:30:45Z", "v1.2.3.4", "2.4.1", "$1,234.56",
    "ORD-2024-123456", "gpt-4o-mini", "123e4567-e89b-12d3-a456-426614174000",
    "d41d8cd98f00b204e9800998ecf8427e", "\"tokens\":120,", "1718000000", "0.0.0.0:8080",
    "a::b", "std::vector", "x[1::2]", "abc4111111111111111", "4111111111111111xyz", "1969,",
    "18 minutes", "4B", "A1", "AB12", "e9800998ec", "fa:ce", "dead:beef::1", "999.1.1.1",
    "1.2.3.4.5", "+1", "(12)", "0x1F", "1e10", "12ab:", "ab12:cd", "_1", "@1", ".1", ":1",
};

static const char kt_seps[] = " ,.-:/\n\"(+_@;ABef0";

static unsigned kt_rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* Pieces joined by short separators, up to cap bytes; returns the length. */
static size_t kt_make_text(char *buf, size_t cap, unsigned seed)
{
    size_t n = 0;
    unsigned s = seed;
    while (n + 64 < cap) {
        const char *p = kt_pieces[kt_rnd(&s) % KT_ARRAY_LEN(kt_pieces)];
        size_t pl = strlen(p);
        if (n + pl + 4 >= cap) break;
        memcpy(buf + n, p, pl);
        n += pl;
        for (unsigned k = 0, sep = 1 + kt_rnd(&s) % 3; k < sep; k++)
            buf[n++] = kt_seps[kt_rnd(&s) % (sizeof kt_seps - 1)];
    }
    return n;
}

/* Bytes from an alphabet made of the anchors and their neighbours. */
static size_t kt_make_noise(char *buf, size_t len, unsigned seed)
{
    static const char abc[] = "0123456789-:._@AbBJkxhyeKSIfF +(,/\npsao";
    unsigned s = seed;
    for (size_t k = 0; k < len; k++) buf[k] = abc[kt_rnd(&s) % (sizeof abc - 1)];
    return len;
}

static int kt_same(const char *t, size_t len, size_t from, uint32_t mask)
{
    static kt_match a[4096], b[4096];
    int ta = 0, tb = 0;
    size_t na = kt_detect_ctx(t, len, from, mask, a, 4096, &ta);
    size_t nb = kt__detect_plain(t, len, from, mask, b, 4096, &tb);
    if (na != nb || ta != tb) return 0;
    for (size_t k = 0; k < na; k++)
        if (a[k].start != b[k].start || a[k].end != b[k].end || a[k].ent != b[k].ent) return 0;
    return kt_detect_stable_prefix_ctx(t, len, from, mask) ==
           kt__stable_prefix_plain(t, len, from, mask);
}

static const uint32_t kt_masks[] = {
    KT_DETECT_ALL_MASK, KT_DETECT_PII_MASK, KT_DETECT_DLP_MASK,
    KT_ENT_BIT(KT_ENT_EMAIL), KT_ENT_BIT(KT_ENT_PHONE), KT_ENT_BIT(KT_ENT_SSN),
    KT_ENT_BIT(KT_ENT_CREDIT_CARD), KT_ENT_BIT(KT_ENT_IBAN), KT_ENT_BIT(KT_ENT_IPV4),
    KT_ENT_BIT(KT_ENT_IPV6), KT_ENT_BIT(KT_ENT_API_KEY), KT_ENT_BIT(KT_ENT_CLOUD_KEY),
    KT_ENT_BIT(KT_ENT_PRIVATE_KEY), KT_ENT_BIT(KT_ENT_JWT), KT_ENT_BIT(KT_ENT_BEARER),
    KT_ENT_BIT(KT_ENT_IPV4) | KT_ENT_BIT(KT_ENT_IPV6) | KT_ENT_BIT(KT_ENT_PHONE),
};

KT_TEST(simd_matches_plain_on_mixed_text)
{
    static char buf[6000];
    size_t found = 0;
    for (unsigned seed = 1; seed <= 40; seed++) {
        size_t len = kt_make_text(buf, sizeof buf, seed);
        KT_ASSERT(len > 1000);
        kt_match m[1];
        found += kt_detect(buf, len, KT_DETECT_ALL_MASK, m, 1, NULL);
        for (size_t k = 0; k < KT_ARRAY_LEN(kt_masks); k++) {
            if (!kt_same(buf, len, 0, kt_masks[k])) KT_FAILF("seed %u mask %zu from 0", seed, k);
            size_t from = seed * 37 % 300;
            if (!kt_same(buf, len, from, kt_masks[k]))
                KT_FAILF("seed %u mask %zu from %zu", seed, k, from);
        }
    }
    KT_ASSERT(found > 0); /* the comparison is not vacuous */
}

KT_TEST(simd_matches_plain_at_every_cut)
{
    /* Streaming asks for the stable prefix of every growing prefix; chunk ends fall anywhere. */
    static char buf[1400];
    for (unsigned seed = 100; seed < 104; seed++) {
        size_t len = kt_make_text(buf, sizeof buf, seed);
        for (size_t cut = 250; cut <= len; cut++)
            if (!kt_same(buf, cut, cut > 600 ? cut - 300 : 0, KT_DETECT_ALL_MASK)) {
                KT_FAILF("seed %u cut %zu", seed, cut);
                break;
            }
    }
}

KT_TEST(simd_matches_plain_on_anchor_noise)
{
    static char buf[3000];
    for (unsigned seed = 7; seed < 47; seed++) {
        size_t len = kt_make_noise(buf, 600 + seed * 50, seed);
        for (size_t k = 0; k < KT_ARRAY_LEN(kt_masks); k++)
            if (!kt_same(buf, len, 0, kt_masks[k])) KT_FAILF("seed %u mask %zu", seed, k);
    }
}

KT_TEST(simd_matches_plain_on_short_texts)
{
    /* Chat prompts are short: a text of one chunk or less is classified in a padded copy. Every
     * length from 1 to 300, every start offset near the front, every mask, prose and noise. */
    static char buf[4000];
    size_t found = 0;
    for (unsigned seed = 200; seed < 206; seed++) {
        size_t full = seed % 2 ? kt_make_text(buf, sizeof buf, seed)
                               : kt_make_noise(buf, 400, seed);
        for (size_t len = 1; len <= 300 && len <= full; len++)
            for (size_t k = 0; k < KT_ARRAY_LEN(kt_masks); k++)
                for (size_t from = 0; from < 4 && from < len; from++)
                    if (!kt_same(buf, len, from, kt_masks[k])) {
                        KT_FAILF("seed %u len %zu mask %zu from %zu", seed, len, k, from);
                        return;
                    }
        kt_match m[64];
        found += kt_detect(buf, KT_MIN(full, (size_t)300), KT_DETECT_ALL_MASK, m, 64, NULL);
    }
    KT_ASSERT(found > 10);
}

KT_TEST(simd_finds_entities_at_every_offset)
{
    /* One entity slid across two chunk boundaries inside plain prose; `skip` bytes of it are a
     * prefix that is not redacted. */
    static const struct {
        const char *s;
        size_t skip;
    } ents[] = {{"4111 1111 1111 1111", 0}, {"john.doe@example.com", 0}, {"10.0.0.1", 0},
                {"fe80::1", 0}, {"123-45-6789", 0}, {"Bearer abcdef0123456789ABCDEF", 7},
                {"BEARER abcdef0123456789ABCDEF", 7}, {"AKIAIOSFODNN7EXAMPLE", 0}};
    static char buf[900];
    for (size_t e = 0; e < KT_ARRAY_LEN(ents); e++) {
        size_t el = strlen(ents[e].s);
        for (size_t off = 200; off < 560; off++) {
            memset(buf, 'o', sizeof buf);
            for (size_t k = 5; k < sizeof buf; k += 6) buf[k] = ' ';
            buf[off - 1] = ' ';
            memcpy(buf + off, ents[e].s, el);
            buf[off + el] = ' ';
            kt_match m[4];
            size_t n = kt_detect(buf, sizeof buf, KT_DETECT_ALL_MASK, m, 4, NULL);
            if (n != 1 || m[0].start != off + ents[e].skip || m[0].end != off + el) {
                KT_FAILF("entity %zu at %zu: %zu matches", e, off, n);
                break;
            }
        }
    }
}

int main(void)
{
    KT_RUN(simd_matches_plain_on_mixed_text);
    KT_RUN(simd_matches_plain_at_every_cut);
    KT_RUN(simd_matches_plain_on_anchor_noise);
    KT_RUN(simd_matches_plain_on_short_texts);
    KT_RUN(simd_finds_entities_at_every_offset);
    return KT_DONE();
}
