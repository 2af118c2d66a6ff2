/* HTTP/1.1 request head -> HTTP/2 header fields. The proxy builds one request head for every
 * upstream (kt_build_upstream_head); an HTTP/2 stream sends the same request as fields. Strict:
 * anything but the shape kt itself writes is refused, so no byte reaches the provider that the
 * HTTP/1.1 path would not have sent. */
#include <string.h>

#include "kt/common.h"
#include "h2_priv.h"

static bool tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool name_is(const char *p, size_t n, const char *lower)
{
    return strlen(lower) == n && memcmp(p, lower, n) == 0;
}

/* Headers that are about the HTTP/1.1 connection and have no place in HTTP/2 (RFC 9113 8.2.2). */
static bool connection_specific(const char *n, size_t nl, const char *v, size_t vl)
{
    if (name_is(n, nl, "te")) return !(vl == 8 && kt_str_eq_ci((kt_str){ v, vl }, "trailers"));
    return name_is(n, nl, "connection") || name_is(n, nl, "keep-alive") ||
           name_is(n, nl, "proxy-connection") || name_is(n, nl, "transfer-encoding") ||
           name_is(n, nl, "upgrade");
}

static bool sensitive(const char *n, size_t nl)
{
    return name_is(n, nl, "authorization") || name_is(n, nl, "x-api-key") ||
           name_is(n, nl, "api-key") || name_is(n, nl, "cookie") ||
           name_is(n, nl, "proxy-authorization");
}

static int add(kt_h2_field *out, size_t max, size_t *n, const char *name, size_t nl,
               const char *value, size_t vl)
{
    if (*n >= max) return KT_ELIMIT;
    out[*n] = (kt_h2_field){ name, value, nl, vl, sensitive(name, nl) };
    (*n)++;
    return KT_OK;
}

/* The request line "METHOD SP target SP HTTP/1.1 CRLF": its end, or NULL. */
static const char *request_line(const char *p, const char *end, kt_str *method, kt_str *target)
{
    const char *m = p;
    while (p < end && tchar((unsigned char)*p)) p++;
    if (p == m || p >= end || *p != ' ') return NULL;
    *method = (kt_str){ m, (size_t)(p - m) };
    const char *t = ++p;
    while (p < end && (unsigned char)*p > ' ' && *p != 0x7f) p++;
    if (p == t || p >= end || *p != ' ') return NULL;
    *target = (kt_str){ t, (size_t)(p - t) };
    p++;
    if ((size_t)(end - p) < 10 || memcmp(p, "HTTP/1.1\r\n", 10) != 0) return NULL;
    return p + 10;
}

int kt_h2_head_convert(const char *head, size_t len, bool tls, char *scratch, kt_h2_field *out,
                       size_t max, size_t *nout)
{
    const char *end = head + len;
    kt_str method, target;
    *nout = 0;
    const char *p = request_line(head, end, &method, &target);
    if (!p || max < 4) return p ? KT_ELIMIT : KT_EPARSE;
    memcpy(scratch, head, len);
    /* :authority is filled in when Host is seen; it must come before the regular fields. */
    size_t n = 4;
    out[0] = (kt_h2_field){ ":method", scratch + (method.p - head), 7, method.n, false };
    out[1] = (kt_h2_field){ ":scheme", tls ? "https" : "http", 7, tls ? 5 : 4, false };
    out[2] = (kt_h2_field){ ":authority", NULL, 10, 0, false };
    out[3] = (kt_h2_field){ ":path", scratch + (target.p - head), 5, target.n, false };
    bool have_host = false;
    for (;;) {
        if ((size_t)(end - p) < 2) return KT_EPARSE;
        if (p[0] == '\r' && p[1] == '\n') {
            p += 2;
            break;
        }
        const char *nm = p;
        while (p < end && tchar((unsigned char)*p)) p++;
        size_t nl = (size_t)(p - nm);
        if (!nl || p >= end || *p != ':') return KT_EPARSE;
        p++;
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        const char *v = p;
        while (p < end && *p != '\r' && *p != '\n' && *p != '\0') p++;
        if ((size_t)(end - p) < 2 || p[0] != '\r' || p[1] != '\n') return KT_EPARSE;
        size_t vl = (size_t)(p - v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
        p += 2;
        char *lname = scratch + (nm - head);
        for (size_t i = 0; i < nl; i++)
            if (lname[i] >= 'A' && lname[i] <= 'Z') lname[i] = (char)(lname[i] - 'A' + 'a');
        const char *sv = scratch + (v - head);
        if (name_is(lname, nl, "host")) {
            if (have_host || !vl) return KT_EPARSE;
            have_host = true;
            out[2].value = sv;
            out[2].vlen = vl;
            continue;
        }
        if (connection_specific(lname, nl, sv, vl)) continue;
        int rc = add(out, max, &n, lname, nl, sv, vl);
        if (rc) return rc;
    }
    if (p != end || !have_host) return KT_EPARSE;
    *nout = n;
    return KT_OK;
}
