/* PCRE2 wrapper with work bounds (see kt/regex.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>

#include "kt/regex.h"

#define KT_RE_MATCH_LIMIT 100000u
#define KT_RE_DEPTH_LIMIT 2000u

struct kt_regex {
    pcre2_code *code;
    pcre2_match_context *mctx;
};

int kt_regex_compile(const char *pattern, kt_regex **out, char *err, size_t errlen,
                     size_t *erroff)
{
    int ec = 0;
    PCRE2_SIZE off = 0;
    *out = NULL;
    kt_regex *re = kt_calloc(1, sizeof *re);
    if (!re) return KT_ENOMEM;
    re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(err, errlen, "%s", (const char *)msg);
        *erroff = off;
        free(re);
        return KT_EINVAL;
    }
    pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);   /* best effort: falls back to the interpreter */
    re->mctx = pcre2_match_context_create(NULL);
    if (!re->mctx) {
        kt_regex_free(re);
        return KT_ENOMEM;
    }
    pcre2_set_match_limit(re->mctx, KT_RE_MATCH_LIMIT);
    pcre2_set_depth_limit(re->mctx, KT_RE_DEPTH_LIMIT);
    *out = re;
    return KT_OK;
}

void kt_regex_free(kt_regex *re)
{
    if (!re) return;
    pcre2_match_context_free(re->mctx);
    pcre2_code_free(re->code);
    free(re);
}

int kt_regex_next(const kt_regex *re, const char *text, size_t len, size_t from, size_t *s,
                  size_t *e)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
    if (!md) return KT_ENOMEM;
    int result = KT_REGEX_NONE;
    size_t pos = from;
    while (pos <= len) {
        int rc = pcre2_match(re->code, (PCRE2_SPTR)text, len, pos, 0, md, re->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            result = KT_ELIMIT;
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[1] > ov[0]) {
            *s = ov[0];
            *e = ov[1];
            result = KT_REGEX_MATCH;
            break;
        }
        pos = ov[1] + 1;   /* empty match: move on */
    }
    pcre2_match_data_free(md);
    return result;
}

size_t kt_regex_stable(const kt_regex *re, const char *text, size_t len, size_t from)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
    if (!md) return from;
    size_t result = len, pos = from;
    while (pos <= len) {
        int rc = pcre2_match(re->code, (PCRE2_SPTR)text, len, pos, PCRE2_PARTIAL_HARD, md, re->mctx);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc == PCRE2_ERROR_PARTIAL) {
            result = ov[0];
            break;
        }
        if (rc < 0) {
            result = from;
            break;
        }
        pos = ov[1] > ov[0] ? ov[1] : ov[0] + 1;   /* a complete match is final: look past it */
    }
    pcre2_match_data_free(md);
    return result < from ? from : result;
}
