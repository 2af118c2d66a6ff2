/* The upstream request head as HTTP/2 fields (src/net/h2_head.c): pseudo-headers first, names
 * lowercased, connection-specific headers dropped, credentials never indexed, malformed heads
 * refused. */
#include <string.h>

#include "../../src/net/h2_priv.h"
#include "kt_test.h"

static kt_h2_field f[KT_H2_HEAD_MAX_FIELDS];
static char scratch[4096];

static int conv(const char *head, size_t *n)
{
    return kt_h2_head_convert(head, strlen(head), true, scratch, f, KT_H2_HEAD_MAX_FIELDS, n);
}

static int find(size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].nlen == strlen(name) && memcmp(f[i].name, name, f[i].nlen) == 0) return (int)i;
    return -1;
}

KT_TEST(request_becomes_fields)
{
    size_t n = 0;
    KT_ASSERT_EQ_INT(conv("POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: api.example.com:8443\r\n"
                          "Authorization: Bearer sk-1\r\nContent-Type: application/json\r\n"
                          "Connection: keep-alive\r\nKeep-Alive: 5\r\nTransfer-Encoding: chunked\r\n"
                          "Upgrade: h2c\r\nTE: gzip\r\nX-Request-Id:  abc \t\r\n"
                          "Content-Length: 2\r\n\r\n", &n), 0);
    KT_ASSERT_EQ_INT(n, 8);
    KT_ASSERT_EQ_MEM(f[0].name, f[0].nlen, ":method", 7);
    KT_ASSERT_EQ_MEM(f[0].value, f[0].vlen, "POST", 4);
    KT_ASSERT_EQ_MEM(f[1].value, f[1].vlen, "https", 5);
    KT_ASSERT_EQ_MEM(f[2].name, f[2].nlen, ":authority", 10);
    KT_ASSERT_EQ_MEM(f[2].value, f[2].vlen, "api.example.com:8443", 20);
    KT_ASSERT_EQ_MEM(f[3].value, f[3].vlen, "/v1/chat/completions?x=1", 24);
    int a = find(n, "authorization");
    KT_ASSERT(a >= 4 && f[a].sensitive);
    KT_ASSERT_EQ_MEM(f[a].value, f[a].vlen, "Bearer sk-1", 11);
    int r = find(n, "x-request-id");
    KT_ASSERT(r >= 0 && !f[r].sensitive);
    KT_ASSERT_EQ_MEM(f[r].value, f[r].vlen, "abc", 3);
    KT_ASSERT(find(n, "content-type") >= 0 && find(n, "content-length") >= 0);
    static const char *const gone[] = { "connection", "keep-alive", "transfer-encoding", "upgrade",
                                        "te", "host" };
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) KT_ASSERT(find(n, gone[i]) < 0);
}

KT_TEST(te_trailers_and_api_keys)
{
    size_t n = 0;
    KT_ASSERT_EQ_INT(conv("GET /v1/models HTTP/1.1\r\nHost: h\r\nTE: Trailers\r\nx-api-key: k\r\n"
                          "api-key: k2\r\n\r\n", &n), 0);
    KT_ASSERT(find(n, "te") >= 0);
    KT_ASSERT(f[find(n, "x-api-key")].sensitive && f[find(n, "api-key")].sensitive);
}

KT_TEST(malformed_heads_refused)
{
    static const char *const bad[] = {
        "",
        "GET /v1 HTTP/1.0\r\nHost: h\r\n\r\n",
        "GET  /v1 HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /v1 HTTP/1.1\r\n\r\n",                               /* no Host */
        "GET /v1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /v1 HTTP/1.1\r\nHost:\r\n\r\n",
        "GET /v1 HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n",
        "GET /v1 HTTP/1.1\r\nHost: h\r\nX: a\nb\r\n\r\n",
        "GET /v1 HTTP/1.1\r\nHost: h\r\nX: a\r\n",                /* no blank line */
        "GET /v1 HTTP/1.1\r\nHost: h\r\n\r\nextra",
        "GET /v1 HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = 99;
        KT_ASSERT(conv(bad[i], &n) != 0);
        KT_ASSERT_EQ_INT(n, 0);
    }
}

KT_TEST(field_cap)
{
    char head[4000] = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 300; i++) strcat(head, "a: b\r\n");
    strcat(head, "\r\n");
    size_t n = 0;
    KT_ASSERT_EQ_INT(kt_h2_head_convert(head, strlen(head), true, scratch, f, 10, &n), KT_ELIMIT);
}

int main(void)
{
    KT_RUN(request_becomes_fields);
    KT_RUN(te_trailers_and_api_keys);
    KT_RUN(malformed_heads_refused);
    KT_RUN(field_cap);
    return KT_DONE();
}
