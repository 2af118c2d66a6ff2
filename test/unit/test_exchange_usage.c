/* The usage stripper: what kt asked for on the client's behalf comes out again (the final usage
 * chunk, `"usage":null` members), whatever the read boundaries; everything else byte for byte. */
#include <string.h>

#include "../../src/proxy/exchange.h"
#include "kt_test.h"

static void strip_all(const char *in, size_t step, kt_buf *got)
{
    kt_exchange x;
    memset(&x, 0, sizeof x);
    x.usage_added = true;
    kt_buf_init(&x.strip_pending, 1 << 20);
    kt_buf_init(&x.strip_out, 1 << 20);
    size_t n = strlen(in);
    for (size_t off = 0; off < n; off += step) {
        const char *p = in + off;
        size_t len = n - off < step ? n - off : step;
        if (kt__usage_strip(&x, &p, &len)) kt_buf_append(got, p, len);
    }
    const char *p = NULL;
    size_t len = 0;
    if (kt__usage_strip(&x, &p, &len)) kt_buf_append(got, p, len);
    kt_buf_free(&x.strip_pending);
    kt_buf_free(&x.strip_out);
}

static const char *const in =
    "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n"
    "data: {\"usage\":null,\"id\":\"c\",\"choices\":[]}\r\n\r\n"
    "data: {\"id\":\"c\",\"choices\":[{\"delta\":{}}] , \"usage\" : null }\n\n"
    "data: {\"id\":\"c\",\"choices\":[ ],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":5}}\n\n"
    ": comment with \"usage\":null\n\n"
    "data: {\"id\":\"c\",\"choices\":[{\"text\":\"\\\"usage\\\":null\"}]}\n\n"
    "data: [DONE]\n\n";

static const char *const want =
    "data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
    "data: {\"id\":\"c\",\"choices\":[]}\r\n\r\n"
    "data: {\"id\":\"c\",\"choices\":[{\"delta\":{}}]  }\n\n"
    ": comment with \"usage\":null\n\n"
    "data: {\"id\":\"c\",\"choices\":[{\"text\":\"\\\"usage\\\":null\"}]}\n\n"
    "data: [DONE]\n\n";

KT_TEST(strips_what_kt_asked_for_at_any_split)
{
    for (size_t step = 1; step < 80; step++) {
        kt_buf got;
        kt_buf_init(&got, 1 << 20);
        strip_all(in, step, &got);
        KT_ASSERT_EQ_INT(got.len, strlen(want));
        KT_ASSERT(memcmp(got.p, want, got.len) == 0);
        kt_buf_free(&got);
    }
}

KT_TEST(a_last_event_without_blank_line_is_kept)
{
    kt_buf got;
    kt_buf_init(&got, 1 << 20);
    strip_all("data: {\"a\":1}\n\ndata: [DONE]", 5, &got);
    KT_ASSERT_EQ_INT(got.len, strlen("data: {\"a\":1}\n\ndata: [DONE]"));
    kt_buf_free(&got);
}

int main(void)
{
    KT_RUN(strips_what_kt_asked_for_at_any_split);
    KT_RUN(a_last_event_without_blank_line_is_kept);
    return KT_DONE();
}
