/* The exchange's model-tier phase (kt/classifier.h): while a JSON body is walked, the texts each
 * classifier-backed policy did not decide (its in-process score inside the policy's undecided
 * band, and not already in the clean-text cache) are collected; after the walk, one request per
 * such policy goes to its classifier over the upstream pool, asynchronously, each with a timer.
 * When every answer is in (or timed out), the verdicts are noted in the decision and the
 * exchange resumes where it stopped. A call that outlives its exchange (the client went away) is
 * detached: its connection is let go and it frees itself once its timer has closed. Texts and the
 * API key are never logged; only digests of clean texts are kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange.h"
#include "kt/log.h"
#include "kt/metrics.h"

#define KT_CLF_HEAD_MAX 8192

typedef struct clf_call clf_call;

/* One policy's undecided texts, then its call. */
typedef struct clf_pending {
    bool used;
    size_t n;
    bool overflow;             /* more undecided texts than one call carries */
    uint32_t cached;           /* undecided texts answered by the cache */
    kt_buf texts;              /* the texts, back to back */
    size_t off[KT_CLF_TEXTS_MAX], len[KT_CLF_TEXTS_MAX];
    kt_clf_key keys[KT_CLF_TEXTS_MAX];
    clf_call *call;            /* in flight, NULL when none */
} clf_pending;

struct kt_model_wait {
    kt_dir dir;
    size_t npol;
    clf_pending *p;            /* one per chain entry */
    unsigned outstanding;      /* calls not yet answered */
    kt__model_resume_fn resume;
    kt_buf out;                /* output: the walk's redacted body, kept for the resume */
    bool changed;
    size_t bom;
};

struct clf_call {
    kt_exchange *x;            /* NULL once detached */
    uint16_t policy;
    const kt_clf_cfg *cfg;     /* valid while attached (the exchange holds the snapshot) */
    kt_upconn *up;
    uv_timer_t timer;
    bool finished, retried;
    int status;
    uint64_t t0_ns;
    kt_buf head, body, resp;
};

static const kt_upstream_handler kt__clf_upstream;

/* ---- collecting ------------------------------------------------------------------------------- */

static const kt_clf_cfg *clf_of(const kt_policy_cfg *pc, kt_dir dir)
{
    if (!kt_policy_scans(pc, dir) || !pc->impl->classifier || !pc->impl->score) return NULL;
    const kt_clf_cfg *c = pc->impl->classifier(pc->state);
    return c && (dir == KT_DIR_INPUT || c->output) ? c : NULL;
}

static bool pending_has(const clf_pending *p, const kt_clf_key *k)
{
    for (size_t i = 0; i < p->n; i++)
        if (!memcmp(p->keys[i].d, k->d, sizeof k->d)) return true;
    return false;
}

/* One text against one policy's band: cached, queued, or nothing to ask. */
static int collect_one(kt_exchange *x, size_t i, const kt_clf_cfg *c, const char *text, size_t len)
{
    const kt_policy_cfg *pc = &x->cfg->chain[i];
    float s = pc->impl->score(pc->state, text, len);
    if (s < c->band_lo || s >= c->band_hi) return KT_OK;   /* decided in-process */
    clf_pending *p = &x->model->p[i];
    p->used = true;
    kt_clf_key k;
    kt_clf_key_of(x->cfg->hash, pc->name, (int)x->model->dir, text, len, &k);
    if (pending_has(p, &k)) return KT_OK;
    if (kt_clf_cache_has(&x->gw->clf_cache, &k)) {
        p->cached++;
        if (x->gw->metrics) x->gw->metrics->classifier_cache_hits++;
        return KT_OK;
    }
    if (p->n == KT_CLF_TEXTS_MAX) {
        p->overflow = true;
        return KT_OK;
    }
    p->off[p->n] = p->texts.len;
    p->len[p->n] = len;
    p->keys[p->n] = k;
    int rc = kt_buf_append(&p->texts, text, len);
    if (rc) return rc == KT_ELIMIT ? (p->overflow = true, KT_OK) : rc;
    p->n++;
    return KT_OK;
}

static int on_text(void *ud, const char *text, size_t len)
{
    kt_exchange *x = ud;
    for (size_t i = 0; i < x->model->npol; i++) {
        const kt_clf_cfg *c = clf_of(&x->cfg->chain[i], x->model->dir);
        int rc = c ? collect_one(x, i, c, text, len) : KT_OK;
        if (rc) return rc;
    }
    return KT_OK;
}

/* The largest cache any classifier of the snapshot asks for: one gateway cache serves them. */
static uint32_t cache_wanted(const kt_config *cfg)
{
    uint32_t n = 0;
    for (size_t i = 0; i < cfg->nchain; i++) {
        const kt_policy_cfg *pc = &cfg->chain[i];
        const kt_clf_cfg *c = pc->impl && pc->impl->classifier ? pc->impl->classifier(pc->state)
                                                               : NULL;
        if (c && c->cache_entries > n) n = c->cache_entries;
    }
    return n;
}

bool kt__model_wanted(const kt_exchange *x, kt_dir dir)
{
    if (!x->has_decision) return false;
    for (size_t i = 0; i < x->cfg->nchain; i++)
        if (clf_of(&x->cfg->chain[i], dir)) return true;
    return false;
}

int kt__model_walk(kt_exchange *x, kt_dir dir, kt_policy_walk *w)
{
    if (!kt__model_wanted(x, dir)) return KT_OK;
    kt__model_free(x);   /* input's wait, if any, is over */
    kt_model_wait *m = kt_calloc(1, sizeof *m);
    if (m) m->p = kt_calloc(x->cfg->nchain, sizeof *m->p);
    if (!m || !m->p) {
        free(m);
        return KT_ENOMEM;
    }
    m->dir = dir;
    m->npol = x->cfg->nchain;
    size_t cap = dir == KT_DIR_INPUT ? x->c->in.body.max : x->resp_body.max;
    for (size_t i = 0; i < m->npol; i++) kt_buf_init(&m->p[i].texts, cap);
    kt_buf_init(&m->out, 0);
    x->model = m;
    (void)kt_clf_cache_size(&x->gw->clf_cache, cache_wanted(x->cfg));   /* no memory: no cache */
    w->on_text = on_text;
    w->text_ud = x;
    return KT_OK;
}

/* ---- verdicts ---------------------------------------------------------------------------------- */

static void count(kt_exchange *x, uint16_t policy, kt_clf_outcome o)
{
    kt_metrics *m = x->gw->metrics;
    if (!m) return;
    const char *names[2] = { "policy", "outcome" };
    const char *values[2] = { kt_metrics_bound(&m->policies, x->cfg->chain[policy].name),
                              kt_clf_outcome_name(o) };
    kt_metrics_add_fixed(m, &m->classifier, names, values, 2, 1);
}

/* Notes one policy's outcome in the decision: a flag or block for a flagged text, the cache
 * filled for clean ones, the fail mode for the rest. */
static void apply(kt_exchange *x, uint16_t policy, kt_clf_outcome o, const kt_clf_verdict *v)
{
    const kt_policy_cfg *pc = &x->cfg->chain[policy];
    const kt_clf_cfg *c = pc->impl->classifier(pc->state);
    clf_pending *p = &x->model->p[policy];
    x->decision.evals[policy].classifier = (uint8_t)o;
    count(x, policy, o);
    if (o == KT_CLF_CLEAN) {
        for (size_t i = 0; i < p->n; i++) kt_clf_cache_put(&x->gw->clf_cache, &p->keys[i]);
        return;
    }
    if (o == KT_CLF_CACHED) return;
    uint16_t label = o == KT_CLF_FLAGGED ? v->label : KT_CLF_LABEL_UNAVAILABLE;
    if (o != KT_CLF_FLAGGED) {
        KT_WARN("classifier_unavailable", "policy %s: classifier %s (fail_mode %s)", pc->name,
                kt_clf_outcome_name(o), c->fail_open ? "open" : "closed");
        if (c->fail_open) return;   /* the in-process decision stands; the event says why */
    }
    kt_finding f = { 0, 0, policy, label, c->action, 0 };
    kt_decision_note(&x->decision, &f, x->model->dir);
}

static void resume(kt_exchange *x)
{
    kt__model_resume_fn fn = x->model->resume;
    fn(x);
}

/* ---- one call ---------------------------------------------------------------------------------- */

static void call_free(uv_handle_t *h)
{
    clf_call *k = h->data;
    kt_buf_wipe(&k->head);   /* it held the API key */
    kt_buf_free(&k->head);
    kt_buf_free(&k->body);
    kt_buf_free(&k->resp);
    free(k);
}

/* Ends a call (once): lets the connection go, closes the timer (the call is freed in its close
 * callback, after this returns), and tells the exchange, which may resume and finish. */
static void call_end(clf_call *k, kt_clf_outcome o, const kt_clf_verdict *v)
{
    if (k->finished) return;
    k->finished = true;
    if (k->up) kt_upconn_release(k->up);
    k->up = NULL;
    uv_timer_stop(&k->timer);
    uv_close((uv_handle_t *)&k->timer, call_free);
    kt_exchange *x = k->x;
    if (!x) return;
    if (x->gw->metrics) kt_hist_observe(&x->gw->metrics->classifier_latency,
                                        (double)(uv_hrtime() - k->t0_ns) / 1e9);
    x->model->p[k->policy].call = NULL;
    apply(x, k->policy, o, v);
    if (--x->model->outstanding == 0) resume(x);
}

static void call_fail(clf_call *k, kt_clf_outcome o)
{
    kt_clf_verdict v = { false, 0 };
    call_end(k, o, &v);
}

static void call_send(clf_call *k)
{
    if (kt_upconn_send(k->up, k->head.p, k->head.len, k->body.p, k->body.len, false))
        call_fail(k, KT_CLF_ERROR);
}

static void call_connect(clf_call *k)
{
    kt_upconn *up = NULL;
    int rc = kt_upstream_acquire(&k->x->gw->pools, &k->cfg->target, &kt__clf_upstream, k, &up);
    if (rc < 0) {
        call_fail(k, KT_CLF_ERROR);
        return;
    }
    k->up = up;
    if (rc == 1) call_send(k);
}

static void on_ready(void *owner, kt_upconn *up)
{
    clf_call *k = owner;
    k->up = up;
    call_send(k);
}

static void on_head(void *owner, int status, const kt_headers *hs, bool has_length)
{
    (void)hs;
    (void)has_length;
    ((clf_call *)owner)->status = status;
}

static void on_body(void *owner, const char *data, size_t len)
{
    clf_call *k = owner;
    if (kt_buf_append(&k->resp, data, len)) call_fail(k, KT_CLF_UNREADABLE);
}

static void on_done(void *owner)
{
    clf_call *k = owner;
    if (k->status < 200 || k->status > 299) {
        call_fail(k, KT_CLF_ERROR);
        return;
    }
    const kt_clf_cfg *c = k->cfg;
    const clf_pending *p = &k->x->model->p[k->policy];
    const char *b = k->resp.p ? k->resp.p : "";
    kt_clf_verdict v;
    int rc = c->kind == KT_CLF_MODERATIONS
                 ? kt_clf_parse_moderations(b, k->resp.len, p->n, c->category_mask, &v)
                 : kt_clf_parse_chat(b, k->resp.len, c->task, c->category_mask, &v);
    if (rc) call_fail(k, KT_CLF_UNREADABLE);
    else call_end(k, v.flagged ? KT_CLF_FLAGGED : KT_CLF_CLEAN, &v);
}

static void on_error(void *owner, const char *code, const char *msg, bool retryable)
{
    clf_call *k = owner;
    (void)msg;
    k->up = NULL;   /* the connection is gone */
    if (retryable && !k->retried && !k->status) {   /* a pooled connection closed: once more */
        k->retried = true;
        kt_buf_reset(&k->resp);
        call_connect(k);
        return;
    }
    KT_DEBUG("classifier_error", "%s", code);
    call_fail(k, KT_CLF_ERROR);
}

static const kt_upstream_handler kt__clf_upstream = { on_ready, on_head, on_body, on_done,
                                                      on_error, NULL };

static void on_timeout(uv_timer_t *t) { call_fail(t->data, KT_CLF_TIMEOUT); }

/* POST {path} with the JSON body; the key as Bearer, never anywhere else. */
static int build_head(const kt_clf_cfg *c, size_t blen, kt_buf *h)
{
    const kt_target *t = &c->target;
    bool v6 = strchr(t->host, ':') != NULL;
    int rc = kt_buf_printf(h, "POST %s HTTP/1.1\r\nHost: %s%s%s:%u\r\nContent-Type: "
                              "application/json\r\nAccept: application/json\r\nContent-Length: "
                              "%zu\r\nUser-Agent: kt-classifier\r\n",
                           c->path, v6 ? "[" : "", t->host, v6 ? "]" : "", t->port, blen);
    if (!rc && c->api_key) rc = kt_buf_printf(h, "Authorization: Bearer %s\r\n", c->api_key);
    if (!rc) rc = kt_buf_puts(h, "\r\n");
    return rc;
}

static int call_start(kt_exchange *x, uint16_t policy, const kt_clf_cfg *c)
{
    clf_pending *p = &x->model->p[policy];
    clf_call *k = kt_calloc(1, sizeof *k);
    if (!k) return KT_ENOMEM;
    k->x = x;
    k->policy = policy;
    k->cfg = c;
    k->t0_ns = uv_hrtime();
    kt_buf_init(&k->head, KT_CLF_HEAD_MAX);
    kt_buf_init(&k->body, p->texts.len * 6 + 4096);
    kt_buf_init(&k->resp, KT_CLF_ANSWER_MAX);
    const char *texts[KT_CLF_TEXTS_MAX];
    for (size_t i = 0; i < p->n; i++) texts[i] = p->texts.p + p->off[i];
    int rc = kt_clf_request_body(c, texts, p->len, p->n, &k->body);
    if (!rc) rc = build_head(c, k->body.len, &k->head);
    uv_timer_init(&x->gw->loop, &k->timer);
    k->timer.data = k;
    p->call = k;
    x->model->outstanding++;
    if (rc) {
        call_fail(k, KT_CLF_ERROR);
        return KT_OK;
    }
    uv_timer_start(&k->timer, on_timeout, c->timeout_ms, 0);
    call_connect(k);
    return KT_OK;
}

/* ---- the phase --------------------------------------------------------------------------------- */

/* Starts the calls; answers without one (cached, too many texts) are applied at once. The
 * outstanding count holds one extra while starting, so that a call failing at once does not
 * resume the exchange before the others are started. */
int kt__model_start(kt_exchange *x, kt__model_resume_fn fn)
{
    kt_model_wait *m = x->model;
    if (!m || x->decision.verdict == KT_ACT_BLOCK) return 0;
    m->resume = fn;
    m->outstanding = 1;
    for (size_t i = 0; i < m->npol && x->decision.verdict != KT_ACT_BLOCK; i++) {
        clf_pending *p = &m->p[i];
        if (!p->used) continue;
        const kt_clf_cfg *c = clf_of(&x->cfg->chain[i], m->dir);
        kt_clf_verdict none = { false, 0 };
        if (p->overflow) apply(x, (uint16_t)i, KT_CLF_ERROR, &none);
        else if (!p->n) apply(x, (uint16_t)i, KT_CLF_CACHED, &none);
        else if (call_start(x, (uint16_t)i, c)) apply(x, (uint16_t)i, KT_CLF_ERROR, &none);
    }
    if (--m->outstanding == 0) return 0;   /* every answer is in: go on now */
    return 1;
}

void kt__model_keep(kt_exchange *x, kt_buf *out, bool changed, size_t bom)
{
    kt_model_wait *m = x->model;
    kt_buf_free(&m->out);
    m->out = *out;
    kt_buf_init(out, 0);
    m->changed = changed;
    m->bom = bom;
}

void kt__model_take(kt_exchange *x, kt_buf *out, bool *changed, size_t *bom)
{
    kt_model_wait *m = x->model;
    *out = m->out;
    kt_buf_init(&m->out, 0);
    *changed = m->changed;
    *bom = m->bom;
}

void kt__model_free(kt_exchange *x)
{
    kt_model_wait *m = x->model;
    if (!m) return;
    x->model = NULL;
    for (size_t i = 0; i < m->npol; i++) {
        clf_call *k = m->p[i].call;
        if (k) {   /* detach: the call ends on its own, telling no one */
            k->x = NULL;
            call_fail(k, KT_CLF_ERROR);
        }
        kt_buf_free(&m->p[i].texts);
    }
    kt_buf_free(&m->out);
    free(m->p);
    free(m);
}
