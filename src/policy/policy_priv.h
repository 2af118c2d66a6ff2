/* Internal to the policy kinds (src/policy/): option readers over the reader the config loader
 * hands down (kt/yaml_read.h), so option errors carry line and column like every other config
 * error. */
#ifndef KT_POLICY_PRIV_H
#define KT_POLICY_PRIV_H

#include "kt/policy.h"
#include "kt/yaml_read.h"

#define KT_MARKER_MAX 64

/* Checks that every key of the options is in `allowed` (plus the shorthand's own keys). */
void kt__popt_keys(kt_yread *x, const kt_policy_cfg *pc, const char *const *allowed);
/* `action` among the allowed ones (a subset of redact|block|flag), or `dflt` when absent. */
kt_action kt__popt_action(kt_yread *x, const kt_policy_cfg *pc, unsigned allowed_mask,
                        kt_action dflt);
/* A list of names: each passed to `lookup` (returns an index or -1); sets bits in *mask.
 * Returns the number of names given (0 when the key is absent). */
int kt__popt_names(kt_yread *x, const kt_policy_cfg *pc, const char *key,
                 int (*lookup)(const char *s, size_t n), const char *what, uint32_t *mask);
bool kt__popt_bool(kt_yread *x, const kt_policy_cfg *pc, const char *key, bool dflt);
uint64_t kt__popt_uint(kt_yread *x, const kt_policy_cfg *pc, const char *key, uint64_t min,
                     uint64_t max, uint64_t dflt);
/* redaction.marker_format (or marker_format): "[REDACTED:{ENTITY}]" by default; {entity} and
 * {ENTITY} stand for the label in lower and upper case. */
void kt__popt_marker(kt_yread *x, const kt_policy_cfg *pc, char out[KT_MARKER_MAX]);
int kt__marker_render(const char *fmt, const char *label, kt_buf *out);
/* The node of an option, NULL when absent. */
const kt_ynode *kt__popt_get(const kt_policy_cfg *pc, const char *key);

/* The built-in detectors of `mask` (kt/detect.h entity bits) over text[from..len), each match a
 * finding with `action` and its entity as label (policy_pii.c; dlp-filter shares it). */
int kt__pii_scan_mask(uint32_t mask, kt_action action, const char *text, size_t len, size_t from,
                      uint16_t policy, kt_findings *out);

/* Fallbacks for detectors without native left-context support. */
bool kt__is_word_byte(unsigned char c);

#endif
