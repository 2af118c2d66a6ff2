/* The usage sniffer sees response bytes as they arrive: whatever the split, the counters it
 * reports must be the same as for the whole body in one read, and it must never read or write out
 * of bounds. The first input byte chooses the split points. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kt/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned seed = data[0];
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    kt_usage_sniff whole, parts;
    kt_usage_init(&whole);
    kt_usage_feed(&whole, p, n);
    kt_usage_init(&parts);
    size_t off = 0;
    while (off < n) {
        seed = seed * 1103515245u + 12345u;
        size_t step = 1 + (seed >> 16) % 17;
        if (step > n - off) step = n - off;
        kt_usage_feed(&parts, p + off, step);
        off += step;
    }
    if (whole.input != parts.input || whole.output != parts.output) abort();
    int64_t a[4], b[4];   /* the one-pass window reader against the search-per-key one */
    kt__usage_window(p, n, a);
    kt__usage_window_plain(p, n, b);
    if (memcmp(a, b, sizeof a) != 0) abort();
    return 0;
}
