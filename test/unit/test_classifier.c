/* The model tier's policy-layer parts (kt/classifier.h): moderation answers mapped onto kt's
 * categories, guard answers, request bodies, the SHA-256 keys and the CLOCK cache. */
#include <stdlib.h>
#include <string.h>

#include "kt/classifier.h"
#include "kt/safety.h"
#include "kt_test.h"

static int moderation(const char *body, size_t n, uint32_t mask, kt_clf_verdict *v)
{
    return kt_clf_parse_moderations(body, strlen(body), n, mask, v);
}

KT_TEST(moderation_categories_map_onto_kt)
{
    static const struct {
        const char *cat;
        int want;
    } cases[] = {
        { "hate", KT_SAFETY_HATE },          { "hate/threatening", KT_SAFETY_HATE },
        { "harassment", KT_SAFETY_HATE },    { "harassment/threatening", KT_SAFETY_HATE },
        { "violence", KT_SAFETY_VIOLENCE },  { "violence/graphic", KT_SAFETY_VIOLENCE },
        { "illicit/violent", KT_SAFETY_VIOLENCE }, { "self-harm", KT_SAFETY_SELF_HARM },
        { "self-harm/intent", KT_SAFETY_SELF_HARM }, { "sexual", KT_SAFETY_SEXUAL },
        { "sexual/minors", KT_SAFETY_SEXUAL }, { "illicit", -1 }, { "hateful", -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"results\":[{\"flagged\":true,\"categories\":{\"hate\":false,"
                 "\"%s\":true}}]}", cases[i].cat);
        kt_clf_verdict v;
        KT_ASSERT_EQ_INT(moderation(body, 1, KT_SAFETY_ALL_MASK, &v), KT_OK);
        KT_ASSERT_EQ_INT(v.flagged, cases[i].want >= 0);
        if (cases[i].want >= 0) KT_ASSERT_EQ_INT(v.label, cases[i].want);
    }
}

KT_TEST(moderation_answers_are_checked)
{
    kt_clf_verdict v;
    const char *two = "{\"results\":[{\"flagged\":false,\"categories\":{}},"
                      "{\"flagged\":true,\"categories\":{\"violence\":true}}]}";
    KT_ASSERT_EQ_INT(moderation(two, 2, KT_SAFETY_ALL_MASK, &v), KT_OK);
    KT_ASSERT(v.flagged);
    KT_ASSERT_EQ_INT(v.label, KT_SAFETY_VIOLENCE);
    /* a category the policy does not check does not flag */
    KT_ASSERT_EQ_INT(moderation(two, 2, KT_SAFETY_BIT(KT_SAFETY_HATE), &v), KT_OK);
    KT_ASSERT(!v.flagged);
    KT_ASSERT_EQ_INT(moderation(two, 1, KT_SAFETY_ALL_MASK, &v), KT_EPARSE);   /* count */
    KT_ASSERT_EQ_INT(moderation("{\"results\":[]}", 0, KT_SAFETY_ALL_MASK, &v), KT_EPARSE);
    KT_ASSERT_EQ_INT(moderation("{\"results\":[{\"flagged\":\"yes\",\"categories\":{}}]}", 1,
                                KT_SAFETY_ALL_MASK, &v), KT_EPARSE);
    KT_ASSERT_EQ_INT(moderation("{\"results\":[{\"flagged\":tru", 1, KT_SAFETY_ALL_MASK, &v),
                     KT_EPARSE);
    KT_ASSERT_EQ_INT(moderation("", 1, KT_SAFETY_ALL_MASK, &v), KT_EPARSE);
}

static int answer(const char *s, kt_clf_task t, kt_clf_verdict *v)
{
    return kt_clf_parse_answer(s, strlen(s), t, KT_SAFETY_ALL_MASK, v);
}

KT_TEST(guard_answers)
{
    kt_clf_verdict v;
    KT_ASSERT_EQ_INT(answer("safe", KT_CLF_SAFETY, &v), KT_OK);
    KT_ASSERT(!v.flagged);
    KT_ASSERT_EQ_INT(answer("\n SAFE.\n", KT_CLF_SAFETY, &v), KT_OK);
    KT_ASSERT(!v.flagged);
    KT_ASSERT_EQ_INT(answer("unsafe\nS10", KT_CLF_SAFETY, &v), KT_OK);
    KT_ASSERT(v.flagged);
    KT_ASSERT_EQ_INT(v.label, KT_SAFETY_HATE);
    KT_ASSERT_EQ_INT(answer("unsafe\nS2,S11", KT_CLF_SAFETY, &v), KT_OK);
    KT_ASSERT_EQ_INT(v.label, KT_SAFETY_SELF_HARM);
    KT_ASSERT_EQ_INT(answer("unsafe\nS7", KT_CLF_SAFETY, &v), KT_OK);   /* privacy: not kt's */
    KT_ASSERT(!v.flagged);
    KT_ASSERT_EQ_INT(answer("unsafe\nviolence", KT_CLF_SAFETY, &v), KT_OK);
    KT_ASSERT_EQ_INT(v.label, KT_SAFETY_VIOLENCE);
    KT_ASSERT_EQ_INT(answer("unsafe", KT_CLF_SAFETY, &v), KT_OK);
    KT_ASSERT_EQ_INT(v.label, KT_CLF_LABEL_FLAGGED);
    KT_ASSERT_EQ_INT(answer("I think this is unsafe", KT_CLF_SAFETY, &v), KT_EPARSE);
    KT_ASSERT_EQ_INT(answer("safe but", KT_CLF_SAFETY, &v), KT_EPARSE);
    KT_ASSERT_EQ_INT(answer("unsafe\nS1, 0", KT_CLF_SAFETY, &v), KT_EPARSE);   /* fuzz */
    KT_ASSERT(!v.flagged);
    KT_ASSERT_EQ_INT(answer("yes", KT_CLF_SAFETY, &v), KT_EPARSE);
    KT_ASSERT_EQ_INT(answer("", KT_CLF_SAFETY, &v), KT_EPARSE);
    KT_ASSERT_EQ_INT(answer("Yes.", KT_CLF_INJECTION, &v), KT_OK);
    KT_ASSERT(v.flagged);
    KT_ASSERT_EQ_INT(v.label, KT_CLF_LABEL_FLAGGED);
    KT_ASSERT_EQ_INT(answer("no", KT_CLF_INJECTION, &v), KT_OK);
    KT_ASSERT(!v.flagged);
    KT_ASSERT_EQ_INT(answer("yes it is", KT_CLF_INJECTION, &v), KT_EPARSE);
    const char *chat = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"unsafe\\nS1\"}}]}";
    KT_ASSERT_EQ_INT(kt_clf_parse_chat(chat, strlen(chat), KT_CLF_SAFETY, KT_SAFETY_ALL_MASK, &v),
                     KT_OK);
    KT_ASSERT_EQ_INT(v.label, KT_SAFETY_VIOLENCE);
    const char *nul = "{\"choices\":[{\"message\":{\"content\":null}}]}";
    KT_ASSERT_EQ_INT(kt_clf_parse_chat(nul, strlen(nul), KT_CLF_SAFETY, KT_SAFETY_ALL_MASK, &v),
                     KT_EPARSE);
}

KT_TEST(request_bodies)
{
    kt_clf_cfg c;
    memset(&c, 0, sizeof c);
    c.model = "m\"1";
    const char *texts[2] = { "a\nb", "c" };
    size_t lens[2] = { 3, 1 };
    kt_buf b;
    kt_buf_init(&b, 1 << 16);
    KT_ASSERT_EQ_INT(kt_clf_request_body(&c, texts, lens, 2, &b), KT_OK);
    KT_ASSERT_EQ_MEM(b.p, b.len, "{\"model\":\"m\\\"1\",\"input\":[\"a\\nb\",\"c\"]}",
                     strlen("{\"model\":\"m\\\"1\",\"input\":[\"a\\nb\",\"c\"]}"));
    kt_buf_reset(&b);
    c.kind = KT_CLF_CHAT;
    c.task = KT_CLF_INJECTION;
    KT_ASSERT_EQ_INT(kt_clf_request_body(&c, texts, lens, 2, &b), KT_OK);
    KT_ASSERT(memmem(b.p, b.len, "yes or no", 9));
    KT_ASSERT(memmem(b.p, b.len, "\"content\":\"a\\nb\\n\\n-----\\n\\nc\"", 29));
    kt_buf_free(&b);
}

KT_TEST(keys_separate_scope_policy_direction_and_text)
{
    kt_clf_key a, b;
    kt_clf_key_of("s", "p", 1, "text", 4, &a);
    kt_clf_key_of("s", "p", 1, "text", 4, &b);
    KT_ASSERT(!memcmp(a.d, b.d, 32));
    kt_clf_key_of("s", "p", 2, "text", 4, &b);
    KT_ASSERT(memcmp(a.d, b.d, 32));
    kt_clf_key_of("s", "q", 1, "text", 4, &b);
    KT_ASSERT(memcmp(a.d, b.d, 32));
    kt_clf_key_of("sp", "", 1, "text", 4, &b);
    KT_ASSERT(memcmp(a.d, b.d, 32));
    kt_clf_key_of("s", "p", 1, "texT", 4, &b);
    KT_ASSERT(memcmp(a.d, b.d, 32));
}

static kt_clf_key key_n(unsigned n)
{
    char t[32];
    int len = snprintf(t, sizeof t, "text %u", n);
    kt_clf_key k;
    kt_clf_key_of("scope", "p", 1, t, (size_t)len, &k);
    return k;
}

KT_TEST(cache_is_bounded_and_gives_second_chances)
{
    kt_clf_cache c;
    memset(&c, 0, sizeof c);
    kt_clf_key k0 = key_n(0);
    KT_ASSERT(!kt_clf_cache_has(&c, &k0));   /* off: nothing */
    kt_clf_cache_put(&c, &k0);
    KT_ASSERT_EQ_INT(kt_clf_cache_size(&c, 4), KT_OK);
    for (unsigned i = 0; i < 4; i++) {
        kt_clf_key k = key_n(i);
        kt_clf_cache_put(&c, &k);
    }
    KT_ASSERT_EQ_INT(c.n, 4);
    KT_ASSERT(kt_clf_cache_has(&c, &k0));   /* 0 gets a second chance */
    for (unsigned i = 4; i < 7; i++) {
        kt_clf_key k = key_n(i);
        kt_clf_cache_put(&c, &k);
    }
    KT_ASSERT_EQ_INT(c.n, 4);
    KT_ASSERT(kt_clf_cache_has(&c, &k0));
    int present = 0;
    for (unsigned i = 0; i < 7; i++) {
        kt_clf_key k = key_n(i);
        present += kt_clf_cache_has(&c, &k);
    }
    KT_ASSERT_EQ_INT(present, 4);
    for (unsigned i = 0; i < 1000; i++) {   /* churn: chains stay consistent */
        kt_clf_key k = key_n(100 + i);
        kt_clf_cache_put(&c, &k);
        KT_ASSERT(kt_clf_cache_has(&c, &k));
    }
    KT_ASSERT_EQ_INT(c.n, 4);
    KT_ASSERT_EQ_INT(kt_clf_cache_size(&c, 8), KT_OK);   /* a new size starts empty */
    KT_ASSERT(!kt_clf_cache_has(&c, &k0));
    kt_clf_cache_free(&c);
}

int main(void)
{
    KT_RUN(moderation_categories_map_onto_kt);
    KT_RUN(moderation_answers_are_checked);
    KT_RUN(guard_answers);
    KT_RUN(request_bodies);
    KT_RUN(keys_separate_scope_policy_direction_and_text);
    KT_RUN(cache_is_bounded_and_gives_second_chances);
    return KT_DONE();
}
