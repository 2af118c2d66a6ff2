/* Absolute http(s) URLs: provider base URLs (config) and the control-plane URL (telemetry). */
#ifndef KT_URL_H
#define KT_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kt/common.h"

typedef struct kt_url_parts {
    bool tls;        /* https */
    char *host;      /* without brackets for IPv6 */
    uint16_t port;   /* default 443 / 80 */
    char *path;      /* "" or "/x/y": never a trailing '/', with strip_v1 never a trailing "/v1" */
} kt_url_parts;

/* Parses an absolute http:// or https:// URL (base_url, KEEPTRUSTS_API_URL). User info, query and
 * fragment are rejected. Returns KT_OK with `out` filled (free it with kt_url_parts_free), or
 * KT_EINVAL / KT_ENOMEM with `out` empty and a message in err that never quotes the URL (it may
 * carry credentials). */
int kt_url_parse(const char *url, bool strip_v1, kt_url_parts *out, char *err, size_t errlen);
void kt_url_parts_free(kt_url_parts *p);

#endif
