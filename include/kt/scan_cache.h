/* The clean-text cache: per config snapshot and direction, the texts in which the whole policy
 * chain found nothing. Chat APIs are stateless, so every request repeats the system prompt and the
 * whole conversation so far; remembering what was already scanned clean turns the scan of a long
 * conversation from O(history) per turn into O(new text).
 *
 * Only a keyed 128-bit hash of each text is kept (SipHash-2-4-128 under a random per-process key),
 * never the text: an attacker cannot aim for a collision without the key, and no prompt content
 * outlives its request in memory. Fixed size (KT_SCAN_CACHE_SLOTS direct-mapped slots, allocated
 * on first use); a new config snapshot empties it. Owned by the gateway; single-threaded. */
#ifndef KT_SCAN_CACHE_H
#define KT_SCAN_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "kt/config.h"
#include "kt/policy.h"

#define KT_SCAN_CACHE_SLOTS 4096   /* 16 bytes each: 64 KiB */

typedef struct kt_scan_slot {
    uint64_t h0, h1;
} kt_scan_slot;

typedef struct kt_scan_cache {
    uint64_t k0, k1;          /* SipHash key */
    char cfg_hash[65];        /* content hash of the snapshot the entries belong to */
    const kt_config *cfg;     /* that snapshot, compared by address only (a fast path) */
    kt_scan_slot *slots;      /* NULL until the first entry */
    uint64_t hits, misses;
} kt_scan_cache;

/* A text's key, from kt_scan_cache_clean, for kt_scan_cache_put. */
typedef struct kt_scan_key {
    uint64_t h0, h1;
    bool valid;
} kt_scan_key;

void kt_scan_cache_init(kt_scan_cache *c, const unsigned char key[16]);
void kt_scan_cache_free(kt_scan_cache *c);
/* True when `text` was scanned clean under `cfg` in direction `dir`; fills `k` either way. */
bool kt_scan_cache_clean(kt_scan_cache *c, const kt_config *cfg, kt_dir dir, const char *text,
                         size_t len, kt_scan_key *k);
/* Records the text of `k` as clean (call only when the chain found nothing at all in it). */
void kt_scan_cache_put(kt_scan_cache *c, const kt_scan_key *k);

/* kt_chain_scan over a whole text (from 0), answered from the cache when the text is known clean:
 * the decision then shows every policy of `dir` as run, with nothing found. `sc` may be NULL. */
int kt_chain_scan_cached(kt_scan_cache *sc, const kt_config *cfg, kt_dir dir, const char *text,
                         size_t len, kt_findings *f, kt_decision *d);

/* SipHash-2-4 with a 128-bit result (Aumasson and Bernstein's reference algorithm). */
void kt_siphash128(uint64_t k0, uint64_t k1, const void *data, size_t len, uint64_t out[2]);

#endif
