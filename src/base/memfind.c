/* The first occurrence of a short needle in a buffer: the hot searches of the request-end hook
 * (a `"user"` key) and of the usage sniffer (`"usage"` in every response read). glibc's memmem
 * costs ~3 instructions a byte there; a 16-byte SSE2 filter on two of the needle's bytes costs
 * ~0.5, and memcmp runs only where both match. */
#include <string.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "kt/common.h"

const char *kt_memfind(const char *hay, size_t n, const char *needle, size_t m)
{
    if (m < 3 || n < m) return memmem(hay, n, needle, m);
    size_t i = 0;
#if defined(__x86_64__)
    /* The second byte and the second to last: in `"user"` and `"usage"` the letters, rarer in
     * JSON than the quotes around them. Block i tests the starts i .. i + 15. */
    const size_t a = 1, b = m - 2;
    const __m128i va = _mm_set1_epi8(needle[a]), vb = _mm_set1_epi8(needle[b]);
    for (; i + b + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(hay + i + a));
        __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(hay + i + b));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(y, vb)));
        for (; mask; mask &= mask - 1) {
            size_t k = i + (size_t)__builtin_ctz(mask);
            if (k + m <= n && memcmp(hay + k, needle, m) == 0) return hay + k;
        }
    }
#endif
    return memmem(hay + i, n - i, needle, m);   /* the starts no block covered */
}
