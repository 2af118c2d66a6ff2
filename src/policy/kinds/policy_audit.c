/* audit-logger: no content check; its options are validated and every request it covers is marked
 * for a full audit event (the event pipeline sends it). */
#include <stdlib.h>

#include "../policy_priv.h"

typedef struct audit_state {
    uint64_t retention_days;
    bool immutable;
    bool log_all_access;
} audit_state;

static int audit_compile(kt_yread *x, const kt_policy_cfg *pc, void **state)
{
    static const char *const keys[] = { "retention_days", "immutable", "log_all_access", NULL };
    audit_state *st = kt_calloc(1, sizeof *st);
    if (!st) return KT_ENOMEM;
    kt__popt_keys(x, pc, keys);
    st->retention_days = kt__popt_uint(x, pc, "retention_days", 1, 36500, 90);
    st->immutable = kt__popt_bool(x, pc, "immutable", false);
    st->log_all_access = kt__popt_bool(x, pc, "log_all_access", false);
    *state = st;
    return KT_OK;
}

static void audit_destroy(void *state) { free(state); }

const kt_policy_kind kt_policy_audit = {
    .name = "audit-logger",
    .default_dirs = KT_DIR_INPUT | KT_DIR_OUTPUT,
    .compile = audit_compile,
    .destroy = audit_destroy,
    .audit = true,
};
