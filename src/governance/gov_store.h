/* Private to governance/: the counters behind every limit, and the two operations a shared
 * backend (Redis, later) must provide as well: check-and-reserve of a set of checks, all or
 * nothing, and settle of what a request held. This one keeps them in the process; gov_shared.c
 * does the same two in Redis. */
#ifndef KT_GOV_STORE_H
#define KT_GOV_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "kt/governance.h"

#define KT_GOV_KEY_MAX 192
#define KT_GOV_BUCKETS 1024
#define KT_GOV_MAX_ENTRIES 65536   /* past this, new counters are refused (fail closed) */
#define KT_MINUTE_US 60000000ull

enum { KT_HOLD_REQS = 1, KT_HOLD_TOKENS = 2, KT_HOLD_SPEND = 3 };

typedef struct kt_gov_entry {
    char key[KT_GOV_KEY_MAX];
    uint64_t hash;
    struct kt_gov_entry *next;
    /* rate (GCRA): theoretical arrival time, microseconds since the store's epoch */
    int64_t tat_reqs, tat_tokens;
    /* spend: settled in the current UTC day and month, and reserved by requests in flight */
    int64_t day, month;
    double spent_day, spent_month, held;
    /* shared state: the fleet's spend in Redis (settled + held), as this instance's latest
     * reserve of the entry saw it (fleet_day and fleet_month are its windows, 0 never seen) */
    int64_t fleet_day, fleet_month;
    double fleet_used_day, fleet_used_month;
} kt_gov_entry;

typedef struct kt_gov_store {
    kt_gov_entry *buckets[KT_GOV_BUCKETS];
    size_t n;
    uint64_t version;   /* bumped on every spend change (the state file writer) */
} kt_gov_store;

/* One check of a check-and-reserve. */
typedef struct kt_gov_check {
    kt_gov_entry *entry;
    uint8_t what;          /* KT_HOLD_* */
    double limit;          /* per minute (rates); USD per day (spend) */
    double limit_month;    /* spend: USD per month, 0 none */
    double cost;           /* units (rates) or USD (spend) */
    uint16_t policy;       /* chain index, or UINT16_MAX for consumers[].limits */
    const char *label;     /* for the refusal: "policy 'spend-limit'" or "consumer 'a'" */
    const char *scope;     /* "gateway", "consumer 'x'", "model 'y'" */
} kt_gov_check;

/* Why a check-and-reserve failed. */
typedef struct kt_gov_denial {
    size_t index;          /* the check that did not fit */
    bool monthly;          /* spend: the monthly budget */
    double spent, held;    /* spend */
    uint64_t retry_us;     /* rate: when it would fit */
} kt_gov_denial;

void kt__store_init(kt_gov_store *s);
void kt__store_free(kt_gov_store *s);
/* The entry for `key`, created when absent; NULL when the store is full or out of memory. */
kt_gov_entry *kt__store_entry(kt_gov_store *s, const char *key);
/* All checks fit: each is reserved into r->holds, returns true. Else nothing changes. `now_us`:
 * the rate clock; `day`, `month`: the current UTC windows. */
bool kt__store_reserve(kt_gov_store *s, const kt_gov_check *c, size_t n, int64_t now_us,
                       int64_t day, int64_t month, kt_gov_req *r, kt_gov_denial *d);
/* The x-ratelimit-* figures of rate check `c` reserved up to `next` at `now` (the tightest of
 * each kind is kept). */
void kt__store_note_rate(kt_gov_req *r, const kt_gov_check *c, int64_t next, int64_t now);
/* Settles every hold of r: spend holds with `usd`, token holds with `tokens`; releases the rest.
 * r->nholds becomes 0. */
void kt__store_settle(kt_gov_store *s, kt_gov_req *r, double usd, double tokens, int64_t now_us,
                      int64_t day, int64_t month);
/* Releases a reservation whose request outlived its expiry (it still settles what it used). */
void kt__store_expire(kt_gov_store *s, kt_gov_req *r);

/* gov_persist.c: spend (and the rate limits' GCRA state) in state_dir/spend.json. `now`: the
 * UTC windows, the rate clock (monotonic us) and the wall clock it is translated with. */
typedef struct kt_gov_now {
    int64_t day, month;
    int64_t mono_us;
    uint64_t wall_ms;
} kt_gov_now;
int kt__persist_load(kt_gov_store *s, const char *dir, const kt_gov_now *now);
/* The file's content into `s` (entries of other windows count 0; a TAT at most one minute
 * ahead). KT_EPARSE: not a spend file. */
int kt__persist_parse(kt_gov_store *s, const char *text, size_t len, const kt_gov_now *now);
/* Renders the spend entries of the current windows and the rate entries still in effect. */
int kt__persist_render(const kt_gov_store *s, kt_buf *out, const kt_gov_now *now);
/* Whether some rate counter is still in effect at `mono_us` (worth keeping at exit). */
bool kt__store_rates_live(const kt_gov_store *s, int64_t mono_us);
int kt__persist_write(const char *dir, const char *data, size_t len);

#endif
