/* The request-end hook: what one /v1 request did becomes one decision event (queued, never
 * waited on) and a handful of metric updates. Only names, codes, counts and timings are read
 * here; the body is looked at for the top-level `model` and `user` fields only. */
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "kt/conn.h"
#include "kt/events.h"
#include "kt/json_text.h"
#include "kt/metrics.h"
#include "kt/router.h"

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

/* Whether `"user"` occurs followed by a colon (after JSON whitespace): a cheap screen for a
 * "user" key, which the value "user" of every chat message's "role" does not pass. */
static bool may_have_user_key(const char *p, size_t n)
{
    const char *end = p + n;
    for (const char *q = p; (q = kt_memfind(q, (size_t)(end - q), "\"user\"", 6)) != NULL;) {
        q += 6;
        const char *r = q;
        while (r < end && (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')) r++;
        if (r < end && *r == ':') return true;
    }
    return false;
}

/* The consumer: the operator-set header as is; the body's `user` field only as a hash, since
 * applications often put an e-mail address there. */
static const char *consumer_of(kt_conn *c, char *out, size_t n, kt_buf *scratch)
{
    if (header_token(&c->in.headers, "x-keeptrusts-consumer", out, n)) return out;
    /* The screen spares a second full pass over bodies without a `user` key. */
    if (!c->in.body.len || !may_have_user_key(c->in.body.p, c->in.body.len) ||
        kt_json_top_string(c->in.body.p, c->in.body.len, "user", scratch) ||
        !scratch->len)
        return NULL;
    unsigned char h[32];
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_sha256((const unsigned char *)scratch->p, scratch->len, h, 0);
#else
    mbedtls_sha256_ret((const unsigned char *)scratch->p, scratch->len, h, 0);
#endif
    int k = snprintf(out, n, "user-sha256:");
    for (int i = 0; i < 8 && (size_t)k + 2 < n; i++)
        k += snprintf(out + k, n - (size_t)k, "%02x", h[i]);
    return out;
}

/* The body's top-level "model", NULL when it has none. When the input policy walk saw the whole
 * body it noted it already: no second parse. */
static const char *body_model(kt_conn *c, kt_buf *scratch)
{
    const kt_policy_model *m = &c->obs.model;
    if (m->known) return m->len ? m->name : NULL;
    if (!c->in.body.len || kt_json_top_string(c->in.body.p, c->in.body.len, "model", scratch) ||
        !scratch->len)
        return NULL;
    return scratch->p;
}

static uint64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void observe_policies(kt_metrics *m, const kt_decision *d)
{
    for (size_t i = 0; d && i < d->npolicies; i++) {
        const kt_policy_eval *e = &d->evals[i];
        if (!e->ran) continue;
        const char *pol = kt_metrics_bound(&m->policies, d->cfg->chain[i].name);
        const char *pn[] = { "policy", "result" };
        const char *pv[] = { pol, kt_action_name((kt_action)e->result) };
        kt_metrics_add_fixed(m, &m->policy_evals, pn, pv, 2, 1);
        if (e->result != KT_ACT_REDACT) continue;
        for (uint8_t k = 0; k < e->nlabels; k++) {
            const char *en[] = { "entity" };
            const char *l = kt_decision_label(d, (uint16_t)i, e->labels[k]);
            const char *evv[] = { kt_metrics_bound(&m->entities, l) };
            kt_metrics_add_fixed(m, &m->redactions, en, evv, 1, e->counts[k]);
        }
    }
    if (d && d->verdict == KT_ACT_BLOCK && d->block_policy >= 0) {
        const char *bn[] = { "reason", "policy" };
        const char *bv[] = { d->block_dir == KT_DIR_INPUT ? "input_blocked" : "output_blocked",
                             kt_metrics_bound(&m->policies, d->cfg->chain[d->block_policy].name) };
        kt_metrics_add_fixed(m, &m->blocks, bn, bv, 2, 1);
    }
}

static void observe_times(kt_metrics *m, const kt_req_obs *o, uint64_t now)
{
    uint64_t total = now - o->t0_ns, wait = 0;
    if (o->up_start_ns) wait = (o->up_end_ns ? o->up_end_ns : now) - o->up_start_ns;
    kt_hist_observe(&m->duration, (double)total / 1e9);
    kt_hist_observe(&m->overhead, (double)(total > wait ? total - wait : 0) / 1e9);
    if (o->connect_ns)
        kt_hist_observe(&m->upstream[KT_UP_PHASE_CONNECT], (double)o->connect_ns / 1e9);
    if (o->tls_ns) kt_hist_observe(&m->upstream[KT_UP_PHASE_TLS], (double)o->tls_ns / 1e9);
    if (o->up_head_ns && o->up_sent_ns && o->up_head_ns >= o->up_sent_ns)
        kt_hist_observe(&m->upstream[KT_UP_PHASE_FIRST_BYTE],
                        (double)(o->up_head_ns - o->up_sent_ns) / 1e9);
}

/* "000".."999": the status label as a constant, so that kt_metrics_add_fixed may key on it. */
#define KT__D1(p) p "0", p "1", p "2", p "3", p "4", p "5", p "6", p "7", p "8", p "9"
#define KT__D2(p)                                                                               \
    KT__D1(p "0"), KT__D1(p "1"), KT__D1(p "2"), KT__D1(p "3"), KT__D1(p "4"), KT__D1(p "5"),   \
        KT__D1(p "6"), KT__D1(p "7"), KT__D1(p "8"), KT__D1(p "9")
static const char kt__status[1000][4] = { KT__D2("0"), KT__D2("1"), KT__D2("2"), KT__D2("3"),
                                          KT__D2("4"), KT__D2("5"), KT__D2("6"), KT__D2("7"),
                                          KT__D2("8"), KT__D2("9") };

void kt_events_observe(kt_metrics *m, const kt_event_info *ev, const kt_req_obs *o, uint64_t now)
{
    const char *status = kt__status[ev->status >= 100 && ev->status <= 999 ? ev->status : 0];
    const char *model = kt_metrics_bound(&m->models, ev->model);
    const char *target = kt_metrics_bound(&m->targets, ev->target);
    const char *rn[] = { "target", "model", "status" }, *rv[] = { target, model, status };
    kt_metrics_add_fixed(m, &m->requests, rn, rv, 3, 1);
    observe_policies(m, ev->decision);
    const char *tn[] = { "direction", "model" };
    if (ev->input_tokens > 0) {
        const char *tv[] = { "input", model };
        kt_metrics_add_fixed(m, &m->tokens, tn, tv, 2, (double)ev->input_tokens);
    }
    if (ev->output_tokens > 0) {
        const char *tv[] = { "output", model };
        kt_metrics_add_fixed(m, &m->tokens, tn, tv, 2, (double)ev->output_tokens);
    }
    if (ev->cost_usd > 0) {
        const char *cn[] = { "model" }, *cv[] = { model };
        kt_metrics_add_fixed(m, &m->cost, cn, cv, 1, ev->cost_usd);
    }
    observe_times(m, o, now);
}

/* Formats into the stack buffer; an event too big for it (very long chains) goes to the heap. */
static void push_event(kt_gateway *gw, const kt_event_info *ev, kt_buf *scratch)
{
    kt_buf_reset(scratch);
    int rc = kt_event_json(ev, scratch);
    if (rc == KT_ELIMIT) {
        kt_buf big;
        kt_buf_init(&big, 256 * 1024);
        rc = kt_event_json(ev, &big);
        if (!rc) kt_events_push(gw->events, big.p, big.len);
        kt_buf_free(&big);
    } else if (!rc) {
        kt_events_push(gw->events, scratch->p, scratch->len);
    }
    if (rc && gw->metrics) gw->metrics->events_dropped++;   /* cannot happen with sane names */
}

void kt_events_request_done(kt_gateway *gw, kt_conn *c)
{
    kt_req_obs *o = &c->obs;
    if (!o->api || (!gw->events && !gw->metrics)) return;
    o->api = false;   /* once */
    uint64_t now = uv_hrtime();
    kt_event_info ev;
    memset(&ev, 0, sizeof ev);
    char mmem[256], smem[16384];   /* no allocation per request in the common case */
    kt_buf model = { mmem, 0, sizeof mmem, sizeof mmem - 1 };
    kt_buf scratch = { smem, 0, sizeof smem, sizeof smem - 1 };
    mmem[0] = smem[0] = '\0';
    char consumer[160], trace[33];
    if (kt_uuid4(&gw->tls, ev.id) && kt_uuid4(NULL, ev.id))
        snprintf(ev.id, sizeof ev.id, "00000000-0000-4000-8000-000000000000");
    ev.unix_ms = wall_ms();
    ev.decision = c->has_decision ? &c->decision : NULL;
    bool aborted = c->state == KT_CONN_CLOSING;
    ev.reason_code = o->reason[0] ? o->reason : aborted ? "client_closed" : NULL;
    ev.model = body_model(c, &model);
    if (!ev.model && c->target) ev.model = c->target->model;
    ev.provider = c->target ? kt_provider_for(c->target->provider)->name : NULL;
    ev.target = c->target ? c->target->id : NULL;
    ev.api = api_name(c->api);
    ev.cfg = c->cfg;
    ev.input_tokens = o->usage.input;
    ev.output_tokens = o->usage.output;
    ev.cost_usd = kt_price_usd(c->cfg ? &c->cfg->gateway.events : NULL, ev.model, ev.input_tokens, ev.output_tokens);
    ev.status = c->resp_status ? c->resp_status : 499;
    ev.latency_ms = (now - o->t0_ns) / 1000000;
    int ti = kt_headers_find(&c->in.headers, "traceparent", 0);
    if (ti >= 0) {
        kt_str v = kt_headers_value(&c->in.headers, (uint32_t)ti);
        if (kt_traceparent_id(v.p, v.n, trace)) ev.trace_id = trace;
    }
    ev.consumer = consumer_of(c, consumer, sizeof consumer, &scratch);
    if (gw->metrics) kt_events_observe(gw->metrics, &ev, o, now);
    if (gw->events) push_event(gw, &ev, &scratch);
}
