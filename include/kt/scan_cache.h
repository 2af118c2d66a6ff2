/* The clean-text cache: a fixed-size set of keyed text digests. The chain runner
 * (kt_chain_scan_cached, kt/policy.h) keeps in it the texts in which the whole policy chain found
 * nothing: chat APIs are stateless, so every request repeats the system prompt and the whole
 * conversation so far, and remembering what was already scanned clean turns the scan of a long
 * conversation from O(history) per turn into O(new text). The set itself knows nothing of
 * policies or decisions: digests go in, "present" comes out.
 *
 * Only a keyed 128-bit digest of each text is kept (SipHash-2-4-128 under a random per-process
 * key), never the text: an attacker cannot aim for a collision without the key, and no prompt
 * content outlives its request in memory. Fixed size (KT_SCAN_CACHE_SLOTS direct-mapped slots,
 * allocated on first use); entries belong to one scope (the runner uses the config content hash),
 * and a new scope empties the set. Owned by the gateway; single-threaded. */
#ifndef KT_SCAN_CACHE_H
#define KT_SCAN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_SCAN_CACHE_SLOTS 4096   /* 16 bytes each: 64 KiB; a power of two */
#define KT_SCAN_SCOPE_MAX 64       /* scope bytes kept and compared (a SHA-256 in hex) */

typedef struct kt_scan_slot {
    uint64_t h0, h1;
} kt_scan_slot;

typedef struct kt_scan_cache {
    uint64_t k0, k1;                    /* SipHash key */
    char scope[KT_SCAN_SCOPE_MAX + 1];  /* the scope the entries belong to */
    kt_scan_slot *slots;                /* NULL until the first entry */
    uint64_t hits, misses;
} kt_scan_cache;

/* A text's digest: never all-zero (that marks an empty slot). */
typedef struct kt_scan_key {
    uint64_t h0, h1;
} kt_scan_key;

void kt_scan_cache_init(kt_scan_cache *c, const unsigned char key[16]);
void kt_scan_cache_free(kt_scan_cache *c);
/* Enters `scope` (at most KT_SCAN_SCOPE_MAX bytes are compared): a scope other than the current
 * one empties the set. */
void kt_scan_cache_scope(kt_scan_cache *c, const char *scope);
/* The keyed digest of data[0..len) under `tweak` (texts that must not share entries, such as
 * the two directions, use different tweaks). */
kt_scan_key kt_scan_cache_digest(const kt_scan_cache *c, uint64_t tweak, const void *data,
                                 size_t len);
/* Whether `k` is in the set (counted in hits / misses). */
bool kt_scan_cache_has(kt_scan_cache *c, kt_scan_key k);
/* Adds `k` (evicting the entry in its slot); without memory the set stays as it is. */
void kt_scan_cache_put(kt_scan_cache *c, kt_scan_key k);

/* SipHash-2-4 with a 128-bit result (Aumasson and Bernstein's reference algorithm). */
void kt_siphash128(uint64_t k0, uint64_t k1, const void *data, size_t len, uint64_t out[2]);

#endif
