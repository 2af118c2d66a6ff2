/* Allocation wrappers and small string helpers shared by every module. */
#include <stdlib.h>
#include <string.h>

#include "kt/common.h"

void *kt_malloc(size_t n) { return malloc(n ? n : 1); }

void *kt_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }

void *kt_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }

char *kt_strndup(const char *s, size_t n)
{
    char *d = kt_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *kt_strdup(const char *s) { return s ? kt_strndup(s, strlen(s)) : NULL; }

int kt_str_eq_ci(kt_str a, const char *lit) { return kt_str_eq_ci_n(a, lit, strlen(lit)); }

/* Two bytes equal but for ASCII case: the same letter in either case (0x20 is the case bit). */
static inline int same_letter(unsigned x, unsigned y)
{
    return (x | 0x20u) == (y | 0x20u) && (x | 0x20u) - 'a' < 26u;
}

/* ASCII case folding only (header names, tokens): the same in every locale, and no libc call per
 * byte as tolower() costs. Equal bytes, the common case, cost one compare. */
int kt_str_eq_ci_n(kt_str a, const char *lit, size_t n)
{
    if (a.n != n) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned x = (unsigned char)a.p[i], y = (unsigned char)lit[i];
        if (x != y && !same_letter(x, y)) return 0;
    }
    return 1;
}
