/* The request-end hook: what one /v1 request did, as the proxy filled it into a kt_event_info,
 * becomes one decision event (queued, never waited on) and a handful of metric updates. Only
 * names, codes, counts and timings arrive here, never content. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "kt/events.h"
#include "kt/metrics.h"

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

/* Governance's refusals: kt answered (a reason code) with one of its statuses. */
static const char *refusal(const kt_event_info *ev)
{
    if (!ev->reason_code || !*ev->reason_code) return NULL;
    switch (ev->status) {
    case 401: return "authentication";
    case 402: return "budget_exceeded";
    case 403: return "model_not_allowed";
    case 429: return "rate_limit";
    default: return NULL;
    }
}

static void observe_decision(kt_metrics *m, const kt_event_info *ev)
{
    const char *dn[] = { "decision" };
    if (ev->decision || ev->unscanned) {
        const char *dv[] = { ev->unscanned ? "unscanned" : kt_event_verdict(ev->decision) };
        kt_metrics_add_fixed(m, &m->decisions, dn, dv, 1, 1);
    }
    const char *why = refusal(ev);
    if (why) {
        const char *rn[] = { "reason" }, *rv[] = { why };
        kt_metrics_add_fixed(m, &m->refusals, rn, rv, 1, 1);
    }
}

void kt_events_observe(kt_metrics *m, const kt_event_info *ev, const kt_req_obs *o, uint64_t now)
{
    const char *status = kt__status[ev->status >= 100 && ev->status <= 999 ? ev->status : 0];
    const char *model = kt_metrics_bound(&m->models, ev->model);
    const char *target = kt_metrics_bound(&m->targets, ev->target);
    const char *rn[] = { "target", "model", "status" }, *rv[] = { target, model, status };
    kt_metrics_add_fixed(m, &m->requests, rn, rv, 3, 1);
    if (ev->gw_consumer) {   /* governance: the consumer, bounded like every label */
        const char *cn[] = { "consumer", "status" };
        const char *cv[] = { kt_metrics_bound(&m->consumer_names, ev->gw_consumer), status };
        kt_metrics_add_fixed(m, &m->consumers, cn, cv, 2, 1);
    }
    observe_policies(m, ev->decision);
    if (ev->unscanned) {   /* the reasons are the proxy's static strings: a bounded label */
        const char *un[] = { "reason" }, *uv[] = { ev->unscanned };
        kt_metrics_add_fixed(m, &m->unscanned, un, uv, 1, 1);
    }
    observe_decision(m, ev);
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
static void push_event(const kt_obs_sink *sink, const kt_event_info *ev)
{
    char smem[16384];   /* no allocation per request in the common case */
    kt_buf scratch = { smem, 0, sizeof smem, sizeof smem - 1 };
    int rc = kt_event_json(ev, &scratch);
    if (rc == KT_ELIMIT) {
        kt_buf big;
        kt_buf_init(&big, 256 * 1024);
        rc = kt_event_json(ev, &big);
        if (!rc) kt_events_push(sink->events, big.p, big.len);
        kt_buf_free(&big);
    } else if (!rc) {
        kt_events_push(sink->events, scratch.p, scratch.len);
    }
    if (rc && sink->metrics) sink->metrics->events_dropped++;   /* cannot happen with sane names */
}

void kt_request_done(const kt_obs_sink *sink, kt_event_info *ev, const kt_req_obs *o, uint64_t now)
{
    if (!sink->events && !sink->metrics) return;
    if (kt_uuid4(sink->rng, ev->id) && kt_uuid4(NULL, ev->id))
        snprintf(ev->id, sizeof ev->id, "00000000-0000-4000-8000-000000000000");
    ev->unix_ms = wall_ms();
    if (sink->metrics) kt_events_observe(sink->metrics, ev, o, now);
    if (sink->events) push_event(sink, ev);
}
