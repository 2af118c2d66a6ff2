/* Internal to the JSON modules (src/json_*.c). */
#ifndef KT_JSON_PRIV_H
#define KT_JSON_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at p (1-4), or 0 when it is malformed, overlong, a
 * surrogate, above U+10FFFF, or cut short by `avail`. */
size_t kt__utf8_len(const unsigned char *p, size_t avail);

/* Bit 7 of each byte of v that is not plain (below 0x20, '"', '\\', or 0x80 and above). Classic
 * SWAR tests: a borrow can only flag a byte ABOVE a byte that is flagged rightly, so the lowest
 * flagged byte is always exact. */
static inline uint64_t kt__json_nonplain8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = v ^ (0x22 * ones), bs = v ^ (0x5C * ones);
    return (((v - 0x20 * ones) & ~v) | ((q - ones) & ~q) | ((bs - ones) & ~bs) | v) & high;
}

/* End of the run of plain bytes from i (printable ASCII other than '"' and '\\'): inside a JSON
 * string they need no check and decode to themselves. Eight bytes at a time on little-endian
 * hosts (the first flagged byte is the lowest). */
static inline size_t kt__json_plain_end(const unsigned char *b, size_t i, size_t n)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (n - i >= 8) {
        uint64_t v;
        memcpy(&v, b + i, 8);
        uint64_t m = kt__json_nonplain8(v);
        if (m) return i + ((size_t)__builtin_ctzll(m) >> 3);
        i += 8;
    }
#endif
    while (i < n && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\') i++;
    return i;
}

#endif
