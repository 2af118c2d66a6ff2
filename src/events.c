/* Building one decision event: the contract's fields, from plain values (no request content).
 * Entities are reported as label counts; the matched text never reaches this file. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kt/events.h"
#include "kt/json_text.h"

const char *kt_event_verdict(const kt_decision *d)
{
    if (!d) return "allow";
    if (d->verdict == KT_ACT_BLOCK) return "block";
    if (d->verdict == KT_ACT_REDACT) return "redact";
    return "allow";   /* allow and flag: a flag is visible in policies_evaluated */
}

/* Client-supplied values (model) may hold invalid UTF-8: kt_json_escape_into writes it as \ufffd,
 * so an event is always valid JSON. */
static int json_str_or_null(kt_buf *b, const char *s)
{
    if (!s || !*s) return kt_buf_puts(b, "null");
    int rc = kt_buf_append(b, "\"", 1);
    if (!rc) rc = kt_json_escape_into(b, s, strlen(s));
    if (!rc) rc = kt_buf_append(b, "\"", 1);
    return rc;
}

static int int_or_null(kt_buf *b, int64_t v)
{
    if (v < 0) return kt_buf_puts(b, "null");
    return kt_buf_append_u64(b, (uint64_t)v);
}

static void digits(char *p, unsigned v, int n)
{
    while (n--) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" without printf (this runs once per request). */
static int timestamp(kt_buf *b, uint64_t unix_ms)
{
    time_t s = (time_t)(unix_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&s, &tm) || tm.tm_year + 1900 > 9999) return KT_EINVAL;
    char t[] = "\"0000-00-00T00:00:00.000Z\"";
    digits(t + 1, (unsigned)tm.tm_year + 1900, 4);
    digits(t + 6, (unsigned)tm.tm_mon + 1, 2);
    digits(t + 9, (unsigned)tm.tm_mday, 2);
    digits(t + 12, (unsigned)tm.tm_hour, 2);
    digits(t + 15, (unsigned)tm.tm_min, 2);
    digits(t + 18, (unsigned)tm.tm_sec, 2);
    digits(t + 21, (unsigned)(unix_ms % 1000), 3);
    return kt_buf_append(b, t, sizeof t - 1);
}

static int policies_json(const kt_decision *d, kt_buf *b)
{
    int rc = kt_buf_puts(b, "[");
    for (size_t i = 0; d && i < d->npolicies && !rc; i++) {
        const kt_policy_eval *e = &d->evals[i];
        const kt_policy_cfg *pc = &d->cfg->chain[i];
        rc = kt_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        if (!rc) rc = kt_buf_json_str(b, pc->name, strlen(pc->name));
        if (!rc) rc = kt_buf_puts(b, ",\"kind\":");
        if (!rc) rc = kt_buf_json_str(b, pc->kind, strlen(pc->kind));
        if (!rc) rc = kt_buf_puts(b, ",\"result\":\"");
        if (!rc) rc = kt_buf_puts(b, e->ran ? kt_action_name((kt_action)e->result) : "skipped");
        if (!rc) rc = kt_buf_puts(b, "\",\"latency_us\":");
        if (!rc) rc = kt_buf_append_u64(b, e->ns / 1000);
        if (!rc) rc = kt_buf_puts(b, ",\"entities_found\":{");
        for (uint8_t k = 0; k < e->nlabels && !rc; k++) {
            const char *l = kt_decision_label(d, (uint16_t)i, e->labels[k]);
            if (k) rc = kt_buf_puts(b, ",");
            if (!rc) rc = kt_buf_json_str(b, l, strlen(l));
            if (!rc) rc = kt_buf_append(b, ":", 1);
            if (!rc) rc = kt_buf_append_u64(b, e->counts[k]);
        }
        if (!rc) rc = kt_buf_puts(b, "}}");
    }
    if (!rc) rc = kt_buf_puts(b, "]");
    return rc;
}

static int config_version(const kt_config *cfg, kt_buf *b)
{
    if (!cfg) return kt_buf_puts(b, ",\"config_version\":null,\"config_hash\":null");
    const char *name = cfg->pack_name ? cfg->pack_name : "default";
    const char *ver = cfg->pack_version ? cfg->pack_version : "0.0.0";
    int rc = kt_buf_puts(b, ",\"config_version\":\"");
    if (!rc) rc = kt_json_escape_into(b, name, strlen(name));
    if (!rc) rc = kt_buf_append(b, "@", 1);
    if (!rc) rc = kt_json_escape_into(b, ver, strlen(ver));
    if (!rc) rc = kt_buf_puts(b, "\",\"config_hash\":\"sha256:");
    if (!rc) rc = kt_buf_puts(b, cfg->hash);
    if (!rc) rc = kt_buf_append(b, "\"", 1);
    return rc;
}

int kt_event_json(const kt_event_info *ev, kt_buf *out)
{
    const kt_decision *d = ev->decision;
    size_t start = out->len;
    int rc = kt_buf_puts(out, "{\"id\":");
    if (!rc) rc = kt_buf_json_str(out, ev->id, strlen(ev->id));
    if (!rc) rc = kt_buf_puts(out, ",\"event_type\":\"decision\",\"timestamp\":");
    if (!rc) rc = timestamp(out, ev->unix_ms);
    if (!rc) rc = kt_buf_puts(out, ",\"verdict\":\"");
    if (!rc) rc = kt_buf_puts(out, kt_event_verdict(d));
    if (!rc) rc = kt_buf_puts(out, "\",\"reason_code\":");
    const char *reason = ev->reason_code;
    if (d && d->verdict == KT_ACT_BLOCK && d->block_policy >= 0)
        reason = d->block_dir == KT_DIR_INPUT ? "input_blocked" : "output_blocked";
    if (!rc) rc = json_str_or_null(out, reason);
    if (!rc && d && d->verdict == KT_ACT_BLOCK && d->block_policy >= 0) {
        const kt_policy_cfg *pc = &d->cfg->chain[d->block_policy];
        const char *l = kt_decision_label(d, (uint16_t)d->block_policy, d->block_label);
        rc = kt_buf_puts(out, ",\"block_policy\":");
        if (!rc) rc = kt_buf_json_str(out, pc->name, strlen(pc->name));
        if (!rc) rc = kt_buf_puts(out, ",\"block_label\":");
        if (!rc) rc = kt_buf_json_str(out, l, strlen(l));
    }
    if (!rc) rc = kt_buf_puts(out, ",\"model\":");
    if (!rc) rc = json_str_or_null(out, ev->model);
    if (!rc) rc = kt_buf_puts(out, ",\"provider\":");
    if (!rc) rc = json_str_or_null(out, ev->provider);
    if (!rc) rc = kt_buf_puts(out, ",\"target\":");
    if (!rc) rc = json_str_or_null(out, ev->target);
    if (!rc) rc = kt_buf_puts(out, ",\"api\":");
    if (!rc) rc = json_str_or_null(out, ev->api);
    if (!rc) rc = config_version(ev->cfg, out);
    if (!rc) rc = kt_buf_puts(out, ",\"policies_evaluated\":");
    if (!rc) rc = policies_json(d, out);
    if (!rc) rc = kt_buf_puts(out, ",\"input_tokens\":");
    if (!rc) rc = int_or_null(out, ev->input_tokens);
    if (!rc) rc = kt_buf_puts(out, ",\"output_tokens\":");
    if (!rc) rc = int_or_null(out, ev->output_tokens);
    if (!rc) rc = ev->cost_usd < 0 ? kt_buf_puts(out, ",\"cost_usd\":null")
                                   : kt_buf_printf(out, ",\"cost_usd\":%.8f", ev->cost_usd);
    if (!rc) rc = kt_buf_puts(out, ",\"status\":");
    if (!rc) rc = kt_buf_append_u64(out, ev->status > 0 ? (uint64_t)ev->status : 0);
    if (!rc) rc = kt_buf_puts(out, ",\"latency_ms\":");
    if (!rc) rc = kt_buf_append_u64(out, ev->latency_ms);
    if (!rc) rc = kt_buf_puts(out, ",\"trace_id\":");
    if (!rc) rc = json_str_or_null(out, ev->trace_id);
    if (!rc) rc = kt_buf_puts(out, ",\"consumer\":");
    if (!rc) rc = json_str_or_null(out, ev->consumer);
    if (!rc) rc = kt_buf_puts(out, "}");
    if (rc) {
        out->len = start;
        if (out->p) out->p[start] = '\0';
    }
    return rc;
}

int kt_uuid4(mbedtls_ctr_drbg_context *drbg, char out[37])
{
    unsigned char r[16];
    int ok = 0;
    if (drbg) ok = mbedtls_ctr_drbg_random(drbg, r, sizeof r) == 0;
    if (!ok) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return KT_EIO;
        ok = read(fd, r, sizeof r) == (ssize_t)sizeof r;
        close(fd);
        if (!ok) return KT_EIO;
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 15];
    }
    out[o] = '\0';
    return KT_OK;
}

/* USD per million tokens (input, output), public list prices; longest prefix wins. */
static const struct {
    const char *prefix;
    double in, out;
} kt__prices[] = {
    { "gpt-4o-mini", 0.15, 0.60 },      { "gpt-4o", 2.50, 10.00 },
    { "gpt-4.1-nano", 0.10, 0.40 },     { "gpt-4.1-mini", 0.40, 1.60 },
    { "gpt-4.1", 2.00, 8.00 },          { "gpt-4-turbo", 10.00, 30.00 },
    { "gpt-3.5-turbo", 0.50, 1.50 },    { "o1-mini", 1.10, 4.40 },
    { "o3-mini", 1.10, 4.40 },          { "o1", 15.00, 60.00 },
    { "text-embedding-3-small", 0.02, 0.0 }, { "text-embedding-3-large", 0.13, 0.0 },
    { "claude-3-5-sonnet", 3.00, 15.00 }, { "claude-3-7-sonnet", 3.00, 15.00 },
    { "claude-sonnet-4", 3.00, 15.00 }, { "claude-3-5-haiku", 0.80, 4.00 },
    { "claude-3-haiku", 0.25, 1.25 },   { "claude-3-opus", 15.00, 75.00 },
    { "claude-opus-4", 15.00, 75.00 },
};

static double cost(double in_price, double out_price, int64_t in, int64_t out)
{
    double usd = 0;
    if (in > 0) usd += (double)in * in_price / 1e6;
    if (out > 0) usd += (double)out * out_price / 1e6;
    return usd;
}

double kt_price_usd(const kt_events_opts *o, const char *model, int64_t in, int64_t out)
{
    if (!model || (in < 0 && out < 0)) return -1;
    const kt_price *cp = NULL;
    size_t cplen = 0;
    for (size_t i = 0; o && i < o->nprices; i++) {
        size_t n = strlen(o->prices[i].model);
        if (n > cplen && strncmp(model, o->prices[i].model, n) == 0) {
            cp = &o->prices[i];
            cplen = n;
        }
    }
    if (cp) return cost(cp->input, cp->output, in, out);
    size_t best = SIZE_MAX, blen = 0;
    for (size_t i = 0; i < KT_ARRAY_LEN(kt__prices); i++) {
        size_t n = strlen(kt__prices[i].prefix);
        if (n > blen && strncmp(model, kt__prices[i].prefix, n) == 0) {
            best = i;
            blen = n;
        }
    }
    if (best == SIZE_MAX) return -1;
    return cost(kt__prices[best].in, kt__prices[best].out, in, out);
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
    }
    return true;
}

bool kt_traceparent_id(const char *v, size_t n, char out[33])
{
    /* version "-" trace-id(32) "-" parent-id(16) "-" flags(2) */
    if (n < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
    if (!is_hex(v, 2) || !is_hex(v + 3, 32) || !is_hex(v + 36, 16)) return false;
    static const char zero[32] = "00000000000000000000000000000000";
    if (memcmp(v + 3, zero, 32) == 0) return false;
    memcpy(out, v + 3, 32);
    out[32] = '\0';
    return true;
}
