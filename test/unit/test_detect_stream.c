/* Streaming property: text that arrives in pieces and is emitted through
 * kt_detect_stable_prefix_ctx / kt_detect_ctx (the protocol in detect.h) redacts exactly like the
 * whole text at once, for byte-at-a-time arrival, for every two-piece split and for pseudo-random
 * chunkings; the held tail never exceeds kt_detect_max_holdback and no match straddles the cut. */
#include <stdlib.h>
#include <string.h>

#include "kt/common.h"
#include "kt/detect.h"
#include "kt_test.h"

static const char *const kt_texts[] = {
    "Contact john.doe@example.com or jane@mail.example.co.uk today.",
    "Call me at (415) 555-2671 or +1 415 555 2671, thanks",
    "My SSN is 123-45-6789 and my old one was 078-05-1120",
    "Card: 4111 1111 1111 1111 exp 12/27, backup 5555555555554444.",
    "IBAN DE89 3704 0044 0532 0130 00 and GB82WEST12345698765432",
    "Server 192.168.1.10:8080 and 10.0.0.1/8 are internal",
    "IPv6 fe80::1 and 2001:db8::8a2e:370:7334 plus ::1",
    "export OPENAI_API_KEY=sk-proj-Ab3dEf_Gh1jKlMn0pQrStUvWxYz-12345\n",
    "aws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_region=us-east-1",
    "Authorization: Bearer abcdef0123456789ABCDEF\r\nHost: x",
    "jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c; path=/",
    "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\ndone",
    "{\"user\":{\"email\":\"a@b.io\",\"phone\":\"+44 20 7946 0958\",\"age\":42}}",
    "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "Tokens: xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx and sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "Google AIzaSyA1234567890abcdefghijklmnopqrstuv key",
    "version 1.2.3.4.5 is not 1.2.3.4 nor v1.2.3.4",
    "mixed: a@b.io,415-555-2671;4111111111111111|10.0.0.1",
    "abc4111111111111111 and 4111111111111111xyz and 4111111111111111",
    "email at end john@example.com",
    "email at end with dot john@example.com.",
    "a.b.c.d@e.f.gh",
    "over@long.local.part.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.com ok@x.io",
    "\xe9\x82\xae\xe7\xae\xb1" "bob@example.cn\xe3\x80\x82\xe7\x94\xb5\xe8\xaf\x9d 415-555-2671",
    "sk-short then sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL end",
    "dates 2024-01-15 12:30:45 and ssn 219-09-9999.",
    "::ffff:192.0.2.128 mapped, std::vector a::b",
    "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. then text",
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI unterminated",
    "NL91ABNA0417164300 NO9386011117947 FR1420041010050500013M02606",
    "amex 3782 822463 10005 and diners 3056 930902 5904 and 4111-1111-1111-1111-2222",
    "phones 1-800-234-5678 +33 1 23 45 67 89 +81-3-1234-5678 (212)456-7890",
    "4111 1111 1111 1111 2024",
    /* national phones, extensions, labelled SSNs, JCB 15, long IBANs */
    "Berlin 030 12345678, Paris 01 23 45 67 89, London 020 7946 0958 ext. 12 or (0171) 123 4567",
    "Tokyo 03-1234-5678 / Sao Paulo (11) 91234-5678 / Mumbai 98765 43210 / +44 (0)20 7946 0958",
    "order 01234 567890 and invoice no. 020 7946 0958 are not phones; (415) 555-2671x123 is",
    "social security number 078051120 and SSN: 123456789 but account 123456789",
    "jcb15 213100001234005 and RU0304452522540817810538091310419 and 3566002020360505",
    /* AWS secrets, Slack webhooks and app tokens, JWT look-alikes */
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nnext",
    "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY then text",
    "post to https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D4/aBcDeFgHiJkLmNoPqRsTuVwX now",
    "SLACK_APP_TOKEN=xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef",
    "eyJ1c2VyIjoiYm9iIn0.eyJzdWIiOiIxIn0.c2lnbmF0dXJl and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
    "++++((((----____AAAA::::@@@@eyJeyJ Bearer  bearer  1111 2222 3333 4444",
};

typedef struct kt_out {
    char p[4096];
    size_t n;
} kt_out;

static void put(kt_out *o, const char *s, size_t n)
{
    if (o->n + n > sizeof o->p) n = sizeof o->p - o->n;
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

/* Emits t[a..b) with the matches inside it replaced by "[name]". */
static void emit(kt_out *o, const char *t, size_t a, size_t b, const kt_match *m, size_t nm)
{
    for (size_t k = 0; k < nm; k++) {
        if (m[k].end <= a || m[k].start >= b) continue;
        if (m[k].start < a || m[k].end > b) KT_FAILF("match %zu..%zu straddles %zu..%zu", m[k].start, m[k].end, a, b);
        put(o, t + a, m[k].start - a);
        put(o, "[", 1);
        put(o, kt_entity_name(m[k].ent), strlen(kt_entity_name(m[k].ent)));
        put(o, "]", 1);
        a = m[k].end;
    }
    if (b > a) put(o, t + a, b - a);
}

static void whole(kt_out *o, const char *t, size_t len, uint32_t mask)
{
    kt_match m[64];
    size_t nm = kt_detect(t, len, mask, m, 64, NULL);
    emit(o, t, 0, len, m, nm);
}

/* The streaming consumer of detect.h, fed `len` bytes in chunks chosen by `next`. */
static void streamed(kt_out *o, const char *t, size_t len, uint32_t mask, size_t (*next)(size_t *, size_t),
                     size_t seed)
{
    char hold[4096];
    kt_match m[64];
    size_t hl = 0, ctx = 0, off = 0, hb = kt_detect_max_holdback(mask);
    while (off < len) {
        size_t c = next(&seed, len - off);
        memcpy(hold + hl, t + off, c);
        hl += c;
        off += c;
        size_t n = kt_detect_stable_prefix_ctx(hold, hl, ctx, mask);
        if (n < ctx || n > hl || hl - n > hb) KT_FAILF("bad cut %zu (ctx %zu, len %zu)", n, ctx, hl);
        size_t nm = kt_detect_ctx(hold, hl, ctx, mask, m, 64, NULL), keep = 0;
        while (keep < nm && m[keep].end <= n) keep++;
        if (keep < nm && m[keep].start < n) KT_FAILF("match %zu..%zu straddles cut %zu", m[keep].start, m[keep].end, n);
        emit(o, hold, ctx, n, m, keep);
        size_t k = KT_MIN(n, (size_t)KT_DETECT_CONTEXT);
        memmove(hold, hold + (n - k), hl - (n - k));
        hl -= n - k;
        ctx = k;
    }
    size_t nm = kt_detect_ctx(hold, hl, ctx, mask, m, 64, NULL);
    emit(o, hold, ctx, hl, m, nm);
}

static size_t one(size_t *seed, size_t left) { (void)seed; (void)left; return 1; }
static size_t split_at(size_t *seed, size_t left)
{
    /* first call: *seed bytes, then the rest */
    size_t c = *seed && *seed < left ? *seed : left;
    *seed = 0;
    return c;
}
static size_t rnd(size_t *seed, size_t left)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    size_t c = 1 + (*seed >> 33) % 9;
    return c < left ? c : left;
}

static int same(const kt_out *a, const kt_out *b) { return a->n == b->n && !memcmp(a->p, b->p, a->n); }

static void check_text(const char *t, uint32_t mask)
{
    size_t len = strlen(t);
    kt_out w = {.n = 0}, s = {.n = 0};
    whole(&w, t, len, mask);
    streamed(&s, t, len, mask, one, 0);
    if (!same(&w, &s)) KT_FAILF("byte-at-a-time differs for \"%s\":\n#   whole  %.*s\n#   stream %.*s", t, (int)w.n, w.p, (int)s.n, s.p);
    for (size_t k = 1; k < len; k++) {
        s.n = 0;
        streamed(&s, t, len, mask, split_at, k);
        if (!same(&w, &s)) {
            KT_FAILF("split at %zu differs for \"%s\":\n#   whole  %.*s\n#   stream %.*s", k, t, (int)w.n, w.p, (int)s.n, s.p);
            break;
        }
    }
    for (size_t seed = 1; seed <= 20; seed++) {
        s.n = 0;
        streamed(&s, t, len, mask, rnd, seed);
        if (!same(&w, &s)) {
            KT_FAILF("random chunks (seed %zu) differ for \"%s\"", seed, t);
            break;
        }
    }
}

KT_TEST(stream_equals_whole_all_detectors)
{
    KT_ASSERT(KT_ARRAY_LEN(kt_texts) >= 30);
    for (size_t k = 0; k < KT_ARRAY_LEN(kt_texts); k++) check_text(kt_texts[k], KT_DETECT_ALL_MASK);
}

KT_TEST(stream_equals_whole_single_detectors)
{
    for (int e = 0; e < KT_ENT__COUNT; e++)
        for (size_t k = 0; k < KT_ARRAY_LEN(kt_texts); k++) check_text(kt_texts[k], KT_ENT_BIT(e));
}

KT_TEST(stream_redacts_every_entity)
{
    /* Sanity: the property is not vacuous, every text has something to redact. */
    for (size_t k = 0; k < KT_ARRAY_LEN(kt_texts); k++) {
        kt_match m[4];
        if (!kt_detect(kt_texts[k], strlen(kt_texts[k]), KT_DETECT_ALL_MASK, m, 4, NULL) &&
            k != KT_ARRAY_LEN(kt_texts) - 1)
            KT_FAILF("text %zu has no entity", k);
    }
}

KT_TEST(stream_holds_back_partial_entities)
{
    /* While a card number arrives, none of its digits is released. */
    const char *t = "pay with 4111111111111111 now";
    for (size_t len = 10; len <= 25; len++) {
        size_t n = kt_detect_stable_prefix(t, len, KT_DETECT_ALL_MASK);
        KT_ASSERT(n <= 9);
    }
    KT_ASSERT_EQ_INT(kt_detect_stable_prefix(t, 26, KT_DETECT_ALL_MASK), 26);
}

int main(void)
{
    KT_RUN(stream_equals_whole_all_detectors);
    KT_RUN(stream_equals_whole_single_detectors);
    KT_RUN(stream_redacts_every_entity);
    KT_RUN(stream_holds_back_partial_entities);
    return KT_DONE();
}
