/* The policy engine: a chain of policies, each a compiled config part (built once per config
 * snapshot, immutable) plus per-request work. Every policy looks at decoded text and reports
 * findings (a span, a label, an action); the chain runner turns findings into a decision and into
 * redactions. The runner knows nothing about any single policy kind. */
#ifndef KT_POLICY_H
#define KT_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "kt/buf.h"
#include "kt/config.h"
#include "kt/http.h"   /* kt_api */
#include "kt/json_text.h"
#include "kt/yaml_read.h"

typedef enum kt_dir { KT_DIR_INPUT = 1, KT_DIR_OUTPUT = 2 } kt_dir;

/* Ordered by severity: the decision is the most severe action of any finding. */
typedef enum kt_action {
    KT_ACT_ALLOW = 0,
    KT_ACT_FLAG = 1,     /* recorded, content unchanged */
    KT_ACT_REDACT = 2,   /* the span is replaced by a marker */
    KT_ACT_BLOCK = 3,    /* the whole request or response is refused */
} kt_action;

const char *kt_action_name(kt_action a);   /* "allow", "flag", "redact", "block" */

typedef struct kt_finding {
    size_t start, end;   /* byte span in the scanned text */
    uint16_t policy;     /* index in the chain */
    uint16_t label;      /* kind-specific: entity, category, rule */
    uint8_t action;      /* kt_action */
    uint8_t weight;      /* 0: act at once; else the action applies once the request's summed
                          * weight (per label or per policy, see the kind) reaches its threshold */
} kt_finding;

#define KT_FINDINGS_MAX 4096

typedef struct kt_findings {
    kt_finding *v;
    size_t n, cap;
    bool truncated;      /* more than KT_FINDINGS_MAX: the text is blocked (fail closed) */
} kt_findings;

void kt_findings_free(kt_findings *f);
int kt_findings_add(kt_findings *f, size_t start, size_t end, uint16_t policy, uint16_t label,
                    kt_action action);
int kt_findings_add_weighted(kt_findings *f, size_t start, size_t end, uint16_t policy,
                             uint16_t label, kt_action action, unsigned weight);

/* One policy kind. `from` is the streaming left context: text[0..from) was already emitted and is
 * only looked at (word boundaries); findings start at or after it. */
typedef struct kt_policy_kind {
    const char *name;
    uint8_t default_dirs;   /* KT_DIR_* bits when the config does not say */
    /* Validates options (errors with line:col through the reader) and builds the state. */
    int (*compile)(kt_yread *rd, const kt_policy_cfg *pc, void **state);
    void (*destroy)(void *state);
    int (*scan)(const void *state, const char *text, size_t len, size_t from, uint16_t policy,
                kt_findings *out);
    /* Longest prefix whose findings more text cannot change (>= from). NULL: always len. */
    size_t (*stable)(const void *state, const char *text, size_t len, size_t from);
    const char *(*label)(const void *state, uint16_t label);
    /* Appends the redaction marker for `label`. NULL: "[REDACTED]". */
    int (*marker)(const void *state, uint16_t label, kt_buf *out);
    /* Optional: a request that must be audited in full (audit-logger). */
    bool audit;
    /* Weighted findings: the threshold, and whether weights add up per label or per policy. */
    unsigned (*threshold)(const void *state);
    bool per_label;
    /* Optional, the model tier (kt/classifier.h): the policy's classifier (NULL: none), and the
     * in-process score in [0, 1] a text is compared with the classifier's undecided band by. */
    const struct kt_clf_cfg *(*classifier)(const void *state);
    float (*score)(const void *state, const char *text, size_t len);
} kt_policy_kind;

/* Whether the chain entry scans text going in direction `dir`. */
static inline bool kt_policy_scans(const kt_policy_cfg *pc, kt_dir dir)
{
    return pc->impl && pc->impl->scan && (pc->dirs & dir);
}

const kt_policy_kind *kt_policy_kind_by_name(const char *name);

/* Called by the config loader once the chain is known: compiles every policy, reading options
 * through `rd` (passed on to kind->compile), and shares the compiled state of a policy of `prev`
 * (the running snapshot, or NULL) whose kind and options are unchanged. */
int kt_policies_compile(kt_yread *rd, const kt_config *prev, kt_config *cfg);
void kt_policies_destroy(kt_config *cfg);
bool kt_chain_has(const kt_config *cfg, kt_dir dir);

/* ---- decisions ------------------------------------------------------------------------------ */

#define KT_DECISION_LABELS 16

typedef struct kt_policy_eval {
    uint8_t result;          /* kt_action: the most severe of this policy's findings */
    bool ran;
    uint64_t ns;             /* time spent in this policy */
    uint32_t found;          /* findings */
    uint16_t labels[KT_DECISION_LABELS];
    uint32_t counts[KT_DECISION_LABELS];
    uint32_t weights[KT_DECISION_LABELS];
    uint32_t weight;         /* summed weight of this policy's weighted findings */
    uint8_t nlabels;
    uint8_t classifier;      /* kt_clf_outcome (kt/classifier.h): what the model tier said */
} kt_policy_eval;

typedef struct kt_decision {
    const kt_config *cfg;    /* whose chain the indices refer to */
    uint8_t verdict;         /* kt_action */
    int block_policy;        /* chain index of the blocking policy, -1 */
    uint16_t block_label;
    kt_dir block_dir;
    bool audit;
    size_t npolicies;
    kt_policy_eval *evals;   /* one per chain entry */
} kt_decision;

int kt_decision_init(kt_decision *d, const kt_config *cfg);
void kt_decision_free(kt_decision *d);
void kt_decision_note(kt_decision *d, const kt_finding *f, kt_dir dir);
/* "input_blocked"/"output_blocked" plus the label: e.g. "pii:ssn". */
const char *kt_decision_label(const kt_decision *d, uint16_t policy, uint16_t label);
/* Appends the decision as JSON: {"verdict":..,"reason_code":..,"policies_evaluated":[..]}. */
int kt_decision_json(const kt_decision *d, kt_buf *out);

/* ---- running the chain over text ----------------------------------------------------------- */

/* Runs every policy of `dir` over text[from..len) (with left context), appending findings. The
 * decision gets the time spent; findings are noted with kt_chain_note, once each. */
int kt_chain_scan(const kt_config *cfg, kt_dir dir, const char *text, size_t len, size_t from,
                  kt_findings *f, kt_decision *d);
/* kt_chain_scan over a whole text (from 0), answered from the clean-text cache `sc`
 * (kt/scan_cache.h) when the text is known clean: the decision then shows every policy of `dir`
 * as run, with nothing found. A text in which the chain found nothing is added. `sc` may be
 * NULL (a plain scan). */
struct kt_scan_cache;
int kt_chain_scan_cached(struct kt_scan_cache *sc, const kt_config *cfg, kt_dir dir,
                         const char *text, size_t len, kt_findings *f, kt_decision *d);
/* Notes in the decision the findings that end at or before `upto` (weights add up, thresholds
 * escalate). Streaming notes only what it emits, so held text is counted once. */
void kt_chain_note(kt_decision *d, const kt_findings *f, size_t upto, kt_dir dir);
/* Longest stable prefix over every policy of `dir`. */
size_t kt_chain_stable(const kt_config *cfg, kt_dir dir, const char *text, size_t len,
                       size_t from);
size_t kt_chain_max_holdback(const kt_config *cfg, kt_dir dir);
/* Calls `fn` for each redaction inside [from, upto), in order, overlapping findings merged (the
 * first one's marker is used), with the marker text. */
typedef int (*kt_redaction_fn)(void *ud, size_t start, size_t end, const char *marker,
                               size_t mlen);
int kt_chain_each_redaction(const kt_config *cfg, const kt_findings *f, size_t from, size_t upto,
                            kt_redaction_fn fn, void *ud);
/* Appends text[from..upto) with every redact finding inside it replaced by its marker. Findings
 * that overlap are merged; the first one's marker is used. If `escape_json`, the output is
 * JSON string content. */
int kt_chain_render(const kt_config *cfg, const char *text, size_t from, size_t upto,
                    const kt_findings *f, bool escape_json, kt_buf *out);

/* ---- JSON bodies ---------------------------------------------------------------------------- */

/* Scans the model-visible strings of a JSON body (requests: messages, prompt, input, system,
 * tool calls and results; responses: choices, content blocks, output) with every policy of `dir`.
 * Redactions are spliced into `out` (only when *changed); everything else is copied byte for
 * byte. Returns 0, KT_EPARSE (not JSON), KT_ELIMIT, KT_ENOMEM. A block is in d->verdict. */
int kt_policy_json(const kt_config *cfg, kt_dir dir, const char *body, size_t len, kt_buf *out,
                   bool *changed, kt_decision *d);

/* One walk of a JSON body by the chain of one direction. */
typedef struct kt_policy_walk {
    const kt_config *cfg;
    kt_dir dir;
    kt_decision *decision;
    struct kt_scan_cache *cache;   /* texts known clean (kt/scan_cache.h); NULL: scan every text */
    kt_json_top *top;              /* NULL, or top-level fields collected in the same pass (its
                                      `complete` is set when the walk saw the whole body) */
    /* NULL, or called with every text the chain scanned and did not block, as it will go
     * upstream (the chain's redactions applied): the model tier collects its undecided texts
     * so. Non-zero stops the walk with that error. */
    int (*on_text)(void *ud, const char *text, size_t len);
    void *text_ud;
} kt_policy_walk;
/* kt_policy_json with the options of `w`. */
int kt_policy_json_walk(const kt_policy_walk *w, const char *body, size_t len, kt_buf *out,
                        bool *changed);
/* The path patterns kt_policy_json scans for `dir` (for tests and documentation). */
const kt_json_pat *kt_policy_json_paths(kt_dir dir, size_t *n);
/* Compiles both path lists into cfg->json_paths (the config loader calls it once per snapshot,
 * after kt_policies_compile). KT_ENOMEM when the allocation fails. */
int kt_policy_json_compile(kt_config *cfg);

#endif
