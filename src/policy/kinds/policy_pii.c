/* pii-detector: built-in entities (kt/detect.h) plus custom `detect_patterns`; redact or block.
 * `regions` chooses the national phone formats (default: every region kt knows). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/detect.h"
#include "kt/regex.h"
#include "../policy_priv.h"

#define KT_PII_MAX_PATTERNS 32
#define KT_PII_LABEL_CUSTOM 100
#define KT_DETECT_BATCH 64

typedef struct pii_pattern {
    char *name;
    kt_regex *re;
    size_t max_len;
} pii_pattern;

typedef struct pii_state {
    uint32_t mask;
    kt_action action;
    char marker[KT_MARKER_MAX];
    pii_pattern pats[KT_PII_MAX_PATTERNS];
    size_t npats;
    size_t max_pat_len;
} pii_state;

static int pii_lookup(const char *s, size_t n)
{
    int e = kt_entity_from_name(s, n);
    return e >= 0 && (KT_ENT_BIT(e) & KT_DETECT_PII_MASK) ? e : -1;
}

static int region_lookup(const char *s, size_t n) { return kt_region_from_name(s, n); }

/* regions: [US, DE, ...]: the phone formats of those regions (and E.164); absent: all. */
static void regions(kt_yread *x, const kt_policy_cfg *pc, pii_state *st)
{
    if (!kt__popt_get(pc, "regions")) return;
    uint32_t r = 0;
    kt__popt_names(x, pc, "regions", region_lookup, "phone region", &r);
    st->mask = (st->mask & ~KT_DETECT_REGIONS_ALL) | KT_DETECT_REGIONS_SET |
               ((r << KT_DETECT_REGION_SHIFT) & KT_DETECT_REGIONS_ALL);
}

static void pattern_one(kt_yread *x, pii_state *st, const kt_ynode *item, size_t idx)
{
    const char *name = NULL, *pat = NULL;
    uint64_t max_len = 128;
    const kt_ynode *pat_node = item;
    if (item->type == KT_Y_MAP) {
        static const char *const keys[] = { "name", "pattern", "max_length", NULL };
        kt_yr_check_keys(x, item, keys, "detect_patterns[]");
        name = kt_yr_str(x, item, "name", "detect_patterns[].name", false);
        pat = kt_yr_str(x, item, "pattern", "detect_patterns[].pattern", true);
        pat_node = kt_ymap_get(item, "pattern");
        const kt_ynode *ml = kt_ymap_get(item, "max_length");
        if (ml) kt_yr_uint(x, ml, "max_length", 1, 4096, &max_len);
    } else {
        pat = kt_yr_want_str(x, item, "detect_patterns[]");
    }
    if (!pat) return;
    char err[160], label[64];
    size_t off = 0;
    pii_pattern *p = &st->pats[st->npats];
    if (kt_regex_compile(pat, &p->re, err, sizeof err, &off)) {
        kt_yr_err(x, pat_node, "invalid pattern at offset %zu: %s", off, err);
        return;
    }
    snprintf(label, sizeof label, "%s", name ? name : "custom");
    if (!name && idx) snprintf(label, sizeof label, "custom_%zu", idx + 1);
    p->name = kt_yr_dup(x, label);
    p->max_len = max_len;
    if (max_len > st->max_pat_len) st->max_pat_len = max_len;
    st->npats++;
}

static void patterns(kt_yread *x, const kt_policy_cfg *pc, pii_state *st)
{
    const kt_ynode *n = kt__popt_get(pc, "detect_patterns");
    if (!n || !kt_yr_want_seq(x, n, "detect_patterns")) return;
    for (size_t i = 0; i < n->n; i++) {
        if (st->npats == KT_PII_MAX_PATTERNS) {
            kt_yr_err(x, n->vals[i], "more than %d detect_patterns", KT_PII_MAX_PATTERNS);
            return;
        }
        pattern_one(x, st, n->vals[i], i);
    }
}

static void pii_destroy(void *state)
{
    pii_state *st = state;
    for (size_t i = 0; i < st->npats; i++) {
        kt_regex_free(st->pats[i].re);
        free(st->pats[i].name);
    }
    free(st);
}

static int pii_compile(kt_yread *x, const kt_policy_cfg *pc, void **state)
{
    static const char *const keys[] = { "action", "entities", "patterns", "detect_patterns",
                                        "regions", "redaction", "marker_format", NULL };
    pii_state *st = kt_calloc(1, sizeof *st);
    if (!st) return KT_ENOMEM;
    kt__popt_keys(x, pc, keys);
    st->mask = KT_DETECT_PII_MASK;
    st->action = kt__popt_action(x, pc, (1u << KT_ACT_REDACT) | (1u << KT_ACT_BLOCK), KT_ACT_REDACT);
    kt__popt_names(x, pc, "entities", pii_lookup, "PII entity", &st->mask);
    kt__popt_names(x, pc, "patterns", pii_lookup, "PII entity", &st->mask);
    regions(x, pc, st);
    kt__popt_marker(x, pc, st->marker);
    patterns(x, pc, st);
    *state = st;
    return KT_OK;
}

int kt__pii_scan_mask(uint32_t mask, kt_action action, const char *text, size_t len, size_t from,
                      uint16_t policy, kt_findings *out)
{
    kt_match m[KT_DETECT_BATCH];
    size_t pos = from;
    for (;;) {
        int trunc = 0;
        size_t n = kt_detect_ctx(text, len, pos, mask, m, KT_DETECT_BATCH, &trunc);
        for (size_t i = 0; i < n; i++) {
            int rc = kt_findings_add(out, m[i].start, m[i].end, policy, (uint16_t)m[i].ent, action);
            if (rc) return rc;
        }
        if (!trunc || n == 0) return KT_OK;
        pos = m[n - 1].end;
    }
}

static int pii_scan(const void *state, const char *text, size_t len, size_t from,
                    uint16_t policy, kt_findings *out)
{
    const pii_state *st = state;
    int rc = kt__pii_scan_mask(st->mask, st->action, text, len, from, policy, out);
    for (size_t i = 0; i < st->npats && !rc; i++) {
        size_t pos = from, s, e;
        int r;
        while ((r = kt_regex_next(st->pats[i].re, text, len, pos, &s, &e)) == KT_REGEX_MATCH) {
            rc = kt_findings_add(out, s, e, policy, (uint16_t)(KT_PII_LABEL_CUSTOM + i), st->action);
            if (rc) return rc;
            pos = e;
        }
        /* A pattern that ran past PCRE2's match limit cannot say whether the text matches: the
         * detector fails (KT_ETIMEOUT, not a cap of the body), and gateway.fail_mode decides:
         * closed refuses (503, a stream is cut), open forwards it marked unscanned. */
        if (r == KT_ELIMIT) rc = KT_ETIMEOUT;
        else if (r < 0) rc = r;
    }
    return rc;
}

static size_t pii_stable(const void *state, const char *text, size_t len, size_t from)
{
    const pii_state *st = state;
    size_t n = kt_detect_stable_prefix_ctx(text, len, from, st->mask);
    for (size_t i = 0; i < st->npats; i++) {
        /* Hold only a match in progress; one longer than max_length is cut there (it is
         * treated as final), so the holdback stays bounded. */
        size_t s = kt_regex_stable(st->pats[i].re, text, len, from);
        if (s < len && len - s > st->pats[i].max_len) s = len - st->pats[i].max_len;
        if (s < n) n = s;
    }
    return n < from ? from : n;
}

static const char *pii_label(const void *state, uint16_t label)
{
    const pii_state *st = state;
    if (label >= KT_PII_LABEL_CUSTOM) {
        size_t i = label - KT_PII_LABEL_CUSTOM;
        return i < st->npats ? st->pats[i].name : "custom";
    }
    const char *n = kt_entity_name((kt_entity)label);
    return n ? n : "pii";
}

static int pii_marker(const void *state, uint16_t label, kt_buf *out)
{
    const pii_state *st = state;
    return kt__marker_render(st->marker, pii_label(state, label), out);
}

const kt_policy_kind kt_policy_pii = {
    .name = "pii-detector",
    .default_dirs = KT_DIR_INPUT | KT_DIR_OUTPUT,
    .compile = pii_compile,
    .destroy = pii_destroy,
    .scan = pii_scan,
    .stable = pii_stable,
    .label = pii_label,
    .marker = pii_marker,
};
