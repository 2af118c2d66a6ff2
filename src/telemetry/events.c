/* Building one decision event: the contract's fields, from plain values (no request content).
 * Entities are reported as label counts; the matched text never reaches this file. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kt/civil.h"
#include "kt/classifier.h"
#include "kt/events.h"
#include "kt/json_text.h"

const char *kt_event_verdict(const kt_decision *d)
{
    if (!d) return "allow";
    if (d->verdict == KT_ACT_BLOCK) return "block";
    if (d->verdict == KT_ACT_REDACT) return "redact";
    return "allow";   /* allow and flag: a flag is visible in policies_evaluated */
}

/* ---- appending -------------------------------------------------------------------------------
 * An event is ~700 bytes in ~60 pieces and one is built per request; kt_buf_append copies a piece
 * that fits in line. Strings of plain printable ASCII, nearly all of them, are copied after one
 * scan; anything else goes through the escaping function it always went through, so the bytes
 * stay the same. */

#define PUT(b, lit) kt_buf_append((b), (lit), sizeof(lit) - 1)

/* 1 for the bytes JSON takes as is: printable ASCII but '"' and '\\'. */
static const unsigned char kt__plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
};   /* 0x80..0xff: 0 */

/* Length of the leading plain run. It stops at the NUL, so s[plain_len(s)] == '\0' means the
 * whole string is plain. */
static size_t plain_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (kt__plain[u[i]]) i++;
    return i;
}

/* A JSON string literal as kt_buf_json_str writes it (names and labels from the config). */
static int json_str(kt_buf *b, const char *s)
{
    size_t n = plain_len(s);
    if (s[n]) return kt_buf_json_str(b, s, n + strlen(s + n));
    int rc = PUT(b, "\"");
    if (!rc) rc = kt_buf_append(b, s, n);
    if (!rc) rc = PUT(b, "\"");
    return rc;
}

/* String content as kt_json_escape_into writes it: client-supplied values (model) may hold
 * invalid UTF-8, written as \ufffd, so an event is always valid JSON. */
static int escaped(kt_buf *b, const char *s)
{
    size_t n = plain_len(s);
    return s[n] ? kt_json_escape_into(b, s, n + strlen(s + n)) : kt_buf_append(b, s, n);
}

static int json_str_or_null(kt_buf *b, const char *s)
{
    if (!s || !*s) return PUT(b, "null");
    int rc = PUT(b, "\"");
    if (!rc) rc = escaped(b, s);
    if (!rc) rc = PUT(b, "\"");
    return rc;
}

static int int_or_null(kt_buf *b, int64_t v)
{
    if (v < 0) return PUT(b, "null");
    return kt_buf_append_u64(b, (uint64_t)v);
}

static void digits(char *p, unsigned v, int n)
{
    while (n--) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" without printf or gmtime_r (whose time zone lock shows per
 * request; kt/civil.h), what gmtime_r gives for every time up to the end of year 9999; later
 * ones are refused as before. */
static int timestamp(kt_buf *b, uint64_t unix_ms)
{
    uint64_t secs = unix_ms / 1000, days = secs / 86400, sod = secs % 86400;
    if (days > 2932896) return KT_EINVAL;   /* 9999-12-31 */
    kt_civil c = kt_civil_from_days(days);
    char t[] = "\"0000-00-00T00:00:00.000Z\"";
    digits(t + 1, c.year, 4);
    digits(t + 6, c.month, 2);
    digits(t + 9, c.day, 2);
    digits(t + 12, (unsigned)(sod / 3600), 2);
    digits(t + 15, (unsigned)(sod / 60 % 60), 2);
    digits(t + 18, (unsigned)(sod % 60), 2);
    digits(t + 21, (unsigned)(unix_ms % 1000), 3);
    return kt_buf_append(b, t, sizeof t - 1);
}

static int policy_head(const kt_policy_cfg *pc, kt_buf *b)
{
    if (pc->event_head) return kt_buf_append(b, pc->event_head, strlen(pc->event_head));
    int rc = PUT(b, "\"name\":");
    if (!rc) rc = json_str(b, pc->name);
    if (!rc) rc = PUT(b, ",\"kind\":");
    if (!rc) rc = json_str(b, pc->kind);
    if (!rc) rc = PUT(b, ",\"result\":\"");
    return rc;
}

static int policies_json(const kt_decision *d, kt_buf *b)
{
    int rc = PUT(b, "[");
    for (size_t i = 0; d && i < d->npolicies && !rc; i++) {
        const kt_policy_eval *e = &d->evals[i];
        const char *result = e->ran ? kt_action_name((kt_action)e->result) : "skipped";
        rc = i ? PUT(b, ",{") : PUT(b, "{");
        if (!rc) rc = policy_head(&d->cfg->chain[i], b);
        if (!rc) rc = kt_buf_append(b, result, strlen(result));
        if (!rc) rc = PUT(b, "\",\"latency_us\":");
        if (!rc) rc = kt_buf_append_u64(b, e->ns / 1000);
        if (!rc) rc = PUT(b, ",\"entities_found\":{");
        for (uint8_t k = 0; k < e->nlabels && !rc; k++) {
            if (k) rc = PUT(b, ",");
            if (!rc) rc = json_str(b, kt_decision_label(d, (uint16_t)i, e->labels[k]));
            if (!rc) rc = PUT(b, ":");
            if (!rc) rc = kt_buf_append_u64(b, e->counts[k]);
        }
        if (!rc) rc = PUT(b, "}");
        if (!rc && e->classifier) {   /* the model tier's outcome (kt/classifier.h) */
            rc = PUT(b, ",\"classifier\":");
            if (!rc) rc = json_str(b, kt_clf_outcome_name((kt_clf_outcome)e->classifier));
        }
        if (!rc) rc = PUT(b, "}");
    }
    if (!rc) rc = PUT(b, "]");
    return rc;
}

static int config_version(const kt_config *cfg, kt_buf *b)
{
    if (!cfg) return PUT(b, ",\"config_version\":null,\"config_hash\":null");
    if (cfg->event_config) return kt_buf_append(b, cfg->event_config, strlen(cfg->event_config));
    int rc = PUT(b, ",\"config_version\":\"");
    if (!rc) rc = escaped(b, cfg->pack_name ? cfg->pack_name : "default");
    if (!rc) rc = PUT(b, "@");
    if (!rc) rc = escaped(b, cfg->pack_version ? cfg->pack_version : "0.0.0");
    if (!rc) rc = PUT(b, "\",\"config_hash\":\"sha256:");
    if (!rc) rc = kt_buf_append(b, cfg->hash, strlen(cfg->hash));
    if (!rc) rc = PUT(b, "\"");
    return rc;
}

static int block_fields(const kt_decision *d, kt_buf *b)
{
    const kt_policy_cfg *pc = &d->cfg->chain[d->block_policy];
    int rc = PUT(b, ",\"block_policy\":");
    if (!rc) rc = json_str(b, pc->name);
    if (!rc) rc = PUT(b, ",\"block_label\":");
    if (!rc) rc = json_str(b, kt_decision_label(d, (uint16_t)d->block_policy, d->block_label));
    return rc;
}

/* Renders with the same functions kt_event_json uses when the parts are missing. */
static char *render(const kt_config *cfg, const kt_policy_cfg *pc)
{
    kt_buf b;
    kt_buf_init(&b, 64 * 1024);
    int rc = pc ? policy_head(pc, &b) : config_version(cfg, &b);
    if (rc) {
        kt_buf_free(&b);
        return NULL;
    }
    return b.p;
}

int kt_event_prerender(kt_config *cfg)
{
    if (!cfg->event_config) cfg->event_config = render(cfg, NULL);
    for (size_t i = 0; i < cfg->nchain && cfg->event_config; i++)
        if (!cfg->chain[i].event_head && !(cfg->chain[i].event_head = render(cfg, &cfg->chain[i])))
            return KT_ENOMEM;
    return cfg->event_config ? KT_OK : KT_ENOMEM;
}

/* What printf("%.8f", v) writes, for the usual 0 <= v < 1e10 without printf: v is m * 2^e
 * exactly, so v * 1e8 is rounded half to even from the exact product (printf's rounding in the
 * default mode). Anything else (no 128-bit integers, huge, negative zero, NaN) uses printf. */
static int cost_usd(kt_buf *b, double v)
{
#ifdef __SIZEOF_INT128__
    if (v >= 0 && v < 1e10 && !signbit(v)) {
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        int exp = (int)(bits >> 52 & 0x7ff);
        uint64_t m = bits & ((UINT64_C(1) << 52) - 1), q;
        int k = exp ? 1075 - exp : 1074;   /* v = m * 2^-k */
        if (exp) m |= UINT64_C(1) << 52;
        if (k <= 0) {
            q = (m << -k) * 100000000u;
        } else if (k >= 81) {   /* m * 1e8 < 2^80: below half of one unit */
            q = 0;
        } else {
            unsigned __int128 p = (unsigned __int128)m * 100000000u;
            unsigned __int128 half = (unsigned __int128)1 << (k - 1), r = p & ((half << 1) - 1);
            q = (uint64_t)(p >> k);
            if (r > half || (r == half && (q & 1))) q++;
        }
        char num[32], t[48] = ",\"cost_usd\":";   /* the number is built right to left */
        size_t n = sizeof ",\"cost_usd\":" - 1, end = sizeof num;
        uint64_t whole = q / 100000000u;
        digits(num + end - 8, (unsigned)(q % 100000000u), 8);
        num[end - 9] = '.';
        size_t i = end - 9;
        do {
            num[--i] = (char)('0' + whole % 10);
            whole /= 10;
        } while (whole);
        memcpy(t + n, num + i, end - i);
        return kt_buf_append(b, t, n + end - i);
    }
#endif
    return kt_buf_printf(b, ",\"cost_usd\":%.8f", v);
}

int kt_event_json(const kt_event_info *ev, kt_buf *out)
{
    const kt_decision *d = ev->decision;
    bool blocked = d && d->verdict == KT_ACT_BLOCK && d->block_policy >= 0;
    const char *verdict = kt_event_verdict(d), *reason = ev->reason_code;
    if (blocked) reason = d->block_dir == KT_DIR_INPUT ? "input_blocked" : "output_blocked";
    if (ev->unscanned && !blocked) {   /* fail_mode: open let something through unread */
        verdict = "unscanned";
        if (!reason) reason = ev->unscanned;
    }
    size_t start = out->len;
    int rc = PUT(out, "{\"id\":");
    if (!rc) rc = json_str(out, ev->id);
    if (!rc) rc = PUT(out, ",\"event_type\":\"decision\",\"timestamp\":");
    if (!rc) rc = timestamp(out, ev->unix_ms);
    if (!rc) rc = PUT(out, ",\"verdict\":\"");
    if (!rc) rc = kt_buf_append(out, verdict, strlen(verdict));
    if (!rc) rc = PUT(out, "\",\"reason_code\":");
    if (!rc) rc = json_str_or_null(out, reason);
    if (!rc && blocked) rc = block_fields(d, out);
    if (!rc) rc = PUT(out, ",\"model\":");
    if (!rc) rc = json_str_or_null(out, ev->model);
    if (!rc) rc = PUT(out, ",\"provider\":");
    if (!rc) rc = json_str_or_null(out, ev->provider);
    if (!rc) rc = PUT(out, ",\"target\":");
    if (!rc) rc = json_str_or_null(out, ev->target);
    if (!rc) rc = PUT(out, ",\"api\":");
    if (!rc) rc = json_str_or_null(out, ev->api);
    if (!rc) rc = config_version(ev->cfg, out);
    if (!rc) rc = PUT(out, ",\"policies_evaluated\":");
    if (!rc) rc = policies_json(d, out);
    if (!rc) rc = PUT(out, ",\"input_tokens\":");
    if (!rc) rc = int_or_null(out, ev->input_tokens);
    if (!rc) rc = PUT(out, ",\"output_tokens\":");
    if (!rc) rc = int_or_null(out, ev->output_tokens);
    if (!rc) rc = ev->cost_usd < 0 ? PUT(out, ",\"cost_usd\":null") : cost_usd(out, ev->cost_usd);
    if (!rc) rc = PUT(out, ",\"status\":");
    if (!rc) rc = kt_buf_append_u64(out, ev->status > 0 ? (uint64_t)ev->status : 0);
    if (!rc) rc = PUT(out, ",\"latency_ms\":");
    if (!rc) rc = kt_buf_append_u64(out, ev->latency_ms);
    if (!rc) rc = PUT(out, ",\"trace_id\":");
    if (!rc) rc = json_str_or_null(out, ev->trace_id);
    if (!rc) rc = PUT(out, ",\"consumer\":");
    if (!rc) rc = json_str_or_null(out, ev->consumer);
    if (!rc && ev->attempts) rc = PUT(out, ",\"attempts\":");
    if (!rc && ev->attempts) rc = kt_buf_append(out, ev->attempts, strlen(ev->attempts));
    if (!rc) rc = PUT(out, "}");
    if (rc) out->len = start;
    if (out->p) out->p[out->len] = '\0';
    return rc;
}

int kt_uuid4(kt_tls_ctx *tls, char out[37])
{
    unsigned char r[16];
    int ok = 0;
    if (tls) ok = kt_tls_random(tls, r, sizeof r) == KT_OK;
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

/* USD per million tokens (input, output), public list prices; longest prefix wins. Lengths are
 * kept with the prefixes: this runs once per request. */
#define KT__PRICE(p, i, o) { p, sizeof p - 1, i, o }
static const struct {
    const char *prefix;
    size_t len;
    double in, out;
} kt__prices[] = {
    KT__PRICE("gpt-4o-mini", 0.15, 0.60),      KT__PRICE("gpt-4o", 2.50, 10.00),
    KT__PRICE("gpt-4.1-nano", 0.10, 0.40),     KT__PRICE("gpt-4.1-mini", 0.40, 1.60),
    KT__PRICE("gpt-4.1", 2.00, 8.00),          KT__PRICE("gpt-4-turbo", 10.00, 30.00),
    KT__PRICE("gpt-3.5-turbo", 0.50, 1.50),    KT__PRICE("o1-mini", 1.10, 4.40),
    KT__PRICE("o3-mini", 1.10, 4.40),          KT__PRICE("o1", 15.00, 60.00),
    KT__PRICE("text-embedding-3-small", 0.02, 0.0), KT__PRICE("text-embedding-3-large", 0.13, 0.0),
    KT__PRICE("claude-3-5-sonnet", 3.00, 15.00), KT__PRICE("claude-3-7-sonnet", 3.00, 15.00),
    KT__PRICE("claude-sonnet-4", 3.00, 15.00), KT__PRICE("claude-3-5-haiku", 0.80, 4.00),
    KT__PRICE("claude-3-haiku", 0.25, 1.25),   KT__PRICE("claude-3-opus", 15.00, 75.00),
    KT__PRICE("claude-opus-4", 15.00, 75.00),
};

static double cost(double in_price, double out_price, int64_t in, int64_t out)
{
    double usd = 0;
    if (in > 0) usd += (double)in * in_price / 1e6;
    if (out > 0) usd += (double)out * out_price / 1e6;
    return usd;
}

/* An empty prefix never wins (it is not longer than no match), so a first byte that differs
 * rules a prefix out before its length is needed. */
double kt_price_usd(const kt_events_opts *o, const char *model, int64_t in, int64_t out)
{
    if (!model || (in < 0 && out < 0)) return -1;
    const kt_price *cp = NULL;
    size_t cplen = 0;
    for (size_t i = 0; o && i < o->nprices; i++) {
        if (o->prices[i].model[0] != model[0]) continue;
        size_t n = strlen(o->prices[i].model);
        if (n > cplen && strncmp(model, o->prices[i].model, n) == 0) {
            cp = &o->prices[i];
            cplen = n;
        }
    }
    if (cp) return cost(cp->input, cp->output, in, out);
    size_t best = SIZE_MAX, blen = 0;
    for (size_t i = 0; i < KT_ARRAY_LEN(kt__prices); i++) {
        size_t n = kt__prices[i].len;
        if (kt__prices[i].prefix[0] == model[0] && n > blen &&
            strncmp(model, kt__prices[i].prefix, n) == 0) {
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
