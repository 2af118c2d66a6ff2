/* audit-logger: no content check. Every request it covers is marked for an audit record
 * (kt/audit.h): who, what, when, the config version and keyed digests of the texts, never the
 * texts. Its options: retention_days, immutable (hash-chained local files), log_all_access, and
 * digest_key_ref: {env|file} (the per-deployment HMAC key; generated in gateway.audit_dir when
 * absent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../policy_priv.h"
#include "kt/gov_opts.h"

static void key_ref(kt_yread *x, const kt_policy_cfg *pc, kt_audit_opts *st)
{
    const kt_ynode *ref = kt__popt_get(pc, "digest_key_ref");
    if (!ref) return;
    char where[160];
    snprintf(where, sizeof where, "policy.%s.digest_key_ref", pc->name);
    bool is_env;
    const char *v = kt_yr_env_or_file(x, ref, where, &is_env);
    if (!v) return;
    st->key_src = is_env ? KT_AUDIT_KEY_ENV : KT_AUDIT_KEY_FILE;
    st->key_ref = kt_strdup(v);
}

static int audit_compile(kt_yread *x, const kt_policy_cfg *pc, void **state)
{
    static const char *const keys[] = { "retention_days", "immutable", "log_all_access",
                                        "digest_key_ref", NULL };
    kt_audit_opts *st = kt_calloc(1, sizeof *st);
    if (!st) return KT_ENOMEM;
    kt__popt_keys(x, pc, keys);
    st->retention_days = kt__popt_uint(x, pc, "retention_days", 1, 36500, 90);
    st->immutable = kt__popt_bool(x, pc, "immutable", false);
    st->log_all_access = kt__popt_bool(x, pc, "log_all_access", false);
    key_ref(x, pc, st);
    *state = st;
    return KT_OK;
}

static void audit_destroy(void *state)
{
    kt_audit_opts *st = state;
    if (st) free(st->key_ref);
    free(st);
}

const kt_policy_kind kt_policy_audit = {
    .name = "audit-logger",
    .default_dirs = KT_DIR_INPUT | KT_DIR_OUTPUT,
    .compile = audit_compile,
    .destroy = audit_destroy,
    .audit = true,
};
