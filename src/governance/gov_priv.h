/* Private to governance/: the gateway's governance state and the helpers its files share. */
#ifndef KT_GOV_PRIV_H
#define KT_GOV_PRIV_H

#include "gov_store.h"
#include "kt/governance.h"

#define KT_GOV_RETRY_MAX 4096          /* settles waiting for Redis to come back */
#define KT_GOV_RETRY_AGE_MS 86400000ull /* older ones are dropped (their marker lives 2 days) */

/* The shared state's counters, for /metrics and /health. */
typedef struct kt_gov_shared_stats {
    uint64_t fallback_local, fallback_allow, fallback_deny;   /* admissions while unavailable */
    uint64_t reserves, settles, settles_duplicate, settles_lost, releases;
} kt_gov_shared_stats;

struct kt_gov {
    uv_loop_t *loop;
    bool loopback;             /* the listener is on a loopback address */
    kt_gov_store store;
    uint64_t next_id;
    kt_gov_req live;           /* sentinel of the admitted requests (expiry sweep) */
    /* the spend file */
    char *state_dir;
    uint64_t saved_version;
    bool writing;              /* a threadpool job is writing */
    bool write_again;          /* spend changed while it wrote */
    uv_work_t work;
    kt_buf work_data;
    int work_rc;
    /* gateway.shared_state (gov_shared.c): NULL without it */
    struct kt_rds *rds;
    kt_unavailable_mode on_unavailable;
    char key_prefix[KT_REDIS_PREFIX_MAX];
    char instance[17];         /* random hex: request ids unique across the fleet */
    struct kt_rds_op **retry;   /* nretry waiting, room for retry_cap (grows to KT_GOV_RETRY_MAX) */
    size_t nretry, retry_cap;
    kt_gov_shared_stats shared;
};

/* One admission being decided: the checks of a request and what is needed to answer it. With
 * shared state it lives on the heap until Redis answers; `r` NULL then means the exchange went
 * away meanwhile (what was reserved is released at once). */
typedef struct kt__admit {
    kt_gov *g;
    const kt_config *cfg;
    const kt_gov_facts *f;     /* only during kt_gov_admit */
    kt_gov_req *r;
    kt_gov_check checks[KT_GOV_MAX_HOLDS];
    char labels[KT_GOV_MAX_HOLDS][96];
    size_t n;
    double est_usd;
    bool priced;
    bool full;                 /* a counter could not be created */
    uint64_t ttl_ms;           /* reservation expiry */
    uint64_t rid;              /* shared: the request's reservation id */
    int64_t day, month;        /* shared: the UTC windows whose keys the reserve named */
    kt_gov_admit_cb cb;
    void *cb_arg;
} kt__admit;

/* gov.c: the refusals of a failed check, and the bookkeeping of an admitted request. */
void kt__gov_refusal(const kt__admit *a, const kt_gov_denial *d, kt_gov_refusal *out);
void kt__gov_admitted(kt__admit *a, uint64_t now_ms, bool shared);
/* The check-and-reserve in this process's counters (also on_unavailable: local). */
int kt__gov_reserve_local(kt__admit *a, uint8_t *evals, kt_gov_refusal *out);
uint64_t kt__gov_wall_ms(void);
/* The UTC day and month numbers of now. */
void kt__gov_windows(int64_t *day, int64_t *month);

/* gov_shared.c: gateway.shared_state on Redis. */
int kt__shared_new(kt_gov *g, const kt_config *cfg);
void kt__shared_close(kt_gov *g);
void kt__shared_free(kt_gov *g);
/* Whether admission should go to Redis now (configured and up). */
bool kt__shared_ready(const kt_gov *g);
/* Sends the reserve of `a` (copied to the heap); its answer calls a->cb later. KT_ENOMEM. */
int kt__shared_reserve(kt__admit *a);
/* A request that was admitted while Redis was unavailable: on_unavailable decides. Returns the
 * verdict as kt_gov_admit does. */
int kt__shared_unavailable(kt__admit *a, kt_gov_refusal *out);
/* Settles (or releases, usd 0) the shared holds of r; fire and forget, retried on reconnect. */
void kt__shared_settle(kt_gov *g, const kt_gov_req *r, double usd, double tokens);
/* Detaches a pending admission from its request (the exchange finished first). */
void kt__shared_detach(kt_gov_req *r);

const kt_consumer *kt__gov_lookup(const kt_config *cfg, const char *key, size_t n);
bool kt__gov_models_ok(const kt_config *cfg, const kt_consumer *c, const char *name);

#endif
