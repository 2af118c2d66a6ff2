/* kt policy eval, between the run (eval.c) and its report (eval_report.c): the counts of a run
 * and the per-item scores the threshold sweep replays. Private to src/app. */
#ifndef KT_APP_EVAL_PRIV_H
#define KT_APP_EVAL_PRIV_H

#include "eval.h"
#include "kt/buf.h"

#define KT_EVAL_SWEEP_ROWS 24
#define KT_EVAL_POLICIES 64

typedef struct ev_count {
    uint32_t tp, fp, fn;   /* categories: items; entities: tp/fp predicted spans, fn missed labels */
    uint32_t found;        /* entities: labelled spans that a prediction overlaps */
    uint32_t listed_fp, listed_fn;
    bool labelled;         /* appears as a label somewhere */
    bool predicted;
} ev_count;

/* One (policy, label) of one item: what the threshold sweep needs. */
typedef struct ev_score {
    uint32_t sum;          /* summed weight of this label's findings */
    uint32_t psum;         /* summed weight of the policy's findings in this item */
    uint16_t policy;
    uint16_t name;
    bool now;              /* a finding without weight: acts whatever the threshold */
} ev_score;

typedef struct ev_item {
    uint64_t gold[2];      /* labelled categories, bits by name index */
    uint32_t first, n;     /* its scores */
} ev_item;

typedef struct ev_policy {
    uint16_t name, kind;   /* name indices of the policy's name and kind */
    bool scored;
    bool per_label;
    unsigned threshold;
} ev_policy;

/* A false positive or miss, rendered; category ones are shown only if the category is labelled
 * somewhere in the file (known at the end). */
typedef struct ev_example {
    uint32_t off, len;     /* in ev_run.examples */
    uint16_t name;
    bool cat;
} ev_example;

typedef struct ev_run {
    const kt_config *cfg;
    const kt_eval_opts *o;
    kt_eval_names names;
    ev_count cat[KT_EVAL_NAMES], ent[KT_EVAL_NAMES];
    ev_policy pol[KT_EVAL_POLICIES];
    size_t npol;
    ev_item *items;
    size_t nitems, capitems;
    ev_score *scores;
    size_t nscores, capscores;
    uint32_t unlabelled, unlabelled_flagged, labelled_items, labelled_flagged, truncated;
    kt_buf examples;
    ev_example *ex;
    size_t nex, capex;
} ev_run;

static inline void kt__eval_bit_set(uint64_t b[2], unsigned i) { b[i >> 6] |= 1ull << (i & 63); }
static inline bool kt__eval_bit(const uint64_t b[2], unsigned i) { return (b[i >> 6] >> (i & 63)) & 1u; }

/* Whether a score acts when policy `sp` has threshold `st` (sp < 0: every policy as configured). */
bool kt__eval_score_acts(const ev_run *r, const ev_score *s, int sp, unsigned st);
/* The names an item is predicted positive for (bits), with policy `sp` at threshold `st`;
 * only_sp: that policy's findings alone. */
void kt__eval_predicted(const ev_run *r, const ev_item *ei, int sp, unsigned st, bool only_sp,
                        uint64_t out[2]);

/* The report: tables (with the examples) or one JSON object. */
void kt__eval_print_tables(const ev_run *r, FILE *out);
void kt__eval_print_json(const ev_run *r, FILE *out);

#endif
