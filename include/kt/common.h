/* Shared conventions: return KT_OK (0) or a negative KT_E* code, and return early on failure
 * (`goto fail` only where several resources must be released on one path). A function with more
 * than two outcomes names them (an enum, or named positive values beside the negative codes,
 * documented in its header) so that no outcome reads as an error code; see docs/ARCHITECTURE.md,
 * "Conventions". */
#ifndef KT_COMMON_H
#define KT_COMMON_H

#include <stddef.h>
#include <stdint.h>

enum {
    KT_OK = 0,
    KT_ENOMEM = -1,   /* allocation failed */
    KT_ELIMIT = -2,   /* a configured cap was reached */
    KT_EPARSE = -3,   /* malformed input */
    KT_EIO = -4,      /* system call or network failure */
    KT_ENOTFOUND = -5,
    KT_EINVAL = -6,   /* bad argument or configuration */
    KT_ETLS = -7,     /* TLS handshake or verification failure */
    KT_ETIMEOUT = -8,
};

#define KT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define KT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define KT_MAX(a, b) ((a) > (b) ? (a) : (b))
#define KT_CONTAINER_OF(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* A borrowed byte range. */
typedef struct kt_str {
    const char *p;
    size_t n;
} kt_str;

#define KT_STR(lit) ((kt_str){ (lit), sizeof(lit) - 1 })

int kt_str_eq_ci(kt_str a, const char *lit);
int kt_str_eq_ci_n(kt_str a, const char *lit, size_t n);
#define KT_EQ_CI(a, lit) kt_str_eq_ci_n((a), (lit), sizeof(lit) - 1)
/* memmem, faster for needles of 3 or more bytes in haystacks of a few hundred (memfind.c). */
const char *kt_memfind(const char *hay, size_t n, const char *needle, size_t m);

/* Allocation wrappers: NULL on failure, never abort. Out of memory is handled one way everywhere:
 * the caller fails the current request with KT_ENOMEM (a 503 on the wire). */
void *kt_malloc(size_t n);
void *kt_calloc(size_t n, size_t size);
void *kt_realloc(void *p, size_t n);
char *kt_strndup(const char *s, size_t n);
char *kt_strdup(const char *s);

#endif
