/* Capped growable buffers: every append checks the maximum before it allocates. */
#include <mbedtls/platform_util.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/buf.h"

void kt_buf_init(kt_buf *b, size_t max)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void kt_buf_free(kt_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void kt_buf_reset(kt_buf *b)
{
    b->len = 0;
    if (b->p) b->p[0] = '\0';
}

void kt_buf_wipe(kt_buf *b)
{
    if (b->p) mbedtls_platform_zeroize(b->p, b->cap);
    b->len = 0;
}

int kt_buf_reserve(kt_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra) return KT_ELIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return KT_OK;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need) ncap *= 2;
    if (ncap > b->max + 1) ncap = b->max + 1;
    char *np = realloc(b->p, ncap);
    if (!np) return KT_ENOMEM;
    b->p = np;
    b->cap = ncap;
    return KT_OK;
}

int kt__buf_append_grow(kt_buf *b, const void *data, size_t n)
{
    int rc = kt_buf_reserve(b, n);
    if (rc) return rc;
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return KT_OK;
}

int kt_buf_puts(kt_buf *b, const char *s) { return kt_buf_append(b, s, strlen(s)); }

int kt_buf_printf(kt_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return KT_EINVAL;
    if ((size_t)n < sizeof tmp) return kt_buf_append(b, tmp, (size_t)n);
    int rc = kt_buf_reserve(b, (size_t)n);
    if (rc) return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return KT_OK;
}

int kt_buf_append_u64(kt_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return kt_buf_append(b, tmp + i, sizeof tmp - i);
}

void kt_buf_consume(kt_buf *b, size_t n)
{
    if (n >= b->len) {
        kt_buf_reset(b);
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

int kt_buf_json_str(kt_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = kt_buf_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
                u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = '\0';
                esc = u;
            }
        }
        if (!esc) {
            run++;
            continue;
        }
        rc = kt_buf_append(b, s + i - run, run);
        run = 0;
        if (!rc) rc = kt_buf_puts(b, esc);
    }
    if (!rc) rc = kt_buf_append(b, s + n - run, run);
    if (!rc) rc = kt_buf_append(b, "\"", 1);
    return rc;
}
