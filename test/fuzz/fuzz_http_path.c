/* Fuzzes request-target normalisation. Invariants: the result is never longer than the input,
 * starts with '/', has no fragment, no empty segment and no dot-segment in its path, is accepted
 * again unchanged (idempotent), and every refusal carries a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kt/http.h"

static int has_dot_or_empty_segment(const char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t s = ++i;
        while (i < n && p[i] != '/') i++;
        size_t sn = i - s;
        if (sn == 0 && n > 1) return 1;
        if ((sn == 1 && p[s] == '.') || (sn == 2 && p[s] == '.' && p[s + 1] == '.')) return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *a = malloc(size + 1), *b = malloc(size + 1);
    if (!a || !b) abort();
    memcpy(a, data, size);
    a[size] = '\0';
    size_t n = size;
    const char *why = NULL;
    if (kt_http_target_normalize(a, &n, &why)) {
        if (!why) abort();
    } else {
        if (n > size || n == 0 || a[0] != '/' || a[n] != '\0' || memchr(a, '#', n)) abort();
        const char *q = memchr(a, '?', n);
        if (has_dot_or_empty_segment(a, q ? (size_t)(q - a) : n)) abort();
        memcpy(b, a, n + 1);
        size_t m = n;
        if (kt_http_target_normalize(b, &m, &why) || m != n || memcmp(a, b, n) != 0) abort();
    }
    free(a);
    free(b);
    return 0;
}
