/* Trace context: the W3C traceparent/tracestate of a request, else its B3 headers (single `b3`,
 * then multi X-B3-*), parsed strictly and bounded; the traceparent kt sends upstream; and the
 * OpenTelemetry samplers (parent-based, ratio on the trace id). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/trace.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Lowercase hex digits only (W3C says lowercase; B3 says lowercase too). */
static bool unhex(const char *p, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(p[i]), lo = hexval(p[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

void kt_trace_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void kt_trace_format_traceparent(const uint8_t trace[16], const uint8_t span[8], bool sampled,
                                 char out[56])
{
    memcpy(out, "00-", 3);
    kt_trace_hex(trace, 16, out + 3);
    out[35] = '-';
    kt_trace_hex(span, 8, out + 36);
    memcpy(out + 52, sampled ? "-01" : "-00", 4);
}

bool kt_trace_parse_traceparent(const char *v, size_t n, kt_trace_ctx *out)
{
    kt_trace_ctx t = { .src = KT_TRACE_W3C };
    uint8_t ver, flags;
    if (n < 55 || (n > 55 && v[55] != '-')) return false;
    if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
    if (!unhex(v, 2, &ver) || ver == 0xff || (ver == 0 && n != 55)) return false;
    if (!unhex(v + 3, 32, t.trace_id) || !unhex(v + 36, 16, t.parent_id)) return false;
    if (!unhex(v + 53, 2, &flags)) return false;
    if (all_zero(t.trace_id, 16) || all_zero(t.parent_id, 8)) return false;
    t.sampled = flags & 1;
    *out = t;
    return true;
}

/* A B3 trace id: 32 hex, or 16 hex left-padded to 128 bits. */
static bool b3_trace_id(const char *p, size_t n, uint8_t out[16])
{
    memset(out, 0, 16);
    if (n == 32) return unhex(p, 32, out) && !all_zero(out, 16);
    if (n == 16) return unhex(p, 16, out + 8) && !all_zero(out, 16);
    return false;
}

static bool b3_span_id(const char *p, size_t n, uint8_t out[8])
{
    return n == 16 && unhex(p, 16, out) && !all_zero(out, 8);
}

/* "1", "d" (debug: sampled) or "0"; "true"/"false" are what old X-B3-Sampled senders wrote. */
static int b3_sampled(const char *p, size_t n)
{
    if ((n == 1 && (p[0] == '1' || p[0] == 'd')) || (n == 4 && memcmp(p, "true", 4) == 0))
        return 1;
    if ((n == 1 && p[0] == '0') || (n == 5 && memcmp(p, "false", 5) == 0)) return 0;
    return -2;
}

bool kt_trace_parse_b3(const char *v, size_t n, kt_trace_ctx *out)
{
    kt_trace_ctx t = { .src = KT_TRACE_B3, .sampled = -1 };
    const char *d1 = memchr(v, '-', n);
    if (!d1) return false;   /* "0", "1", "d" alone: a decision without ids */
    size_t tl = (size_t)(d1 - v);
    const char *s = d1 + 1, *end = v + n;
    const char *d2 = memchr(s, '-', (size_t)(end - s));
    size_t sl = (size_t)((d2 ? d2 : end) - s);
    if (!b3_trace_id(v, tl, t.trace_id) || !b3_span_id(s, sl, t.parent_id)) return false;
    if (d2) {
        const char *f = d2 + 1;
        const char *d3 = memchr(f, '-', (size_t)(end - f));
        size_t fl = (size_t)((d3 ? d3 : end) - f);
        int smp = b3_sampled(f, fl);
        if (smp < -1 || (fl == 4 || fl == 5)) return false;   /* single form: 0, 1 or d */
        t.sampled = smp;
        uint8_t parent[8];
        if (d3 && !b3_span_id(d3 + 1, (size_t)(end - d3 - 1), parent)) return false;
    }
    *out = t;
    return true;
}

bool kt_trace_parse_b3_multi(kt_str trace, kt_str span, kt_str sampled, kt_str flags,
                             kt_trace_ctx *out)
{
    kt_trace_ctx t = { .src = KT_TRACE_B3_MULTI, .sampled = -1 };
    if (!trace.p || !span.p) return false;
    if (!b3_trace_id(trace.p, trace.n, t.trace_id) || !b3_span_id(span.p, span.n, t.parent_id))
        return false;
    if (sampled.p) {
        int smp = b3_sampled(sampled.p, sampled.n);
        if (smp < -1) return false;
        t.sampled = smp;
    }
    if (flags.p && flags.n == 1 && flags.p[0] == '1') t.sampled = 1;   /* debug */
    *out = t;
    return true;
}

static kt_str header(const kt_headers *hs, const char *name)
{
    int i = kt_headers_find(hs, name, 0);
    if (i < 0) return (kt_str){ NULL, 0 };
    if (kt_headers_find(hs, name, (uint32_t)i + 1) >= 0) return (kt_str){ NULL, 0 };   /* two */
    return kt_headers_value(hs, (uint32_t)i);
}

/* tracestate: kept when it is printable ASCII of a size kt forwards whole, else dropped (the
 * W3C rule for a value that cannot be parsed or is too long). */
static void take_tracestate(const kt_headers *hs, kt_trace_ctx *t)
{
    kt_str v = header(hs, "tracestate");
    if (!v.p || v.n > KT_TRACESTATE_MAX) return;
    for (size_t i = 0; i < v.n; i++)
        if ((unsigned char)v.p[i] < 0x20 || (unsigned char)v.p[i] > 0x7e) return;
    memcpy(t->tracestate, v.p, v.n);
    t->tracestate[v.n] = '\0';
}

kt_trace_src kt_trace_from_headers(const kt_headers *hs, kt_trace_ctx *out)
{
    memset(out, 0, sizeof *out);
    out->sampled = -1;
    kt_str tp = header(hs, "traceparent");
    if (tp.p && kt_trace_parse_traceparent(tp.p, tp.n, out)) {
        take_tracestate(hs, out);
        return out->src;
    }
    kt_str b3 = header(hs, "b3");
    if (b3.p && kt_trace_parse_b3(b3.p, b3.n, out)) return out->src;
    if (kt_trace_parse_b3_multi(header(hs, "x-b3-traceid"), header(hs, "x-b3-spanid"),
                                header(hs, "x-b3-sampled"), header(hs, "x-b3-flags"), out))
        return out->src;
    memset(out, 0, sizeof *out);
    out->sampled = -1;
    return KT_TRACE_NONE;
}

/* ---- samplers --------------------------------------------------------------------------------- */

bool kt_sampler_parse(const char *name, const char *arg, kt_sampler *out, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        kt_sampler_kind kind;
    } kinds[] = {
        { "parentbased_always_on", KT_SAMPLER_PARENT_ON },
        { "parentbased_always_off", KT_SAMPLER_PARENT_OFF },
        { "parentbased_traceidratio", KT_SAMPLER_PARENT_RATIO },
        { "always_on", KT_SAMPLER_ON },
        { "always_off", KT_SAMPLER_OFF },
        { "traceidratio", KT_SAMPLER_RATIO },
    };
    kt_sampler s = { KT_SAMPLER_PARENT_ON, 1.0 };
    bool found = !name || !*name;
    for (size_t i = 0; i < KT_ARRAY_LEN(kinds) && !found; i++)
        if (strcmp(name, kinds[i].name) == 0) {
            s.kind = kinds[i].kind;
            found = true;
        }
    if (!found) {
        snprintf(err, errlen, "unknown sampler '%.40s' (parentbased_always_on, "
                 "parentbased_always_off, parentbased_traceidratio, always_on, always_off, "
                 "traceidratio)", name);
        return false;
    }
    if (arg && *arg) {
        char *end = NULL;
        double r = strtod(arg, &end);
        if (!end || *end || !(r >= 0.0 && r <= 1.0)) {
            snprintf(err, errlen, "sampler argument must be a ratio between 0 and 1");
            return false;
        }
        s.ratio = r;
    }
    *out = s;
    return true;
}

static bool ratio_keeps(double ratio, const uint8_t trace[16])
{
    if (ratio >= 1.0) return true;
    if (ratio <= 0.0) return false;
    uint64_t x = 0;
    for (int i = 8; i < 16; i++) x = x << 8 | trace[i];
    return (double)(x >> 1) < ratio * 9223372036854775808.0;   /* 2^63 */
}

bool kt_sampler_decide(const kt_sampler *s, const kt_trace_ctx *parent, const uint8_t trace[16])
{
    bool parent_based = s->kind == KT_SAMPLER_PARENT_ON || s->kind == KT_SAMPLER_PARENT_OFF ||
                        s->kind == KT_SAMPLER_PARENT_RATIO;
    if (parent_based && parent && parent->src != KT_TRACE_NONE && parent->sampled >= 0)
        return parent->sampled == 1;
    switch (s->kind) {
    case KT_SAMPLER_PARENT_ON:
    case KT_SAMPLER_ON: return true;
    case KT_SAMPLER_PARENT_OFF:
    case KT_SAMPLER_OFF: return false;
    case KT_SAMPLER_PARENT_RATIO:
    case KT_SAMPLER_RATIO: return ratio_keeps(s->ratio, trace);
    }
    return false;
}
