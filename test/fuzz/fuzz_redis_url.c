/* gateway.shared_state.redis.url is parsed at every config load: whatever the bytes, the parser
 * must not read or write out of bounds, a URL it accepts must give a host that is non-empty,
 * terminated and free of separators, a port in 1..65535, and the URL rebuilt from what it parsed
 * must parse to the same fields. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kt_shared_state_opts a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    char err[160];
    if (kt_redis_url_parse((const char *)data, size, &a, err, sizeof err)) {
        if (!memchr(err, '\0', sizeof err) || !err[0]) abort();
        return 0;
    }
    size_t hl = strnlen(a.host, sizeof a.host);
    if (hl == 0 || hl >= sizeof a.host || a.port == 0) abort();
    if (strpbrk(a.host, "/@?#[] ")) abort();
    char url[KT_REDIS_HOST_MAX + 48];
    bool v6 = strchr(a.host, ':') != NULL;
    snprintf(url, sizeof url, "redis://%s%s%s:%u/%u", v6 ? "[" : "", a.host, v6 ? "]" : "",
             a.port, a.db);
    if (kt_redis_url_parse(url, strlen(url), &b, err, sizeof err)) abort();
    if (strcmp(a.host, b.host) || a.port != b.port || a.db != b.db) abort();
    return 0;
}
