/* The exchange's one look at a request body: the top-level facts every later stage reads
 * (routing, events, governance), decoded from one pass, whichever pass collected them. */
#include "../../src/proxy/exchange.h"
#include "kt_test.h"

static kt_req_facts facts_of(const char *body)
{
    kt_req_facts f;
    memset(&f, 0, sizeof f);
    f.stream = f.include_usage = -1;
    f.max_tokens = -1;
    kt__facts_read(&f, body, strlen(body));
    return f;
}

KT_TEST(every_fact_from_one_pass)
{
    kt_req_facts f = facts_of("{\"model\":\"gpt-\\u0034o\",\"stream\":true,\"user\":\"jane@example.com\","
                          "\"stream_options\":{\"include_usage\":false},\"max_completion_tokens\":256,"
                          "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    KT_ASSERT(f.has_model);
    KT_ASSERT_EQ_STR(f.model, "gpt-4o");
    KT_ASSERT_EQ_INT(f.stream, 1);
    KT_ASSERT_EQ_INT(f.include_usage, 0);
    KT_ASSERT_EQ_INT((int)f.max_tokens, 256);
    /* the user only as a hash: never the address */
    KT_ASSERT(strncmp(f.user, "user-sha256:", 12) == 0 && strlen(f.user) == 28);
    KT_ASSERT(strstr(f.user, "jane") == NULL);
}

KT_TEST(absent_or_wrong_types_stay_unknown)
{
    kt_req_facts f = facts_of("{\"model\":7,\"stream\":\"yes\",\"max_tokens\":-5,\"max_output_tokens\":1.5}");
    KT_ASSERT(!f.has_model);
    KT_ASSERT_EQ_INT(f.stream, -1);
    KT_ASSERT_EQ_INT((int)f.max_tokens, -1);
    KT_ASSERT_EQ_INT(f.user[0], 0);
    f = facts_of("{\"model\":\"\"}");   /* an empty model routes nowhere and names nothing */
    KT_ASSERT(!f.has_model);
    f = facts_of("not json");
    KT_ASSERT(!f.has_model);
    KT_ASSERT_EQ_INT(f.stream, -1);
    f = facts_of("[{\"model\":\"x\"}]");
    KT_ASSERT(!f.has_model);
}

KT_TEST(limits_fall_back_in_order)
{
    kt_req_facts f = facts_of("{\"max_output_tokens\":9,\"max_completion_tokens\":8}");
    KT_ASSERT_EQ_INT((int)f.max_tokens, 8);
    f = facts_of("{\"max_output_tokens\":9}");
    KT_ASSERT_EQ_INT((int)f.max_tokens, 9);
    f = facts_of("{\"max_tokens\":1,\"max_output_tokens\":9}");
    KT_ASSERT_EQ_INT((int)f.max_tokens, 1);
}

KT_TEST(long_model_is_absent)
{
    char body[600];
    char name[400];
    memset(name, 'm', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(body, sizeof body, "{\"model\":\"%s\"}", name);
    kt_req_facts f = facts_of(body);
    KT_ASSERT(!f.has_model);
}

int main(void)
{
    KT_RUN(every_fact_from_one_pass);
    KT_RUN(absent_or_wrong_types_stay_unknown);
    KT_RUN(limits_fall_back_in_order);
    KT_RUN(long_model_is_absent);
    return KT_DONE();
}
