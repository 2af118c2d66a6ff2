/* The model tier's clean-text cache (kt/classifier.h): SHA-256 digests of texts a classifier
 * found clean, in a fixed array with hashed bucket chains, evicted by CLOCK (an entry looked up
 * since the hand last passed gets a second chance). Only digests are kept, never text. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "kt/classifier.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define KT__SHA_STARTS mbedtls_sha256_starts
#define KT__SHA_UPDATE mbedtls_sha256_update
#define KT__SHA_FINISH mbedtls_sha256_finish
#else
#define KT__SHA_STARTS mbedtls_sha256_starts_ret
#define KT__SHA_UPDATE mbedtls_sha256_update_ret
#define KT__SHA_FINISH mbedtls_sha256_finish_ret
#endif

/* Fields are length-prefixed, so ("ab", "c") and ("a", "bc") never share a digest. */
static void put_field(mbedtls_sha256_context *s, const void *p, size_t n)
{
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)n >> (8 * i));
    (void)KT__SHA_UPDATE(s, len, sizeof len);
    if (n) (void)KT__SHA_UPDATE(s, p, n);
}

void kt_clf_key_of(const char *scope, const char *policy, int dir, const char *text, size_t len,
                   kt_clf_key *out)
{
    mbedtls_sha256_context s;
    mbedtls_sha256_init(&s);
    (void)KT__SHA_STARTS(&s, 0);
    put_field(&s, scope, strlen(scope));
    put_field(&s, policy, strlen(policy));
    unsigned char d = (unsigned char)dir;
    put_field(&s, &d, 1);
    put_field(&s, text, len);
    (void)KT__SHA_FINISH(&s, out->d);
    mbedtls_sha256_free(&s);
}

void kt_clf_cache_free(kt_clf_cache *c)
{
    free(c->v);
    free(c->buckets);
    uint64_t hits = c->hits, misses = c->misses;
    memset(c, 0, sizeof *c);
    c->hits = hits;
    c->misses = misses;
}

int kt_clf_cache_size(kt_clf_cache *c, uint32_t entries)
{
    if (entries == c->cap) return KT_OK;
    kt_clf_cache_free(c);
    if (!entries) return KT_OK;
    uint32_t nb = 1;
    while (nb < entries) nb <<= 1;
    c->v = kt_calloc(entries, sizeof *c->v);
    c->buckets = kt_calloc(nb, sizeof *c->buckets);
    if (!c->v || !c->buckets) {
        kt_clf_cache_free(c);
        return KT_ENOMEM;
    }
    c->cap = entries;
    c->nbuckets = nb;
    return KT_OK;
}

static uint32_t *bucket_of(kt_clf_cache *c, const kt_clf_key *k)
{
    uint32_t h;
    memcpy(&h, k->d, sizeof h);
    return &c->buckets[h & (c->nbuckets - 1)];
}

bool kt_clf_cache_has(kt_clf_cache *c, const kt_clf_key *k)
{
    if (!c->cap) return false;
    for (uint32_t i = *bucket_of(c, k); i; i = c->v[i - 1].next) {
        kt_clf_entry *e = &c->v[i - 1];
        if (!memcmp(e->key.d, k->d, sizeof k->d)) {
            e->ref = true;
            c->hits++;
            return true;
        }
    }
    c->misses++;
    return false;
}

/* Unlinks entry `idx` (0-based) from its bucket chain. */
static void unlink_entry(kt_clf_cache *c, uint32_t idx)
{
    uint32_t *p = bucket_of(c, &c->v[idx].key);
    while (*p && *p != idx + 1) p = &c->v[*p - 1].next;
    if (*p) *p = c->v[idx].next;
}

/* The CLOCK hand's victim: the first entry without a second chance (clearing chances it
 * passes), or an unused one. */
static uint32_t victim(kt_clf_cache *c)
{
    for (;;) {
        uint32_t i = c->hand;
        c->hand = (c->hand + 1) % c->cap;
        kt_clf_entry *e = &c->v[i];
        if (!e->used || !e->ref) return i;
        e->ref = false;
    }
}

void kt_clf_cache_put(kt_clf_cache *c, const kt_clf_key *k)
{
    if (!c->cap) return;
    for (uint32_t i = *bucket_of(c, k); i; i = c->v[i - 1].next)
        if (!memcmp(c->v[i - 1].key.d, k->d, sizeof k->d)) return;
    uint32_t i = victim(c);
    if (c->v[i].used) unlink_entry(c, i);
    else c->n++;
    kt_clf_entry *e = &c->v[i];
    e->key = *k;
    e->used = true;
    e->ref = false;
    uint32_t *b = bucket_of(c, k);
    e->next = *b;
    *b = i + 1;
}
