/* A growable byte buffer with a hard maximum (after curl's dynbuf): appending past `max` fails
 * with KT_ELIMIT and leaves the contents unchanged. The buffer is always NUL-terminated. */
#ifndef KT_BUF_H
#define KT_BUF_H

#include <string.h>

#include "kt/common.h"

typedef struct kt_buf {
    char *p;
    size_t len;
    size_t cap;
    size_t max;
} kt_buf;

void kt_buf_init(kt_buf *b, size_t max);
void kt_buf_free(kt_buf *b);
void kt_buf_reset(kt_buf *b);
/* Zeroes the whole allocation (for buffers that held a secret) and empties the buffer. */
void kt_buf_wipe(kt_buf *b);
int kt_buf_reserve(kt_buf *b, size_t extra);
int kt__buf_append_grow(kt_buf *b, const void *data, size_t n);
/* Appends n bytes. What fits the current allocation is copied in line (it is the common case on
 * hot paths: event fields, response heads); growth and the cap go through kt__buf_append_grow. */
static inline int kt_buf_append(kt_buf *b, const void *data, size_t n)
{
    if (n < b->cap - b->len && n <= b->max - b->len) {   /* kt_buf_reserve would not grow */
        memcpy(b->p + b->len, data, n);
        b->len += n;
        b->p[b->len] = '\0';
        return KT_OK;
    }
    return kt__buf_append_grow(b, data, n);
}
int kt_buf_puts(kt_buf *b, const char *s);
int kt_buf_printf(kt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends the decimal form of v (no printf on hot paths). */
int kt_buf_append_u64(kt_buf *b, uint64_t v);
/* Removes the first n bytes. */
void kt_buf_consume(kt_buf *b, size_t n);
/* Appends `s` as a JSON string literal (with quotes), escaping as RFC 8259 requires. */
int kt_buf_json_str(kt_buf *b, const char *s, size_t n);

#endif
