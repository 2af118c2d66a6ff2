/* Fuzzes the HTTP/1.1 request head -> HTTP/2 fields conversion (src/net/h2_head.c), the one piece
 * of the HTTP/2 path kt parses itself (nghttp2 does the framing). Checks what must hold for every
 * accepted head: the four pseudo-headers first and non-empty, every other name a lowercase token
 * and never a connection-specific header, values without CR, LF or NUL, everything inside the
 * scratch copy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/net/h2_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const char *p, size_t n, const char *base, size_t len)
{
    return p >= base && p + n <= base + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static kt_h2_field f[KT_H2_HEAD_MAX_FIELDS];
    char *scratch = malloc(size ? size : 1);
    if (!scratch) return 0;
    size_t n = 0;
    int rc = kt_h2_head_convert((const char *)data, size, size & 1, scratch, f,
                                KT_H2_HEAD_MAX_FIELDS, &n);
    if (rc == 0) {
        if (n < 4 || strcmp(f[0].name, ":method") || strcmp(f[2].name, ":authority") ||
            strcmp(f[3].name, ":path") || !f[0].vlen || !f[2].vlen || !f[3].vlen)
            abort();
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < f[i].vlen; k++)
                if (f[i].value[k] == '\r' || f[i].value[k] == '\n' || f[i].value[k] == '\0') abort();
            if (i == 1) continue;   /* :scheme is a literal */
            if (!inside(f[i].value, f[i].vlen, scratch, size)) abort();
            if (i < 4) continue;
            if (!f[i].nlen || !inside(f[i].name, f[i].nlen, scratch, size)) abort();
            for (size_t k = 0; k < f[i].nlen; k++)
                if ((f[i].name[k] >= 'A' && f[i].name[k] <= 'Z') || f[i].name[k] == ':') abort();
            static const char *const banned[] = { "connection", "host", "keep-alive",
                                                  "transfer-encoding", "upgrade",
                                                  "proxy-connection" };
            for (size_t b = 0; b < sizeof banned / sizeof banned[0]; b++)
                if (f[i].nlen == strlen(banned[b]) && !memcmp(f[i].name, banned[b], f[i].nlen))
                    abort();
        }
    } else if (n != 0) {
        abort();
    }
    free(scratch);
    return 0;
}
