/* Request-target normalisation: RFC 3986 §5.2.4's examples, the forms that would let a path leave
 * /v1 (and with it a provider prefix or a pinned deployment), and what is kept as it is. */
#include <stdio.h>

#include "kt/http.h"
#include "kt_test.h"

static int norm(const char *in, char *out, size_t cap, const char **why)
{
    size_t n = strlen(in);
    if (n + 1 > cap) return -100;
    memcpy(out, in, n + 1);
    *why = NULL;
    return kt_http_target_normalize(out, &n, why) ? -1 : (int)n;
}

KT_TEST(normalised_forms)
{
    static const struct { const char *in, *want; } cases[] = {
        { "/", "/" },
        { "/v1", "/v1" },
        { "/v1/", "/v1" },
        { "/v1/chat/completions", "/v1/chat/completions" },
        { "/v1/chat/completions?api-version=1&x=%2F", "/v1/chat/completions?api-version=1&x=%2F" },
        { "/v1/chat/completions#frag", "/v1/chat/completions" },
        { "/v1/models?q=1#f?g", "/v1/models?q=1" },
        { "/v1/models#f?g", "/v1/models" },
        { "/v1/./models", "/v1/models" },
        { "/v1/models/.", "/v1/models" },
        { "/v1/a/b/../../models", "/v1/models" },
        { "/v1/a/../models/..", "/v1" },
        { "/v1//models", "/v1/models" },
        { "///v1///models///", "/v1/models" },
        { "/v1/.../models", "/v1/.../models" },
        { "/v1/..a/models", "/v1/..a/models" },
        { "/v1/a.b/models", "/v1/a.b/models" },
        { "/v1/%41%62/models", "/v1/%41%62/models" },   /* other escapes stay as sent */
        { "/v1/models;x=1", "/v1/models;x=1" },
        { "/v1/?", "/v1?" },
        { "/mid/content=5/../6", "/mid/6" },            /* RFC 3986 §5.4.2 */
    };
    char buf[256];
    const char *why;
    for (size_t i = 0; i < KT_ARRAY_LEN(cases); i++) {
        int n = norm(cases[i].in, buf, sizeof buf, &why);
        if (n < 0 || strcmp(buf, cases[i].want) != 0)
            KT_FAILF("'%s': got '%s' (%s), want '%s'", cases[i].in, n < 0 ? "error" : buf,
                     why ? why : "-", cases[i].want);
        else
            KT_ASSERT_EQ_INT((size_t)n, strlen(cases[i].want));
    }
}

KT_TEST(refused_forms)
{
    static const char *const cases[] = {
        "", "v1/models", "?x", "#x",
        "/v1/..", "/v1/../v1/models", "/v1/../../team-b/v1/chat/completions", "/..", "/../v1",
        "/v1/x/../../deployments/other/chat/completions", "/v1/./../x",
        "/v1/%2e%2e/x", "/v1/%2E%2E/x", "/v1/.%2e/x", "/v1/%2e./x", "/v1/%2e/x", "/v1/%2E",
        "/v1/a%2Fb", "/v1/a%2fb", "/v1/a%5Cb", "/v1/a%5cb", "/v1/a\\b", "/v1/%00",
        "/v1/..;/x", "/v1/.;x/models", "/v1/%2e%2e;x/y",
        "/v1/a%", "/v1/a%2", "/v1/a%g0", "/v1/a%0g",
    };
    char buf[256];
    const char *why;
    for (size_t i = 0; i < KT_ARRAY_LEN(cases); i++) {
        int n = norm(cases[i], buf, sizeof buf, &why);
        if (n >= 0) KT_FAILF("'%s' was accepted as '%s'", cases[i], buf);
        else if (!why) KT_FAILF("'%s': no reason given", cases[i]);
    }
}

/* Normalising a normalised target changes nothing; a result never has a dot-segment or "//". */
KT_TEST(idempotent_over_generated_paths)
{
    static const char *const segs[] = { "v1", ".", "..", "", "a", "b.c", "%41", ";p", "..." };
    char in[128], a[128], b[128];
    const char *why;
    int accepted = 0;
    for (unsigned m = 0; m < 9 * 9 * 9 * 9; m++) {
        size_t n = 0;
        unsigned x = m;
        for (int k = 0; k < 4; k++, x /= 9)
            n += (size_t)snprintf(in + n, sizeof in - n, "/%s", segs[x % 9]);
        int na = norm(in, a, sizeof a, &why);
        if (na < 0) continue;
        accepted++;
        int nb = norm(a, b, sizeof b, &why);
        if (nb < 0 || strcmp(a, b) != 0)
            KT_FAILF("'%s' -> '%s' -> '%s'", in, a, nb < 0 ? "error" : b);
        if (strstr(a, "//") || strstr(a, "/./") || strstr(a, "/../") ||
            (strlen(a) >= 3 && strcmp(a + strlen(a) - 3, "/..") == 0) ||
            (strlen(a) >= 2 && strcmp(a + strlen(a) - 2, "/.") == 0))
            KT_FAILF("'%s' -> '%s' keeps a dot-segment or an empty one", in, a);
    }
    KT_ASSERT(accepted > 1000);
}

int main(void)
{
    KT_RUN(normalised_forms);
    KT_RUN(refused_forms);
    KT_RUN(idempotent_over_generated_paths);
    return KT_DONE();
}
