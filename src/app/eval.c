/* kt policy eval: the chain over a labelled corpus, item by item, counted for the report
 * (eval_report.c); the labels file format and the counting rules are in eval.h. */
#include <stdlib.h>
#include <string.h>

#include "eval_priv.h"

#define KT_EVAL_SCORES_MAX (32u << 20)
#define KT_EVAL_EXAMPLES_MAX (16u << 20)
#define KT_EVAL_WINDOW 32          /* bytes of text shown on each side of a span */

static int grow(void **p, size_t *cap, size_t need, size_t size, size_t max)
{
    if (need <= *cap) return KT_OK;
    if (need > max) return KT_ELIMIT;
    size_t nc = *cap ? *cap * 2 : 1024;
    while (nc < need) nc *= 2;
    if (nc > max) nc = max;
    void *q = kt_realloc(*p, nc * size);
    if (!q) return KT_ENOMEM;
    *p = q;
    *cap = nc;
    return KT_OK;
}

static int setup_policies(ev_run *r)
{
    if (r->cfg->nchain > KT_EVAL_POLICIES) return KT_ELIMIT;
    for (size_t i = 0; i < r->cfg->nchain; i++) {
        const kt_policy_cfg *pc = &r->cfg->chain[i];
        ev_policy *p = &r->pol[i];
        int a = kt_eval_name(&r->names, pc->name, strlen(pc->name));
        int b = kt_eval_name(&r->names, pc->kind, strlen(pc->kind));
        if (a < 0 || b < 0) return KT_ELIMIT;
        p->name = (uint16_t)a;
        p->kind = (uint16_t)b;
        p->scored = pc->impl && pc->impl->threshold;
        p->per_label = p->scored && pc->impl->per_label;
        p->threshold = p->scored ? pc->impl->threshold(pc->state) : 0;
    }
    r->npol = r->cfg->nchain;
    return KT_OK;
}

/* ---- per item --------------------------------------------------------------------------------- */

static int finding_name(ev_run *r, const kt_finding *f)
{
    const kt_policy_cfg *pc = &r->cfg->chain[f->policy];
    const char *l = pc->impl && pc->impl->label ? pc->impl->label(pc->state, f->label) : "match";
    return kt_eval_name(&r->names, l, strlen(l));
}

static int add_scores(ev_run *r, ev_item *ei, const kt_findings *f)
{
    uint32_t psum[KT_EVAL_POLICIES] = { 0 };
    ei->first = (uint32_t)r->nscores;
    for (size_t i = 0; i < f->n; i++) {
        const kt_finding *x = &f->v[i];
        int nm = finding_name(r, x);
        if (nm < 0) return KT_ELIMIT;
        psum[x->policy] += x->weight;
        ev_score *s = NULL;
        for (size_t k = ei->first; k < r->nscores && !s; k++)
            if (r->scores[k].policy == x->policy && r->scores[k].name == nm) s = &r->scores[k];
        if (!s) {
            int rc = grow((void **)&r->scores, &r->capscores, r->nscores + 1, sizeof *r->scores,
                          KT_EVAL_SCORES_MAX);
            if (rc) return rc;
            s = &r->scores[r->nscores++];
            *s = (ev_score){ .policy = x->policy, .name = (uint16_t)nm };
        }
        s->sum += x->weight;
        if (!x->weight || !r->pol[x->policy].scored) s->now = true;
    }
    ei->n = (uint32_t)(r->nscores - ei->first);
    for (size_t k = ei->first; k < r->nscores; k++) r->scores[k].psum = psum[r->scores[k].policy];
    return KT_OK;
}

/* Whether a score acts when policy `sp` has threshold `st` (sp < 0: every policy as configured). */
bool kt__eval_score_acts(const ev_run *r, const ev_score *s, int sp, unsigned st)
{
    const ev_policy *p = &r->pol[s->policy];
    if (s->now || !p->scored) return true;
    unsigned t = (int)s->policy == sp ? st : p->threshold;
    return (p->per_label ? s->sum : s->psum) >= t;
}

void kt__eval_predicted(const ev_run *r, const ev_item *ei, int sp, unsigned st, bool only_sp,
                        uint64_t out[2])
{
    out[0] = out[1] = 0;
    for (uint32_t k = 0; k < ei->n; k++) {
        const ev_score *s = &r->scores[ei->first + k];
        if (only_sp && (int)s->policy != sp) continue;
        if (!kt__eval_score_acts(r, s, sp, st)) continue;
        kt__eval_bit_set(out, s->name);
        kt__eval_bit_set(out, r->pol[s->policy].name);
        kt__eval_bit_set(out, r->pol[s->policy].kind);
    }
}

static void put_escaped(kt_buf *b, const char *t, size_t a, size_t z)
{
    for (size_t i = a; i < z; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '\n') kt_buf_puts(b, "\\n");
        else if (c < 0x20 || c == 0x7f) kt_buf_printf(b, "\\x%02x", c);
        else kt_buf_append(b, &t[i], 1);
    }
}

static size_t utf8_back(const char *t, size_t i, size_t lo)
{
    while (i > lo && ((unsigned char)t[i] & 0xC0) == 0x80) i--;
    return i;
}

/* Appends the text around [s, e) with the span in [[ ]], control bytes escaped. */
static void window(kt_buf *b, const char *t, size_t len, size_t s, size_t e)
{
    size_t a = utf8_back(t, s > KT_EVAL_WINDOW ? s - KT_EVAL_WINDOW : 0, 0);
    size_t z = len - e > KT_EVAL_WINDOW ? e + KT_EVAL_WINDOW : len;
    if (z < len) z = utf8_back(t, z, e);
    kt_buf_puts(b, a ? "..." : "");
    put_escaped(b, t, a, s);
    kt_buf_puts(b, "[[");
    put_escaped(b, t, s, e);
    kt_buf_puts(b, "]]");
    put_escaped(b, t, e, z);
    kt_buf_puts(b, z < len ? "..." : "");
}

/* Appends the start of the text (an item-level example). */
static void head(kt_buf *b, const char *t, size_t len)
{
    size_t z = len > 3 * KT_EVAL_WINDOW ? utf8_back(t, 3 * KT_EVAL_WINDOW, 0) : len;
    put_escaped(b, t, 0, z);
    kt_buf_puts(b, z < len ? "..." : "");
}

static void example(ev_run *r, const char *what, unsigned name, size_t line,
                    const kt_eval_item *it, size_t s, size_t e, bool cat)
{
    kt_buf *b = &r->examples;
    size_t off = b->len;
    if (grow((void **)&r->ex, &r->capex, r->nex + 1, sizeof *r->ex, KT_EVAL_EXAMPLES_MAX / 64))
        return;
    if (cat) kt_buf_printf(b, "  %-14s %-16s line %zu", what, r->names.v[name], line);
    else kt_buf_printf(b, "  %-14s %-16s line %zu [%zu,%zu)", what, r->names.v[name], line, s, e);
    if (!r->o->no_text) {
        kt_buf_puts(b, "  ");
        if (cat) head(b, it->text, it->len);
        else window(b, it->text, it->len, s, e);
    }
    if (kt_buf_puts(b, "\n")) {   /* the cap: keep whole lines only */
        b->len = off;
        b->p[off] = '\0';
        return;
    }
    r->ex[r->nex++] = (ev_example){ (uint32_t)off, (uint32_t)(b->len - off), (uint16_t)name, cat };
}

static bool listable(const ev_run *r, uint32_t *listed)
{
    if (*listed >= r->o->max_list) return false;
    (*listed)++;
    return true;
}

static void count_cats(ev_run *r, const ev_item *ei, const kt_eval_item *it, size_t line)
{
    uint64_t pred[2];
    kt__eval_predicted(r, ei, -1, 0, false, pred);
    for (unsigned c = 0; c < r->names.n; c++) {
        bool g = kt__eval_bit(ei->gold, c), p = kt__eval_bit(pred, c);
        ev_count *k = &r->cat[c];
        k->predicted |= p;
        if (g && p) k->tp++;
        if (!g && p) {
            k->fp++;
            if (listable(r, &k->listed_fp)) example(r, "category fp", c, line, it, 0, 0, true);
        }
        if (g && !p) {
            k->fn++;
            if (listable(r, &k->listed_fn)) example(r, "category miss", c, line, it, 0, 0, true);
        }
    }
}

static bool overlaps(size_t a, size_t b, size_t c, size_t d) { return a < d && c < b; }

static void count_spans(ev_run *r, const kt_findings *f, const kt_eval_item *it, size_t line)
{
    for (size_t i = 0; i < f->n; i++) {
        const kt_finding *x = &f->v[i];
        if (r->pol[x->policy].scored) continue;   /* judged per item, not per span */
        int nm = finding_name(r, x);
        if (nm < 0) continue;
        bool hit = false;
        for (size_t g = 0; g < it->nents && !hit; g++)
            hit = it->ents[g].type == nm && overlaps(x->start, x->end, it->ents[g].start, it->ents[g].end);
        ev_count *k = &r->ent[nm];
        k->predicted = true;
        if (hit) k->tp++;
        else {
            k->fp++;
            if (listable(r, &k->listed_fp)) example(r, "entity fp", (unsigned)nm, line, it, x->start, x->end, false);
        }
    }
    for (size_t g = 0; g < it->nents; g++) {
        const kt_eval_span *s = &it->ents[g];
        bool hit = false;
        for (size_t i = 0; i < f->n && !hit; i++) {
            const kt_finding *x = &f->v[i];
            hit = !r->pol[x->policy].scored && overlaps(x->start, x->end, s->start, s->end) &&
                  finding_name(r, x) == s->type;
        }
        ev_count *k = &r->ent[s->type];
        k->labelled = true;
        if (hit) k->found++;
        else {
            k->fn++;
            if (listable(r, &k->listed_fn)) example(r, "entity miss", s->type, line, it, s->start, s->end, false);
        }
    }
}

static void count_items(ev_run *r, const ev_item *ei, const kt_eval_item *it)
{
    bool flagged = false;
    for (uint32_t k = 0; k < ei->n && !flagged; k++)
        flagged = kt__eval_score_acts(r, &r->scores[ei->first + k], -1, 0);
    if (it->ncats || it->nents) {
        r->labelled_items++;
        r->labelled_flagged += flagged;
    } else {
        r->unlabelled++;
        r->unlabelled_flagged += flagged;
    }
}

static int run_item(ev_run *r, const kt_eval_item *it, size_t line)
{
    int rc = grow((void **)&r->items, &r->capitems, r->nitems + 1, sizeof *r->items, KT_EVAL_ITEMS_MAX);
    if (rc) return rc;
    ev_item *ei = &r->items[r->nitems++];
    memset(ei, 0, sizeof *ei);
    for (size_t i = 0; i < it->ncats; i++) {
        kt__eval_bit_set(ei->gold, it->cats[i]);
        r->cat[it->cats[i]].labelled = true;
    }
    kt_findings f = { 0 };
    kt_dir dir = r->o->dir ? (kt_dir)r->o->dir : it->dir;
    rc = kt_chain_scan(r->cfg, dir, it->text, it->len, 0, &f, NULL);
    if (f.truncated) r->truncated++;
    if (!rc) rc = add_scores(r, ei, &f);
    if (!rc) {
        count_cats(r, ei, it, line);
        count_spans(r, &f, it, line);
        count_items(r, ei, it);
    }
    kt_findings_free(&f);
    return rc;
}

/* ---- reading the labels file ---------------------------------------------------------------- */

static int read_items(ev_run *r, FILE *in, const char *in_name, FILE *err)
{
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int rc = KT_OK;
    while (!rc && (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (n == 0) continue;
        kt_eval_item it;
        char msg[160];
        rc = kt_eval_parse_item(&r->names, line, (size_t)n, &it, msg, sizeof msg);
        if (rc) {
            fprintf(err, "%s:%zu: %s\n", in_name, lineno, msg);
            break;
        }
        rc = run_item(r, &it, lineno);
        if (rc) fprintf(err, "%s:%zu: cannot evaluate (%d)\n", in_name, lineno, rc);
        kt_eval_item_free(&it);
    }
    if (!rc && ferror(in)) {
        fprintf(err, "%s: read error\n", in_name);
        rc = KT_EIO;
    }
    free(line);
    return rc;
}

int kt_eval_run(const kt_config *cfg, FILE *in, const char *in_name, const kt_eval_opts *o,
                FILE *out, FILE *err)
{
    ev_run *r = kt_calloc(1, sizeof *r);
    if (!r) return 2;
    r->cfg = cfg;
    r->o = o;
    kt_buf_init(&r->examples, KT_EVAL_EXAMPLES_MAX);
    int rc = setup_policies(r);
    if (rc) fprintf(err, "kt: the chain has too many policies to evaluate\n");
    if (!rc) rc = read_items(r, in, in_name, err);
    if (!rc) {
        if (o->json) kt__eval_print_json(r, out);
        else kt__eval_print_tables(r, out);
    }
    kt_buf_free(&r->examples);
    free(r->items);
    free(r->scores);
    free(r->ex);
    free(r);
    return rc ? 2 : 0;
}

/* ---- command line ------------------------------------------------------------------------------ */

static int eval_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "kt: %s%s%s\nRun 'kt --help' for usage.\n", msg, arg ? " " : "", arg ? arg : "");
    return 2;
}

int kt_eval_main(int argc, char **argv)
{
    const char *cfg_path = NULL, *labels = NULL;
    kt_eval_opts o = { .max_list = 20 };
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool val = !strcmp(a, "--policy-config") || !strcmp(a, "--labels") ||
                   !strcmp(a, "--direction") || !strcmp(a, "--max-list");
        if (val && i + 1 >= argc) return eval_usage("needs a value:", a);
        if (!strcmp(a, "--policy-config")) cfg_path = argv[++i];
        else if (!strcmp(a, "--labels")) labels = argv[++i];
        else if (!strcmp(a, "--no-text")) o.no_text = true;
        else if (!strcmp(a, "--json")) o.json = true;
        else if (!strcmp(a, "--max-list")) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end || end == argv[i] || v > 1000000) return eval_usage("--max-list is 0..1000000, not", argv[i]);
            o.max_list = (unsigned)v;
        } else if (!strcmp(a, "--direction")) {
            const char *d = argv[++i];
            if (!strcmp(d, "input")) o.dir = KT_DIR_INPUT;
            else if (!strcmp(d, "output")) o.dir = KT_DIR_OUTPUT;
            else return eval_usage("--direction is input or output, not", d);
        } else return eval_usage("unknown argument for 'policy eval':", a);
    }
    if (!cfg_path || !labels) return eval_usage("policy eval needs --policy-config PATH and --labels FILE", NULL);
    kt_diag diag = { .file = cfg_path };
    kt_config *cfg = NULL;
    if (kt_config_load_file(cfg_path, kt_env_process(), &cfg, &diag)) {
        kt_diag_print(&diag, stderr);
        return 2;
    }
    FILE *in = !strcmp(labels, "-") ? stdin : fopen(labels, "r");
    int code = 2;
    if (!in) fprintf(stderr, "kt: cannot open %s\n", labels);
    else code = kt_eval_run(cfg, in, labels, &o, stdout, stderr);
    if (in && in != stdin) fclose(in);
    kt_config_release(&cfg);
    return code;
}
