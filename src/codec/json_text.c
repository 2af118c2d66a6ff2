/* Strict RFC 8259 scanner over raw bytes: validates the whole document and reports every value
 * with its raw span and path. Recursive descent bounded by the depth cap; no allocation. */
#include <string.h>

#include "json_priv.h"
#include "kt/json_text.h"

typedef struct scanner {
    const char *b;
    size_t n;
    size_t i;
    int max_depth;
    kt_json_value_fn fn;
    void *ud;
    kt_json_path path;
} scanner;

static int parse_value(scanner *s, int nest);

static void skip_ws_run(scanner *s)
{
    while (s->i < s->n) {
        char c = s->b[s->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        s->i++;
    }
}

/* Compact JSON (what SDKs send) has no whitespace between tokens: one test, no call. */
static inline void skip_ws(scanner *s)
{
    if (s->i < s->n && (unsigned char)s->b[s->i] > ' ') return;
    skip_ws_run(s);
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7), 0 when ill-formed. */

/* On entry s->i is just past the opening quote; on success it is just past the closing quote and
 * [*start, *end) is the content. */
static int scan_string(scanner *s, size_t *start, size_t *end, int *plain)
{
    const unsigned char *b = (const unsigned char *)s->b;
    *start = s->i;
    /* Plain ASCII runs first, with the index in a local (b may alias s); a string whose first run
     * reaches the closing quote is plain. */
    size_t i = kt__json_plain_end(b, s->i, s->n), first = i;
    while (i < s->n) {
        unsigned char c = b[i];
        if (c == '"') {
            *plain = i == first;
            *end = i;
            s->i = i + 1;
            return KT_OK;
        }
        if (c < 0x20) return KT_EPARSE;
        if (c == '\\') {
            if (i + 1 >= s->n) return KT_EPARSE;
            c = b[i + 1];
            if (c == 'u') {
                if (s->n - i < 6) return KT_EPARSE;
                for (size_t k = 2; k < 6; k++)
                    if (!is_hex(b[i + k])) return KT_EPARSE;
                i += 6;
            } else if (strchr("\"\\/bfnrt", c) && c) {
                i += 2;
            } else {
                return KT_EPARSE;
            }
        } else if (c < 0x80) {
            i++;
        } else {
            size_t l = kt__utf8_len(b + i, s->n - i);
            if (!l) return KT_EPARSE;
            i += l;
        }
        i = kt__json_plain_end(b, i, s->n);
    }
    s->i = i;
    return KT_EPARSE;
}

static size_t skip_digits(scanner *s)
{
    size_t from = s->i;
    while (s->i < s->n && s->b[s->i] >= '0' && s->b[s->i] <= '9') s->i++;
    return s->i - from;
}

static int scan_number(scanner *s)
{
    if (s->i < s->n && s->b[s->i] == '-') s->i++;
    if (s->i >= s->n) return KT_EPARSE;
    if (s->b[s->i] == '0') {
        s->i++;
    } else if (!skip_digits(s)) {
        return KT_EPARSE;
    }
    if (s->i < s->n && s->b[s->i] == '.') {
        s->i++;
        if (!skip_digits(s)) return KT_EPARSE;
    }
    if (s->i < s->n && (s->b[s->i] == 'e' || s->b[s->i] == 'E')) {
        s->i++;
        if (s->i < s->n && (s->b[s->i] == '+' || s->b[s->i] == '-')) s->i++;
        if (!skip_digits(s)) return KT_EPARSE;
    }
    return KT_OK;
}

static int scan_literal(scanner *s, const char *lit)
{
    size_t l = strlen(lit);
    if (s->n - s->i < l || memcmp(s->b + s->i, lit, l) != 0) return KT_EPARSE;
    s->i += l;
    return KT_OK;
}

static int report_str(scanner *s, kt_json_type t, size_t start, size_t end, int plain)
{
    if (!s->fn) return KT_OK;
    kt_json_value v = { t, start, end, plain };
    return s->fn(s->ud, &s->path, &v);
}

static int report(scanner *s, kt_json_type t, size_t start, size_t end)
{
    return report_str(s, t, start, end, 0);
}

static int parse_array(scanner *s, int nest)
{
    size_t start = s->i++;
    int d = s->path.depth++;
    s->path.el[d].is_index = 1;
    s->path.el[d].index = 0;
    s->path.el[d].key_start = s->path.el[d].key_len = 0;
    s->path.el[d].plain = 0;
    skip_ws(s);
    if (s->i < s->n && s->b[s->i] == ']') {
        s->i++;
        goto done;
    }
    for (;;) {
        int rc = parse_value(s, nest);
        if (rc) return rc;
        skip_ws(s);
        if (s->i >= s->n) return KT_EPARSE;
        char c = s->b[s->i++];
        if (c == ']') break;
        if (c != ',') return KT_EPARSE;
        s->path.el[d].index++;
    }
done:
    s->path.depth = d;
    return report(s, KT_JSON_ARRAY, start, s->i);
}

static int parse_object(scanner *s, int nest)
{
    size_t start = s->i++;
    int d = s->path.depth++;
    s->path.el[d].is_index = 0;
    s->path.el[d].index = 0;
    skip_ws(s);
    if (s->i < s->n && s->b[s->i] == '}') {
        s->i++;
        goto done;
    }
    for (;;) {
        size_t ks, ke;
        if (s->i >= s->n || s->b[s->i] != '"') return KT_EPARSE;
        s->i++;
        int kplain;
        int rc = scan_string(s, &ks, &ke, &kplain);
        if (rc) return rc;
        s->path.el[d].plain = kplain;
        s->path.el[d].key_start = ks;
        s->path.el[d].key_len = ke - ks;
        skip_ws(s);
        if (s->i >= s->n || s->b[s->i] != ':') return KT_EPARSE;
        s->i++;
        rc = parse_value(s, nest);
        if (rc) return rc;
        skip_ws(s);
        if (s->i >= s->n) return KT_EPARSE;
        char c = s->b[s->i++];
        if (c == '}') break;
        if (c != ',') return KT_EPARSE;
        skip_ws(s);
    }
done:
    s->path.depth = d;
    return report(s, KT_JSON_OBJECT, start, s->i);
}

static int parse_value(scanner *s, int nest)
{
    skip_ws(s);
    if (s->i >= s->n) return KT_EPARSE;
    size_t start = s->i;
    char c = s->b[s->i];
    int rc;
    switch (c) {
    case '{':
    case '[':
        if (nest >= s->max_depth) return KT_ELIMIT;
        return c == '{' ? parse_object(s, nest + 1) : parse_array(s, nest + 1);
    case '"': {
        size_t cs, ce;
        int plain;
        s->i++;
        rc = scan_string(s, &cs, &ce, &plain);
        return rc ? rc : report_str(s, KT_JSON_STRING, cs, ce, plain);
    }
    case 't':
        rc = scan_literal(s, "true");
        return rc ? rc : report(s, KT_JSON_TRUE, start, s->i);
    case 'f':
        rc = scan_literal(s, "false");
        return rc ? rc : report(s, KT_JSON_FALSE, start, s->i);
    case 'n':
        rc = scan_literal(s, "null");
        return rc ? rc : report(s, KT_JSON_NULL, start, s->i);
    default:
        if (c != '-' && (c < '0' || c > '9')) return KT_EPARSE;
        rc = scan_number(s);
        return rc ? rc : report(s, KT_JSON_NUMBER, start, s->i);
    }
}

int kt_json_scan(const char *buf, size_t len, const kt_json_limits *lim, kt_json_value_fn fn,
                 void *ud)
{
    scanner s;
    int max = lim && lim->max_depth > 0 ? lim->max_depth : KT_JSON_MAX_DEPTH;
    if (max > KT_JSON_MAX_DEPTH) return KT_EINVAL;
    if (!buf && len) return KT_EINVAL;
    s.b = buf;
    s.n = len;
    s.i = 0;
    s.max_depth = max;
    s.fn = fn;
    s.ud = ud;
    s.path.buf = buf;
    s.path.depth = 0;
    int rc = parse_value(&s, 0);
    if (rc) return rc;
    skip_ws(&s);
    return s.i == s.n ? KT_OK : KT_EPARSE;
}

typedef struct walk_ctx {
    kt_json_visit_fn fn;
    void *ud;
} walk_ctx;

static int walk_strings(void *ud, const kt_json_path *path, const kt_json_value *v)
{
    walk_ctx *w = ud;
    if (v->type != KT_JSON_STRING) return KT_OK;
    /* Keys are never reported as values: a string value is the last step's target. */
    return w->fn(w->ud, path, v->start, v->end);
}

int kt_json_walk_ex(const char *buf, size_t len, const kt_json_limits *lim, kt_json_visit_fn fn,
                    void *ud)
{
    walk_ctx w = { fn, ud };
    return kt_json_scan(buf, len, lim, fn ? walk_strings : NULL, &w);
}

int kt_json_walk(const char *buf, size_t len, kt_json_visit_fn fn, void *ud)
{
    return kt_json_walk_ex(buf, len, NULL, fn, ud);
}

int kt_json_validate(const char *buf, size_t len) { return kt_json_walk(buf, len, NULL, NULL); }

/* ---- splicing: sorted, non-overlapping replacements; unchanged ranges copied through ------------- */

static int edits_valid(size_t len, const kt_json_edit *edits, size_t n, size_t *out_len)
{
    size_t prev_end = 0, total = len;
    for (size_t k = 0; k < n; k++) {
        const kt_json_edit *e = &edits[k];
        if (e->start > e->end || e->end > len || e->start < prev_end) return KT_EINVAL;
        if (e->rep_len && !e->rep) return KT_EINVAL;
        size_t removed = e->end - e->start;
        if (e->rep_len > SIZE_MAX - total) return KT_ELIMIT;
        total = total - removed + e->rep_len;
        prev_end = e->end;
    }
    *out_len = total;
    return KT_OK;
}

int kt_json_splice(const char *buf, size_t len, const kt_json_edit *edits, size_t n_edits,
                   kt_buf *out)
{
    size_t total, pos = 0;
    if ((!buf && len) || (!edits && n_edits)) return KT_EINVAL;
    int rc = edits_valid(len, edits, n_edits, &total);
    if (rc) return rc;
    /* Reserving the exact size first makes the appends below infallible: out stays unchanged on
     * any error. */
    rc = kt_buf_reserve(out, total);
    if (rc) return rc;
    for (size_t k = 0; k < n_edits; k++) {
        const kt_json_edit *e = &edits[k];
        if (e->start > pos) kt_buf_append(out, buf + pos, e->start - pos);
        if (e->rep_len) kt_buf_append(out, e->rep, e->rep_len);
        pos = e->end;
    }
    if (len > pos) kt_buf_append(out, buf + pos, len - pos);
    return KT_OK;
}
