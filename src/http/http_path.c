/* Request-target normalisation for the ingress side: what kt routes on is exactly what it forwards.
 * The fragment is dropped, dot-segments are removed (RFC 3986 §5.2.4), empty segments collapse,
 * and every form a server further on might read as a separator or a dot-segment is refused. */
#include <string.h>

#include "kt/http.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Checks one segment's bytes. Sets *dots to the segment's length in dots when the part before any
 * ';' consists of dots only (literal or %2E), else 0; *plain when that dot run is literal and the
 * segment has no ';'. */
static const char *check_seg(const char *s, size_t n, size_t *dots, bool *plain)
{
    size_t ndots = 0, base = n;
    bool only_dots = true, encoded = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') return "backslash in the path";
        if (c == ';' && base == n) base = i;
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
            if (lo < 0) return "malformed percent-encoding in the path";
            int v = hi * 16 + lo;
            if (v == '/' || v == '\\') return "encoded slash or backslash in the path";
            if (v == 0) return "encoded NUL in the path";
            if (i < base) {
                if (v == '.') ndots++, encoded = true;
                else only_dots = false;
            }
            i += 2;
            continue;
        }
        if (i < base) {
            if (c == '.') ndots++;
            else only_dots = false;
        }
    }
    *dots = only_dots && base > 0 ? ndots : 0;
    *plain = !encoded && base == n;
    return NULL;
}

int kt_http_target_normalize(char *t, size_t *len, const char **why)
{
    size_t n = *len;
    const char *hash = memchr(t, '#', n);
    if (hash) n = (size_t)(hash - t);   /* a fragment never leaves the client */
    const char *q = memchr(t, '?', n);
    size_t plen = q ? (size_t)(q - t) : n;
    if (plen == 0 || t[0] != '/') {
        *why = "request target must be a path (origin-form)";
        return KT_EINVAL;
    }
    size_t r = 0, w = 0;
    int depth = 0;
    while (r < plen) {
        size_t s = ++r;   /* past the '/' */
        while (r < plen && t[r] != '/') r++;
        size_t sn = r - s, dots = 0;
        bool plain = false;
        const char *bad = check_seg(t + s, sn, &dots, &plain);
        if (bad) {
            *why = bad;
            return KT_EINVAL;
        }
        if (sn == 0) continue;   /* empty segment: "//" collapses, no trailing '/' */
        if (dots == 1 || dots == 2) {
            if (!plain) {
                *why = "encoded or parameterised dot-segment in the path";
                return KT_EINVAL;
            }
            if (dots == 1) continue;
            if (depth <= 1) {
                *why = "dot-segments would leave the path's first segment";
                return KT_EINVAL;
            }
            while (w > 0 && t[w - 1] != '/') w--;   /* drop the last segment and its '/' */
            w--;
            depth--;
            continue;
        }
        t[w++] = '/';
        memmove(t + w, t + s, sn);
        w += sn;
        depth++;
    }
    if (w == 0) t[w++] = '/';
    if (q) {
        size_t qn = n - plen;   /* '?' and the query */
        memmove(t + w, t + plen, qn);
        w += qn;
    }
    t[w] = '\0';
    *len = w;
    return KT_OK;
}
