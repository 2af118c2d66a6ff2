/* The exchange's governance hooks (kt/governance.h): the gateway key before the body is read,
 * check-and-reserve after routing, the x-ratelimit-* headers on the answer, and settlement when
 * the exchange ends, whatever way it ends. Refusals are answered here in the OpenAI error shape,
 * with Retry-After on a 429 and the budget's figures on a 402. With shared state (Redis) the
 * check-and-reserve answers later: the exchange waits in KT_X_GOV_WAIT, nothing blocks. */
#include <stdio.h>
#include <string.h>

#include "exchange.h"
#include "kt/governance.h"

static void respond(kt_exchange *x, const kt_gov_refusal *r)
{
    kt_conn *c = x->c;
    char mem[1536], extra[96] = "";
    kt_buf b = { mem, 0, sizeof mem, sizeof mem - 1 };
    int rc = kt_buf_puts(&b, "{\"error\":{\"type\":");
    if (!rc) rc = kt_buf_json_str(&b, r->type, strlen(r->type));
    if (!rc) rc = kt_buf_puts(&b, ",\"code\":");
    if (!rc) rc = kt_buf_json_str(&b, r->code, strlen(r->code));
    if (!rc) rc = kt_buf_puts(&b, ",\"message\":");
    if (!rc) rc = kt_buf_json_str(&b, r->msg, strlen(r->msg));
    if (!rc) rc = kt_buf_puts(&b, ",\"policy\":");
    if (!rc) rc = r->policy ? kt_buf_json_str(&b, r->policy, strlen(r->policy))
                            : kt_buf_puts(&b, "null");
    if (!rc && r->has_budget) {
        rc = kt_buf_puts(&b, ",\"budget\":");
        if (!rc) rc = kt_buf_json_str(&b, r->budget, strlen(r->budget));
        if (!rc) rc = kt_buf_printf(&b, ",\"limit_usd\":%.6f,\"spent_usd\":%.6f,\"reset_at\":\"%s\"",
                                    r->limit_usd, r->spent_usd, r->reset);
    }
    if (!rc) rc = kt_buf_puts(&b, "}}");
    x->phase = KT_X_DONE;
    if (rc) {
        kt_conn_error(c, r->status, r->type, r->code, r->msg);
        return;
    }
    if (r->retry_after_s)
        snprintf(extra, sizeof extra, "Retry-After: %u\r\nretry-after-ms: %llu\r\n",
                 r->retry_after_s, (unsigned long long)r->retry_after_s * 1000);
    c->srv->stats.rejected++;
    snprintf(c->resp_code, sizeof c->resp_code, "%s", r->code);
    kt_conn_respond(c, r->status, "application/json", b.p, b.len, extra[0] ? extra : NULL);
}

bool kt__gov_start(kt_exchange *x)
{
    kt_gov_refusal r;
    memset(&r, 0, sizeof r);
    if (kt_gov_authenticate(x->gw->gov, x->cfg, &x->c->in.headers, &x->gov, &r)) return true;
    respond(x, &r);
    return false;
}

static void mark_evals(kt_exchange *x, const uint8_t *evals, size_t n)
{
    for (size_t i = 0; x->has_decision && i < x->cfg->nchain && i < n; i++) {
        if (!evals[i]) continue;
        x->decision.evals[i].ran = true;
        x->decision.evals[i].result = evals[i] == 2 ? KT_ACT_BLOCK : KT_ACT_ALLOW;
    }
}

/* Admitted: on to the input check. Admitted without limits (the shared state down under
 * on_unavailable: allow) is the governance side of fail_mode: open, so the decision event says
 * `verdict: unscanned` with reason limits_unavailable, counted in keeptrusts_unscanned_total. */
static void admitted(kt_exchange *x)
{
    if (x->gov.unlimited) x->unscanned = "limits_unavailable";
    kt__proxy_admitted(x);
}

/* A pending admission's answer (the shared state's check-and-reserve). */
static void admitted_later(void *arg, int verdict, const kt_gov_refusal *r)
{
    kt_exchange *x = arg;
    if (verdict == KT_GOV_ADMITTED) {
        admitted(x);
        return;
    }
    if (r->chain_index >= 0 && x->has_decision && (size_t)r->chain_index < x->cfg->nchain) {
        x->decision.evals[r->chain_index].ran = true;
        x->decision.evals[r->chain_index].result = KT_ACT_BLOCK;
    }
    respond(x, r);   /* may finish (and free) the exchange */
}

void kt__gov_admit(kt_exchange *x)
{
    kt_gov_refusal r;
    memset(&r, 0, sizeof r);
    uint8_t evals[256] = { 0 };
    const kt_target *t = x->target;
    const kt_conn *c = x->c;
    const char *url = c->in.url.p;
    size_t plen = c->in.url.len;
    const char *q = memchr(url, '?', plen);
    if (q) plen = (size_t)(q - url);
    bool list = kt_http_in_method(&c->in) == HTTP_GET && plen == 10 && !memcmp(url, "/v1/models", 10);
    x->gov_models_list = list && kt_gov_models_filtered(x->cfg, x->gov.consumer);
    kt_gov_facts f = {
        /* without a model in the body, the target's is what it serves (a list of models: none) */
        .model = x->facts.has_model ? x->facts.model : x->api != KT_API_OTHER ? t->model : NULL,
        .deployment = t->provider == KT_PROVIDER_AZURE ? t->deployment : NULL,
        .body_bytes = x->c->in.body.len,
        .max_tokens = x->facts.max_tokens,
    };
    x->phase = KT_X_GOV_WAIT;
    int v = kt_gov_admit(x->gw->gov, x->cfg, &f, &x->gov,
                         x->cfg->nchain <= sizeof evals ? evals : NULL, &r, admitted_later, x);
    mark_evals(x, evals, sizeof evals);
    if (v == KT_GOV_PENDING) return;   /* admitted_later goes on */
    if (v == KT_GOV_ADMITTED) admitted(x);
    else respond(x, &r);   /* may finish (and free) the exchange */
}

int kt__gov_headers(const kt_exchange *x, kt_buf *b)
{
    return x->gov.admitted ? kt_gov_rate_headers(&x->gov, b) : KT_OK;
}

void kt__gov_filter_list(kt_exchange *x)
{
    if (!x->gov_models_list || x->c->resp_status != 200) return;
    kt_buf out;
    kt_buf_init(&out, x->resp_body.max);
    if (kt_gov_filter_models(x->cfg, x->gov.consumer, x->resp_body.p ? x->resp_body.p : "",
                             x->resp_body.len, &out)) {
        /* not a list kt can read: nothing of it goes out (it could name forbidden models) */
        kt_buf_reset(&x->resp_body);
        kt_buf_puts(&x->resp_body, "{\"object\":\"list\",\"data\":[]}");
        kt_buf_free(&out);
        return;
    }
    kt_buf_free(&x->resp_body);
    x->resp_body = out;
}

void kt__gov_finish(kt_exchange *x)
{
    const kt_usage_sniff *u = &x->obs.usage;
    bool known = u->input >= 0 || u->output >= 0;
    bool answered = x->up_status >= 200 && x->up_status < 300;
    kt_gov_settle(x->gw->gov, x->cfg, &x->gov, known, u->input, u->output, answered);
}
