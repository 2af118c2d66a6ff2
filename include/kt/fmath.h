/* The few floating-point functions kt needs, without libm: linking libm costs ~0.4 MB of idle
 * RSS (its IFUNC resolvers run at load and fault in pages across its text) for four functions.
 * Plain arithmetic, no tables; test_fmath compares each with libm's. */
#ifndef KT_FMATH_H
#define KT_FMATH_H

#include <stdint.h>

/* e^x rounded to float: computed in double (range reduction by ln 2, a degree-13 polynomial), so
 * within 1 ULP of libm's expf and almost always equal to it. NaN gives NaN; overflow +inf. */
float kt_expf(float x);
/* The smallest integer >= x, for |x| < 2^62 (clamped to +-2^62 beyond, NaN gives 0). */
int64_t kt_ceil_i64(double x);
/* x rounded to the nearest integer, halves away from zero (llround's rule); same range rule. */
int64_t kt_round_i64(double x);

#endif
