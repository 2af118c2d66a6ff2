/* The clean-text cache: SipHash-2-4-128 matches the reference vectors; the set holds digests per
 * scope; a cached text gives the same decision as a scan; texts with findings, other directions
 * and other configs are never answered from it. */
#include <stdlib.h>

#include "kt/policy.h"
#include "kt/scan_cache.h"
#include "kt_test.h"
#include "kt_test_config.h"

static const char kt__cfg_a[] =
    "pack: {name: t, version: 1.0.0}\n"
    "policies: {chain: [pii-detector, safety-filter]}\n"
    "policy: {pii-detector: {action: redact}, safety-filter: {action: block}}\n";
static const char kt__cfg_b[] =   /* other content: e-mail addresses are no longer looked for */
    "pack: {name: t, version: 1.0.1}\n"
    "policies: {chain: [pii-detector]}\n"
    "policy: {pii-detector: {action: redact, entities: [ssn]}}\n";

static void hex128(const uint64_t h[2], char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int j = 0, o = 0; j < 2; j++)
        for (int b = 0; b < 8; b++) {
            unsigned v = (unsigned)(h[j] >> (8 * b)) & 255;
            out[o++] = hex[v >> 4];
            out[o++] = hex[v & 15];
        }
    out[32] = '\0';
}

KT_TEST(siphash128_reference_vectors)
{
    /* vectors_sip128 of the reference implementation: key 00..0f, message 00..(n-1) */
    static const char *const want[] = {
        "a3817f04ba25a8e66df67214c7550293",
        "da87c1d86b99af44347659119b22fc45",
        "8177228da4a45dc7fca38bdef60affe4",
    };
    unsigned char key[16], msg[16];
    for (int i = 0; i < 16; i++) key[i] = msg[i] = (unsigned char)i;
    kt_scan_cache c;
    kt_scan_cache_init(&c, key);
    for (size_t n = 0; n < KT_ARRAY_LEN(want); n++) {
        uint64_t h[2];
        char got[33];
        kt_siphash128(c.k0, c.k1, msg, n, h);
        hex128(h, got);
        KT_ASSERT_EQ_STR(got, want[n]);
    }
    /* every length up to two blocks and a few key bits change the result */
    uint64_t a[2], b[2];
    kt_siphash128(c.k0, c.k1, msg, 15, a);
    kt_siphash128(c.k0 ^ 1, c.k1, msg, 15, b);
    KT_ASSERT(a[0] != b[0] && a[1] != b[1]);
    kt_siphash128(c.k0, c.k1, msg, 16, b);
    KT_ASSERT(a[0] != b[0]);
    kt_scan_cache_free(&c);
}

/* One text through the cached chain: returns the number of findings, fills the decision. */
static size_t scan(kt_scan_cache *sc, kt_config *cfg, kt_dir dir, const char *t, kt_decision *d)
{
    kt_findings f;
    memset(&f, 0, sizeof f);
    kt_decision_init(d, cfg);
    KT_ASSERT_EQ_INT(kt_chain_scan_cached(sc, cfg, dir, t, strlen(t), &f, d), 0);
    kt_chain_note(d, &f, strlen(t), dir);
    size_t n = f.n;
    kt_findings_free(&f);
    return n;
}

KT_TEST(clean_texts_are_answered_from_the_cache)
{
    static const unsigned char key[16] = { 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
    kt_config *a = kt_test_config(kt__cfg_a);
    KT_ASSERT(a != NULL);
    if (!a) return;
    kt_scan_cache c;
    kt_scan_cache_init(&c, key);
    const char *clean = "You are a concise assistant for an internal engineering team.";
    kt_decision d1, d2;
    KT_ASSERT_EQ_INT((int)scan(&c, a, KT_DIR_INPUT, clean, &d1), 0);
    KT_ASSERT_EQ_INT((int)c.hits, 0);
    KT_ASSERT_EQ_INT((int)scan(&c, a, KT_DIR_INPUT, clean, &d2), 0);
    KT_ASSERT_EQ_INT((int)c.hits, 1);
    /* the decision from the cache reads as the scanned one: every policy ran, allowed */
    KT_ASSERT_EQ_INT(d2.verdict, d1.verdict);
    for (size_t i = 0; i < d1.npolicies; i++) {
        KT_ASSERT(d1.evals[i].ran && d2.evals[i].ran);
        KT_ASSERT_EQ_INT(d2.evals[i].result, d1.evals[i].result);
        KT_ASSERT_EQ_INT(d2.evals[i].nlabels, 0);
    }
    kt_decision_free(&d1);
    kt_decision_free(&d2);
    /* the output direction has its own entries */
    KT_ASSERT_EQ_INT((int)scan(&c, a, KT_DIR_OUTPUT, clean, &d1), 0);
    KT_ASSERT_EQ_INT((int)c.hits, 1);
    kt_decision_free(&d1);
    kt_scan_cache_free(&c);
    kt_config_release(&a);
}

KT_TEST(texts_with_findings_are_scanned_every_time)
{
    static const unsigned char key[16] = { 1 };
    kt_config *a = kt_test_config(kt__cfg_a);
    KT_ASSERT(a != NULL);
    if (!a) return;
    kt_scan_cache c;
    kt_scan_cache_init(&c, key);
    const char *pii = "write to jane.doe@example.com today";
    const char *near = "write to jane.doe@example.con today";   /* one byte apart, still an e-mail */
    kt_decision d;
    for (int i = 0; i < 3; i++) {
        KT_ASSERT_EQ_INT((int)scan(&c, a, KT_DIR_INPUT, pii, &d), 1);
        KT_ASSERT_EQ_INT(d.verdict, KT_ACT_REDACT);
        kt_decision_free(&d);
    }
    KT_ASSERT_EQ_INT((int)scan(&c, a, KT_DIR_INPUT, near, &d), 1);
    kt_decision_free(&d);
    /* a clean text cached, then the same text with one e-mail appended: found */
    const char *base = "Summarise in one sentence why connection reuse matters.";
    KT_ASSERT_EQ_INT((int)scan(&c, a, KT_DIR_INPUT, base, &d), 0);
    kt_decision_free(&d);
    KT_ASSERT_EQ_INT((int)scan(&c, a, KT_DIR_INPUT,
                               "Summarise in one sentence why connection reuse matters. a@b.io", &d), 1);
    kt_decision_free(&d);
    KT_ASSERT_EQ_INT((int)c.hits, 0);
    kt_scan_cache_free(&c);
    kt_config_release(&a);
}

KT_TEST(another_config_starts_empty)
{
    static const unsigned char key[16] = { 2 };
    kt_config *a = kt_test_config(kt__cfg_a), *b = kt_test_config(kt__cfg_b), *a2 = kt_test_config(kt__cfg_a);
    KT_ASSERT(a && b && a2);
    if (!a || !b || !a2) return;
    kt_scan_cache c;
    kt_scan_cache_init(&c, key);
    const char *mail = "ping jane@example.com";
    const char *clean = "nothing to see here";
    kt_decision d;
    /* clean under b (which ignores e-mail) must not make it clean under a */
    KT_ASSERT_EQ_INT((int)scan(&c, b, KT_DIR_INPUT, mail, &d), 0);
    kt_decision_free(&d);
    KT_ASSERT_EQ_INT((int)scan(&c, b, KT_DIR_INPUT, mail, &d), 0);
    kt_decision_free(&d);
    KT_ASSERT_EQ_INT((int)c.hits, 1);
    KT_ASSERT_EQ_INT((int)scan(&c, a, KT_DIR_INPUT, mail, &d), 1);
    KT_ASSERT_EQ_INT(d.verdict, KT_ACT_REDACT);
    kt_decision_free(&d);
    /* a snapshot with the same content (a reload of an unchanged file) keeps the entries */
    KT_ASSERT_EQ_INT((int)scan(&c, a, KT_DIR_INPUT, clean, &d), 0);
    kt_decision_free(&d);
    uint64_t before = c.hits;
    KT_ASSERT_EQ_INT((int)scan(&c, a2, KT_DIR_INPUT, clean, &d), 0);
    kt_decision_free(&d);
    KT_ASSERT_EQ_INT((int)(c.hits - before), 1);
    kt_scan_cache_free(&c);
    kt_config_release(&a);
    kt_config_release(&b);
    kt_config_release(&a2);
}

KT_TEST(no_cache_is_a_plain_scan)
{
    kt_config *a = kt_test_config(kt__cfg_a);
    KT_ASSERT(a != NULL);
    if (!a) return;
    kt_decision d;
    KT_ASSERT_EQ_INT((int)scan(NULL, a, KT_DIR_INPUT, "ssn 123-45-6789", &d), 1);
    kt_decision_free(&d);
    KT_ASSERT_EQ_INT((int)scan(NULL, a, KT_DIR_INPUT, "hello", &d), 0);
    KT_ASSERT(d.evals[0].ran);
    kt_decision_free(&d);
    kt_config_release(&a);
}

/* The set alone: digests in, present out; a tweak or another scope gives other entries. */
KT_TEST(the_set_holds_digests_per_scope)
{
    static const unsigned char key[16] = { 3 };
    kt_scan_cache c;
    kt_scan_cache_init(&c, key);
    kt_scan_cache_scope(&c, "scope-a");
    kt_scan_key k = kt_scan_cache_digest(&c, 1, "text", 4);
    kt_scan_key other = kt_scan_cache_digest(&c, 2, "text", 4);
    KT_ASSERT(k.h0 != other.h0 || k.h1 != other.h1);
    KT_ASSERT(!kt_scan_cache_has(&c, k));
    kt_scan_cache_put(&c, k);
    KT_ASSERT(kt_scan_cache_has(&c, k));
    KT_ASSERT(!kt_scan_cache_has(&c, other));
    kt_scan_cache_scope(&c, "scope-a");   /* the same scope keeps the entries */
    KT_ASSERT(kt_scan_cache_has(&c, k));
    kt_scan_cache_scope(&c, "scope-b");
    KT_ASSERT(!kt_scan_cache_has(&c, k));
    KT_ASSERT_EQ_INT((int)c.hits, 2);
    KT_ASSERT_EQ_INT((int)c.misses, 3);
    kt_scan_cache_free(&c);
}

int main(void)
{
    KT_RUN(siphash128_reference_vectors);
    KT_RUN(clean_texts_are_answered_from_the_cache);
    KT_RUN(texts_with_findings_are_scanned_every_time);
    KT_RUN(another_config_starts_empty);
    KT_RUN(no_cache_is_a_plain_scan);
    KT_RUN(the_set_holds_digests_per_scope);
    return KT_DONE();
}
