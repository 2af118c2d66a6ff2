/* The clean-text cache (see kt/scan_cache.h) and the SipHash-2-4-128 it keys texts with. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/common.h"
#include "kt/scan_cache.h"

/* ---- SipHash-2-4, 128-bit output ------------------------------------------------------------- */

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

/* One 8-byte load (the byte loop it replaces was half of the hash's cost). */
static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

#define KT__SIPROUND(v0, v1, v2, v3)                                                               \
    do {                                                                                           \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                                  \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                                     \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                                     \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                                  \
    } while (0)

void kt_siphash128(uint64_t k0, uint64_t k1, const void *data, size_t len, uint64_t out[2])
{
    const unsigned char *p = data;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
    v1 ^= 0xee;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(p + i);
        v3 ^= m;
        KT__SIPROUND(v0, v1, v2, v3);
        KT__SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)p[full + i] << (8 * i);
    v3 ^= b;
    KT__SIPROUND(v0, v1, v2, v3);
    KT__SIPROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xee;
    for (int i = 0; i < 4; i++) KT__SIPROUND(v0, v1, v2, v3);
    out[0] = v0 ^ v1 ^ v2 ^ v3;
    v1 ^= 0xdd;
    for (int i = 0; i < 4; i++) KT__SIPROUND(v0, v1, v2, v3);
    out[1] = v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the set --------------------------------------------------------------------------------- */

_Static_assert((KT_SCAN_CACHE_SLOTS & (KT_SCAN_CACHE_SLOTS - 1)) == 0,
               "slots are indexed by masking");

void kt_scan_cache_init(kt_scan_cache *c, const unsigned char key[16])
{
    memset(c, 0, sizeof *c);
    c->k0 = load_le64(key);
    c->k1 = load_le64(key + 8);
}

void kt_scan_cache_free(kt_scan_cache *c)
{
    free(c->slots);
    c->slots = NULL;
}

void kt_scan_cache_scope(kt_scan_cache *c, const char *scope)
{
    if (strncmp(c->scope, scope, KT_SCAN_SCOPE_MAX) == 0) return;
    snprintf(c->scope, sizeof c->scope, "%s", scope);
    if (c->slots) memset(c->slots, 0, KT_SCAN_CACHE_SLOTS * sizeof *c->slots);
}

kt_scan_key kt_scan_cache_digest(const kt_scan_cache *c, uint64_t tweak, const void *data,
                                 size_t len)
{
    uint64_t h[2];
    kt_siphash128(c->k0 ^ tweak, c->k1, data, len, h);
    return (kt_scan_key){ h[0], h[1] | 1 };   /* never all-zero: that marks an empty slot */
}

static kt_scan_slot *slot_of(const kt_scan_cache *c, kt_scan_key k)
{
    return &c->slots[k.h0 & (KT_SCAN_CACHE_SLOTS - 1)];
}

bool kt_scan_cache_has(kt_scan_cache *c, kt_scan_key k)
{
    assert(k.h1 & 1);   /* a digest from kt_scan_cache_digest, not an empty slot's zeros */
    const kt_scan_slot *s = c->slots ? slot_of(c, k) : NULL;
    if (s && s->h0 == k.h0 && s->h1 == k.h1) {
        c->hits++;
        return true;
    }
    c->misses++;
    return false;
}

void kt_scan_cache_put(kt_scan_cache *c, kt_scan_key k)
{
    assert(k.h1 & 1);
    if (!c->slots) {
        c->slots = kt_calloc(KT_SCAN_CACHE_SLOTS, sizeof *c->slots);
        if (!c->slots) return;   /* no cache is only slower */
    }
    *slot_of(c, k) = (kt_scan_slot){ k.h0, k.h1 };
}
