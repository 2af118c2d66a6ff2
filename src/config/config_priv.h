/* Internal to the config loader (src/config/): the validation context and the sections. Values are
 * read with kt/yaml_read.h, which reports every problem into the diag with the node's line and
 * column and carries on. */
#ifndef KT_CONFIG_PRIV_H
#define KT_CONFIG_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "kt/config.h"
#include "kt/yaml_read.h"

#define KT__CFG_MAX_BYTES (1024 * 1024)
#define KT__CFG_MAX_KEY_FILE (8 * 1024)
#define KT__CFG_MAX_TARGETS 64
#define KT__CFG_MAX_POLICIES 64

/* The loader's context. The reader (diagnostics sink, oom flag, quiet nodes) is all that the
 * policy kinds see of it. */
typedef struct kt__cfgctx {
    kt_yread rd;
    kt_config *cfg;
    kt_env env;
    const kt_config *prev;   /* a running snapshot whose unchanged policies can be reused */
} kt__cfgctx;

/* Walks the whole tree: reports duplicate keys and expands ${VAR} in every scalar value. */
void kt__cfg_check_tree(kt__cfgctx *x, kt_ynode *root);

/* Sections. Each reports its own problems and fills its part of x->cfg. */
void kt__cfg_gateway(kt__cfgctx *x, const kt_ynode *gw, const kt_ynode **gw_key_ref);
void kt__cfg_targets(kt__cfgctx *x, const kt_ynode *providers);
void kt__cfg_pack_policies(kt__cfgctx *x, const kt_ynode *policies, const kt_ynode *policy);
void kt__cfg_list_policies(kt__cfgctx *x, const kt_ynode *policies);
void kt__cfg_default_target(kt__cfgctx *x, const kt_ynode *key_ref);
/* config_routing.c: a target's `model` (name or glob list), `aliases`, the Azure base_url forms,
 * and (once every target is read) each one's `fallbacks`. */
void kt__cfg_target_models(kt__cfgctx *x, kt_target *t, const kt_ynode *v, const char *where);
void kt__cfg_target_aliases(kt__cfgctx *x, kt_target *t, const kt_ynode *v, const char *where);
void kt__cfg_azure_base(kt__cfgctx *x, kt_target *t);
void kt__cfg_target_fallbacks(kt__cfgctx *x, const kt_ynode *list, const char *lname);
void kt__cfg_target_routing_free(kt_target *t);
/* config_failover.c: gateway.failover and gateway.forward_paths. */
void kt__cfg_failover(kt__cfgctx *x, const kt_ynode *f);
void kt__cfg_forward_paths(kt__cfgctx *x, const kt_ynode *v);
void kt__cfg_failover_free(kt_config *c);

/* One policy added to the chain (name is copied); a duplicate name is reported at `at`, quoting
 * the name unless `name_node` (where it came from) was expanded from ${VAR}. */
void kt__cfg_add_policy(kt__cfgctx *x, const kt_ynode *at, const kt_ynode *name_node,
                        const char *name, const char *kind, const kt_ynode *options, bool input,
                        bool output);
bool kt__cfg_known_kind(const char *kind);
/* After the chain is compiled: cfg->fail_open_input/output from gateway.fail_mode and each
 * policy's fail_mode override. */
void kt__cfg_fail_modes(kt__cfgctx *x);
const char *kt__cfg_known_kinds(void);

/* Secret keys (config_keys.c): parse secret_key_ref into the target, then resolve it. */
void kt__cfg_key_ref(kt__cfgctx *x, kt_target *t, const kt_ynode *ref, const char *where);
/* Resolves t->key from its source: KT_KEYS_CHANGED or KT_KEYS_SAME (kt/config.h), or KT_ENOMEM.
 * A key that cannot be read is not a failure: t->key is NULL and t->key_error says why. */
int kt__cfg_resolve_key(kt_target *t, kt_env env);
void kt__cfg_target_free(kt_target *t);

/* config_consumers.c: consumers[], gateway.auth/models/state_dir. */
void kt__cfg_governance(kt__cfgctx *x, const kt_ynode *root);
/* KT_KEYS_CHANGED, KT_KEYS_SAME or KT_ENOMEM, like kt_config_refresh_keys. */
int kt__cfg_resolve_consumer_keys(kt_config *c, kt_env env);
void kt__cfg_governance_free(kt_config *c);
/* config_shared_state.c: gateway.shared_state (NULL: its defaults). */
void kt__cfg_shared_state(kt__cfgctx *x, const kt_ynode *n);
void kt__cfg_shared_state_free(kt_config *c);

/* Reads a regular file (following symlinks) of at most `max` bytes into a NUL-terminated malloc'd
 * buffer. KT_EIO with *errno_out set, KT_ELIMIT when larger, KT_EINVAL when not a regular file. */
int kt__cfg_read_file(const char *path, size_t max, char **out, size_t *len, int *errno_out);
/* Overwrites then frees a secret. */
void kt__cfg_free_secret(char *s);

/* config_telemetry.c: gateway.telemetry into cfg->gateway.otel. */
void kt__cfg_telemetry(kt__cfgctx *x, const kt_ynode *t);

#endif
