/* The compiled options of the request-level policy kinds `spend-limit` and `rate-limit`
 * (src/policy/kinds/policy_spend.c, policy_rate.c). They scan no text: the chain runner skips
 * them, and the governance layer (src/governance/) reads these options when it admits a request
 * and when it settles it. */
#ifndef KT_GOV_OPTS_H
#define KT_GOV_OPTS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum kt_gov_scope {
    KT_SCOPE_GATEWAY = 0,   /* one counter for the whole gateway (the pack) */
    KT_SCOPE_CONSUMER,      /* one per consumer (requests without a consumer: one "anonymous") */
    KT_SCOPE_MODEL,         /* one per requested model */
} kt_gov_scope;

typedef struct kt_spend_opts {
    double max_daily_usd;          /* 0: no daily limit (UTC calendar day) */
    double max_monthly_usd;        /* 0: no monthly limit (UTC calendar month) */
    kt_gov_scope scope;
    uint64_t default_output_tokens;/* reserved when the request sets no max_tokens (1024) */
    uint64_t reservation_ttl_ms;   /* a reservation not settled by then is released (15 min) */
    bool allow_unpriced;           /* unpriced: allow (default deny: a model without a price
                                      cannot be held to a budget) */
} kt_spend_opts;

typedef struct kt_rate_opts {
    uint64_t requests_per_minute;  /* 0: no request limit */
    uint64_t tokens_per_minute;    /* 0: no token limit */
    kt_gov_scope scope;
} kt_rate_opts;

/* audit-logger (src/policy/kinds/policy_audit.c): read by the audit writer (kt/audit.h) and the
 * config loader (immutable needs gateway.audit_dir). */
typedef enum kt_audit_key_src { KT_AUDIT_KEY_GENERATED = 0, KT_AUDIT_KEY_ENV, KT_AUDIT_KEY_FILE } kt_audit_key_src;

typedef struct kt_audit_opts {
    uint64_t retention_days;       /* daily files older than this are deleted (90) */
    bool immutable;                /* hash-chained records in gateway.audit_dir */
    bool log_all_access;           /* kt's own endpoints and refused requests too */
    kt_audit_key_src key_src;      /* digest_key_ref: {env|file}; else generated in audit_dir */
    char *key_ref;                 /* the variable name or file path */
} kt_audit_opts;

#endif
