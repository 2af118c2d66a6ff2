/* Header storage with a count and byte cap, hop-by-hop classification, strict head pre-scan. */
#include <stdlib.h>
#include <string.h>

#include "kt/http.h"

enum { HS_EXPECT_NAME = 0, HS_IN_NAME, HS_IN_VALUE };

#define KT_HEADERS_FIRST 16   /* entries allocated up front: most heads have fewer */

/* The entry array starts small and doubles up to the cap: a connection or an upstream stream
 * holds room for the headers it saw, not for `max_headers` of them. */
int kt_headers_init(kt_headers *hs, uint32_t max_count, size_t max_bytes)
{
    kt_buf_init(&hs->raw, max_bytes);
    hs->n = 0;
    hs->max = max_count;
    hs->st = HS_EXPECT_NAME;
    hs->nconn = hs->conn_first = 0;
    hs->cap = KT_MIN(max_count, KT_HEADERS_FIRST);
    hs->h = kt_calloc(hs->cap ? hs->cap : 1, sizeof *hs->h);
    return hs->h ? KT_OK : KT_ENOMEM;
}

static int grow(kt_headers *hs)
{
    uint32_t cap = hs->cap > hs->max / 2 ? hs->max : hs->cap * 2;
    kt_header *h = kt_realloc(hs->h, (size_t)cap * sizeof *h);
    if (!h) return KT_ENOMEM;
    hs->h = h;
    hs->cap = cap;
    return KT_OK;
}

void kt_headers_free(kt_headers *hs)
{
    kt_buf_free(&hs->raw);
    free(hs->h);
    hs->h = NULL;
    hs->n = 0;
}

void kt_headers_reset(kt_headers *hs)
{
    kt_buf_reset(&hs->raw);
    hs->n = 0;
    hs->st = HS_EXPECT_NAME;
    hs->nconn = hs->conn_first = 0;
}

int kt_headers_add_name(kt_headers *hs, const char *p, size_t n)
{
    if (hs->st != HS_IN_NAME) {
        if (hs->n == hs->max) return KT_ELIMIT;
        if (hs->n == hs->cap && grow(hs)) return KT_ENOMEM;
        kt_header *h = &hs->h[hs->n++];
        h->name_off = (uint32_t)hs->raw.len;
        h->name_len = 0;
        h->val_off = h->val_len = 0;
        hs->st = HS_IN_NAME;
    }
    int rc = kt_buf_append(&hs->raw, p, n);
    if (rc) return rc;
    hs->h[hs->n - 1].name_len += (uint32_t)n;
    return KT_OK;
}

int kt_headers_add_value(kt_headers *hs, const char *p, size_t n)
{
    if (hs->st == HS_EXPECT_NAME) return KT_EPARSE;
    kt_header *h = &hs->h[hs->n - 1];
    if (hs->st == HS_IN_NAME) {
        h->val_off = (uint32_t)hs->raw.len;
        h->val_len = 0;
        hs->st = HS_IN_VALUE;
    }
    int rc = kt_buf_append(&hs->raw, p, n);
    if (rc) return rc;
    h->val_len += (uint32_t)n;
    return KT_OK;
}

static bool name_is(const kt_headers *hs, uint32_t i, const char *name, size_t n);

int kt_headers_value_done(kt_headers *hs)
{
    if (hs->st == HS_EXPECT_NAME || hs->h[hs->n - 1].name_len == 0) return KT_EPARSE;
    hs->st = HS_EXPECT_NAME;
    if (name_is(hs, hs->n - 1, "connection", 10) && !hs->nconn++) hs->conn_first = hs->n - 1;
    return KT_OK;
}

kt_str kt_headers_name(const kt_headers *hs, uint32_t i)
{
    return (kt_str){ hs->raw.p + hs->h[i].name_off, hs->h[i].name_len };
}

kt_str kt_headers_value(const kt_headers *hs, uint32_t i)
{
    if (!hs->h[i].val_len) return (kt_str){ "", 0 };
    return (kt_str){ hs->raw.p + hs->h[i].val_off, hs->h[i].val_len };
}

/* Whether header i is `name` (n bytes, lower case or not): the length and the first byte, the
 * common misses, are compared in line. */
static bool name_is(const kt_headers *hs, uint32_t i, const char *name, size_t n)
{
    const kt_header *h = &hs->h[i];
    if (h->name_len != n) return false;
    unsigned c = (unsigned char)hs->raw.p[h->name_off];
    if (n && (c | 0x20u) != ((unsigned char)name[0] | 0x20u)) return false;
    return kt_str_eq_ci_n(kt_headers_name(hs, i), name, n);
}

int kt_headers_find(const kt_headers *hs, const char *name, uint32_t from)
{
    size_t n = strlen(name);
    for (uint32_t i = from; i < hs->n; i++)
        if (name_is(hs, i, name, n)) return (int)i;
    return -1;
}

int kt_headers_count(const kt_headers *hs, const char *name)
{
    int c = 0;
    size_t n = strlen(name);
    for (uint32_t i = 0; i < hs->n; i++)
        if (name_is(hs, i, name, n)) c++;
    return c;
}

static bool token_in_list(kt_str list, kt_str tok)
{
    size_t i = 0;
    while (i < list.n) {
        while (i < list.n && (list.p[i] == ' ' || list.p[i] == '\t' || list.p[i] == ',')) i++;
        size_t s = i;
        while (i < list.n && list.p[i] != ',') i++;
        size_t e = i;
        while (e > s && (list.p[e - 1] == ' ' || list.p[e - 1] == '\t')) e--;
        if (e - s == tok.n && tok.n) {
            size_t k = 0;
            while (k < tok.n && ((list.p[s + k] | 0x20) == (tok.p[k] | 0x20))) k++;
            if (k == tok.n) return true;
        }
    }
    return false;
}

bool kt_http_is_hop_by_hop(const kt_headers *hs, kt_str name)
{
    static const kt_str fixed[] = { KT_STR("connection"), KT_STR("keep-alive"),
                                    KT_STR("proxy-connection"), KT_STR("te"), KT_STR("trailer"),
                                    KT_STR("transfer-encoding"), KT_STR("upgrade"),
                                    KT_STR("proxy-authorization"), KT_STR("proxy-authenticate") };
    for (size_t i = 0; i < KT_ARRAY_LEN(fixed); i++)
        if (name.n == fixed[i].n && (name.p[0] | 0x20) == fixed[i].p[0] &&
            kt_str_eq_ci_n(name, fixed[i].p, fixed[i].n))
            return true;
    for (uint32_t i = hs->conn_first, seen = 0; seen < hs->nconn && i < hs->n; i++) {
        if (!name_is(hs, i, "connection", 10)) continue;
        seen++;
        if (token_in_list(kt_headers_value(hs, i), name)) return true;
    }
    return false;
}

void kt_head_scan_init(kt_head_scan *s, size_t max_bytes)
{
    memset(s, 0, sizeof *s);
    s->max_bytes = max_bytes;
    s->line_start = 1;
    s->first_line = 1;
}

/* Inside a line, after a byte other than CR, only NUL, CR and LF (and on the request line also SP
 * and HTAB) can change the scanner's state or verdict: the length of the run of other bytes at p,
 * which may be skipped whole. */
static size_t plain_run(const kt_head_scan *s, const uint8_t *p, size_t n)
{
    size_t i = 0;
    if (s->first_line) {
        while (i < n && p[i] > ' ') i++;
        return i;
    }
    while (i < n && (p[i] > '\r' || (p[i] != '\r' && p[i] != '\n' && p[i] != 0))) i++;
    return i;
}

int kt_head_scan_feed(kt_head_scan *s, const char *data, size_t len, size_t *used)
{
    for (size_t i = 0; i < len; i++) {
        if (!s->line_start && s->prev != '\r') {
            size_t run = plain_run(s, (const uint8_t *)data + i, len - i);
            if (run && s->bytes + run <= s->max_bytes) {   /* else the byte loop finds the cap */
                s->bytes += run;
                s->prev = (uint8_t)data[i + run - 1];
                i += run;
                if (i == len) break;
            }
        }
        uint8_t c = (uint8_t)data[i];
        if (++s->bytes > s->max_bytes) return KT_HEAD_TOO_BIG;
        if (c == 0) return KT_HEAD_BAD;
        if (s->prev == '\r' && c != '\n') return KT_HEAD_BAD;   /* bare CR */
        if (c == '\n') {
            if (s->prev != '\r') return KT_HEAD_BAD;              /* bare LF */
            if (s->line_start && !s->first_line) {                /* empty line: end of head */
                s->done = 1;
                *used = i + 1;
                return KT_HEAD_DONE;
            }
            if (s->line_start && s->first_line) return KT_HEAD_BAD; /* empty request line */
            s->line_start = 1;
            s->first_line = 0;
        } else if (s->first_line && (c == '\t' || (c == ' ' && s->prev == ' ') ||
                                     (c == '\r' && s->prev == ' '))) {
            return KT_HEAD_BAD;   /* request line: exactly one SP between its three parts */
        } else if (c != '\r') {
            /* A line that starts with whitespace continues the previous one (obs-fold), or is a
             * request line with leading whitespace: both are refused. */
            if (s->line_start && (c == ' ' || c == '\t')) return KT_HEAD_BAD;
            s->line_start = 0;
        }
        s->prev = c;
    }
    *used = len;
    return KT_HEAD_MORE;
}

const char *kt_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}
