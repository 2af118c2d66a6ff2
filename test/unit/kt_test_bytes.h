/* Byte helpers shared by the crypto unit tests: hex test vectors and a seeded xorshift stream
 * for random keys, nonces and messages (the same seed gives the same bytes, so a failure
 * reproduces). */
#ifndef KT_TEST_BYTES_H
#define KT_TEST_BYTES_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decodes hex (no separators) into out; returns the byte count. */
static inline size_t unhex(const char *h, uint8_t *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static inline uint64_t kt_rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static inline void fill(uint64_t *s, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(kt_rnd(s) >> 24);
}

#endif
