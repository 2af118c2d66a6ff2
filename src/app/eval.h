/* `kt policy eval`: runs a config's chain over a labelled JSON-lines corpus and measures it.
 *
 * Each line of the labels file is one item:
 *   {"text": "...", "direction": "input|output",
 *    "labels": {"categories": ["hate", ...],
 *               "entities": [{"type": "email", "start": 5, "end": 22}, ...]}}
 * `start`/`end` are byte offsets into the UTF-8 text ([start, end)); `direction` (default input)
 * and `labels` (and each of its keys) may be left out; blank lines are skipped.
 *
 * Categories are judged per item: an item is positive for a category when it is labelled with it,
 * and predicted positive when a policy of the chain acted with a finding of that label (or the
 * category is that policy's name or kind, e.g. "prompt-injection"). Entities are judged per span:
 * a predicted span (a finding of a policy without a threshold: pii-detector, dlp-filter) is a true
 * positive when it overlaps a labelled span of the same type, and a labelled span is found when a
 * predicted span of its type overlaps it. Scored policies (those with a `threshold`) get a sweep:
 * their threshold is varied while every other policy keeps its configured options. */
#ifndef KT_APP_EVAL_H
#define KT_APP_EVAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kt/config.h"
#include "kt/policy.h"

#define KT_EVAL_NAMES 128          /* distinct category/entity/label names in one run */
#define KT_EVAL_NAME_MAX 48        /* bytes of one name, NUL included */
#define KT_EVAL_ITEM_LABELS 64     /* categories, and entities, per item */
#define KT_EVAL_LINE_MAX (4u << 20)
#define KT_EVAL_ITEMS_MAX 2000000u

typedef struct kt_eval_names {
    char v[KT_EVAL_NAMES][KT_EVAL_NAME_MAX];
    size_t n;
} kt_eval_names;

/* The index of `s` (added when new); -1 when the table is full or the name is empty/too long. */
int kt_eval_name(kt_eval_names *names, const char *s, size_t n);

typedef struct kt_eval_span {
    size_t start, end;
    uint16_t type;     /* index into the names */
} kt_eval_span;

typedef struct kt_eval_item {
    char *text;        /* NUL-terminated copy, owned */
    size_t len;
    kt_dir dir;
    uint16_t cats[KT_EVAL_ITEM_LABELS];
    size_t ncats;
    kt_eval_span ents[KT_EVAL_ITEM_LABELS];
    size_t nents;
} kt_eval_item;

/* Parses one line. Returns 0, or KT_EPARSE/KT_EINVAL/KT_ELIMIT/KT_ENOMEM with a message in err.
 * On success the item owns a copy of the text (kt_eval_item_free). */
int kt_eval_parse_item(kt_eval_names *names, const char *line, size_t n, kt_eval_item *it,
                       char *err, size_t errcap);
void kt_eval_item_free(kt_eval_item *it);

typedef struct kt_eval_opts {
    bool no_text;        /* list false positives and misses by offsets only */
    bool json;           /* one JSON summary object instead of tables */
    int dir;             /* 0: each item's direction; else KT_DIR_* for every item */
    unsigned max_list;   /* false positives and misses listed per name (0: none) */
} kt_eval_opts;

/* Runs the chain over every item of `in` and writes the report to `out`; problems with the
 * labels file go to `err` as "LABELS:LINE: message". Returns the exit code: 0, or 2. */
int kt_eval_run(const kt_config *cfg, FILE *in, const char *in_name, const kt_eval_opts *o,
                FILE *out, FILE *err);

/* The `kt policy eval` command line (arguments after "eval"). */
int kt_eval_main(int argc, char **argv);

#endif
