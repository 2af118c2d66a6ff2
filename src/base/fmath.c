/* expf, ceil and llround without libm (see kt/fmath.h). */
#include "kt/fmath.h"

#include <string.h>

#define KT_I64_LIM 4611686018427387904.0   /* 2^62: far beyond what kt's callers pass */

static double pow2i(int k)   /* 2^k for -1022 <= k <= 1023 */
{
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

float kt_expf(float x)
{
    if (x != x) return x;
    if (x > 88.8f) return (float)(pow2i(1023) * 2.0);   /* +inf */
    if (x < -104.0f) return 0.0f;
    const double inv_ln2 = 1.4426950408889634, ln2_hi = 0x1.62e42fefa39efp-1,
                 ln2_lo = 0x1.abc9e3b39803fp-56;
    double xd = x, kd = xd * inv_ln2;
    int k = (int)(kd + (kd >= 0 ? 0.5 : -0.5));
    double r = (xd - k * ln2_hi) - k * ln2_lo;   /* |r| <= ln 2 / 2 */
    /* e^r by Horner over 1/n! to n = 13: the first term left out is below 5e-18 */
    double p = 1.0 / 6227020800.0;
    static const double inv_fact[] = {
        1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
        1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0,
    };
    for (size_t i = 0; i < sizeof inv_fact / sizeof inv_fact[0]; i++) p = p * r + inv_fact[i];
    return (float)(p * pow2i(k));
}

static int64_t clamp_i64(double x)
{
    return x >= KT_I64_LIM ? (int64_t)KT_I64_LIM : x <= -KT_I64_LIM ? -(int64_t)KT_I64_LIM : 0;
}

int64_t kt_ceil_i64(double x)
{
    if (x != x) return 0;
    if (x >= KT_I64_LIM || x <= -KT_I64_LIM) return clamp_i64(x);
    int64_t i = (int64_t)x;   /* toward zero */
    return i + ((double)i < x);
}

int64_t kt_round_i64(double x)
{
    if (x != x) return 0;
    if (x >= KT_I64_LIM || x <= -KT_I64_LIM) return clamp_i64(x);
    int64_t i = (int64_t)x;
    double f = x - (double)i;   /* exact: |x| < 2^62 and i has x's integer part */
    return f >= 0.5 ? i + 1 : f <= -0.5 ? i - 1 : i;
}
