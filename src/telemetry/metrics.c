/* Metric storage: labelled series with bounded cardinality and fixed-bucket histograms. Values
 * that would open a new label value past the cap become "other"; families past their series cap
 * fold into one "other" series, so a hostile client cannot grow memory through labels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt/metrics.h"

void kt_metrics_init(kt_metrics *m) { memset(m, 0, sizeof *m); }

static void family_free(kt_mfamily *f)
{
    for (size_t i = 0; i < f->n; i++) free(f->v[i].labels);
    free(f->v);
    memset(f, 0, sizeof *f);
}

static void set_free(kt_mlabel_set *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->vals[i]);
    s->n = 0;
}

void kt_metrics_free(kt_metrics *m)
{
    family_free(&m->requests);
    family_free(&m->policy_evals);
    family_free(&m->redactions);
    family_free(&m->blocks);
    family_free(&m->tokens);
    family_free(&m->cost);
    family_free(&m->consumers);
    family_free(&m->unscanned);
    family_free(&m->classifier);
    family_free(&m->decisions);
    family_free(&m->refusals);
    set_free(&m->models);
    set_free(&m->targets);
    set_free(&m->policies);
    set_free(&m->entities);
    set_free(&m->consumer_names);
}

const char *kt_metrics_bound(kt_mlabel_set *s, const char *v)
{
    if (!v || !*v) return "none";
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->vals[i], v) == 0) return s->vals[i];
    if (s->n == KT_METRIC_LABEL_VALUES) return "other";
    char *d = kt_strndup(v, KT_MIN(strlen(v), 96));
    if (!d) return "other";
    s->vals[s->n++] = d;
    return d;
}

static uint32_t fnv(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Label values are escaped as the text format requires (\\, \", \n); other control bytes and
 * anything outside printable ASCII become '_'. */
static int put_label_value(kt_buf *b, const char *v)
{
    size_t plain = 0;
    while (v[plain] >= 0x20 && v[plain] < 0x7f && v[plain] != '\\' && v[plain] != '"') plain++;
    int rc = kt_buf_append(b, v, plain);
    for (v += plain; *v && !rc; v++) {
        unsigned char ch = (unsigned char)*v;
        if (ch == '\\') rc = kt_buf_append(b, "\\\\", 2);
        else if (ch == '"') rc = kt_buf_append(b, "\\\"", 2);
        else if (ch < 0x20 || ch >= 0x7f) rc = kt_buf_append(b, "_", 1);
        else rc = kt_buf_append(b, v, 1);
    }
    return rc;
}

static kt_mseries *series_get(kt_mfamily *f, const char *labels)
{
    uint32_t h = fnv(labels);
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].hash == h && strcmp(f->v[i].labels, labels) == 0) return &f->v[i];
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 16;
        kt_mseries *nv = kt_realloc(f->v, ncap * sizeof *nv);
        if (!nv) return NULL;
        f->v = nv;
        f->cap = ncap;
    }
    char *d = kt_strdup(labels);
    if (!d) return NULL;
    f->v[f->n] = (kt_mseries){ d, h, 0 };
    return &f->v[f->n++];
}

/* The series of these labels (created when new), NULL when the label text does not fit. */
static kt_mseries *series_for(kt_mfamily *fam, const char *const *names,
                              const char *const *values, size_t n)
{
    char mem[512];
    kt_buf b = { mem, 0, sizeof mem, sizeof mem - 1 };
    mem[0] = '\0';
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (i) rc = kt_buf_append(&b, ",", 1);
        if (!rc) rc = kt_buf_puts(&b, names[i]);
        if (!rc) rc = kt_buf_append(&b, "=\"", 2);
        if (!rc) rc = put_label_value(&b, fam->n >= KT_METRIC_SERIES_MAX ? "other" : values[i]);
        if (!rc) rc = kt_buf_append(&b, "\"", 1);
    }
    return rc ? NULL : series_get(fam, mem);
}

void kt_metrics_add(kt_metrics *m, kt_mfamily *fam, const char *const *names,
                    const char *const *values, size_t n, double v)
{
    (void)m;
    kt_mseries *s = series_for(fam, names, values, n);
    if (s) s->v += v;
}

static kt_mcache_ent *cache_slot(kt_mfamily *fam, const char *const *names,
                                 const char *const *values, size_t n)
{
    uint64_t h = n;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uintptr_t)names[i]) * 0x9e3779b97f4a7c15u;
        h = (h ^ (uintptr_t)values[i]) * 0x9e3779b97f4a7c15u;
    }
    _Static_assert(KT_MCACHE_SLOTS % 2 == 0, "slots come in pairs");
    return &fam->cache[((h >> 32) % KT_MCACHE_SLOTS) & ~(uint64_t)1];   /* the pair's first */
}

static bool cache_hit(const kt_mcache_ent *c, const char *const *names,
                      const char *const *values, size_t n)
{
    if (!c->series || c->n != n) return false;
    for (size_t i = 0; i < n; i++)
        if (c->names[i] != names[i] || c->values[i] != values[i]) return false;
    return true;
}

void kt_metrics_add_fixed(kt_metrics *m, kt_mfamily *fam, const char *const *names,
                          const char *const *values, size_t n, double v)
{
    /* A full family folds new updates into "other": that stays on the text path. */
    if (n > KT_MCACHE_LABELS || fam->n >= KT_METRIC_SERIES_MAX) {
        kt_metrics_add(m, fam, names, values, n, v);
        return;
    }
    kt_mcache_ent *pair = cache_slot(fam, names, values, n), *c = pair;
    for (int w = 0; w < 2; w++)
        if (cache_hit(&pair[w], names, values, n)) {
            fam->v[pair[w].series - 1].v += v;
            return;
        }
    kt_mseries *s = series_for(fam, names, values, n);
    if (!s) return;
    s->v += v;
    /* the empty way, else the second (the first keeps the older key) */
    if (pair[0].series) c = &pair[1];
    c->series = (uint32_t)(s - fam->v) + 1;
    c->n = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        c->names[i] = names[i];
        c->values[i] = values[i];
    }
}

static const double kt__bounds[KT_HIST_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25,   0.5,   1,      2.5,   5,    10,   30,   60,
};

void kt_hist_observe(kt_hist *h, double seconds)
{
    if (seconds < 0) seconds = 0;
    size_t i = 0;
    while (i < KT_HIST_BUCKETS && seconds > kt__bounds[i]) i++;
    h->counts[i]++;
    h->n++;
    h->sum += seconds;
}

uint64_t kt_metrics_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, res = 0;
    int n = fscanf(f, "%llu %llu", &size, &res);
    fclose(f);
    if (n != 2) return 0;
    long pg = sysconf(_SC_PAGESIZE);
    return res * (uint64_t)(pg > 0 ? pg : 4096);
}

/* ---- exposition ------------------------------------------------------------------------------ */

static int head(kt_buf *b, const char *name, const char *type, const char *help)
{
    return kt_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int family(kt_buf *b, const char *name, const char *help, const kt_mfamily *f)
{
    int rc = head(b, name, "counter", help);
    for (size_t i = 0; i < f->n && !rc; i++)
        rc = kt_buf_printf(b, "%s{%s} %.15g\n", name, f->v[i].labels, f->v[i].v);
    return rc;
}

static int scalar(kt_buf *b, const char *name, const char *type, const char *help, double v)
{
    int rc = head(b, name, type, help);
    if (!rc) rc = kt_buf_printf(b, "%s %.15g\n", name, v);
    return rc;
}

static int hist_series(kt_buf *b, const char *name, const char *label, const kt_hist *h)
{
    int rc = 0;
    uint64_t cum = 0;
    const char *sep = label ? "," : "";
    label = label ? label : "";
    for (size_t i = 0; i < KT_HIST_BUCKETS && !rc; i++) {
        cum += h->counts[i];
        rc = kt_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, label, sep, kt__bounds[i],
                           (unsigned long long)cum);
    }
    cum += h->counts[KT_HIST_BUCKETS];
    if (!rc)
        rc = kt_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, label, sep,
                           (unsigned long long)cum);
    const char *lb = *label ? "{" : "", *le = *label ? "}" : "";
    if (!rc) rc = kt_buf_printf(b, "%s_sum%s%s%s %.9f\n", name, lb, label, le, h->sum);
    if (!rc)
        rc = kt_buf_printf(b, "%s_count%s%s%s %llu\n", name, lb, label, le,
                           (unsigned long long)h->n);
    return rc;
}

typedef struct scalar_spec {
    const char *name, *type, *help;
    double v;
} scalar_spec;

static int families(const kt_metrics *m, kt_buf *b)
{
    const struct {
        const char *name, *help;
        const kt_mfamily *f;
    } fams[] = {
        { "keeptrusts_requests_total", "Requests by target, model and status.", &m->requests },
        { "keeptrusts_policy_evaluations_total", "Policy evaluations by policy and result.",
          &m->policy_evals },
        { "keeptrusts_redactions_total", "Redacted entities by entity type.", &m->redactions },
        { "keeptrusts_blocks_total", "Blocked requests and responses by reason and policy.",
          &m->blocks },
        { "keeptrusts_tokens_total", "Tokens by direction and model, from provider usage.",
          &m->tokens },
        { "keeptrusts_cost_usd_total", "Estimated cost in US dollars by model.", &m->cost },
        { "keeptrusts_policy_decisions_total",
          "Requests by the policy chain's decision (allow, redact, block, unscanned).",
          &m->decisions },
        { "keeptrusts_governance_refusals_total",
          "Requests refused by governance by reason (authentication, model_not_allowed, "
          "budget_exceeded, rate_limit).", &m->refusals },
    };
    int rc = 0;
    for (size_t i = 0; i < KT_ARRAY_LEN(fams) && !rc; i++)
        rc = family(b, fams[i].name, fams[i].help, fams[i].f);
    /* Only once fail_mode: open let something through unread. */
    if (!rc && m->unscanned.n)
        rc = family(b, "keeptrusts_unscanned_total", "Requests and responses forwarded without a "
                    "policy check (gateway.fail_mode: open) by reason.", &m->unscanned);
    /* Only with a model tier configured and used (kt/classifier.h). */
    if (!rc && m->classifier.n)
        rc = family(b, "keeptrusts_classifier_requests_total",
                    "Model-tier classifier calls by policy and outcome.", &m->classifier);
    if (!rc && m->classifier.n)
        rc = scalar(b, "keeptrusts_classifier_cache_hits_total", "counter",
                    "Undecided texts answered from the model tier's clean-text cache.",
                    (double)m->classifier_cache_hits);
    if (!rc && m->classifier.n)
        rc = head(b, "keeptrusts_classifier_latency_seconds", "histogram",
                  "Model-tier classifier call latency, connect to answer.");
    if (!rc && m->classifier.n)
        rc = hist_series(b, "keeptrusts_classifier_latency_seconds", NULL,
                         &m->classifier_latency);
    /* Only with gateway keys: a sidecar without consumers exposes what it always did. */
    if (!rc && m->consumers.n)
        rc = family(b, "keeptrusts_consumer_requests_total",
                    "Requests by gateway-key consumer and status.", &m->consumers);
    return rc;
}

static int histograms(const kt_metrics *m, kt_buf *b)
{
    static const char *const phases[KT_UP_PHASES] = { "phase=\"connect\"", "phase=\"tls\"",
                                                      "phase=\"first_byte\"" };
    int rc = head(b, "keeptrusts_request_duration_seconds", "histogram",
                  "Request duration from dispatch to the end of the response.");
    if (!rc) rc = hist_series(b, "keeptrusts_request_duration_seconds", NULL, &m->duration);
    if (!rc)
        rc = head(b, "keeptrusts_gateway_overhead_seconds", "histogram",
                  "Time spent in kt itself: request duration minus time waiting on the upstream.");
    if (!rc) rc = hist_series(b, "keeptrusts_gateway_overhead_seconds", NULL, &m->overhead);
    if (!rc)
        rc = head(b, "keeptrusts_upstream_latency_seconds", "histogram",
                  "Upstream TCP connect, TLS handshake and first-byte latency.");
    for (int i = 0; i < KT_UP_PHASES && !rc; i++)
        rc = hist_series(b, "keeptrusts_upstream_latency_seconds", phases[i], &m->upstream[i]);
    return rc;
}

/* keeptrusts_budget_{limit,remaining}_usd{policy,window}: one series per budget. */
static int budget_series(kt_buf *b, const char *name, const kt_metrics_budget *bu, double v)
{
    int rc = kt_buf_printf(b, "%s{policy=\"", name);
    if (!rc) rc = put_label_value(b, bu->policy);
    if (!rc) rc = kt_buf_puts(b, "\",window=\"");
    if (!rc) rc = put_label_value(b, bu->window);
    if (!rc) rc = kt_buf_printf(b, "\"} %.15g\n", v);
    return rc;
}

static int budgets(const kt_metrics_gauges *g, kt_buf *b)
{
    int rc = head(b, "keeptrusts_budget_limit_usd", "gauge",
                  "Spend budget in US dollars by spend-limit policy and window.");
    for (size_t i = 0; i < g->nbudgets && !rc; i++)
        rc = budget_series(b, "keeptrusts_budget_limit_usd", &g->budgets[i],
                           g->budgets[i].limit_usd);
    if (!rc)
        rc = head(b, "keeptrusts_budget_remaining_usd", "gauge",
                  "What the scope nearest its limit has left of the budget (settled and held "
                  "spend counted; under shared state the fleet's, as of this instance's latest "
                  "request), by spend-limit policy and window.");
    for (size_t i = 0; i < g->nbudgets && !rc; i++)
        rc = budget_series(b, "keeptrusts_budget_remaining_usd", &g->budgets[i],
                           g->budgets[i].remaining_usd);
    return rc;
}

int kt_metrics_render(const kt_metrics *m, const kt_metrics_gauges *g, kt_buf *b)
{
    const scalar_spec scalars[] = {
        { "keeptrusts_active_connections", "gauge", "Open client connections.", g->connections },
        { "keeptrusts_active_requests", "gauge", "Requests in progress.", g->requests },
        { "keeptrusts_active_streams", "gauge", "Event-stream responses in progress.", g->streams },
        { "keeptrusts_events_queued", "gauge", "Decision events waiting to be delivered.",
          (double)g->events_queued },
        { "keeptrusts_events_queued_bytes", "gauge",
          "Bytes of decision events waiting to be delivered.", (double)g->events_queued_bytes },
        { "keeptrusts_events_sent_total", "counter", "Decision events delivered.",
          (double)m->events_sent },
        { "keeptrusts_events_dropped_total", "counter",
          "Decision events dropped (queue full, spool full or undeliverable).",
          (double)m->events_dropped },
        { "keeptrusts_events_retries_total", "counter", "Event batch delivery retries.",
          (double)m->events_retries },
        { "keeptrusts_events_rejected_batches_total", "counter",
          "Event batches the control plane refused (400, 413, 422).", (double)m->events_rejected },
        { "keeptrusts_events_spooled_total", "counter", "Decision events written to the spool.",
          (double)m->events_spooled },
        { "keeptrusts_spans_sent_total", "counter", "Trace spans delivered to the OTLP collector.",
          (double)m->spans_sent },
        { "keeptrusts_spans_dropped_total", "counter",
          "Trace spans dropped (export queue full or undeliverable).", (double)m->spans_dropped },
        { "keeptrusts_spans_retries_total", "counter", "OTLP trace export retries.",
          (double)m->spans_retries },
        { "keeptrusts_policy_cache_hits_total", "counter",
          "Texts the policy chain had already found clean (answered without a scan).",
          (double)g->cache_hits },
        { "keeptrusts_policy_cache_misses_total", "counter",
          "Texts looked up in the clean-text cache and scanned.", (double)g->cache_misses },
        { "keeptrusts_resident_memory_bytes", "gauge", "Resident memory of the kt process.",
          (double)g->rss_bytes },
        { "keeptrusts_uptime_seconds", "gauge", "Seconds since kt started.", g->uptime_seconds },
    };
    int rc = head(b, "keeptrusts_build_info", "gauge", "Version of the running kt.");
    if (!rc) rc = kt_buf_printf(b, "keeptrusts_build_info{version=\"%s\"} 1\n", g->version);
    if (!rc) rc = families(m, b);
    if (!rc) rc = histograms(m, b);
    if (!rc) rc = budgets(g, b);
    for (size_t i = 0; i < KT_ARRAY_LEN(scalars) && !rc; i++)
        rc = scalar(b, scalars[i].name, scalars[i].type, scalars[i].help, scalars[i].v);
    if (!rc)
        rc = head(b, "keeptrusts_config_reloads_total", "counter",
                  "Configuration reload attempts by result.");
    if (!rc)
        rc = kt_buf_printf(b, "keeptrusts_config_reloads_total{result=\"success\"} %llu\n"
                              "keeptrusts_config_reloads_total{result=\"failure\"} %llu\n"
                              "keeptrusts_config_reloads_total{result=\"unchanged\"} %llu\n",
                           (unsigned long long)g->reloads_ok,
                           (unsigned long long)g->reloads_failed,
                           (unsigned long long)g->reloads_unchanged);
    return rc;
}
