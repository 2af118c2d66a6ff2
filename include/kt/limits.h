/* Connection and message limits (`gateway.limits` in the config) and their defaults. The type is
 * shared by the ingress parser (http), the listener and the upstream pool (net), the event
 * shipper's pool (telemetry) and the config loader, which fills it from YAML; so it and its
 * defaults live here, below all of them, as data. */
#ifndef KT_LIMITS_H
#define KT_LIMITS_H

#include <stdint.h>

typedef struct kt_limits {
    uint32_t max_header_bytes;       /* 32 KiB  -> 431 */
    uint32_t max_headers;            /* 100     -> 431 */
    uint32_t max_body_bytes;         /* 8 MiB   -> 413 */
    uint32_t max_chunk_ext_bytes;    /* 256     -> 400 */
    uint32_t max_connections;        /* 1024    -> 503 once no waiting connection can give way */
    uint32_t max_idle_connections;   /* 0: max_connections / 2. Connections without a complete
                                        request head (new or keep-alive idle); past it the oldest
                                        is closed */
    uint32_t header_timeout_ms;      /* 10 s    -> 408 and close (slowloris) */
    uint32_t body_timeout_ms;        /* 30 s    -> 408 and close */
    uint32_t idle_timeout_ms;        /* 60 s keep-alive idle */
    uint32_t upstream_connect_timeout_ms;   /* 10 s  -> 502 */
    uint32_t upstream_first_byte_timeout_ms;/* 120 s -> 504 */
    uint32_t upstream_idle_timeout_ms;      /* 120 s between response bytes -> stream ends with error */
    uint32_t upstream_pool_max;      /* 1024 idle+busy connections per target (one per in-flight request) */
    uint32_t upstream_pool_idle_ms;  /* 30 s: idle pooled connections closed after */
    uint32_t drain_ms;               /* 5 s: after SIGTERM, keep serving this long */
    uint32_t shutdown_deadline_ms;   /* 20 s: in-flight streams cut after this (drain + this < 30 s,
                                        Kubernetes' default grace period) */
    uint32_t max_response_buffer;    /* 256 KiB: client write backlog before pausing upstream reads */
} kt_limits;

/* The defaults listed above; every field not named is 0 (max_idle_connections: derived). */
#define KT_LIMITS_DEFAULT                         \
{                                                 \
    .max_header_bytes = 32 * 1024,                \
    .max_headers = 100,                           \
    .max_body_bytes = 8 * 1024 * 1024,            \
    .max_chunk_ext_bytes = 256,                   \
    .max_connections = 1024,                      \
    .header_timeout_ms = 10 * 1000,               \
    .body_timeout_ms = 30 * 1000,                 \
    .idle_timeout_ms = 60 * 1000,                 \
    .upstream_connect_timeout_ms = 10 * 1000,     \
    .upstream_first_byte_timeout_ms = 120 * 1000, \
    .upstream_idle_timeout_ms = 120 * 1000,       \
    .upstream_pool_max = 1024,                    \
    .upstream_pool_idle_ms = 30 * 1000,           \
    .drain_ms = 5 * 1000,                         \
    .shutdown_deadline_ms = 20 * 1000,            \
    .max_response_buffer = 256 * 1024,            \
}

static inline void kt_limits_defaults(kt_limits *l)
{
    *l = (kt_limits)KT_LIMITS_DEFAULT;
}

#endif
