/* Minimal unit-test harness: one binary per module, TAP-like lines, a closing count.
 *
 *   KT_TEST(name) { KT_ASSERT(cond); KT_ASSERT_EQ_INT(a, b); KT_ASSERT_EQ_STR(a, b); }
 *   int main(void) { KT_RUN(name); ...; return KT_DONE(); }
 *
 * Every test binary prints "ok - name" or "not ok - name" lines and ends with
 * "# N passed, M failed"; test/run_all.py adds the counts up. */
#ifndef KT_TEST_H
#define KT_TEST_H

#include <stdio.h>
#include <string.h>

typedef struct kt_test_state {
    int passed;
    int failed;
    int cur_failed;
} kt_test_state;

static kt_test_state kt__t;

#define KT_TEST(name) static void name(void)

#define KT_FAILF(...)                                                       \
    do {                                                                    \
        fprintf(stdout, "#   %s:%d: ", __FILE__, __LINE__);                 \
        fprintf(stdout, __VA_ARGS__);                                       \
        fputc('\n', stdout);                                                \
        kt__t.cur_failed = 1;                                               \
    } while (0)

#define KT_ASSERT(cond)                                                     \
    do {                                                                    \
        if (!(cond)) KT_FAILF("assertion failed: %s", #cond);               \
    } while (0)

#define KT_ASSERT_EQ_INT(a, b)                                              \
    do {                                                                    \
        long long kt__a = (long long)(a), kt__b = (long long)(b);           \
        if (kt__a != kt__b)                                                 \
            KT_FAILF("%s == %s: %lld != %lld", #a, #b, kt__a, kt__b);       \
    } while (0)

#define KT_ASSERT_EQ_STR(a, b)                                              \
    do {                                                                    \
        const char *kt__a = (a), *kt__b = (b);                              \
        if (!kt__a || !kt__b || strcmp(kt__a, kt__b) != 0)                  \
            KT_FAILF("%s == %s: \"%s\" != \"%s\"", #a, #b,                  \
                     kt__a ? kt__a : "(null)", kt__b ? kt__b : "(null)");   \
    } while (0)

#define KT_ASSERT_EQ_MEM(a, alen, b, blen)                                  \
    do {                                                                    \
        size_t kt__al = (alen), kt__bl = (blen);                            \
        if (kt__al != kt__bl || memcmp((a), (b), kt__al) != 0)              \
            KT_FAILF("%s == %s: \"%.*s\" != \"%.*s\"", #a, #b,              \
                     (int)kt__al, (const char *)(a), (int)kt__bl,           \
                     (const char *)(b));                                    \
    } while (0)

#define KT_RUN(fn)                                                          \
    do {                                                                    \
        kt__t.cur_failed = 0;                                               \
        fn();                                                               \
        if (kt__t.cur_failed) {                                             \
            kt__t.failed++;                                                 \
            printf("not ok - %s\n", #fn);                                   \
        } else {                                                            \
            kt__t.passed++;                                                 \
            printf("ok - %s\n", #fn);                                       \
        }                                                                   \
        fflush(stdout);                                                     \
    } while (0)

#define KT_DONE()                                                           \
    (printf("# %d passed, %d failed\n", kt__t.passed, kt__t.failed),        \
     kt__t.failed ? 1 : 0)

#endif
