/* dlp-filter: secrets (provider API keys, cloud keys, private keys, JWTs, bearer tokens) and
 * custom keywords (whole words, case-insensitive); redact or block. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "kt/detect.h"
#include "../policy_priv.h"

#define KT_DLP_MAX_KEYWORDS 256
#define KT_DLP_MAX_KEYWORD 128
#define KT_DLP_LABEL_KEYWORD 200

typedef struct dlp_state {
    uint32_t mask;
    kt_action action;
    char marker[KT_MARKER_MAX];
    char *keywords[KT_DLP_MAX_KEYWORDS];   /* lower-cased */
    size_t kwlen[KT_DLP_MAX_KEYWORDS];
    size_t nkw;
    size_t max_kw;
    bool first[256];                       /* bytes that can start a keyword */
} dlp_state;

static int dlp_lookup(const char *s, size_t n)
{
    int e = kt_entity_from_name(s, n);
    if (e < 0 && n == 7 && strncmp(s, "secrets", 7) == 0) return -1;
    return e >= 0 && (KT_ENT_BIT(e) & KT_DETECT_DLP_MASK) ? e : -1;
}

static void keywords(kt_yread *x, const kt_policy_cfg *pc, dlp_state *st)
{
    const kt_ynode *n = kt__popt_get(pc, "keywords");
    if (!n || !kt_yr_want_seq(x, n, "keywords")) return;
    for (size_t i = 0; i < n->n; i++) {
        const char *k = kt_yr_want_str(x, n->vals[i], "keywords[]");
        if (!k) continue;
        size_t len = strlen(k);
        if (st->nkw == KT_DLP_MAX_KEYWORDS || len > KT_DLP_MAX_KEYWORD) {
            kt_yr_err(x, n->vals[i], "keywords: at most %d, each at most %d bytes",
                      KT_DLP_MAX_KEYWORDS, KT_DLP_MAX_KEYWORD);
            return;
        }
        char *lk = kt_yr_dup(x, k);
        if (!lk) return;
        for (size_t j = 0; j < len; j++) lk[j] = (char)tolower((unsigned char)lk[j]);
        st->keywords[st->nkw] = lk;
        st->kwlen[st->nkw++] = len;
        st->first[(unsigned char)lk[0]] = true;
        st->first[(unsigned char)toupper((unsigned char)lk[0])] = true;
        if (len > st->max_kw) st->max_kw = len;
    }
}

static void dlp_destroy(void *state)
{
    dlp_state *st = state;
    for (size_t i = 0; i < st->nkw; i++) free(st->keywords[i]);
    free(st);
}

static int dlp_compile(kt_yread *x, const kt_policy_cfg *pc, void **state)
{
    static const char *const keys[] = { "action", "entities", "secrets", "patterns", "keywords",
                                        "redaction", "marker_format", NULL };
    dlp_state *st = kt_calloc(1, sizeof *st);
    if (!st) return KT_ENOMEM;
    kt__popt_keys(x, pc, keys);
    st->mask = KT_DETECT_DLP_MASK;
    st->action = kt__popt_action(x, pc, (1u << KT_ACT_REDACT) | (1u << KT_ACT_BLOCK), KT_ACT_REDACT);
    kt__popt_names(x, pc, "entities", dlp_lookup, "secret kind", &st->mask);
    kt__popt_names(x, pc, "secrets", dlp_lookup, "secret kind", &st->mask);
    kt__popt_names(x, pc, "patterns", dlp_lookup, "secret kind", &st->mask);
    kt__popt_marker(x, pc, st->marker);
    keywords(x, pc, st);
    *state = st;
    return KT_OK;
}

static bool keyword_at(const dlp_state *st, const char *text, size_t len, size_t i, size_t k)
{
    size_t n = st->kwlen[k];
    if (len - i < n) return false;
    for (size_t j = 0; j < n; j++)
        if (tolower((unsigned char)text[i + j]) != (unsigned char)st->keywords[k][j]) return false;
    bool left = i == 0 || !kt__is_word_byte((unsigned char)text[i - 1]);
    bool right = i + n == len || !kt__is_word_byte((unsigned char)text[i + n]);
    return left && right;
}

static int dlp_scan(const void *state, const char *text, size_t len, size_t from,
                    uint16_t policy, kt_findings *out)
{
    const dlp_state *st = state;
    int rc = kt__pii_scan_mask(st->mask, st->action, text, len, from, policy, out);
    for (size_t i = from; i < len && st->nkw && !rc; i++) {
        if (!st->first[(unsigned char)text[i]]) continue;
        for (size_t k = 0; k < st->nkw; k++) {
            if (!keyword_at(st, text, len, i, k)) continue;
            rc = kt_findings_add(out, i, i + st->kwlen[k], policy,
                                 (uint16_t)(KT_DLP_LABEL_KEYWORD), st->action);
            i += st->kwlen[k] - 1;
            break;
        }
    }
    return rc;
}

static size_t dlp_stable(const void *state, const char *text, size_t len, size_t from)
{
    const dlp_state *st = state;
    size_t n = kt_detect_stable_prefix_ctx(text, len, from, st->mask);
    /* Hold a tail only when it can still become a keyword: it starts a word and is a prefix of
     * some keyword (a whole keyword at the end waits for the byte that decides its right
     * boundary). */
    size_t lo = len > st->max_kw ? len - st->max_kw : 0;
    if (lo < from) lo = from;
    for (size_t p = lo; p < len && p < n; p++) {
        if (p > 0 && kt__is_word_byte((unsigned char)text[p - 1])) continue;
        if (!st->first[(unsigned char)text[p]]) continue;
        for (size_t k = 0; k < st->nkw; k++) {
            size_t m = len - p;
            if (m > st->kwlen[k]) continue;
            size_t j = 0;
            while (j < m && tolower((unsigned char)text[p + j]) == (unsigned char)st->keywords[k][j]) j++;
            if (j == m) {
                n = p;
                break;
            }
        }
    }
    return n < from ? from : n;
}

static const char *dlp_label(const void *state, uint16_t label)
{
    (void)state;
    if (label == KT_DLP_LABEL_KEYWORD) return "keyword";
    const char *n = kt_entity_name((kt_entity)label);
    return n ? n : "secret";
}

static int dlp_marker(const void *state, uint16_t label, kt_buf *out)
{
    const dlp_state *st = state;
    return kt__marker_render(st->marker, dlp_label(state, label), out);
}

const kt_policy_kind kt_policy_dlp = {
    .name = "dlp-filter",
    .default_dirs = KT_DIR_INPUT | KT_DIR_OUTPUT,
    .compile = dlp_compile,
    .destroy = dlp_destroy,
    .scan = dlp_scan,
    .stable = dlp_stable,
    .label = dlp_label,
    .marker = dlp_marker,
};
