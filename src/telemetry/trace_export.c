/* The OTLP/HTTP trace exporter: spans rendered as OTLP/JSON on the request path, queued in the
 * event pipeline's byte-bounded ring (oldest dropped, counted in keeptrusts_spans_dropped_total)
 * and POSTed in batches of one ExportTraceServiceRequest by the same shipper that delivers
 * decision events (kt_ship_new: keep-alive pool, per-attempt timeout, exponential backoff with
 * jitter, Retry-After). Configured by the OpenTelemetry SDK variables; off without an endpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/events.h"
#include "kt/log.h"
#include "kt/metrics.h"
#include "kt/trace.h"

#define KT_OTLP_HEADERS_MAX 4096    /* OTEL_EXPORTER_OTLP_HEADERS, rendered */
#define KT_OTLP_RESOURCE_MAX 4096   /* OTEL_RESOURCE_ATTRIBUTES, rendered */
#define KT_OTLP_SPAN_MAX 16384      /* one span's JSON; a larger one is dropped (counted) */
#define KT_OTLP_SPAN_BUDGET 2048    /* queue bytes per span of OTEL_BSP_MAX_QUEUE_SIZE */

struct kt_tracer {
    kt_tracer_opts o;
    kt_metrics *m;
    kt_events *ship;
    char *body_open;
    uint64_t uncounted;
};

static const char *env_get(kt_env env, const char *name)
{
    const char *v = env.get(env.ud, name);
    return v && *v ? v : NULL;
}

static int unhex1(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes p[0..n) (the W3C Baggage encoding the OTEL_* lists use) into b, trimmed of
 * surrounding spaces. false for a bad escape or a control byte. */
static bool pct_decode(const char *p, size_t n, kt_buf *b)
{
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            if (i + 2 >= n) return false;
            int hi = unhex1(p[i + 1]), lo = unhex1(p[i + 2]);
            if (hi < 0 || lo < 0) return false;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f) return false;
        if (kt_buf_append(b, &c, 1)) return false;
    }
    return true;
}

typedef bool (*kv_fn)(void *ud, const char *key, const char *value);

/* Walks "k1=v1,k2=v2" calling fn with each decoded pair. */
static bool each_pair(const char *list, kv_fn fn, void *ud)
{
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        kt_buf k, v;
        kt_buf_init(&k, 256);
        kt_buf_init(&v, 2048);
        bool ok = eq && pct_decode(p, (size_t)(eq - p), &k) && k.len &&
                  pct_decode(eq + 1, n - (size_t)(eq - p) - 1, &v) && fn(ud, k.p, v.len ? v.p : "");
        kt_buf_free(&k);
        kt_buf_wipe(&v);   /* header values are often credentials */
        kt_buf_free(&v);
        if (!ok) return false;
        if (!end) break;
        p = end + 1;
    }
    return true;
}

static bool is_token(const char *s)
{
    for (; *s; s++)
        if (!strchr("!#$%&'*+-.^_`|~", *s) && !(*s >= '0' && *s <= '9') &&
            !((*s | 32) >= 'a' && (*s | 32) <= 'z'))
            return false;
    return true;
}

static bool add_header(void *ud, const char *key, const char *value)
{
    kt_buf *b = ud;
    if (!is_token(key) || strpbrk(value, "\r\n")) return false;
    return kt_buf_printf(b, "%s: %s\r\n", key, value) == KT_OK;
}

static bool add_resource(void *ud, const char *key, const char *value)
{
    kt_buf *b = ud;
    if (strcmp(key, "service.name") == 0) return true;   /* OTEL_SERVICE_NAME or the default */
    int rc = kt_buf_puts(b, ",{\"key\":");
    if (!rc) rc = kt_buf_json_str(b, key, strlen(key));
    if (!rc) rc = kt_buf_puts(b, ",\"value\":{\"stringValue\":");
    if (!rc) rc = kt_buf_json_str(b, value, strlen(value));
    if (!rc) rc = kt_buf_puts(b, "}}");
    return rc == KT_OK;
}

static bool find_service(void *ud, const char *key, const char *value)
{
    char **out = ud;
    if (strcmp(key, "service.name") == 0 && !*out) *out = kt_strdup(value);
    return true;
}

/* OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
static char *endpoint(kt_env env)
{
    const char *t = env_get(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if (t) return kt_strdup(t);
    const char *b = env_get(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
    if (!b) return NULL;
    size_t n = strlen(b);
    while (n && b[n - 1] == '/') n--;
    kt_buf u;
    kt_buf_init(&u, n + 16);
    if (kt_buf_append(&u, b, n) || kt_buf_puts(&u, "/v1/traces")) {
        kt_buf_free(&u);
        return NULL;
    }
    return u.p;
}

static uint32_t env_ms(kt_env env, const char *name, uint32_t dflt, uint32_t lo, uint32_t hi)
{
    const char *v = env_get(env, name);
    if (!v) return dflt;
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (!end || *end || n < lo || n > hi) return dflt;
    return (uint32_t)n;
}

static void ship_defaults(kt_env env, kt_events_opts *o)
{
    memset(o, 0, sizeof *o);
    o->enabled = true;
    o->batch_size = env_ms(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1, 8192);
    o->flush_interval_ms = env_ms(env, "OTEL_BSP_SCHEDULE_DELAY", 1000, 1, 600000);
    /* Spans waiting, bounded in bytes: OTEL_BSP_MAX_QUEUE_SIZE (spans, default 2048) at
     * KT_OTLP_SPAN_BUDGET bytes each. The oldest go first when it is full (counted). */
    o->ring_bytes = env_ms(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1, 65536) * KT_OTLP_SPAN_BUDGET;
    o->timeout_ms = env_ms(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                           env_ms(env, "OTEL_EXPORTER_OTLP_TIMEOUT", 10000, 1, 600000), 1, 600000);
    o->max_backoff_ms = 30000;
}

static bool off_by_env(kt_env env)
{
    const char *dis = env_get(env, "OTEL_SDK_DISABLED");
    const char *exp = env_get(env, "OTEL_TRACES_EXPORTER");
    return (dis && strcmp(dis, "true") == 0) || (exp && strcmp(exp, "none") == 0);
}

bool kt_tracer_opts_from_env(kt_env env, kt_tracer_opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->sampler = (kt_sampler){ KT_SAMPLER_PARENT_ON, 1.0 };
    ship_defaults(env, &o->ship);
    if (!kt_sampler_parse(env_get(env, "OTEL_TRACES_SAMPLER"), env_get(env, "OTEL_TRACES_SAMPLER_ARG"),
                          &o->sampler, err, errlen))
        return false;
    if (off_by_env(env)) return true;
    o->endpoint = endpoint(env);
    if (!o->endpoint) return true;
    kt_buf h, r;
    kt_buf_init(&h, KT_OTLP_HEADERS_MAX);
    kt_buf_init(&r, KT_OTLP_RESOURCE_MAX);
    const char *hs = env_get(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS");
    if (!hs) hs = env_get(env, "OTEL_EXPORTER_OTLP_HEADERS");
    const char *rs = env_get(env, "OTEL_RESOURCE_ATTRIBUTES");
    bool ok = !hs || each_pair(hs, add_header, &h);
    if (!ok) snprintf(err, errlen, "OTEL_EXPORTER_OTLP_HEADERS: expected name=value,... with "
                                   "token names and printable values");
    if (ok && rs && !(ok = each_pair(rs, add_resource, &r)))
        snprintf(err, errlen, "OTEL_RESOURCE_ATTRIBUTES: expected key=value,...");
    const char *sn = env_get(env, "OTEL_SERVICE_NAME");
    o->service_name = sn ? kt_strdup(sn) : NULL;
    if (ok && !o->service_name && rs) each_pair(rs, find_service, &o->service_name);
    if (ok && !o->service_name) o->service_name = kt_strdup("kt");
    o->headers = h.len ? h.p : NULL;
    o->resource_json = r.len ? r.p : NULL;
    if (!o->headers) kt_buf_free(&h);
    if (!o->resource_json) kt_buf_free(&r);
    if (!ok) kt_tracer_opts_free(o);
    return ok;
}

void kt_tracer_opts_free(kt_tracer_opts *o)
{
    free(o->endpoint);
    if (o->headers) {
        memset(o->headers, 0, strlen(o->headers));
        free(o->headers);
    }
    free(o->service_name);
    free(o->resource_json);
    o->endpoint = o->headers = o->service_name = o->resource_json = NULL;
}

/* {"resourceSpans":[{"resource":{...},"scopeSpans":[{"scope":{...},"spans":[ */
static char *render_open(const kt_tracer_opts *o)
{
    kt_buf b;
    kt_buf_init(&b, KT_OTLP_RESOURCE_MAX + 1024);
    int rc = kt_buf_puts(&b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
                             "{\"key\":\"service.name\",\"value\":{\"stringValue\":");
    if (!rc) rc = kt_buf_json_str(&b, o->service_name, strlen(o->service_name));
    if (!rc)
        rc = kt_buf_printf(&b, "}},{\"key\":\"service.version\",\"value\":{\"stringValue\":\"%s\"}},"
                               "{\"key\":\"telemetry.sdk.name\",\"value\":{\"stringValue\":\"kt\"}},"
                               "{\"key\":\"telemetry.sdk.language\",\"value\":{\"stringValue\":\"c\"}}",
                           KT_VERSION);
    if (!rc && o->resource_json) rc = kt_buf_puts(&b, o->resource_json);
    if (!rc)
        rc = kt_buf_printf(&b, "]},\"scopeSpans\":[{\"scope\":{\"name\":\"kt\",\"version\":\"%s\"},"
                               "\"spans\":[", KT_VERSION);
    if (rc) {
        kt_buf_free(&b);
        return NULL;
    }
    return b.p;
}

int kt_tracer_new(uv_loop_t *loop, kt_tracer_opts *o, kt_tls_ctx *tls, kt_metrics *m,
                  kt_tracer **out, char *err, size_t errlen)
{
    *out = NULL;
    kt_tracer *t = kt_calloc(1, sizeof *t);
    if (!t) return KT_ENOMEM;
    t->o = *o;
    memset(o, 0, sizeof *o);
    t->m = m;
    t->body_open = render_open(&t->o);
    if (!t->body_open) {
        kt_tracer_free(t);
        return KT_ENOMEM;
    }
    kt_ship_shape shape = { .body_open = t->body_open, .body_close = "]}]}]}",
                            .path_suffix = "", .headers = t->o.headers,
                            .url_name = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" };
    if (m) {
        shape.sent = &m->spans_sent;
        shape.dropped = &m->spans_dropped;
        shape.retries = &m->spans_retries;
    }
    int rc = kt_ship_new(loop, &t->o.ship, t->o.endpoint, NULL, &shape, tls, m, &t->ship, err,
                         errlen);
    if (rc) {
        kt_tracer_free(t);
        return rc;
    }
    *out = t;
    return KT_OK;
}

const kt_sampler *kt_tracer_sampler(const kt_tracer *t) { return &t->o.sampler; }

void kt_tracer_push(kt_tracer *t, const kt_span *s)
{
    if (!t) return;
    char mem[KT_OTLP_SPAN_MAX];
    kt_buf b = { mem, 0, sizeof mem, sizeof mem - 1 };
    if (kt_span_json(s, &b)) {
        if (t->m) t->m->spans_dropped++;
        else t->uncounted++;
        return;
    }
    kt_events_push(t->ship, b.p, b.len);
}

void kt_tracer_queued(const kt_tracer *t, uint64_t *count, uint64_t *bytes)
{
    *count = *bytes = 0;
    if (t) kt_events_queued(t->ship, count, bytes);
}

void kt_tracer_shutdown(kt_tracer *t, uint32_t deadline_ms)
{
    if (t) kt_events_shutdown(t->ship, deadline_ms);
}

void kt_tracer_free(kt_tracer *t)
{
    if (!t) return;
    kt_events_free(t->ship);
    kt_tracer_opts_free(&t->o);
    free(t->body_open);
    free(t);
}
