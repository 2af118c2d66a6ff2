/* The exchange in a distributed trace. At start the caller's context is read (traceparent, else
 * b3, else X-B3-*) or a trace is started, with ids from the TLS context's CTR-DRBG. Every upstream
 * attempt gets a span of its own, and the upstream request carries a traceparent naming it as
 * parent (or, when kt records nothing, the caller's traceparent unchanged). At the end, when a
 * tracer is configured and the sampler kept the trace, the exchange's server span and its
 * input- and output-policy spans are queued. Attributes follow the OpenTelemetry GenAI
 * conventions plus kt's own (verdict, policies, consumer, target): names, codes, counts and
 * timings, never prompt or completion text, never keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exchange.h"
#include "kt/router.h"

static uint64_t unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* uv_hrtime() at some point of the exchange, as Unix nanoseconds. */
static uint64_t at(const kt_xtrace *t, uint64_t hr)
{
    return t->unix0_ns + (hr > t->hr0_ns ? hr - t->hr0_ns : 0);
}

static void random_id(kt_exchange *x, uint8_t *out, size_t n)
{
    static const uint8_t zero[16];
    do {
        if (kt_tls_random(&x->gw->tls, out, n)) {   /* the DRBG failed: a time-based id */
            uint64_t v = uv_hrtime() ^ (uint64_t)(uintptr_t)x;
            for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(v >> (8 * (i % 8))) ^ (uint8_t)i;
        }
    } while (memcmp(out, zero, n) == 0);   /* an all-zero id is invalid */
}

void kt__trace_begin(kt_exchange *x)
{
    kt_xtrace *t = &x->trace;
    kt_trace_ctx caller;   /* its tracestate (512 bytes) is forwarded with the headers */
    t->hr0_ns = x->obs.t0_ns;
    t->unix0_ns = unix_ns();
    t->caller_src = kt_trace_from_headers(&x->c->in.headers, &caller);
    if (t->caller_src != KT_TRACE_NONE) {
        memcpy(t->trace_id, caller.trace_id, 16);
        memcpy(t->caller_parent, caller.parent_id, 8);
        t->caller_sampled = caller.sampled;
    } else {
        random_id(x, t->trace_id, 16);
    }
    random_id(x, t->span_id, 8);
    kt_trace_hex(t->trace_id, 16, t->trace_hex);
    t->recording = x->gw->tracer &&
                   kt_sampler_decide(kt_tracer_sampler(x->gw->tracer), &caller, t->trace_id);
    if (t->recording) t->resp = kt_calloc(1, sizeof *t->resp);   /* NULL: no response facts */
}

void kt__trace_free(kt_exchange *x)
{
    free(x->trace.resp);
    x->trace.resp = NULL;
}

void kt__trace_input(kt_exchange *x, bool begin)
{
    if (begin) x->trace.in_begin = uv_hrtime();
    else if (x->trace.in_begin && !x->trace.in_end) x->trace.in_end = uv_hrtime();
}

void kt__trace_attempt_begin(kt_exchange *x)
{
    kt_xtrace *t = &x->trace;
    if (t->attempt_begin) kt__trace_attempt_end(x, 0, "superseded");
    random_id(x, t->attempt_id, 8);
    t->attempt_begin = uv_hrtime();
    t->attempts++;
}

/* The head ends with its blank line: the trace lines go just before it. Nothing is added when
 * the room reserved for the head is short (a realloc would leave a copy of the key behind). */
int kt__trace_upstream_header(kt_exchange *x, kt_buf *head)
{
    const kt_xtrace *t = &x->trace;
    char tp[56];
    bool ours = t->recording || t->caller_src != KT_TRACE_W3C;
    if (ours) kt_trace_format_traceparent(t->trace_id, t->attempt_id, t->recording, tp);
    else kt_trace_format_traceparent(t->trace_id, t->caller_parent, t->caller_sampled == 1, tp);
    size_t need = sizeof "traceparent: \r\n" + 55;
    if (head->len < 2 || head->cap - head->len <= need || head->max - head->len <= need)
        return KT_ELIMIT;
    head->len -= 2;   /* the final CRLF; the caller's tracestate was forwarded as it came */
    int rc = kt_buf_append(head, "traceparent: ", 13);
    if (!rc) rc = kt_buf_append(head, tp, strlen(tp));
    if (!rc) rc = kt_buf_append(head, "\r\n\r\n", 4);
    return rc;
}

static const char *operation(kt_api a)
{
    switch (a) {
    case KT_API_CHAT: return "chat";
    case KT_API_COMPLETIONS: return "text_completion";
    case KT_API_EMBEDDINGS: return "embeddings";
    case KT_API_RESPONSES: return "chat";
    case KT_API_MESSAGES: return "chat";
    default: return "other";
    }
}

/* The GenAI conventions' provider names. */
static const char *provider_name(const kt_target *t)
{
    if (!t) return NULL;
    switch (t->provider) {
    case KT_PROVIDER_ANTHROPIC: return "anthropic";
    case KT_PROVIDER_AZURE: return "azure.ai.openai";
    case KT_PROVIDER_OPENAI: break;
    }
    return "openai";
}

static const char *request_model(const kt_exchange *x)
{
    return x->facts.has_model ? x->facts.model : x->target ? x->target->model : NULL;
}

/* The GenAI request attributes every span of the exchange that talks to a model carries. */
static void genai_request(kt_span *s, const kt_exchange *x)
{
    kt_span_attr_str(s, "gen_ai.operation.name", operation(x->api));
    kt_span_attr_str(s, "gen_ai.provider.name", provider_name(x->target));
    kt_span_attr_str(s, "gen_ai.request.model", request_model(x));
    if (x->facts.max_tokens >= 0)
        kt_span_attr_int(s, "gen_ai.request.max_tokens", x->facts.max_tokens);
    if (x->target) kt_span_attr_str(s, "kt.target", x->target->id);
}

void kt__trace_body(kt_exchange *x, const char *data, size_t len)
{
    int st = x->c->resp_status;
    if (x->trace.resp && st >= 200 && st < 300) kt_resp_sniff_feed(x->trace.resp, data, len);
}

static void genai_response(kt_span *s, const kt_exchange *x)
{
    const kt_resp_sniff *r = x->trace.resp;
    if (!r) return;
    kt_span_attr_str(s, "gen_ai.response.model", r->model);
    const char *v[KT_RESP_REASONS];
    for (int i = 0; i < r->nreasons; i++) v[i] = r->reasons[i];
    kt_span_attr_strs(s, "gen_ai.response.finish_reasons", v, (size_t)r->nreasons);
}

static void genai_usage(kt_span *s, const kt_exchange *x)
{
    if (x->obs.usage.input >= 0) kt_span_attr_int(s, "gen_ai.usage.input_tokens", x->obs.usage.input);
    if (x->obs.usage.output >= 0)
        kt_span_attr_int(s, "gen_ai.usage.output_tokens", x->obs.usage.output);
}

static void child(kt_span *s, const kt_exchange *x, const uint8_t id[8], uint64_t b, uint64_t e)
{
    memcpy(s->trace_id, x->trace.trace_id, 16);
    memcpy(s->span_id, id, 8);
    memcpy(s->parent_id, x->trace.span_id, 8);
    s->has_parent = true;
    s->start_ns = at(&x->trace, b);
    s->end_ns = at(&x->trace, e);
}

void kt__trace_attempt_end(kt_exchange *x, int status, const char *error)
{
    kt_xtrace *t = &x->trace;
    if (!t->attempt_begin) return;
    uint64_t b = t->attempt_begin;
    t->attempt_begin = 0;
    if (!t->recording) return;
    char name[300];
    const char *model = request_model(x);
    snprintf(name, sizeof name, "%s%s%s", operation(x->api), model ? " " : "", model ? model : "");
    kt_span s;
    kt_span_init(&s, name, KT_SPAN_CLIENT);
    child(&s, x, t->attempt_id, b, uv_hrtime());
    genai_request(&s, x);
    kt_span_attr_int(&s, "kt.attempt", t->attempts);
    if (x->target) {
        kt_span_attr_str(&s, "server.address", x->target->host);
        kt_span_attr_int(&s, "server.port", x->target->port);
    }
    if (status) kt_span_attr_int(&s, "http.response.status_code", status);
    if (status >= 200 && status < 300) {
        genai_usage(&s, x);
        genai_response(&s, x);
    }
    const char *err = error ? error : status >= 400 ? "http_error" : NULL;
    if (err) {
        kt_span_attr_str(&s, "error.type", err);
        s.status = KT_SPAN_ERROR;
        s.status_msg = err;
    }
    kt_tracer_push(x->gw->tracer, &s);
    kt_span_free(&s);
}

static void policy_span(kt_exchange *x, const char *name, kt_dir dir, uint64_t b, uint64_t e)
{
    const kt_decision *d = x->has_decision ? &x->decision : NULL;
    uint8_t id[8];
    random_id(x, id, 8);
    kt_span s;
    kt_span_init(&s, name, KT_SPAN_INTERNAL);
    child(&s, x, id, b, e);
    const char *names[64];
    char items[64][160];
    size_t n = 0;
    for (size_t i = 0; d && i < d->npolicies && n < KT_ARRAY_LEN(names); i++) {
        const kt_policy_cfg *pc = &d->cfg->chain[i];
        if (!d->evals[i].ran || !(pc->dirs & dir)) continue;
        snprintf(items[n], sizeof items[n], "%s=%s", pc->name,
                 kt_action_name((kt_action)d->evals[i].result));
        names[n] = items[n];
        n++;
    }
    kt_span_attr_strs(&s, "kt.policies", names, n);
    if (d && d->verdict == KT_ACT_BLOCK && d->block_dir == dir) {
        kt_span_attr_str(&s, "kt.verdict", "block");
        kt_span_attr_str(&s, "kt.blocked_by", d->cfg->chain[d->block_policy].name);
    }
    kt_tracer_push(x->gw->tracer, &s);
    kt_span_free(&s);
}

static void all_policies(const kt_decision *d, const char **names, char (*items)[160], size_t *n)
{
    for (size_t i = 0; d && i < d->npolicies && *n < 64; i++) {
        if (!d->evals[i].ran) continue;
        snprintf(items[*n], 160, "%s=%s", d->cfg->chain[i].name,
                 kt_action_name((kt_action)d->evals[i].result));
        names[*n] = items[*n];
        (*n)++;
    }
}

static void server_span(kt_exchange *x, const kt_event_info *ev, uint64_t end)
{
    const kt_xtrace *t = &x->trace;
    char name[64];
    snprintf(name, sizeof name, "%s %s", kt_http_in_method_name(&x->c->in), ev->api ? ev->api : "other");
    kt_span s;
    kt_span_init(&s, name, KT_SPAN_SERVER);
    memcpy(s.trace_id, t->trace_id, 16);
    memcpy(s.span_id, t->span_id, 8);
    s.has_parent = t->caller_src != KT_TRACE_NONE;
    memcpy(s.parent_id, t->caller_parent, 8);
    s.start_ns = t->unix0_ns;
    s.end_ns = at(t, end);
    genai_request(&s, x);
    genai_usage(&s, x);
    genai_response(&s, x);
    kt_span_attr_str(&s, "kt.verdict", ev->unscanned ? "unscanned" : kt_event_verdict(ev->decision));
    const char *names[64];
    char items[64][160];
    size_t n = 0;
    all_policies(ev->decision, names, items, &n);
    kt_span_attr_strs(&s, "kt.policies", names, n);
    kt_span_attr_str(&s, "kt.consumer", ev->consumer);
    kt_span_attr_str(&s, "kt.reason_code", ev->reason_code);
    if (ev->cost_usd >= 0) kt_span_attr_double(&s, "kt.cost_usd", ev->cost_usd);
    kt_span_attr_int(&s, "http.response.status_code", ev->status);
    if (ev->status >= 500) {
        s.status = KT_SPAN_ERROR;
        s.status_msg = ev->reason_code;
        kt_span_attr_str(&s, "error.type", ev->reason_code ? ev->reason_code : "server_error");
    }
    kt_tracer_push(x->gw->tracer, &s);
    kt_span_free(&s);
}

void kt__trace_finish(kt_exchange *x, const kt_event_info *ev)
{
    kt_xtrace *t = &x->trace;
    if (t->attempt_begin) kt__trace_attempt_end(x, x->up_status, x->up_status ? NULL : "cancelled");
    if (!t->recording) return;
    uint64_t now = uv_hrtime();
    if (t->in_begin && kt_chain_has(x->cfg, KT_DIR_INPUT))
        policy_span(x, "kt.input_policies", KT_DIR_INPUT, t->in_begin, t->in_end ? t->in_end : now);
    if (x->obs.up_head_ns && kt_chain_has(x->cfg, KT_DIR_OUTPUT))
        policy_span(x, "kt.output_policies", KT_DIR_OUTPUT, x->obs.up_head_ns,
                    x->obs.up_end_ns ? x->obs.up_end_ns : now);
    server_span(x, ev, now);
}
