/* Governance of one gateway: the auth default, admission (model rules, then every rate and spend
 * check as one check-and-reserve, in this process or in Redis: gov_shared.c) and settlement, the
 * expiry of reservations and the spend file writer. Nothing here blocks the loop but kt_gov_new's
 * reads and kt_gov_free's last write. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gov_priv.h"
#include "kt/civil.h"
#include "kt/events.h"
#include "kt/gov_opts.h"
#include "kt/log.h"
#include "kt/policy.h"

static uint64_t wall_ms(void);

uint64_t kt__gov_wall_ms(void) { return wall_ms(); }

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* UTC day and month numbers of `ms`, and when each ends (ms). */
static void windows(uint64_t ms, int64_t *day, int64_t *month, uint64_t *day_end,
                    uint64_t *month_end)
{
    kt_civil c = kt_civil_from_days(ms / 86400000);
    *day = (int64_t)(ms / 86400000);
    *month = (int64_t)c.year * 12 + (c.month - 1);
    if (day_end) *day_end = (uint64_t)(*day + 1) * 86400000;
    if (month_end)
        *month_end = kt_days_from_civil(c.month == 12 ? c.year + 1 : c.year,
                                        c.month == 12 ? 1 : c.month + 1, 1) * 86400000;
}

/* Both clocks, read once: the spend file translates rate TATs between them. */
static void gov_now(kt_gov_now *n)
{
    n->wall_ms = wall_ms();
    n->mono_us = (int64_t)(uv_hrtime() / 1000);
    windows(n->wall_ms, &n->day, &n->month, NULL, NULL);
}

void kt__gov_windows(int64_t *day, int64_t *month)
{
    windows(wall_ms(), day, month, NULL, NULL);
}

static bool is_loopback(const char *addr)
{
    return !addr || strncmp(addr, "127.", 4) == 0 || strncmp(addr, "[::1]", 5) == 0 ||
           strncmp(addr, "localhost:", 10) == 0;
}

int kt_gov_new(uv_loop_t *loop, const kt_config *cfg, const char *listen_addr, kt_gov **out)
{
    kt_gov *g = kt_calloc(1, sizeof *g);
    if (!g) return KT_ENOMEM;
    g->loop = loop;
    g->loopback = is_loopback(listen_addr);
    kt__store_init(&g->store);
    g->live.next = g->live.prev = &g->live;
    if (cfg->gateway.state_dir) {
        g->state_dir = kt_strdup(cfg->gateway.state_dir);
        if (!g->state_dir) {
            free(g);
            return KT_ENOMEM;
        }
        kt_gov_now now;
        gov_now(&now);
        kt__persist_load(&g->store, g->state_dir, &now);
        g->saved_version = g->store.version;
    }
    if (cfg->gateway.shared_state.redis && kt__shared_new(g, cfg)) {
        kt_gov_free(g);
        return KT_ENOMEM;
    }
    if (cfg->gateway.auth == KT_AUTH_NONE && !g->loopback)
        KT_WARN("auth_none_exposed", "gateway.auth is none and kt listens on %s, not loopback: "
                "anyone who reaches the port uses the provider keys", listen_addr);
    if (kt_gov_keys_required(g, cfg) && !cfg->nconsumers)
        KT_WARN("auth_no_consumers", "gateway keys are required (listening on %s) but no "
                "consumers are configured: /v1 requests are refused until `consumers:` is set "
                "(or gateway.auth: none)", listen_addr);
    for (size_t i = 0; i < cfg->nconsumers; i++)
        for (size_t k = 0; k < cfg->consumers[i].nkeys; k++)
            if (!cfg->consumers[i].keys[k].ok)
                KT_WARN("gateway_key_unusable", "consumer %s key %zu: %s", cfg->consumers[i].name,
                        k, cfg->consumers[i].keys[k].error);
    *out = g;
    return KT_OK;
}

void kt_gov_close(kt_gov *g)
{
    if (g) kt__shared_close(g);
}

void kt_gov_free(kt_gov *g)
{
    if (!g) return;
    kt__shared_free(g);
    kt_gov_now now;
    gov_now(&now);
    if (g->state_dir && (g->store.version != g->saved_version ||
                         kt__store_rates_live(&g->store, now.mono_us))) {
        kt_buf b;
        kt_buf_init(&b, 64u << 20);
        if (!kt__persist_render(&g->store, &b, &now)) kt__persist_write(g->state_dir, b.p, b.len);
        kt_buf_free(&b);
    }
    kt_buf_free(&g->work_data);
    kt__store_free(&g->store);
    free(g->state_dir);
    free(g);
}

bool kt_gov_keys_required(const kt_gov *g, const kt_config *cfg)
{
    if (cfg->gateway.auth == KT_AUTH_KEYS) return true;
    if (cfg->gateway.auth == KT_AUTH_NONE) return false;
    return cfg->nconsumers > 0 || (g && !g->loopback);
}

/* ---- the spend file ---------------------------------------------------------------------------- */

static void save_start(kt_gov *g);

static void save_work(uv_work_t *w)
{
    kt_gov *g = w->data;
    g->work_rc = kt__persist_write(g->state_dir, g->work_data.p, g->work_data.len);
}

static void save_done(uv_work_t *w, int status)
{
    kt_gov *g = w->data;
    g->writing = false;
    if (status || g->work_rc) KT_WARN("state_write_failed", "cannot write %s/spend.json",
                                      g->state_dir);
    if (g->write_again) save_start(g);
}

static void save_start(kt_gov *g)
{
    g->write_again = false;
    if (!g->state_dir || g->store.version == g->saved_version) return;
    if (g->writing) {
        g->write_again = true;
        return;
    }
    kt_buf_free(&g->work_data);
    kt_buf_init(&g->work_data, 64u << 20);
    kt_gov_now now;
    gov_now(&now);
    if (kt__persist_render(&g->store, &g->work_data, &now)) return;
    g->saved_version = g->store.version;
    g->work.data = g;
    if (uv_queue_work(g->loop, &g->work, save_work, save_done) == 0) g->writing = true;
}

/* ---- admission --------------------------------------------------------------------------------- */

static void unlink_req(kt_gov_req *r)
{
    if (!r->next) return;
    r->prev->next = r->next;
    r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

static void sweep(kt_gov *g, uint64_t now_ms)
{
    for (kt_gov_req *r = g->live.next, *nx; r != &g->live; r = nx) {
        nx = r->next;
        if (r->expires_ms > now_ms) continue;
        kt__store_expire(&g->store, r);
        unlink_req(r);
    }
}

static const char *scope_name(kt_gov_scope s)
{
    return s == KT_SCOPE_CONSUMER ? "consumer" : s == KT_SCOPE_MODEL ? "model" : "gateway";
}

/* Joins `n` strings into dst (cap bytes, NUL-terminated). False when they do not fit. Every
 * request builds its counter keys and labels: this costs a fraction of snprintf's. */
static bool join(char *dst, size_t cap, const char *const *parts, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(parts[i]);
        if (k >= cap - len) {
            dst[0] = '\0';
            return false;
        }
        memcpy(dst + len, parts[i], k);
        len += k;
    }
    dst[len] = '\0';
    return true;
}

/* The counter key of a policy's scope: "<tag>:<policy>:<scope>[:<name>]". */
static kt_gov_entry *scoped(kt_gov *g, char tag, const char *policy, kt_gov_scope s,
                            const kt_consumer *c, const char *model)
{
    char key[KT_GOV_KEY_MAX], t[2] = { tag, '\0' };
    const char *who = s == KT_SCOPE_CONSUMER ? (c ? c->name : "-") :
                      s == KT_SCOPE_MODEL ? (model ? model : "-") : "";
    const char *parts[] = { t, ":", policy, ":", scope_name(s), ":", who };
    if (!join(key, sizeof key, parts, KT_ARRAY_LEN(parts))) return NULL;
    return kt__store_entry(&g->store, key);
}

/* "policy 'NAME' (SCOPE)", cut to fit. */
static void policy_label(char *label, size_t cap, const kt_policy_cfg *pc, kt_gov_scope s)
{
    const char *parts[] = { "policy '", pc->name, "' (", scope_name(s), ")" };
    if (!join(label, cap, parts, KT_ARRAY_LEN(parts))) snprintf(label, cap, "policy '%s'", pc->name);
}


static kt_gov_check *add(kt__admit *a, kt_gov_entry *e, uint8_t what, double limit,
                         uint16_t policy, const char *label)
{
    if (!e) {
        a->full = true;
        return NULL;
    }
    if (a->n >= KT_GOV_MAX_HOLDS) {   /* never skip a limit: refuse instead */
        a->full = true;
        return NULL;
    }
    kt_gov_check *c = &a->checks[a->n];
    memset(c, 0, sizeof *c);
    c->entry = e;
    c->what = what;
    c->limit = limit;
    c->policy = policy;
    const char *parts[] = { label };
    if (!join(a->labels[a->n], sizeof a->labels[0], parts, 1))
        snprintf(a->labels[a->n], sizeof a->labels[0], "%s", label);   /* cut to fit */
    c->label = a->labels[a->n];
    a->n++;
    return c;
}

static double est_tokens(const kt__admit *a) { return (double)(a->r->est_in + a->r->est_out); }

static void rate_checks(kt__admit *a, const kt_policy_cfg *pc, uint16_t idx)
{
    const kt_rate_opts *o = pc->state;
    const char *m = a->f->model;
    char label[96];
    policy_label(label, sizeof label, pc, o->scope);
    if (o->requests_per_minute) {
        kt_gov_check *c = add(a, scoped(a->g, 'r', pc->name, o->scope, a->r->consumer, m),
                              KT_HOLD_REQS, (double)o->requests_per_minute, idx, label);
        if (c) c->cost = 1;
    }
    if (o->tokens_per_minute) {
        kt_gov_check *c = add(a, scoped(a->g, 't', pc->name, o->scope, a->r->consumer, m),
                              KT_HOLD_TOKENS, (double)o->tokens_per_minute, idx, label);
        if (c) c->cost = est_tokens(a);
    }
}

static void spend_checks(kt__admit *a, const kt_policy_cfg *pc, uint16_t idx)
{
    const kt_spend_opts *o = pc->state;
    if (!o->max_daily_usd && !o->max_monthly_usd) return;
    char label[96];
    policy_label(label, sizeof label, pc, o->scope);
    kt_gov_check *c = add(a, scoped(a->g, 's', pc->name, o->scope, a->r->consumer, a->f->model),
                          KT_HOLD_SPEND, o->max_daily_usd, idx, label);
    if (!c) return;
    c->limit_month = o->max_monthly_usd;
    c->cost = a->est_usd;
}

/* A consumer's own counter: "<kind>::consumer:<name>". */
static kt_gov_entry *consumer_entry(kt_gov *g, const char *kind, const kt_consumer *k)
{
    char key[KT_GOV_KEY_MAX];
    const char *parts[] = { kind, k->name };
    return join(key, sizeof key, parts, 2) ? kt__store_entry(&g->store, key) : NULL;
}

static void consumer_checks(kt__admit *a)
{
    const kt_consumer *k = a->r->consumer;
    if (!k) return;
    char label[96];
    const char *lp[] = { "consumer '", k->name, "' limits" };
    if (!join(label, sizeof label, lp, KT_ARRAY_LEN(lp))) snprintf(label, sizeof label, "consumer");
    kt_gov_check *c;
    if (k->limits.requests_per_minute) {
        c = add(a, consumer_entry(a->g, "r::consumer:", k), KT_HOLD_REQS,
                (double)k->limits.requests_per_minute, UINT16_MAX, label);
        if (c) c->cost = 1;
    }
    if (k->limits.tokens_per_minute) {
        c = add(a, consumer_entry(a->g, "t::consumer:", k), KT_HOLD_TOKENS,
                (double)k->limits.tokens_per_minute, UINT16_MAX, label);
        if (c) c->cost = est_tokens(a);
    }
    if (k->limits.max_daily_usd > 0) {
        c = add(a, consumer_entry(a->g, "s::consumer:", k), KT_HOLD_SPEND,
                k->limits.max_daily_usd, UINT16_MAX, label);
        if (c) c->cost = a->est_usd;
    }
}

/* The estimate: input tokens from the body size (about 4 bytes a token; rounding up), output
 * from the request's limit or the spend-limit's default, priced like the event's cost. */
static void estimate(kt__admit *a, uint64_t default_out)
{
    kt_gov_req *r = a->r;
    r->est_in = (int64_t)(a->f->body_bytes + 3) / 4;
    r->est_out = a->f->max_tokens >= 0 ? a->f->max_tokens : (int64_t)default_out;
    snprintf(r->model, sizeof r->model, "%s", a->f->model ? a->f->model : "");
    double usd = kt_price_usd(&a->cfg->gateway.events, a->f->model, r->est_in, r->est_out);
    a->priced = usd >= 0;
    a->est_usd = usd > 0 ? usd : 0;
}

static void fmt_time(uint64_t ms, char out[32])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool refuse_spend(const kt__admit *a, const kt_gov_denial *d, uint64_t now_ms,
                         kt_gov_refusal *out)
{
    const kt_gov_check *c = &a->checks[d->index];
    uint64_t day_end, month_end;
    int64_t day, month;
    windows(now_ms, &day, &month, &day_end, &month_end);
    char reset[32];
    fmt_time(d->monthly ? month_end : day_end, reset);
    out->status = 402;
    out->type = "budget_exceeded";
    out->code = "budget_exceeded";
    out->policy = c->policy != UINT16_MAX ? a->cfg->chain[c->policy].name : NULL;
    out->has_budget = true;
    snprintf(out->budget, sizeof out->budget, "%s %s", d->monthly ? "monthly" : "daily", c->label);
    out->limit_usd = d->monthly ? c->limit_month : c->limit;
    out->spent_usd = d->spent;
    memcpy(out->reset, reset, sizeof out->reset);
    snprintf(out->msg, sizeof out->msg, "%s budget of %s exceeded: limit $%.4f, spent $%.4f, "
             "in flight $%.4f, this request up to $%.4f; resets at %s",
             d->monthly ? "monthly" : "daily", c->label, d->monthly ? c->limit_month : c->limit,
             d->spent, d->held, c->cost, reset);
    return false;
}

static bool refuse_rate(const kt__admit *a, const kt_gov_denial *d, kt_gov_refusal *out)
{
    const kt_gov_check *c = &a->checks[d->index];
    uint64_t s = (d->retry_us + 999999) / 1000000;
    out->status = 429;
    out->type = "rate_limit";
    out->code = c->what == KT_HOLD_REQS ? "rate_limit_requests" : "rate_limit_tokens";
    out->retry_after_s = (uint32_t)(s ? s : 1);
    out->policy = c->policy != UINT16_MAX ? a->cfg->chain[c->policy].name : NULL;
    snprintf(out->msg, sizeof out->msg, "rate limit of %s reached: %.0f %s per minute; retry "
             "after %u s", c->label, c->limit,
             c->what == KT_HOLD_REQS ? "requests" : "tokens", out->retry_after_s);
    return false;
}

void kt__gov_refusal(const kt__admit *a, const kt_gov_denial *d, kt_gov_refusal *out)
{
    const kt_gov_check *c = &a->checks[d->index];
    out->chain_index = c->policy != UINT16_MAX ? (int)c->policy : -1;
    if (c->what == KT_HOLD_SPEND) refuse_spend(a, d, wall_ms(), out);
    else refuse_rate(a, d, out);
}

static bool refuse_simple(kt_gov_refusal *out, int status, const char *type, const char *code,
                          const char *msg)
{
    out->status = status;
    out->type = type;
    out->code = code;
    snprintf(out->msg, sizeof out->msg, "%s", msg);
    return false;
}

static bool models_ok(kt__admit *a, kt_gov_refusal *out)
{
    const char *names[2] = { a->f->model, a->f->deployment };
    for (size_t i = 0; i < 2; i++) {
        if (kt__gov_models_ok(a->cfg, a->r->consumer, names[i])) continue;
        refuse_simple(out, 403, "permission_error", "model_not_allowed", "");
        snprintf(out->msg, sizeof out->msg, "model '%.64s' is not allowed %s", names[i],
                 a->r->consumer ? "for this consumer" : "on this gateway");
        return false;
    }
    return true;
}

void kt__gov_admitted(kt__admit *a, uint64_t now_ms, bool shared)
{
    kt_gov_req *r = a->r;
    kt_gov *g = a->g;
    r->admitted = true;
    r->shared = shared;
    if (!r->reservation_id) r->reservation_id = ++g->next_id;
    r->expires_ms = now_ms + a->ttl_ms;
    if (shared) return;   /* Redis expires its holds itself */
    r->prev = g->live.prev;
    r->next = &g->live;
    g->live.prev->next = r;
    g->live.prev = r;
}

int kt_gov_admit(kt_gov *g, const kt_config *cfg, const kt_gov_facts *f, kt_gov_req *r,
                 uint8_t *evals, kt_gov_refusal *out, kt_gov_admit_cb cb, void *cb_arg)
{
    kt__admit a = { .g = g, .cfg = cfg, .f = f, .r = r, .cb = cb, .cb_arg = cb_arg };
    out->chain_index = -1;
    if (!models_ok(&a, out)) return false;
    if (!g) {   /* no state to count with (only outside a running gateway): limits fail closed */
        bool limits = r->consumer && (r->consumer->limits.requests_per_minute ||
                                      r->consumer->limits.tokens_per_minute ||
                                      r->consumer->limits.max_daily_usd > 0);
        for (size_t i = 0; i < cfg->nchain && !limits; i++)
            limits = strcmp(cfg->chain[i].kind, "spend-limit") == 0 ||
                     strcmp(cfg->chain[i].kind, "rate-limit") == 0;
        return !limits || refuse_simple(out, 503, "unavailable", "governance_unavailable",
                                        "limits are configured but no counters are available");
    }
    uint64_t default_out = 1024;
    bool spend = false, allow_unpriced = false;
    for (size_t i = 0; i < cfg->nchain; i++) {
        const kt_policy_cfg *pc = &cfg->chain[i];
        if (strcmp(pc->kind, "spend-limit") != 0 || !pc->state) continue;
        const kt_spend_opts *o = pc->state;
        default_out = o->default_output_tokens;
        allow_unpriced |= o->allow_unpriced;
        spend = true;
    }
    estimate(&a, default_out);
    bool consumer_spend = r->consumer && r->consumer->limits.max_daily_usd > 0;
    /* A request naming no model at all (a models list, a file upload) generates no tokens. */
    if ((spend || consumer_spend) && f->model && !a.priced && !allow_unpriced) {
        refuse_simple(out, 402, "budget_exceeded", "model_unpriced", "");
        snprintf(out->msg, sizeof out->msg, "model '%.64s' has no price, so its spend cannot be "
                 "held to the budget: add it to gateway.events.prices (or set the spend-limit's "
                 "unpriced: allow)", f->model ? f->model : "(none)");
        return false;
    }
    for (size_t i = 0; i < cfg->nchain; i++) {
        const kt_policy_cfg *pc = &cfg->chain[i];
        if (!pc->state) continue;
        if (strcmp(pc->kind, "rate-limit") == 0) rate_checks(&a, pc, (uint16_t)i);
        else if (strcmp(pc->kind, "spend-limit") == 0) spend_checks(&a, pc, (uint16_t)i);
    }
    consumer_checks(&a);
    if (a.full)
        return refuse_simple(out, 503, "unavailable", "governance_state_full",
                             "too many distinct limit counters; the request is refused");
    a.ttl_ms = 15 * 60 * 1000;
    for (size_t i = 0; i < cfg->nchain; i++)
        if (strcmp(cfg->chain[i].kind, "spend-limit") == 0 && cfg->chain[i].state)
            a.ttl_ms = ((const kt_spend_opts *)cfg->chain[i].state)->reservation_ttl_ms;
    if (g->rds && a.n) {   /* gateway.shared_state */
        for (size_t i = 0; evals && i < a.n; i++)
            if (a.checks[i].policy != UINT16_MAX) evals[a.checks[i].policy] = 1;
        if (!kt__shared_ready(g)) return kt__shared_unavailable(&a, out);
        if (!cb || kt__shared_reserve(&a))
            return refuse_simple(out, 503, "unavailable", "internal_error", "out of memory");
        return KT_GOV_PENDING;
    }
    return kt__gov_reserve_local(&a, evals, out);
}

int kt__gov_reserve_local(kt__admit *a, uint8_t *evals, kt_gov_refusal *out)
{
    kt_gov *g = a->g;
    uint64_t now_ms = wall_ms();
    sweep(g, now_ms);
    int64_t day, month;
    windows(now_ms, &day, &month, NULL, NULL);
    kt_gov_denial d;
    int64_t now_us = (int64_t)(uv_hrtime() / 1000);
    bool ok = kt__store_reserve(&g->store, a->checks, a->n, now_us, day, month, a->r, &d);
    for (size_t i = 0; evals && i < a->n; i++)
        if (a->checks[i].policy != UINT16_MAX) evals[a->checks[i].policy] = 1;
    if (!ok) {
        if (evals && a->checks[d.index].policy != UINT16_MAX) evals[a->checks[d.index].policy] = 2;
        kt__gov_refusal(a, &d, out);
        return KT_GOV_REFUSED;
    }
    kt__gov_admitted(a, now_ms, false);
    return KT_GOV_ADMITTED;
}

void kt_gov_settle(kt_gov *g, const kt_config *cfg, kt_gov_req *r, bool usage_known,
                   int64_t in_tokens, int64_t out_tokens, bool answered)
{
    if (r->pending) kt__shared_detach(r);   /* Redis has not answered: nothing is held yet */
    if (!g || !r->admitted) return;
    r->admitted = false;
    unlink_req(r);
    double usd = 0, tokens = -1;
    if (usage_known) {
        int64_t in = in_tokens > 0 ? in_tokens : 0, out = out_tokens > 0 ? out_tokens : 0;
        double p = kt_price_usd(&cfg->gateway.events, r->model[0] ? r->model : NULL, in, out);
        usd = p > 0 ? p : 0;
        tokens = (double)(in + out);
    } else if (answered) {   /* an answer without usage: the estimate stands */
        double p = kt_price_usd(&cfg->gateway.events, r->model[0] ? r->model : NULL, r->est_in,
                                r->est_out);
        usd = p > 0 ? p : 0;
    } else {
        tokens = 0;   /* nothing came back: nothing was used */
    }
    if (r->shared) {
        kt__shared_settle(g, r, usd, tokens);
        r->nholds = 0;
        return;
    }
    int64_t day, month;
    windows(wall_ms(), &day, &month, NULL, NULL);
    kt__store_settle(&g->store, r, usd, tokens, (int64_t)(uv_hrtime() / 1000), day, month);
    save_start(g);
}

static int reset_str(kt_buf *out, uint64_t ms)
{
    if (ms < 1000) return kt_buf_printf(out, "%llums", (unsigned long long)ms);
    if (ms < 60000) return kt_buf_printf(out, "%.3gs", (double)ms / 1000);
    return kt_buf_printf(out, "%llum%llus", (unsigned long long)(ms / 60000),
                         (unsigned long long)(ms % 60000 / 1000));
}

int kt_gov_rate_headers(const kt_gov_req *r, kt_buf *out)
{
    int rc = KT_OK;
    if (r->rl_req_limit) {
        rc = kt_buf_printf(out, "x-ratelimit-limit-requests: %llu\r\nx-ratelimit-remaining-"
                           "requests: %llu\r\nx-ratelimit-reset-requests: ",
                           (unsigned long long)r->rl_req_limit,
                           (unsigned long long)r->rl_req_remaining);
        if (!rc) rc = reset_str(out, r->rl_req_reset_ms);
        if (!rc) rc = kt_buf_puts(out, "\r\n");
    }
    if (!rc && r->rl_tok_limit) {
        rc = kt_buf_printf(out, "x-ratelimit-limit-tokens: %llu\r\nx-ratelimit-remaining-"
                           "tokens: %llu\r\nx-ratelimit-reset-tokens: ",
                           (unsigned long long)r->rl_tok_limit,
                           (unsigned long long)r->rl_tok_remaining);
        if (!rc) rc = reset_str(out, r->rl_tok_reset_ms);
        if (!rc) rc = kt_buf_puts(out, "\r\n");
    }
    return rc;
}
