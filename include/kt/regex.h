/* Custom patterns (pii-detector `detect_patterns`, dlp-filter `patterns`) on PCRE2, bounded:
 * every match attempt has a match limit and a depth limit, so a pathological pattern costs a
 * bounded amount of work per position instead of exponential time, and a failed bound is treated
 * as a match of the whole window (fail closed). Patterns run in byte mode. */
#ifndef KT_REGEX_H
#define KT_REGEX_H

#include <stddef.h>

#include "kt/common.h"

typedef struct kt_regex kt_regex;

/* Compiles; on error *erroff is the offset in the pattern and `err` the reason. */
int kt_regex_compile(const char *pattern, kt_regex **out, char *err, size_t errlen,
                     size_t *erroff);
void kt_regex_free(kt_regex *re);
/* What kt_regex_next returns besides a negative KT_E* code. */
enum { KT_REGEX_NONE = 0, KT_REGEX_MATCH = 1 };

/* Finds the next match starting at or after `from` (the text before is context, for lookbehind
 * and \b). Returns KT_REGEX_MATCH with [*s, *e), KT_REGEX_NONE when there is none, or a negative
 * code: KT_ELIMIT when the work bound was hit, KT_ENOMEM. Empty matches are skipped. */
int kt_regex_next(const kt_regex *re, const char *text, size_t len, size_t from, size_t *s,
                  size_t *e);

/* Streaming: the start of the earliest match that text appended after `len` could still complete
 * or extend (PCRE2 hard partial matching), searching from `from`; `len` when none. A work bound
 * hit returns `from` (hold everything: decided at the end). */
size_t kt_regex_stable(const kt_regex *re, const char *text, size_t len, size_t from);

#endif
