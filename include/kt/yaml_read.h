/* Reading typed values out of a YAML tree (kt/yaml_tree.h) with positioned diagnostics: every
 * problem goes into a kt_diag as "line:col: message" and reading carries on, so one pass reports
 * all the problems of a document. The config loader reads its sections with a kt_yread, and hands
 * the same reader to each policy kind for its options, so option errors look like any other. */
#ifndef KT_YAML_READ_H
#define KT_YAML_READ_H

#include <stdbool.h>
#include <stdint.h>

#include "kt/common.h"
#include "kt/yaml_tree.h"

/* ---- diagnostics ---------------------------------------------------------------------------- */

#define KT_DIAG_MAX 32

typedef struct kt_diag_item {
    int line;   /* 1-based; 0 when unknown */
    int col;    /* 1-based; 0 when unknown */
    char msg[768];   /* room for a list of every valid key */
} kt_diag_item;

typedef struct kt_diag {
    const char *file;         /* borrowed, for printing */
    int count;                /* may exceed KT_DIAG_MAX; only the first KT_DIAG_MAX are kept */
    kt_diag_item items[KT_DIAG_MAX];
} kt_diag;

/* Zeroes `d` and sets the file name used by kt_diag_print. */
void kt_diag_init(kt_diag *d, const char *file);
void kt_diag_add(kt_diag *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Writes "file:line:col: message\n" for each item ("file: message" when the position is unknown). */
void kt_diag_print(const kt_diag *d, void *stdio_file);
/* Item i as one line without the newline: "file:line:col: message" or "file: message". */
void kt_diag_format(const kt_diag *d, int i, char *out, size_t outlen);

/* ---- the reader ----------------------------------------------------------------------------- */

typedef struct kt_yread {
    kt_diag *diag;   /* the sink; borrowed */
    kt_diag *warn;   /* warnings (the document still loads); NULL: dropped */
    int oom;         /* set by any failed allocation; the caller then fails with KT_ENOMEM */
    /* Nodes already reported (a failed ${VAR} expansion): later problems at them stay quiet
     * instead of adding a second, confusing error. */
    const kt_ynode *quiet[KT_DIAG_MAX];
    int nquiet;
} kt_yread;

/* Zeroes `r` and points it at `diag`. */
void kt_yr_init(kt_yread *r, kt_diag *diag);
/* Reports at the node's line and column (0:0 when `at` is NULL) unless `at` is quiet. */
void kt_yr_err(kt_yread *r, const kt_ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A warning at the node: goes to r->warn (when set), never fails the parse. */
void kt_yr_warn(kt_yread *r, const kt_ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Marks `n` as reported; once KT_DIAG_MAX nodes are quiet, further ones are not remembered. */
void kt_yr_quiet(kt_yread *r, const kt_ynode *n);
/* kt_strdup of s ("" for NULL); sets r->oom on failure. */
char *kt_yr_dup(kt_yread *r, const char *s);

/* Copies user text for a message: at most outlen-1 bytes, control characters as '?'. */
const char *kt_yquote(const char *s, char *out, size_t outlen);
#define KT_YQ(s) kt_yquote((s), (char[64]){ 0 }, 64)
/* A scalar value for a message: "'text'", or a placeholder when the text came from ${VAR}
 * expansion (it may be a secret). */
const char *kt_yquote_node(const kt_ynode *n, char *out, size_t outlen);
#define KT_YQN(n) kt_yquote_node((n), (char[72]){ 0 }, 72)

/* A plain empty scalar, "~" or "null": a key written with no value. */
bool kt_y_is_null(const kt_ynode *n);
const char *kt_y_what(const kt_ynode *n);   /* "a mapping", "a sequence", "a scalar", ... */

/* Reports every key of `map` that is not in the NULL-terminated `allowed` list, and returns the
 * number reported. `where` names the mapping in messages ("providers.targets[0]"). */
int kt_yr_check_keys(kt_yread *r, const kt_ynode *map, const char *const *allowed,
                     const char *where);
/* Checks that `n` is a mapping (or a sequence); reports "expected a mapping for <where>". */
bool kt_yr_want_map(kt_yread *r, const kt_ynode *n, const char *where);
bool kt_yr_want_seq(kt_yread *r, const kt_ynode *n, const char *where);
/* The string value of scalar `n`, or NULL (reported) when it is not a non-empty scalar. */
const char *kt_yr_want_str(kt_yread *r, const kt_ynode *n, const char *where);
/* A secret's reference `{env: NAME}` or `{file: PATH}` at `ref`: exactly one of the two, an env
 * value a variable name. Returns the name or path (in the tree) and sets *is_env, or NULL after
 * reporting. `where` names the reference ("gateway.shared_state.redis.password_ref"). */
const char *kt_yr_env_or_file(kt_yread *r, const kt_ynode *ref, const char *where, bool *is_env);
/* map[key] as a string: NULL and no report when absent/null and !required. */
const char *kt_yr_str(kt_yread *r, const kt_ynode *map, const char *key, const char *where,
                      bool required);
/* The typed readers below return KT_OK and set *out, or report and return KT_EINVAL leaving *out
 * unchanged (so a default stays in place). */
int kt_yr_bool(kt_yread *r, const kt_ynode *n, const char *where, bool *out);
/* Integers, durations (ms) and sizes (bytes), range-checked into [min, max]. */
int kt_yr_uint(kt_yread *r, const kt_ynode *n, const char *where, uint64_t min, uint64_t max,
               uint64_t *out);
/* A plain decimal number (digits, one optional '.', more digits) in [min, max]: amounts of money,
 * prices. No sign, exponent, hex, inf or nan. */
int kt_yr_decimal(kt_yread *r, const kt_ynode *n, const char *where, double min, double max,
                  double *out);
int kt_yr_duration(kt_yread *r, const kt_ynode *n, const char *where, uint64_t min_ms,
                   uint64_t max_ms, uint64_t *out_ms);
int kt_yr_size(kt_yread *r, const kt_ynode *n, const char *where, uint64_t min, uint64_t max,
               uint64_t *out);

#endif
