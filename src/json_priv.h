/* Internal to the JSON modules (src/json_*.c). */
#ifndef KT_JSON_PRIV_H
#define KT_JSON_PRIV_H

#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at p (1-4), or 0 when it is malformed, overlong, a
 * surrogate, above U+10FFFF, or cut short by `avail`. */
size_t kt__utf8_len(const unsigned char *p, size_t avail);

#endif
