/* The trace context parsers read what any caller sends: traceparent, b3 and X-B3-* values, and
 * the OTEL_* lists (headers, resource attributes) kt reads at start-up. None may read or write
 * out of bounds; a traceparent kt accepts must format back to the same bytes (version 00) and
 * every accepted id is non-zero; the response sniffer (model, finish reasons) must find the same
 * whatever the split. The first byte picks the parser, the rest is the value (NUL
 * bytes split it into the multi-header fields). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kt/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t zero[16];

static void check_ids(const kt_trace_ctx *t)
{
    if (!memcmp(t->trace_id, zero, 16) || !memcmp(t->parent_id, zero, 8)) abort();
}

static void traceparent(const char *p, size_t n)
{
    kt_trace_ctx t;
    if (!kt_trace_parse_traceparent(p, n, &t)) return;
    check_ids(&t);
    char out[56];
    kt_trace_format_traceparent(t.trace_id, t.parent_id, t.sampled == 1, out);
    if (n == 55 && p[0] == '0' && p[1] == '0' && (p[54] == '0' || p[54] == '1') && p[53] == '0' &&
        memcmp(out, p, 55) != 0)
        abort();
}

static kt_str field(const char **p, const char *end)
{
    const char *z = memchr(*p, '\0', (size_t)(end - *p));
    kt_str s = { *p, (size_t)((z ? z : end) - *p) };
    *p = z ? z + 1 : end;
    return s;
}

static const char *env_get(void *ud, const char *name)
{
    const char *const *kv = ud;
    for (size_t i = 0; kv[i]; i += 2)
        if (strcmp(kv[i], name) == 0) return kv[i + 1];
    return NULL;
}

static void otel_lists(const char *p, size_t n)
{
    char *v = malloc(n + 1);
    if (!v) return;
    memcpy(v, p, n);
    v[n] = '\0';
    const char *kv[] = { "OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318",
                         "OTEL_EXPORTER_OTLP_HEADERS", v, "OTEL_RESOURCE_ATTRIBUTES", v,
                         "OTEL_TRACES_SAMPLER_ARG", v, NULL };
    kt_tracer_opts o;
    char err[200];
    if (kt_tracer_opts_from_env((kt_env){ env_get, kv }, &o, err, sizeof err)) {
        if (o.headers && (strstr(o.headers, "\r\n\r\n") || o.headers[0] == '\r')) abort();
        kt_tracer_opts_free(&o);
    }
    free(v);
}

/* The response sniffer finds the same model and finish reasons whatever the split. */
static void resp_split(unsigned seed, const char *p, size_t n)
{
    kt_resp_sniff whole, parts;
    memset(&whole, 0, sizeof whole);
    memset(&parts, 0, sizeof parts);
    kt_resp_sniff_feed(&whole, p, n);
    size_t off = 0;
    while (off < n) {
        seed = seed * 1103515245u + 12345u;
        size_t step = 1 + (seed >> 16) % 211;
        if (step > n - off) step = n - off;
        kt_resp_sniff_feed(&parts, p + off, step);
        off += step;
    }
    if (strcmp(whole.model, parts.model) || whole.nreasons != parts.nreasons) abort();
    for (int i = 0; i < whole.nreasons; i++)
        if (strcmp(whole.reasons[i], parts.reasons[i])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    size_t n = size - 1;
    kt_trace_ctx t;
    switch (data[0] % 5) {
    case 0: traceparent(p, n); break;
    case 1:
        if (kt_trace_parse_b3(p, n, &t)) check_ids(&t);
        break;
    case 2: {
        kt_str a = field(&p, end), b = field(&p, end), c = field(&p, end), d = field(&p, end);
        if (kt_trace_parse_b3_multi(a, b, c, d, &t)) check_ids(&t);
        break;
    }
    case 3: otel_lists(p, n); break;
    default: resp_split(data[0], p, n); break;
    }
    return 0;
}
