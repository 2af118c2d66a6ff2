/* JSON string content: decoding (with a decoded-to-raw offset map), decoded key comparison, and
 * encoding replacement text as string content. */
#include <string.h>

#include "json_priv.h"
#include "kt/json_text.h"

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads \uXXXX at raw[i] (raw[i] == '\\'), -1 when it is not one. */
static long read_u(const char *raw, size_t n, size_t i)
{
    long v = 0;
    if (n - i < 6 || raw[i] != '\\' || raw[i + 1] != 'u') return -1;
    for (size_t k = 2; k < 6; k++) {
        int h = hex_val((unsigned char)raw[i + k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(unsigned long cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the raw UTF-8 sequence led by byte c (1 for ASCII and for stray bytes). The walker
 * has already validated the bytes; this only groups them so the map stays on character starts. */
static size_t lead_len(unsigned char c)
{
    if (c >= 0xF0 && c <= 0xF4) return 4;
    if (c >= 0xE0) return c <= 0xEF ? 3 : 1;
    if (c >= 0xC2) return 2;
    return 1;
}

/* Decodes the character at raw[*i] into o (up to 4 bytes), advancing *i. */
static int next_char(const char *raw, size_t n, size_t *i, char *o, size_t *olen)
{
    unsigned char c = (unsigned char)raw[*i];
    if (c == '"' || c < 0x20) return KT_EPARSE;
    if (c != '\\') {
        size_t l = lead_len(c);
        if (l > n - *i) l = 1;
        for (size_t k = 1; k < l; k++)
            if (((unsigned char)raw[*i + k] & 0xC0) != 0x80) l = 1;
        memcpy(o, raw + *i, l);
        *olen = l;
        *i += l;
        return KT_OK;
    }
    if (*i + 1 >= n) return KT_EPARSE;
    const char *simple = "\"\"\\\\//b\bf\fn\nr\rt\t";
    for (const char *e = simple; *e; e += 2) {
        if (raw[*i + 1] == e[0]) {
            o[0] = e[1];
            *olen = 1;
            *i += 2;
            return KT_OK;
        }
    }
    long u = read_u(raw, n, *i);
    if (u < 0) return KT_EPARSE;
    *i += 6;
    unsigned long cp = (unsigned long)u;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = read_u(raw, n, *i);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
            *i += 6;
        } else {
            cp = 0xFFFD;
        }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = 0xFFFD;
    }
    *olen = put_utf8(cp, o);
    return KT_OK;
}

int kt_json_str_decode(const char *raw, size_t n, kt_buf *text, uint32_t *map, size_t map_cap)
{
    int rc = KT_OK;
    size_t i = 0;
    kt_buf_reset(text);
    if (n > UINT32_MAX - 1) return KT_ELIMIT;
    /* Each escape decodes to fewer bytes than it occupies, so n bytes always suffice. */
    size_t want = KT_MIN(n, text->max);
    rc = kt_buf_reserve(text, want);
    if (rc) goto fail;
    while (i < n) {
        /* A run of plain ASCII decodes to itself. */
        size_t run = kt__json_plain_end((const unsigned char *)raw, i, n) - i;
        if (run) {
            if (run > want - text->len || (map && text->len + run >= map_cap)) {
                rc = KT_ELIMIT;
                goto fail;
            }
            if (map)
                for (size_t k = 0; k < run; k++) map[text->len + k] = (uint32_t)(i + k);
            memcpy(text->p + text->len, raw + i, run);
            text->len += run;
            i += run;
            continue;
        }
        char o[4];
        size_t olen, at = i;
        rc = next_char(raw, n, &i, o, &olen);
        if (rc) goto fail;
        if (olen > want - text->len) {
            rc = KT_ELIMIT;
            goto fail;
        }
        if (map) {
            if (text->len + olen >= map_cap) {
                rc = KT_ELIMIT;
                goto fail;
            }
            for (size_t k = 0; k < olen; k++) map[text->len + k] = (uint32_t)at;
        }
        memcpy(text->p + text->len, o, olen);
        text->len += olen;
    }
    text->p[text->len] = '\0';
    if (map) {
        if (text->len >= map_cap) {
            rc = KT_ELIMIT;
            goto fail;
        }
        map[text->len] = (uint32_t)n;
    }
    return KT_OK;
fail:
    kt_buf_reset(text);
    return rc;
}

int kt_json_str_plain(const char *raw, size_t n)
{
    return kt__json_plain_end((const unsigned char *)raw, 0, n) == n;
}

int kt_json_key_eq(const char *raw, size_t n, const char *s, size_t slen)
{
    size_t i = 0, j = 0;
    while (i < n) {
        char o[4];
        size_t olen;
        if (next_char(raw, n, &i, o, &olen)) return 0;
        if (olen > slen - j || memcmp(o, s + j, olen) != 0) return 0;
        j += olen;
    }
    return j == slen;
}

/* Same rules as the walker's validator (Unicode table 3-7). */
size_t kt__utf8_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3;
    else if (c >= 0xF0 && c <= 0xF4) len = 4;
    else return 0;
    if (avail < len) return 0;
    if (c == 0xE0) lo = 0xA0;
    else if (c == 0xED) hi = 0x9F;
    else if (c == 0xF0) lo = 0x90;
    else if (c == 0xF4) hi = 0x8F;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if (p[k] < 0x80 || p[k] > 0xBF) return 0;
    return len;
}

int kt_json_escape_into(kt_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t mark = out->len, run = 0, i = 0;
    int rc = KT_OK;
    while (i < n && !rc) {
        unsigned char c = u[i];
        char e[7];
        const char *esc = NULL;
        size_t l = 1;
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20) {
            memcpy(e, "\\u00", 4);
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            e[6] = '\0';
            esc = e;
        } else if (c >= 0x80) {
            l = kt__utf8_len(u + i, n - i);
            if (!l) {
                esc = "\\ufffd";
                l = 1;
            }
        }
        if (!esc) {
            run += l;
            i += l;
            continue;
        }
        rc = kt_buf_append(out, s + i - run, run);
        run = 0;
        if (!rc) rc = kt_buf_puts(out, esc);
        i += l;
    }
    if (!rc) rc = kt_buf_append(out, s + n - run, run);
    if (rc) {
        out->len = mark;
        if (out->p) out->p[mark] = '\0';
    }
    return rc;
}
