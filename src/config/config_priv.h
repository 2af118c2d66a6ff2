/* Internal to the config loader (src/config*.c): the validation context and typed readers that
 * report every problem into the diag with the node's line and column and carry on. */
#ifndef KT_CONFIG_PRIV_H
#define KT_CONFIG_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "kt/config.h"

#define KT__CFG_MAX_BYTES (1024 * 1024)
#define KT__CFG_MAX_KEY_FILE (8 * 1024)
#define KT__CFG_MAX_TARGETS 64
#define KT__CFG_MAX_POLICIES 64

typedef struct kt__cfgctx {
    kt_config *cfg;
    kt_diag *diag;
    kt_env env;
    int oom;   /* set by any failed allocation; the parse then fails with KT_ENOMEM */
    const kt_config *prev;   /* a running snapshot whose unchanged policies can be reused */
    /* Scalars whose ${VAR} expansion failed: already reported, so later checks of the same node
     * stay quiet instead of adding a second, confusing error. */
    const kt_ynode *failed[KT_DIAG_MAX];
    int nfailed;
} kt__cfgctx;

void kt__cfg_err(kt__cfgctx *x, const kt_ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
char *kt__cfg_dup(kt__cfgctx *x, const char *s);
/* Copies user text for a message: at most outlen-1 bytes, control characters as '?'. */
const char *kt__cfg_quote(const char *s, char *out, size_t outlen);
#define KT__Q(s) kt__cfg_quote((s), (char[64]){ 0 }, 64)
/* A scalar value for a message: "'text'", or a placeholder when the text came from ${VAR}
 * expansion (it may be a secret). */
const char *kt__cfg_quote_node(const kt_ynode *n, char *out, size_t outlen);
#define KT__QN(n) kt__cfg_quote_node((n), (char[72]){ 0 }, 72)

/* A plain empty scalar, "~" or "null": a key written with no value. */
bool kt__y_is_null(const kt_ynode *n);
const char *kt__y_what(const kt_ynode *n);   /* "a mapping", "a sequence", "a string" */

/* Reports every key of `map` that is not in the NULL-terminated `allowed` list, and returns the
 * number reported. `where` names the mapping in messages ("providers.targets[0]"). */
int kt__cfg_check_keys(kt__cfgctx *x, const kt_ynode *map, const char *const *allowed,
                       const char *where);
/* Checks that `n` is a mapping (or a sequence); reports "expected a mapping for <where>". */
bool kt__cfg_want_map(kt__cfgctx *x, const kt_ynode *n, const char *where);
bool kt__cfg_want_seq(kt__cfgctx *x, const kt_ynode *n, const char *where);
/* The string value of scalar `n`, or NULL (reported) when it is not a non-empty scalar. */
const char *kt__cfg_want_str(kt__cfgctx *x, const kt_ynode *n, const char *where);
/* map[key] as a string: NULL and no report when absent/null and !required. */
const char *kt__cfg_str(kt__cfgctx *x, const kt_ynode *map, const char *key, const char *where,
                        bool required);
int kt__cfg_bool(kt__cfgctx *x, const kt_ynode *n, const char *where, bool *out);
/* Integers, durations (ms) and sizes (bytes), range-checked into [min, max]. */
int kt__cfg_uint(kt__cfgctx *x, const kt_ynode *n, const char *where, uint64_t min, uint64_t max,
                 uint64_t *out);
int kt__cfg_duration(kt__cfgctx *x, const kt_ynode *n, const char *where, uint64_t min_ms,
                     uint64_t max_ms, uint64_t *out_ms);
int kt__cfg_size(kt__cfgctx *x, const kt_ynode *n, const char *where, uint64_t min, uint64_t max,
                 uint64_t *out);

/* Walks the whole tree: reports duplicate keys and expands ${VAR} in every scalar value. */
void kt__cfg_check_tree(kt__cfgctx *x, kt_ynode *root);

/* Sections. Each reports its own problems and fills its part of x->cfg. */
void kt__cfg_gateway(kt__cfgctx *x, const kt_ynode *gw, const kt_ynode **gw_key_ref);
void kt__cfg_targets(kt__cfgctx *x, const kt_ynode *providers);
void kt__cfg_pack_policies(kt__cfgctx *x, const kt_ynode *policies, const kt_ynode *policy);
void kt__cfg_list_policies(kt__cfgctx *x, const kt_ynode *policies);
void kt__cfg_default_target(kt__cfgctx *x, const kt_ynode *key_ref);

/* One policy added to the chain (name is copied); a duplicate name is reported at `at`, quoting
 * the name unless `name_node` (where it came from) was expanded from ${VAR}. */
void kt__cfg_add_policy(kt__cfgctx *x, const kt_ynode *at, const kt_ynode *name_node,
                        const char *name, const char *kind, const kt_ynode *options, bool input,
                        bool output);
bool kt__cfg_known_kind(const char *kind);
const char *kt__cfg_known_kinds(void);

/* Secret keys (config_keys.c): parse secret_key_ref into the target, then resolve it. */
void kt__cfg_key_ref(kt__cfgctx *x, kt_target *t, const kt_ynode *ref, const char *where);
/* Resolves t->key from its source; returns 1 when the key changed, KT_ENOMEM on failure. */
int kt__cfg_resolve_key(kt_target *t, kt_env env);
void kt__cfg_target_free(kt_target *t);

/* Reads a regular file (following symlinks) of at most `max` bytes into a NUL-terminated malloc'd
 * buffer. KT_EIO with *errno_out set, KT_ELIMIT when larger, KT_EINVAL when not a regular file. */
int kt__cfg_read_file(const char *path, size_t max, char **out, size_t *len, int *errno_out);
/* Overwrites then frees a secret. */
void kt__cfg_free_secret(char *s);

#endif
