/* The exchange's view of its request and its report: the body's top-level facts (model, user,
 * stream, usage option, token limit) decoded from one pass over the body, and at the end the
 * decision event, filled from the exchange and handed to the request-end hook. Only names, codes,
 * counts and timings go into the event; the body's `user` only as a hash (applications put
 * e-mail addresses there). */
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>

#include "exchange.h"
#include "kt/json_text.h"
#include "kt/router.h"

enum { FACT_MODEL, FACT_USER, FACT_STREAM, FACT_INCLUDE_USAGE, FACT_MAX_TOKENS,
       FACT_MAX_COMPLETION_TOKENS, FACT_MAX_OUTPUT_TOKENS, FACT_COUNT };

const char *const kt__fact_keys[] = { "model", "user", "stream", "stream_options.include_usage",
                                      "max_tokens", "max_completion_tokens",
                                      "max_output_tokens" };
const size_t kt__nfact_keys = FACT_COUNT;
_Static_assert(KT_ARRAY_LEN(kt__fact_keys) == FACT_COUNT, "one key per fact");
_Static_assert(FACT_COUNT <= KT_JSON_TOP_MAX, "the collector holds every fact");

/* A string fact decoded into `out` (cap bytes, NUL-terminated): false when absent, not a
 * string, or too long. */
static bool str_fact(const kt_json_top *t, size_t i, const char *body, char *out, size_t cap,
                     size_t *len)
{
    const kt_json_value *v = kt_json_top_get(t, i);
    if (!v || v->type != KT_JSON_STRING) return false;
    kt_buf b = { out, 0, cap, cap - 1 };
    if (kt_json_str_decode(body + v->start, v->end - v->start, &b, NULL, 0)) return false;
    out[b.len] = '\0';
    *len = b.len;
    return true;
}

static int bool_fact(const kt_json_top *t, size_t i)
{
    const kt_json_value *v = kt_json_top_get(t, i);
    if (!v) return -1;
    return v->type == KT_JSON_TRUE ? 1 : v->type == KT_JSON_FALSE ? 0 : -1;
}

static int64_t int_fact(const kt_json_top *t, size_t i, const char *body)
{
    const kt_json_value *v = kt_json_top_get(t, i);
    if (!v || v->type != KT_JSON_NUMBER || v->end - v->start > 18) return -1;
    int64_t n = 0;
    for (size_t k = v->start; k < v->end; k++) {
        if (body[k] < '0' || body[k] > '9') return -1;   /* negative, fraction, exponent */
        n = n * 10 + (body[k] - '0');
    }
    return n;
}

static void user_hash(const char *user, size_t n, char out[KT_FACT_USER_MAX])
{
    unsigned char h[32];
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_sha256((const unsigned char *)user, n, h, 0);
#else
    mbedtls_sha256_ret((const unsigned char *)user, n, h, 0);
#endif
    int k = snprintf(out, KT_FACT_USER_MAX, "user-sha256:");
    for (int i = 0; i < 8; i++) k += snprintf(out + k, KT_FACT_USER_MAX - (size_t)k, "%02x", h[i]);
}

void kt__facts_from_top(kt_req_facts *f, const kt_json_top *t, const char *body)
{
    size_t n;
    f->has_model = str_fact(t, FACT_MODEL, body, f->model, sizeof f->model, &n) && n;
    char user[16384];   /* a longer `user` is not hashed: the event names no consumer */
    if (str_fact(t, FACT_USER, body, user, sizeof user, &n) && n) user_hash(user, n, f->user);
    f->stream = bool_fact(t, FACT_STREAM);
    f->include_usage = bool_fact(t, FACT_INCLUDE_USAGE);
    f->max_tokens = int_fact(t, FACT_MAX_TOKENS, body);
    if (f->max_tokens < 0) f->max_tokens = int_fact(t, FACT_MAX_COMPLETION_TOKENS, body);
    if (f->max_tokens < 0) f->max_tokens = int_fact(t, FACT_MAX_OUTPUT_TOKENS, body);
}

void kt__facts_read(kt_req_facts *f, const char *body, size_t len)
{
    kt_json_top top;
    if (!len || kt_json_top_begin(&top, kt__fact_keys, kt__nfact_keys)) return;
    if (kt_json_top_scan(&top, body, len)) return;   /* not JSON: nothing is known */
    kt__facts_from_top(f, &top, body);
}

/* ---- the decision event --------------------------------------------------------------------- */

static const char *api_name(kt_api a)
{
    static const char *const names[] = { "other", "chat", "completions", "embeddings",
                                         "responses", "messages" };
    return (unsigned)a < KT_ARRAY_LEN(names) ? names[a] : "other";
}

/* A header value fit for an event: printable ASCII, bounded. */
static bool header_token(const kt_headers *hs, const char *name, char *out, size_t n)
{
    int i = kt_headers_find(hs, name, 0);
    if (i < 0) return false;
    kt_str v = kt_headers_value(hs, (uint32_t)i);
    if (!v.n || v.n >= n) return false;
    for (size_t k = 0; k < v.n; k++)
        if ((unsigned char)v.p[k] < 0x21 || (unsigned char)v.p[k] > 0x7e) return false;
    memcpy(out, v.p, v.n);
    out[v.n] = '\0';
    return true;
}

void kt__exchange_report(kt_exchange *x, bool aborted)
{
    kt_gateway *gw = x->gw;
    if (!gw->events && !gw->metrics && !gw->tracer && !gw->audit) return;
    const kt_conn *c = x->c;
    const kt_target *t = x->target;
    uint64_t now = uv_hrtime();
    kt_event_info ev;
    memset(&ev, 0, sizeof ev);
    char consumer[160];
    ev.decision = x->has_decision ? &x->decision : NULL;
    ev.reason_code = c->resp_code[0] ? c->resp_code : aborted ? "client_closed" : NULL;
    /* the model sent upstream (an alias resolved): what the provider used and prices */
    ev.model = x->fo.up_model ? x->fo.up_model
               : x->facts.has_model ? x->facts.model : t ? t->model : NULL;
    ev.provider = t ? kt_provider_for(t->provider)->name : NULL;
    ev.target = t ? t->id : NULL;
    ev.api = api_name(x->api);
    ev.cfg = x->cfg;
    ev.input_tokens = x->obs.usage.input;
    ev.output_tokens = x->obs.usage.output;
    ev.cost_usd = kt_price_usd(&x->cfg->gateway.events, ev.model, ev.input_tokens,
                               ev.output_tokens);
    ev.status = c->resp_status ? c->resp_status : 499;
    ev.unscanned = x->unscanned;
    ev.latency_ms = (now - x->obs.t0_ns) / 1000000;
    ev.trace_id = x->trace.trace_hex;   /* the caller's (W3C or B3) or the one kt started */
    if (x->gov.consumer)   /* an authenticated consumer is who called */
        ev.consumer = ev.gw_consumer = x->gov.consumer->name;
    else if (header_token(&c->in.headers, "x-keeptrusts-consumer", consumer, sizeof consumer))
        ev.consumer = consumer;
    else if (x->facts.user[0])
        ev.consumer = x->facts.user;
    char amem[2048];   /* failover: at most 10 attempts of at most 150 bytes */
    kt_buf attempts = { amem, 0, sizeof amem, sizeof amem - 1 };
    if (x->fo.natt && !kt__fo_attempts_json(x, &attempts)) ev.attempts = amem;
    kt_obs_sink sink = { gw->events, gw->metrics, &gw->tls };
    kt_request_done(&sink, &ev, &x->obs, now);
    kt__trace_finish(x, &ev);
    kt__audit_finish(x, &ev);
}
