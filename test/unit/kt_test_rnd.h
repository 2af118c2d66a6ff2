/* A small deterministic random source for the randomized tests (xorshift64): the same seed gives
 * the same texts on every machine, so a failure can be replayed. State lives with the caller. */
#ifndef KT_TEST_RND_H
#define KT_TEST_RND_H

#include <stdint.h>

typedef struct kt_test_rnd {
    uint64_t s; /* never 0 */
} kt_test_rnd;

static inline uint64_t kt_test_next(kt_test_rnd *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

#endif
