/* The chain runner: compile a config's policies, run them over text, keep the decision, render
 * redactions. Policy kinds plug in through kt_policy_kind; nothing here knows any of them. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kt/json_text.h"
#include "kt/policy.h"
#include "kt/scan_cache.h"

extern const kt_policy_kind kt_policy_pii, kt_policy_dlp, kt_policy_safety, kt_policy_injection,
    kt_policy_audit, kt_policy_spend, kt_policy_rate;

#define KT__FINDINGS_FIRST 16   /* findings allocated at the first one; doubles up to the cap */
#define KT__REDACT_STACK 32     /* redactions sorted on the stack; more are sorted on the heap */
#define KT__MARKER_BUF 256      /* one rendered marker: a short format with a label in it */

static const kt_policy_kind *const kt__kinds[] = { &kt_policy_pii, &kt_policy_dlp,
                                                   &kt_policy_safety, &kt_policy_injection,
                                                   &kt_policy_audit, &kt_policy_spend,
                                                   &kt_policy_rate };

const char *kt_action_name(kt_action a)
{
    static const char *const names[] = { "allow", "flag", "redact", "block" };
    return (unsigned)a < 4 ? names[a] : "allow";
}

const kt_policy_kind *kt_policy_kind_by_name(const char *name)
{
    for (size_t i = 0; i < KT_ARRAY_LEN(kt__kinds); i++)
        if (strcmp(kt__kinds[i]->name, name) == 0) return kt__kinds[i];
    return NULL;
}

/* ---- findings ------------------------------------------------------------------------------- */

void kt_findings_free(kt_findings *f)
{
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
    f->truncated = false;
}

int kt_findings_add(kt_findings *f, size_t start, size_t end, uint16_t policy, uint16_t label,
                    kt_action action)
{
    return kt_findings_add_weighted(f, start, end, policy, label, action, 0);
}

int kt_findings_add_weighted(kt_findings *f, size_t start, size_t end, uint16_t policy,
                             uint16_t label, kt_action action, unsigned weight)
{
    if (f->n == KT_FINDINGS_MAX) {
        f->truncated = true;
        return KT_ELIMIT;
    }
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : KT__FINDINGS_FIRST;
        kt_finding *nv = kt_realloc(f->v, ncap * sizeof *nv);
        if (!nv) return KT_ENOMEM;
        f->v = nv;
        f->cap = ncap;
    }
    f->v[f->n++] = (kt_finding){ start, end, policy, label, (uint8_t)action,
                                 (uint8_t)(weight > UINT8_MAX ? UINT8_MAX : weight) };
    return KT_OK;
}

/* ---- compiling ------------------------------------------------------------------------------ */

/* A policy of the running snapshot with the same kind and identical options: its compiled state
 * is shared (building some states, like the injection phrase table, takes tens of ms). */
static const kt_policy_cfg *reusable(const kt_config *prev, const kt_policy_cfg *pc)
{
    for (size_t i = 0; prev && i < prev->nchain; i++) {
        const kt_policy_cfg *o = &prev->chain[i];
        if (o->state && o->state_refs && strcmp(o->kind, pc->kind) == 0 &&
            kt_ynode_equal(o->options, pc->options))
            return o;
    }
    return NULL;
}

int kt_policies_compile(kt_yread *rd, const kt_config *prev, kt_config *cfg)
{
    int rc = KT_OK;
    for (size_t i = 0; i < cfg->nchain; i++) {
        kt_policy_cfg *pc = &cfg->chain[i];
        pc->impl = kt_policy_kind_by_name(pc->kind);
        if (!pc->impl) {   /* never run a config whose policy would be silently skipped */
            kt_yr_err(rd, pc->options, "policy kind '%s' is not available in this build",
                      pc->kind);
            rc = KT_EINVAL;
            continue;
        }
        /* The pack form lists a policy for both directions: the kind's default applies. */
        if (pc->input && pc->output) pc->dirs = pc->impl->default_dirs;
        else pc->dirs = (uint8_t)((pc->input ? KT_DIR_INPUT : 0) | (pc->output ? KT_DIR_OUTPUT : 0));
        const kt_policy_cfg *old = reusable(prev, pc);
        if (old) {
            pc->state = old->state;
            pc->state_refs = old->state_refs;
            (*pc->state_refs)++;
            continue;
        }
        assert(!pc->state && !pc->state_refs);   /* each snapshot's chain is compiled once */
        int r = pc->impl->compile(rd, pc, &pc->state);
        if (r && !rc) rc = r;
        if (pc->state) {
            pc->state_refs = kt_malloc(sizeof *pc->state_refs);
            if (!pc->state_refs) {
                pc->impl->destroy(pc->state);
                pc->state = NULL;
                return KT_ENOMEM;
            }
            *pc->state_refs = 1;
        }
    }
    return rc;
}

void kt_policies_destroy(kt_config *cfg)
{
    for (size_t i = 0; i < cfg->nchain; i++) {
        kt_policy_cfg *pc = &cfg->chain[i];
        if (pc->impl && pc->state && (!pc->state_refs || --(*pc->state_refs) == 0)) {
            pc->impl->destroy(pc->state);
            free(pc->state_refs);
        }
        pc->state = NULL;
        pc->state_refs = NULL;
    }
}

bool kt_chain_has(const kt_config *cfg, kt_dir dir)
{
    for (size_t i = 0; i < cfg->nchain; i++)
        if (kt_policy_scans(&cfg->chain[i], dir)) return true;
    return false;
}

/* ---- decisions ------------------------------------------------------------------------------ */

int kt_decision_init(kt_decision *d, const kt_config *cfg)
{
    memset(d, 0, sizeof *d);
    d->cfg = cfg;
    d->block_policy = -1;
    d->npolicies = cfg->nchain;
    if (cfg->nchain) {
        d->evals = kt_calloc(cfg->nchain, sizeof *d->evals);
        if (!d->evals) return KT_ENOMEM;
    }
    for (size_t i = 0; i < cfg->nchain; i++)
        if (cfg->chain[i].impl && cfg->chain[i].impl->audit) d->audit = true;
    return KT_OK;
}

void kt_decision_free(kt_decision *d)
{
    free(d->evals);
    d->evals = NULL;
}

static int label_slot(kt_policy_eval *e, uint16_t label)
{
    for (uint8_t i = 0; i < e->nlabels; i++)
        if (e->labels[i] == label) return i;
    if (e->nlabels == KT_DECISION_LABELS) return -1;
    e->labels[e->nlabels] = label;
    e->counts[e->nlabels] = e->weights[e->nlabels] = 0;
    return e->nlabels++;
}

void kt_decision_note(kt_decision *d, const kt_finding *f, kt_dir dir)
{
    if (f->policy >= d->npolicies) return;
    kt_policy_eval *e = &d->evals[f->policy];
    const kt_policy_cfg *pc = &d->cfg->chain[f->policy];
    e->found++;
    int slot = label_slot(e, f->label);
    if (slot >= 0) e->counts[slot]++;
    kt_action act = (kt_action)f->action;
    if (f->weight && pc->impl && pc->impl->threshold) {
        /* A weak signal acts only once enough of them were seen in this request. */
        e->weight += f->weight;
        uint32_t sum = e->weight;
        if (pc->impl->per_label && slot >= 0) sum = e->weights[slot] += f->weight;
        if (sum < pc->impl->threshold(pc->state)) act = KT_ACT_ALLOW;
    }
    if (act > e->result) e->result = act;
    if (act > d->verdict) d->verdict = act;
    if (act == KT_ACT_BLOCK && d->block_policy < 0) {
        d->block_policy = f->policy;
        d->block_label = f->label;
        d->block_dir = dir;
    }
}

void kt_chain_note(kt_decision *d, const kt_findings *f, size_t upto, kt_dir dir)
{
    if (!d) return;
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].end <= upto) kt_decision_note(d, &f->v[i], dir);
}

const char *kt_decision_label(const kt_decision *d, uint16_t policy, uint16_t label)
{
    const kt_policy_cfg *pc = &d->cfg->chain[policy];
    return pc->impl && pc->impl->label ? pc->impl->label(pc->state, label) : "match";
}

int kt_decision_json(const kt_decision *d, kt_buf *out)
{
    int rc = kt_buf_printf(out, "{\"verdict\":\"%s\"", kt_action_name((kt_action)d->verdict));
    if (!rc && d->block_policy >= 0) {
        const kt_policy_cfg *pc = &d->cfg->chain[d->block_policy];
        rc = kt_buf_printf(out, ",\"reason_code\":\"%s\",\"policy\":",
                           d->block_dir == KT_DIR_INPUT ? "input_blocked" : "output_blocked");
        if (!rc) rc = kt_buf_json_str(out, pc->name, strlen(pc->name));
        const char *l = kt_decision_label(d, (uint16_t)d->block_policy, d->block_label);
        if (!rc) rc = kt_buf_puts(out, ",\"label\":");
        if (!rc) rc = kt_buf_json_str(out, l, strlen(l));
    }
    if (!rc) rc = kt_buf_puts(out, ",\"policies_evaluated\":[");
    for (size_t i = 0; i < d->npolicies && !rc; i++) {
        const kt_policy_eval *e = &d->evals[i];
        const kt_policy_cfg *pc = &d->cfg->chain[i];
        rc = kt_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        if (!rc) rc = kt_buf_json_str(out, pc->name, strlen(pc->name));
        if (!rc)
            rc = kt_buf_printf(out, ",\"kind\":\"%s\",\"result\":\"%s\",\"latency_us\":%llu,"
                                    "\"entities_found\":{",
                               pc->kind, e->ran ? kt_action_name((kt_action)e->result) : "skipped",
                               (unsigned long long)(e->ns / 1000));
        for (uint8_t k = 0; k < e->nlabels && !rc; k++) {
            const char *l = kt_decision_label(d, (uint16_t)i, e->labels[k]);
            if (k) rc = kt_buf_puts(out, ",");
            if (!rc) rc = kt_buf_json_str(out, l, strlen(l));
            if (!rc) rc = kt_buf_printf(out, ":%u", e->counts[k]);
        }
        if (!rc) rc = kt_buf_puts(out, "}}");
    }
    if (!rc) rc = kt_buf_puts(out, "]}");
    return rc;
}

/* ---- running -------------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Each policy's time is the clock read after its scan minus the read before it, and the read
 * after one policy is the read before the next: n + 1 clock reads for n policies, not 2n. (The
 * runner's own few instructions between two scans are counted in the next one.) No clock is
 * read when there is no decision to keep the times in. */
int kt_chain_scan(const kt_config *cfg, kt_dir dir, const char *text, size_t len, size_t from,
                  kt_findings *f, kt_decision *d)
{
    uint64_t t0 = 0;
    bool clock_read = false;
    for (size_t i = 0; i < cfg->nchain; i++) {
        const kt_policy_cfg *pc = &cfg->chain[i];
        if (!kt_policy_scans(pc, dir)) continue;
        bool timed = d && i < d->npolicies;
        if (timed && !clock_read) t0 = now_ns();
        clock_read |= timed;
        int rc = pc->impl->scan(pc->state, text, len, from, (uint16_t)i, f);
        if (timed) {
            uint64_t t1 = now_ns();
            d->evals[i].ran = true;
            d->evals[i].ns += t1 - t0;
            t0 = t1;
        }
        if (rc == KT_ELIMIT || f->truncated) {
            /* Too many findings to redact faithfully: refuse rather than let some through. */
            kt_finding blk = { from, len, (uint16_t)i, 0, KT_ACT_BLOCK, 0 };
            if (d) kt_decision_note(d, &blk, dir);
            return KT_OK;
        }
        if (rc) return rc;
    }
    return KT_OK;
}

static void mark_ran(const kt_config *cfg, kt_dir dir, kt_decision *d)
{
    for (size_t i = 0; d && i < cfg->nchain && i < d->npolicies; i++)
        if (kt_policy_scans(&cfg->chain[i], dir)) d->evals[i].ran = true;
}

/* Entries are scoped to the config content (a snapshot with other content starts from empty)
 * and keyed by direction as well as text: the input and output chains differ. */
int kt_chain_scan_cached(kt_scan_cache *sc, const kt_config *cfg, kt_dir dir, const char *text,
                         size_t len, kt_findings *f, kt_decision *d)
{
    kt_scan_key k = { 0, 0 };
    if (sc) {
        kt_scan_cache_scope(sc, cfg->hash);
        k = kt_scan_cache_digest(sc, (uint64_t)dir, text, len);
        if (kt_scan_cache_has(sc, k)) {
            mark_ran(cfg, dir, d);
            return KT_OK;
        }
    }
    size_t before = f->n;
    int rc = kt_chain_scan(cfg, dir, text, len, 0, f, d);
    if (sc && rc == KT_OK && f->n == before && !f->truncated) kt_scan_cache_put(sc, k);
    return rc;
}

size_t kt_chain_stable(const kt_config *cfg, kt_dir dir, const char *text, size_t len,
                       size_t from)
{
    size_t n = len;
    for (size_t i = 0; i < cfg->nchain; i++) {
        const kt_policy_cfg *pc = &cfg->chain[i];
        if (!pc->impl || !pc->impl->stable || !(pc->dirs & dir)) continue;
        size_t s = pc->impl->stable(pc->state, text, len, from);
        if (s < n) n = s;
    }
    return n < from ? from : n;
}

static int cmp_finding(const void *a, const void *b)
{
    const kt_finding *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end > y->end ? -1 : 1;
    return (int)x->policy - (int)y->policy;
}

static int append_text(kt_buf *out, const char *s, size_t n, bool escape_json)
{
    return escape_json ? kt_json_escape_into(out, s, n) : kt_buf_append(out, s, n);
}

static int marker_of(const kt_config *cfg, const kt_finding *f, kt_buf *m)
{
    const kt_policy_cfg *pc = &cfg->chain[f->policy];
    return pc->impl && pc->impl->marker ? pc->impl->marker(pc->state, f->label, m)
                                        : kt_buf_puts(m, "[REDACTED]");
}

int kt_chain_each_redaction(const kt_config *cfg, const kt_findings *f, size_t from, size_t upto,
                            kt_redaction_fn fn, void *ud)
{
    kt_finding stackv[KT__REDACT_STACK];
    kt_finding *v = stackv;
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].action == KT_ACT_REDACT && f->v[i].start >= from && f->v[i].end <= upto) n++;
    if (n > KT_ARRAY_LEN(stackv)) {
        v = kt_malloc(n * sizeof *v);
        if (!v) return KT_ENOMEM;
    }
    n = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].action == KT_ACT_REDACT && f->v[i].start >= from && f->v[i].end <= upto)
            v[n++] = f->v[i];
    qsort(v, n, sizeof *v, cmp_finding);
    int rc = KT_OK;
    size_t i = 0;
    while (i < n && !rc) {
        size_t end = v[i].end, k = i + 1;
        while (k < n && v[k].start < end) {   /* merge overlaps */
            if (v[k].end > end) end = v[k].end;
            k++;
        }
        char mem[KT__MARKER_BUF];
        kt_buf m = { mem, 0, sizeof mem, sizeof mem - 1 };
        rc = marker_of(cfg, &v[i], &m);
        if (!rc) rc = fn(ud, v[i].start, end, m.p, m.len);
        i = k;
    }
    if (v != stackv) free(v);
    return rc;
}

typedef struct render_ctx {
    const char *text;
    size_t pos;
    bool escape_json;
    kt_buf *out;
} render_ctx;

static int render_span(void *ud, size_t start, size_t end, const char *marker, size_t mlen)
{
    render_ctx *r = ud;
    assert(start >= r->pos && end >= start);   /* spans come sorted and merged */
    int rc = append_text(r->out, r->text + r->pos, start - r->pos, r->escape_json);
    if (!rc) rc = append_text(r->out, marker, mlen, r->escape_json);
    r->pos = end;
    return rc;
}

int kt_chain_render(const kt_config *cfg, const char *text, size_t from, size_t upto,
                    const kt_findings *f, bool escape_json, kt_buf *out)
{
    render_ctx r = { text, from, escape_json, out };
    int rc = kt_chain_each_redaction(cfg, f, from, upto, render_span, &r);
    if (!rc && r.pos < upto) rc = append_text(out, text + r.pos, upto - r.pos, escape_json);
    return rc;
}
