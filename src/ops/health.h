/* Private to ops/: what /health, /readyz and the ops listener report. A kt_health collects
 * reasons; each source (health_sources.c) appends its own, so a new concern (a circuit open, the
 * shared state unreachable) is one more source function and nothing else changes. The worst
 * reason decides the status: healthy (none), degraded (kt serves, something needs attention),
 * unhealthy (kt cannot serve what it is for). */
#ifndef KT_OPS_HEALTH_H
#define KT_OPS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "kt/buf.h"
#include "kt/gateway.h"

#define KT_HEALTH_MAX_REASONS 16
/* A drop or a refused batch of decision events keeps the status degraded this long. */
#define KT_HEALTH_EVENTS_WINDOW_MS (5u * 60 * 1000)

typedef enum kt_health_level {
    KT_HEALTH_HEALTHY = 0,
    KT_HEALTH_DEGRADED,
    KT_HEALTH_UNHEALTHY,
} kt_health_level;

typedef struct kt_health_reason {
    kt_health_level level;
    const char *code;          /* a static string: "reload_failed", "target_without_key", ... */
    char message[240];         /* for people; never a key or user text */
} kt_health_reason;

typedef struct kt_health {
    kt_health_level level;     /* the worst reason's */
    kt_health_reason reasons[KT_HEALTH_MAX_REASONS];
    size_t n;
    size_t more;               /* reasons that did not fit (their level still counts) */
} kt_health;

void kt_health_init(kt_health *h);
void kt_health_add(kt_health *h, kt_health_level level, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *kt_health_status(kt_health_level level);   /* "healthy", "degraded", "unhealthy" */
/* "status":"...","reasons":[{"code":..,"severity":..,"message":..},...] (no braces). */
int kt_health_json(const kt_health *h, kt_buf *b);

/* Every source's reasons for `gw` now (health_sources.c). Updates gw->health_track. */
void kt_health_collect(kt_gateway *gw, kt_health *h);
/* Whether at least one target can take a request (has its key): what /readyz answers besides
 * draining. */
bool kt_health_can_serve(const kt_gateway *gw);

#endif
