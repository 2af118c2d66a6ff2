/* The reasons collector of /health: bounded, ordered as added, the worst level wins. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "health.h"

void kt_health_init(kt_health *h) { memset(h, 0, sizeof *h); }

void kt_health_add(kt_health *h, kt_health_level level, const char *code, const char *fmt, ...)
{
    if (level > h->level) h->level = level;
    if (h->n >= KT_HEALTH_MAX_REASONS) {
        h->more++;
        return;
    }
    kt_health_reason *r = &h->reasons[h->n++];
    r->level = level;
    r->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
}

const char *kt_health_status(kt_health_level level)
{
    return level == KT_HEALTH_UNHEALTHY ? "unhealthy"
           : level == KT_HEALTH_DEGRADED ? "degraded" : "healthy";
}

int kt_health_json(const kt_health *h, kt_buf *b)
{
    int rc = kt_buf_printf(b, "\"status\":\"%s\",\"reasons\":[", kt_health_status(h->level));
    for (size_t i = 0; i < h->n && !rc; i++) {
        const kt_health_reason *r = &h->reasons[i];
        rc = kt_buf_printf(b, "%s{\"code\":\"%s\",\"severity\":\"%s\",\"message\":", i ? "," : "",
                           r->code, r->level == KT_HEALTH_UNHEALTHY ? "unhealthy" : "degraded");
        if (!rc) rc = kt_buf_json_str(b, r->message, strlen(r->message));
        if (!rc) rc = kt_buf_puts(b, "}");
    }
    if (!rc && h->more) rc = kt_buf_printf(b, "%s{\"code\":\"more\",\"severity\":\"degraded\","
                                           "\"message\":\"%zu more reasons not shown\"}",
                                           h->n ? "," : "", h->more);
    if (!rc) rc = kt_buf_puts(b, "]");
    return rc;
}
