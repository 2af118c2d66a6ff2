/* Spans as OTLP/JSON: the protobuf JSON mapping as OTLP/HTTP receivers read it (trace and span
 * ids as lowercase hex, enums as numbers, fixed64/int64 as decimal strings, camelCase field
 * names). Attributes are rendered as they are added, into a buffer capped per span. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kt/trace.h"

void kt_span_init(kt_span *s, const char *name, int kind)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->kind = kind;
    kt_buf_init(&s->attrs, KT_SPAN_ATTRS_MAX);
}

void kt_span_free(kt_span *s) { kt_buf_free(&s->attrs); }

static int key_open(kt_span *s, const char *key)
{
    int rc = s->attrs.len ? kt_buf_append(&s->attrs, ",", 1) : KT_OK;
    if (!rc) rc = kt_buf_puts(&s->attrs, "{\"key\":");
    if (!rc) rc = kt_buf_json_str(&s->attrs, key, strlen(key));
    if (!rc) rc = kt_buf_puts(&s->attrs, ",\"value\":");
    return rc;
}

/* An attribute is added whole or not at all. */
static int attr_done(kt_span *s, size_t mark, int rc)
{
    if (rc) s->attrs.len = mark;
    return rc;
}

int kt_span_attr_str(kt_span *s, const char *key, const char *v)
{
    if (!v || !*v) return KT_OK;
    size_t mark = s->attrs.len;
    int rc = key_open(s, key);
    if (!rc) rc = kt_buf_puts(&s->attrs, "{\"stringValue\":");
    if (!rc) rc = kt_buf_json_str(&s->attrs, v, strlen(v));
    if (!rc) rc = kt_buf_puts(&s->attrs, "}}");
    return attr_done(s, mark, rc);
}

int kt_span_attr_int(kt_span *s, const char *key, int64_t v)
{
    size_t mark = s->attrs.len;
    int rc = key_open(s, key);
    if (!rc) rc = kt_buf_printf(&s->attrs, "{\"intValue\":\"%lld\"}}", (long long)v);
    return attr_done(s, mark, rc);
}

int kt_span_attr_double(kt_span *s, const char *key, double v)
{
    if (!isfinite(v)) return KT_OK;
    size_t mark = s->attrs.len;
    int rc = key_open(s, key);
    if (!rc) rc = kt_buf_printf(&s->attrs, "{\"doubleValue\":%.17g}}", v);
    return attr_done(s, mark, rc);
}

int kt_span_attr_strs(kt_span *s, const char *key, const char *const *v, size_t n)
{
    if (!n) return KT_OK;
    size_t mark = s->attrs.len;
    int rc = key_open(s, key);
    if (!rc) rc = kt_buf_puts(&s->attrs, "{\"arrayValue\":{\"values\":[");
    for (size_t i = 0; i < n && !rc; i++) {
        if (i) rc = kt_buf_append(&s->attrs, ",", 1);
        if (!rc) rc = kt_buf_puts(&s->attrs, "{\"stringValue\":");
        if (!rc) rc = kt_buf_json_str(&s->attrs, v[i] ? v[i] : "", v[i] ? strlen(v[i]) : 0);
        if (!rc) rc = kt_buf_append(&s->attrs, "}", 1);
    }
    if (!rc) rc = kt_buf_puts(&s->attrs, "]}}}");
    return attr_done(s, mark, rc);
}

int kt_span_json(const kt_span *s, kt_buf *out)
{
    char tid[33], sid[17], pid[17];
    kt_trace_hex(s->trace_id, 16, tid);
    kt_trace_hex(s->span_id, 8, sid);
    int rc = kt_buf_printf(out, "{\"traceId\":\"%s\",\"spanId\":\"%s\",", tid, sid);
    if (!rc && s->has_parent) {
        kt_trace_hex(s->parent_id, 8, pid);
        rc = kt_buf_printf(out, "\"parentSpanId\":\"%s\",", pid);
    }
    if (!rc) rc = kt_buf_puts(out, "\"name\":");
    if (!rc) rc = kt_buf_json_str(out, s->name, strlen(s->name));
    if (!rc)
        rc = kt_buf_printf(out, ",\"kind\":%d,\"startTimeUnixNano\":\"%llu\","
                                "\"endTimeUnixNano\":\"%llu\",\"attributes\":[",
                           s->kind, (unsigned long long)s->start_ns,
                           (unsigned long long)(s->end_ns >= s->start_ns ? s->end_ns : s->start_ns));
    if (!rc && s->attrs.len) rc = kt_buf_append(out, s->attrs.p, s->attrs.len);
    if (!rc) rc = kt_buf_printf(out, "],\"status\":{\"code\":%d", s->status);
    if (!rc && s->status_msg) {
        rc = kt_buf_puts(out, ",\"message\":");
        if (!rc) rc = kt_buf_json_str(out, s->status_msg, strlen(s->status_msg));
    }
    if (!rc) rc = kt_buf_puts(out, "}}");
    return rc;
}
