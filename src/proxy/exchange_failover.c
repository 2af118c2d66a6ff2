/* Failover for one exchange: the targets it may try (its target, then the target's `fallbacks`
 * that speak the request's API and have a key), which one serves each attempt (open circuits
 * are skipped while another candidate is left), the body each attempt sends (an alias rewrites
 * the model), when a failed attempt may be followed by another (a failover trigger, nothing
 * sent to the client, attempts and retry budget left, the deadline not passed), and what the
 * attempts were (the decision event, the circuits, the counters). docs/ROUTING.md. */
#include <stdio.h>
#include <string.h>

#include "exchange.h"
#include "kt/json_text.h"
#include "kt/router.h"

#define KT__FO_MIN_LEFT_NS (5u * 1000 * 1000)   /* an attempt with less time left is not made */

static const kt_failover_opts *opts(const kt_exchange *x) { return &x->cfg->gateway.failover; }

static kt_circuit *circuit_of(kt_exchange *x, uint16_t ti)
{
    return kt_circuit_of(x->gw->circuits, x->cfg->targets[ti].id, uv_now(&x->gw->loop));
}

static const char *request_model(const kt_exchange *x)
{
    return x->facts.has_model ? x->facts.model : NULL;
}

/* Candidate i serves the next attempt. */
static void use(kt_exchange *x, size_t i, bool probe)
{
    kt_failover *f = &x->fo;
    f->next = i + 1;
    f->probe = probe;
    f->settled = false;
    f->attempt_ns = uv_hrtime();
    x->target = &x->cfg->targets[f->cand[i]];
    f->up_model = kt_target_upstream_model(x->target, request_model(x));
    x->retried = false;
}

/* The next candidate whose circuit lets a request through. The first attempt always goes
 * somewhere: with every candidate ejected it takes the first (the circuit is not a reason to
 * refuse a request); a retry only goes to an admitted one. */
static bool pick(kt_exchange *x)
{
    kt_failover *f = &x->fo;
    if (f->next >= f->ncand) return false;
    if (!x->gw->circuits) {
        use(x, f->next, false);
        return true;
    }
    uint64_t now = uv_now(&x->gw->loop);
    for (size_t i = f->next; i < f->ncand; i++) {
        bool probe = false;
        if (kt_circuit_admit(circuit_of(x, f->cand[i]), now, &probe)) {
            use(x, i, probe);
            return true;
        }
    }
    if (f->next > 0) return false;
    use(x, 0, false);
    return true;
}

static bool usable(const kt_exchange *x, const kt_target *t)
{
    return t->key && kt_provider_speaks(t->provider, x->rest);
}

void kt__fo_plan(kt_exchange *x)
{
    kt_failover *f = &x->fo;
    const kt_target *primary = x->target;
    size_t pi = (size_t)(primary - x->cfg->targets);
    f->ncand = 0;
    f->next = 0;
    f->cand[f->ncand++] = (uint16_t)pi;
    for (size_t i = 0; i < primary->nfallbacks && f->ncand < KT_FO_MAX_CANDIDATES; i++) {
        uint16_t k = primary->fallbacks[i];
        if (usable(x, &x->cfg->targets[k])) f->cand[f->ncand++] = k;
    }
    if (x->gw->circuits) kt_retry_deposit(x->gw->circuits, opts(x));
    if (f->ncand > 1) {
        uint32_t ms = opts(x)->deadline_ms ? opts(x)->deadline_ms
                                           : x->cfg->gateway.limits.upstream_first_byte_timeout_ms;
        f->deadline_ns = x->obs.t0_ns + (uint64_t)ms * 1000000u;
    }
    if (f->ncand == 1) {   /* nowhere else to go: the circuit is only watched */
        bool probe = false;
        if (x->gw->circuits) kt_circuit_admit(circuit_of(x, f->cand[0]), uv_now(&x->gw->loop),
                                              &probe);
        use(x, 0, probe);
        return;
    }
    pick(x);
}

/* The body for x->target: the request's, or a copy with the model an alias names. */
int kt__fo_prepare(kt_exchange *x, const char **body, size_t *len)
{
    kt_failover *f = &x->fo;
    const kt_buf *in = &x->c->in.body;
    *body = in->p;
    *len = in->len;
    const char *model = request_model(x);
    if (!model || !f->up_model || strcmp(model, f->up_model) == 0) return KT_OK;
    kt_json_value v;
    if (kt_json_top_field(in->p, in->len, "model", &v) || v.type != KT_JSON_STRING) return KT_OK;
    kt_buf_free(&f->body);
    kt_buf_init(&f->body, in->len + 6 * strlen(f->up_model) + 16);
    int rc = kt_buf_append(&f->body, in->p, v.start - 1);   /* up to the opening quote */
    if (!rc) rc = kt_buf_json_str(&f->body, f->up_model, strlen(f->up_model));
    if (!rc) rc = kt_buf_append(&f->body, in->p + v.end + 1, in->len - v.end - 1);
    if (rc) return rc;
    *body = f->body.p;
    *len = f->body.len;
    return KT_OK;
}

/* Records the current attempt once: the event's list, its circuit, the counters. */
static void record(kt_exchange *x, kt_attempt_outcome outcome, int status)
{
    kt_failover *f = &x->fo;
    if (f->settled || !f->next) return;
    f->settled = true;
    uint16_t ti = f->cand[f->next - 1];
    kt_attempt *a = &f->att[f->natt < KT_FO_MAX_ATTEMPTS ? f->natt++ : KT_FO_MAX_ATTEMPTS - 1];
    a->target = ti;
    a->outcome = (uint8_t)outcome;
    a->status = status;
    a->latency_ms = (uint32_t)((uv_hrtime() - f->attempt_ns) / 1000000);
    if (!x->gw->circuits) return;
    kt_circuit *c = circuit_of(x, ti);
    c->attempts[outcome]++;
    kt_circuit_result(c, opts(x), outcome != KT_ATTEMPT_OK, f->probe, uv_now(&x->gw->loop));
    f->probe = false;
}

static bool is_trigger(kt_attempt_outcome o)
{
    return o == KT_ATTEMPT_STATUS || o == KT_ATTEMPT_CONNECT || o == KT_ATTEMPT_TLS ||
           o == KT_ATTEMPT_TIMEOUT || o == KT_ATTEMPT_CLOSED;
}

bool kt__fo_failed(kt_exchange *x, kt_attempt_outcome outcome, int status)
{
    kt_failover *f = &x->fo;
    record(x, outcome, status);
    if (!is_trigger(outcome) || f->next >= f->ncand || f->natt >= opts(x)->max_attempts)
        return false;
    if (f->deadline_ns && uv_hrtime() + KT__FO_MIN_LEFT_NS >= f->deadline_ns) return false;
    if (!x->gw->circuits) return false;
    if (!kt_retry_withdraw(x->gw->circuits, opts(x))) {
        f->budget_denied = true;
        return false;
    }
    if (pick(x)) return true;
    x->gw->circuits->tokens += 1.0;   /* nobody to retry with: the token goes back */
    return false;
}

void kt__fo_settle(kt_exchange *x, kt_attempt_outcome outcome, int status)
{
    record(x, outcome, status);
}

kt_attempt_outcome kt__fo_outcome_of(const char *code)
{
    if (strcmp(code, "upstream_connect") == 0) return KT_ATTEMPT_CONNECT;
    if (strcmp(code, "upstream_tls") == 0) return KT_ATTEMPT_TLS;
    if (strcmp(code, "upstream_timeout") == 0) return KT_ATTEMPT_TIMEOUT;
    if (strcmp(code, "upstream_closed") == 0) return KT_ATTEMPT_CLOSED;
    return KT_ATTEMPT_ERROR;
}

bool kt__fo_no_retry(const kt_exchange *x)
{
    return x->fo.natt > 1 || x->fo.budget_denied;
}

bool kt__fo_sets_hint(const kt_exchange *x)
{
    return x->c->resp_status >= 400 && kt__fo_no_retry(x);   /* SDKs read it on failures only */
}

int kt__fo_headers(const kt_exchange *x, kt_buf *b)
{
    return kt__fo_sets_hint(x) ? kt_buf_puts(b, "x-should-retry: false\r\n") : KT_OK;
}

/* Appended piece by piece: this runs for every request's event, and printf cost more than the
 * rest of the event line (ids are checked at load to need no escaping, as before). */
static int attempt_json(const kt_exchange *x, const kt_attempt *a, bool first, kt_buf *out)
{
    int rc = kt_buf_puts(out, first ? "{\"target\":\"" : ",{\"target\":\"");
    if (!rc) rc = kt_buf_puts(out, x->cfg->targets[a->target].id);
    if (!rc) rc = kt_buf_puts(out, "\",\"outcome\":\"");
    if (!rc) rc = kt_buf_puts(out, kt_attempt_outcome_name((kt_attempt_outcome)a->outcome));
    if (!rc) rc = kt_buf_puts(out, "\",\"latency_ms\":");
    if (!rc) rc = kt_buf_append_u64(out, a->latency_ms);
    if (!rc && a->status > 0) {   /* an HTTP status, 0 when no head came */
        rc = kt_buf_puts(out, ",\"status\":");
        if (!rc) rc = kt_buf_append_u64(out, (uint64_t)a->status);
    }
    if (!rc) rc = kt_buf_puts(out, "}");
    return rc;
}

int kt__fo_attempts_json(const kt_exchange *x, kt_buf *out)
{
    const kt_failover *f = &x->fo;
    int rc = kt_buf_puts(out, "[");
    for (size_t i = 0; i < f->natt && !rc; i++) rc = attempt_json(x, &f->att[i], i == 0, out);
    if (!rc) rc = kt_buf_puts(out, "]");
    return rc;
}

void kt__fo_finish(kt_exchange *x)
{
    kt_failover *f = &x->fo;
    if (f->probe && !f->settled && f->next && x->gw->circuits)
        kt_circuit_release_probe(circuit_of(x, f->cand[f->next - 1]));
    f->probe = false;
    kt_buf_free(&f->body);
}
