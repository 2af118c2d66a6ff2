/* Internal to the JSON modules (src/json_*.c). */
#ifndef KT_JSON_PRIV_H
#define KT_JSON_PRIV_H

#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at p (1-4), or 0 when it is malformed, overlong, a
 * surrogate, above U+10FFFF, or cut short by `avail`. */
size_t kt__utf8_len(const unsigned char *p, size_t avail);

/* End of the run of plain bytes from i (printable ASCII other than '"' and '\\'): inside a JSON
 * string they need no check and decode to themselves. */
static inline size_t kt__json_plain_end(const unsigned char *b, size_t i, size_t n)
{
    while (i < n && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\') i++;
    return i;
}

#endif
