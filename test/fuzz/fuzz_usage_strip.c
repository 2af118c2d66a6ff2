/* The usage stripper (src/proxy/exchange_usage.c) sees stream bytes as they arrive: whatever the
 * split, what it lets through must be the same as for the whole stream in one read, never longer
 * than the input, and it must never read or write out of bounds. The first byte picks the splits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/proxy/exchange.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const char *p, size_t n, unsigned seed, bool split, kt_buf *got)
{
    kt_exchange x;
    memset(&x, 0, sizeof x);
    x.usage_added = true;
    kt_buf_init(&x.strip_pending, 1 << 20);
    kt_buf_init(&x.strip_out, (1 << 20) + 4096);
    size_t off = 0;
    while (off < n) {
        seed = seed * 1103515245u + 12345u;
        size_t step = split ? 1 + (seed >> 16) % 23 : n;
        if (step > n - off) step = n - off;
        const char *d = p + off;
        size_t len = step;
        if (x.usage_added && kt__usage_strip(&x, &d, &len)) kt_buf_append(got, d, len);
        else if (!x.usage_added) kt_buf_append(got, p + off, step);
        off += step;
    }
    const char *d = NULL;
    size_t len = 0;
    if (x.usage_added && kt__usage_strip(&x, &d, &len)) kt_buf_append(got, d, len);
    kt_buf_free(&x.strip_pending);
    kt_buf_free(&x.strip_out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1 << 16)) return 0;
    kt_buf whole, parts;
    kt_buf_init(&whole, 1 << 20);
    kt_buf_init(&parts, 1 << 20);
    run((const char *)data + 1, size - 1, data[0], false, &whole);
    run((const char *)data + 1, size - 1, data[0], true, &parts);
    if (whole.len != parts.len || (whole.len && memcmp(whole.p, parts.p, whole.len))) abort();
    if (whole.len > size - 1) abort();
    kt_buf_free(&whole);
    kt_buf_free(&parts);
    return 0;
}
