/* kt_memfind answers exactly what memmem answers: random haystacks over a small alphabet (so
 * partial and whole matches are common), every needle length, needles at the very end, and the
 * JSON searches it serves. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kt/common.h"
#include "kt_test.h"

static uint32_t next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

KT_TEST(same_as_memmem_on_random_text)
{
    static const char alpha[] = "ab\"us";
    char hay[300], needle[12];
    uint32_t seed = 7;
    long diffs = 0, found = 0;
    for (int round = 0; round < 200000; round++) {
        size_t n = next(&seed) % sizeof hay, m = next(&seed) % sizeof needle;
        for (size_t i = 0; i < n; i++) hay[i] = alpha[next(&seed) % 5];
        for (size_t i = 0; i < m; i++) needle[i] = alpha[next(&seed) % 5];
        if (m && n >= m && next(&seed) % 4 == 0) memcpy(hay + n - m, needle, m);   /* at the end */
        const char *want = memmem(hay, n, needle, m), *got = kt_memfind(hay, n, needle, m);
        if (want != got && diffs++ < 5)
            KT_FAILF("n %zu m %zu: memmem %td, kt_memfind %td", n, m, want ? want - hay : -1,
                     got ? got - hay : -1);
        found += want != NULL;
    }
    KT_ASSERT(found > 50000);   /* the comparison saw matches, not only misses */
}

KT_TEST(json_keys)
{
    const char body[] = "{\"role\":\"user\",\"content\":\"the user said\"},\"user\":\"u-1\"}";
    const char *p = kt_memfind(body, sizeof body - 1, "\"user\"", 6);
    KT_ASSERT(p == strstr(body, "\"user\""));
    const char resp[] = "{\"id\":\"x\",\"usage\":{\"prompt_tokens\":1}}";
    KT_ASSERT(kt_memfind(resp, sizeof resp - 1, "\"usage\"", 7) == strstr(resp, "\"usage\""));
    KT_ASSERT(kt_memfind(resp, sizeof resp - 1, "\"usagex\"", 8) == NULL);
}

int main(void)
{
    KT_RUN(same_as_memmem_on_random_text);
    KT_RUN(json_keys);
    return KT_DONE();
}
