/* Absolute http(s) URL parsing for provider base URLs and the control-plane URL: scheme, host
 * (IPv6 in brackets), port and a normalised path prefix. Messages never quote the URL, which may
 * carry credentials. And the other way round: which API a request path under /v1 speaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kt/http.h"
#include "kt/url.h"

#define KT__HOST_MAX 253

void kt_url_parts_free(kt_url_parts *p)
{
    free(p->host);
    free(p->path);
    p->host = p->path = NULL;
}

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

static int v6_char(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') ||
           c == ':' || c == '.';
}

/* Splits the authority [s, e) into host and port. */
static int parse_authority(const char *s, const char *e, kt_url_parts *out, char *err,
                           size_t errlen)
{
    const char *hs = s, *he, *ps = NULL;
    if (s < e && *s == '[') {
        const char *rb = memchr(s, ']', (size_t)(e - s));
        if (!rb) goto bad_v6;
        hs = s + 1;
        he = rb;
        if (he == hs) goto bad_v6;
        int colons = 0;
        for (const char *p = hs; p < he; p++) {
            if (!v6_char(*p)) goto bad_v6;
            colons += *p == ':';
        }
        if (colons < 2) goto bad_v6;
        if (rb + 1 < e) {
            if (rb[1] != ':') goto bad_v6;
            ps = rb + 2;
        }
    } else {
        const char *colon = memchr(s, ':', (size_t)(e - s));
        he = colon ? colon : e;
        if (colon) ps = colon + 1;
        for (const char *p = hs; p < he; p++)
            if (!host_char(*p)) {
                snprintf(err, errlen, "invalid character in URL host");
                return KT_EINVAL;
            }
    }
    if (he == hs) {
        snprintf(err, errlen, "URL has no host");
        return KT_EINVAL;
    }
    if (he - hs > KT__HOST_MAX) {
        snprintf(err, errlen, "URL host longer than %d characters", KT__HOST_MAX);
        return KT_EINVAL;
    }
    if (ps) {
        unsigned long port = 0;
        if (ps == e || e - ps > 5) goto bad_port;
        for (const char *p = ps; p < e; p++) {
            if (*p < '0' || *p > '9') goto bad_port;
            port = port * 10 + (unsigned long)(*p - '0');
        }
        if (port == 0 || port > 65535) goto bad_port;
        out->port = (uint16_t)port;
    }
    out->host = kt_strndup(hs, (size_t)(he - hs));
    return out->host ? KT_OK : KT_ENOMEM;
bad_v6:
    snprintf(err, errlen, "invalid IPv6 address in URL (write it as [::1]:port)");
    return KT_EINVAL;
bad_port:
    snprintf(err, errlen, "invalid port in URL (1-65535)");
    return KT_EINVAL;
}

static int check_path(const char *p, char *err, size_t errlen)
{
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '?' || c == '#') {
            snprintf(err, errlen, "URL must not have a query or fragment");
            return KT_EINVAL;
        }
        if (c <= ' ' || c == 0x7f || c == '\\') {
            snprintf(err, errlen, "invalid character in URL path");
            return KT_EINVAL;
        }
    }
    return KT_OK;
}

int kt_url_parse(const char *url, bool strip_v1, kt_url_parts *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    int rc = KT_EINVAL;
    const char *rest;
    if (strncasecmp(url, "https://", 8) == 0) {
        out->tls = true;
        out->port = 443;
        rest = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        out->port = 80;
        rest = url + 7;
    } else {
        snprintf(err, errlen, "URL must start with http:// or https://");
        goto fail;
    }
    size_t alen = strcspn(rest, "/?#");
    if (memchr(rest, '@', alen)) {
        snprintf(err, errlen, "URL must not contain user info (user:password@)");
        goto fail;
    }
    rc = parse_authority(rest, rest + alen, out, err, errlen);
    if (rc) goto fail;
    const char *path = rest + alen;
    rc = check_path(path, err, errlen);
    if (rc) goto fail;
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/') n--;
    if (strip_v1 && n >= 3 && memcmp(path + n - 3, "/v1", 3) == 0) n -= 3;
    while (n > 0 && path[n - 1] == '/') n--;
    out->path = kt_strndup(path, n);
    if (!out->path) {
        rc = KT_ENOMEM;
        goto fail;
    }
    return KT_OK;
fail:
    if (rc == KT_ENOMEM) snprintf(err, errlen, "out of memory");
    kt_url_parts_free(out);
    return rc;
}

kt_api kt_api_from_path(kt_str rest)
{
    static const struct { const char *p; kt_api a; } map[] = {
        { "/chat/completions", KT_API_CHAT }, { "/completions", KT_API_COMPLETIONS },
        { "/embeddings", KT_API_EMBEDDINGS },  { "/responses", KT_API_RESPONSES },
        { "/messages", KT_API_MESSAGES },
    };
    for (size_t i = 0; i < KT_ARRAY_LEN(map); i++)
        if (rest.n == strlen(map[i].p) && memcmp(rest.p, map[i].p, rest.n) == 0) return map[i].a;
    return KT_API_OTHER;
}
