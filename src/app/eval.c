/* kt policy eval: the chain over a labelled corpus, item by item; precision, recall and F1 per
 * category and entity type, the false positives and misses, and a threshold sweep per scored
 * policy (see eval.h for the file format and the counting rules). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "kt/buf.h"
#include "kt/log.h"

#define KT_EVAL_SCORES_MAX (32u << 20)
#define KT_EVAL_EXAMPLES_MAX (16u << 20)
#define KT_EVAL_WINDOW 32          /* bytes of text shown on each side of a span */
#define KT_EVAL_SWEEP_ROWS 24
#define KT_EVAL_POLICIES 64

/* ---- names and items ------------------------------------------------------------------------ */

int kt_eval_name(kt_eval_names *names, const char *s, size_t n)
{
    if (n == 0 || n >= KT_EVAL_NAME_MAX || memchr(s, '\0', n)) return -1;
    for (size_t i = 0; i < names->n; i++)
        if (strlen(names->v[i]) == n && memcmp(names->v[i], s, n) == 0) return (int)i;
    if (names->n == KT_EVAL_NAMES) return -1;
    memcpy(names->v[names->n], s, n);
    names->v[names->n][n] = '\0';
    return (int)names->n++;
}

void kt_eval_item_free(kt_eval_item *it)
{
    free(it->text);
    it->text = NULL;
}

static int fail(char *err, size_t cap, int rc, const char *msg)
{
    snprintf(err, cap, "%s", msg);
    return rc;
}

static int parse_cats(kt_eval_names *names, const cJSON *a, kt_eval_item *it, char *err, size_t cap)
{
    if (!a) return KT_OK;
    if (!cJSON_IsArray(a)) return fail(err, cap, KT_EINVAL, "labels.categories is not an array");
    const cJSON *c;
    cJSON_ArrayForEach(c, a) {
        if (!cJSON_IsString(c)) return fail(err, cap, KT_EINVAL, "a category is not a string");
        if (it->ncats == KT_EVAL_ITEM_LABELS) return fail(err, cap, KT_ELIMIT, "too many categories");
        int k = kt_eval_name(names, c->valuestring, strlen(c->valuestring));
        if (k < 0) return fail(err, cap, KT_ELIMIT, "bad category name (empty, too long, too many)");
        it->cats[it->ncats++] = (uint16_t)k;
    }
    return KT_OK;
}

static int span_offset(const cJSON *o, const char *key, size_t *v)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > (double)KT_EVAL_LINE_MAX ||
        n->valuedouble != (double)(size_t)n->valuedouble)
        return KT_EINVAL;
    *v = (size_t)n->valuedouble;
    return KT_OK;
}

static int parse_ents(kt_eval_names *names, const cJSON *a, kt_eval_item *it, char *err, size_t cap)
{
    if (!a) return KT_OK;
    if (!cJSON_IsArray(a)) return fail(err, cap, KT_EINVAL, "labels.entities is not an array");
    const cJSON *e;
    cJSON_ArrayForEach(e, a) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "type");
        if (!cJSON_IsString(t)) return fail(err, cap, KT_EINVAL, "an entity has no string \"type\"");
        if (it->nents == KT_EVAL_ITEM_LABELS) return fail(err, cap, KT_ELIMIT, "too many entities");
        kt_eval_span *s = &it->ents[it->nents];
        if (span_offset(e, "start", &s->start) || span_offset(e, "end", &s->end))
            return fail(err, cap, KT_EINVAL, "an entity needs integer \"start\" and \"end\"");
        if (s->start >= s->end || s->end > it->len)
            return fail(err, cap, KT_EINVAL, "an entity span is empty or outside the text");
        int k = kt_eval_name(names, t->valuestring, strlen(t->valuestring));
        if (k < 0) return fail(err, cap, KT_ELIMIT, "bad entity type (empty, too long, too many)");
        s->type = (uint16_t)k;
        it->nents++;
    }
    return KT_OK;
}

static int parse_dir(const cJSON *d, kt_eval_item *it, char *err, size_t cap)
{
    it->dir = KT_DIR_INPUT;
    if (!d) return KT_OK;
    if (cJSON_IsString(d) && !strcmp(d->valuestring, "input")) return KT_OK;
    if (cJSON_IsString(d) && !strcmp(d->valuestring, "output")) {
        it->dir = KT_DIR_OUTPUT;
        return KT_OK;
    }
    return fail(err, cap, KT_EINVAL, "direction is \"input\" or \"output\"");
}

static int parse_obj(kt_eval_names *names, const cJSON *o, kt_eval_item *it, char *err, size_t cap)
{
    if (!cJSON_IsObject(o)) return fail(err, cap, KT_EPARSE, "not a JSON object");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "text");
    if (!cJSON_IsString(t)) return fail(err, cap, KT_EINVAL, "no string \"text\"");
    it->len = strlen(t->valuestring);
    it->text = kt_malloc(it->len + 1);
    if (!it->text) return fail(err, cap, KT_ENOMEM, "out of memory");
    memcpy(it->text, t->valuestring, it->len + 1);
    int rc = parse_dir(cJSON_GetObjectItemCaseSensitive(o, "direction"), it, err, cap);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "labels");
    if (!rc && l && !cJSON_IsObject(l)) rc = fail(err, cap, KT_EINVAL, "labels is not an object");
    if (!rc && l) rc = parse_cats(names, cJSON_GetObjectItemCaseSensitive(l, "categories"), it, err, cap);
    if (!rc && l) rc = parse_ents(names, cJSON_GetObjectItemCaseSensitive(l, "entities"), it, err, cap);
    return rc;
}

int kt_eval_parse_item(kt_eval_names *names, const char *line, size_t n, kt_eval_item *it,
                       char *err, size_t errcap)
{
    memset(it, 0, sizeof *it);
    if (n > KT_EVAL_LINE_MAX) return fail(err, errcap, KT_ELIMIT, "line too long");
    cJSON *o = cJSON_ParseWithLength(line, n);
    if (!o) return fail(err, errcap, KT_EPARSE, "not valid JSON");
    int rc = parse_obj(names, o, it, err, errcap);
    cJSON_Delete(o);
    if (rc) kt_eval_item_free(it);
    return rc;
}

/* ---- the run's state ------------------------------------------------------------------------ */

typedef struct ev_count {
    uint32_t tp, fp, fn;   /* categories: items; entities: tp/fp predicted spans, fn missed labels */
    uint32_t found;        /* entities: labelled spans that a prediction overlaps */
    uint32_t listed_fp, listed_fn;
    bool labelled;         /* appears as a label somewhere */
    bool predicted;
} ev_count;

/* One (policy, label) of one item: what the threshold sweep needs. */
typedef struct ev_score {
    uint32_t sum;          /* summed weight of this label's findings */
    uint32_t psum;         /* summed weight of the policy's findings in this item */
    uint16_t policy;
    uint16_t name;
    bool now;              /* a finding without weight: acts whatever the threshold */
} ev_score;

typedef struct ev_item {
    uint64_t gold[2];      /* labelled categories, bits by name index */
    uint32_t first, n;     /* its scores */
} ev_item;

typedef struct ev_policy {
    uint16_t name, kind;   /* name indices of the policy's name and kind */
    bool scored;
    bool per_label;
    unsigned threshold;
} ev_policy;

/* A false positive or miss, rendered; category ones are shown only if the category is labelled
 * somewhere in the file (known at the end). */
typedef struct ev_example {
    uint32_t off, len;     /* in ev_run.examples */
    uint16_t name;
    bool cat;
} ev_example;

typedef struct ev_run {
    const kt_config *cfg;
    const kt_eval_opts *o;
    kt_eval_names names;
    ev_count cat[KT_EVAL_NAMES], ent[KT_EVAL_NAMES];
    ev_policy pol[KT_EVAL_POLICIES];
    size_t npol;
    ev_item *items;
    size_t nitems, capitems;
    ev_score *scores;
    size_t nscores, capscores;
    uint32_t unlabelled, unlabelled_flagged, labelled_items, labelled_flagged, truncated;
    kt_buf examples;
    ev_example *ex;
    size_t nex, capex;
} ev_run;

static void bit_set(uint64_t b[2], unsigned i) { b[i >> 6] |= 1ull << (i & 63); }
static bool bit_get(const uint64_t b[2], unsigned i) { return (b[i >> 6] >> (i & 63)) & 1u; }

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
static bool score_acts(const ev_run *r, const ev_score *s, int sp, unsigned st)
{
    const ev_policy *p = &r->pol[s->policy];
    if (s->now || !p->scored) return true;
    unsigned t = (int)s->policy == sp ? st : p->threshold;
    return (p->per_label ? s->sum : s->psum) >= t;
}

static void predicted(const ev_run *r, const ev_item *ei, int sp, unsigned st, bool only_sp,
                      uint64_t out[2])
{
    out[0] = out[1] = 0;
    for (uint32_t k = 0; k < ei->n; k++) {
        const ev_score *s = &r->scores[ei->first + k];
        if (only_sp && (int)s->policy != sp) continue;
        if (!score_acts(r, s, sp, st)) continue;
        bit_set(out, s->name);
        bit_set(out, r->pol[s->policy].name);
        bit_set(out, r->pol[s->policy].kind);
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
    predicted(r, ei, -1, 0, false, pred);
    for (unsigned c = 0; c < r->names.n; c++) {
        bool g = bit_get(ei->gold, c), p = bit_get(pred, c);
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
        flagged = score_acts(r, &r->scores[ei->first + k], -1, 0);
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
        bit_set(ei->gold, it->cats[i]);
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

/* ---- metrics ----------------------------------------------------------------------------------- */

typedef struct ev_prf {
    uint32_t tp, fp, fn;
    double p, r, f1;       /* negative: undefined (nothing predicted / nothing labelled) */
} ev_prf;

static ev_prf prf(uint32_t tp_pred, uint32_t fp, uint32_t found, uint32_t fn)
{
    ev_prf m = { tp_pred, fp, fn, -1, -1, -1 };
    if (tp_pred + fp) m.p = (double)tp_pred / (tp_pred + fp);
    if (found + fn) m.r = (double)found / (found + fn);
    if (m.p >= 0 && m.r >= 0) m.f1 = m.p + m.r > 0 ? 2 * m.p * m.r / (m.p + m.r) : 0;
    return m;
}

/* Writes s as a JSON string literal. */
static void put_json_str(FILE *out, const char *s)
{
    kt_buf b;
    kt_buf_init(&b, 4 * KT_EVAL_NAME_MAX + 256);
    if (kt_buf_json_str(&b, s, strlen(s)) == 0) fputs(b.p, out);
    else fputs("\"\"", out);
    kt_buf_free(&b);
}

static void put_num(FILE *out, double v, bool json)
{
    if (v < 0) fputs(json ? "null" : "     -", out);
    else fprintf(out, json ? "%.4f" : "%6.3f", v);
}

/* ---- threshold sweep ------------------------------------------------------------------------- */

typedef struct ev_row {
    unsigned t;
    ev_prf m;
    uint32_t negatives, flagged;
} ev_row;

/* Categories the policy can report: labelled ones it predicts at its lowest threshold. */
static void sweep_cats(const ev_run *r, int sp, uint64_t cats[2])
{
    cats[0] = cats[1] = 0;
    for (size_t i = 0; i < r->nitems; i++) {
        uint64_t p[2];
        predicted(r, &r->items[i], sp, 1, true, p);
        cats[0] |= p[0];
        cats[1] |= p[1];
    }
    bit_set(cats, r->pol[sp].name);
    bit_set(cats, r->pol[sp].kind);
    for (unsigned c = 0; c < r->names.n; c++)
        if (!r->cat[c].labelled) cats[c >> 6] &= ~(1ull << (c & 63));
}

static ev_row sweep_row(const ev_run *r, int sp, unsigned t, const uint64_t cats[2])
{
    ev_row row = { .t = t };
    uint32_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < r->nitems; i++) {
        const ev_item *ei = &r->items[i];
        uint64_t p[2];
        predicted(r, ei, sp, t, false, p);
        bool gold_any = (ei->gold[0] & cats[0]) || (ei->gold[1] & cats[1]);
        bool pred_any = (p[0] & cats[0]) || (p[1] & cats[1]);
        for (unsigned c = 0; c < r->names.n; c++) {
            if (!bit_get(cats, c)) continue;
            bool g = bit_get(ei->gold, c), q = bit_get(p, c);
            tp += g && q;
            fp += !g && q;
            fn += g && !q;
        }
        if (!gold_any) {
            row.negatives++;
            row.flagged += pred_any;
        }
    }
    row.m = prf(tp, fp, tp, fn);
    return row;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The thresholds to try: the distinct scores seen (an item flips exactly there) and the
 * configured one, at most KT_EVAL_SWEEP_ROWS of them spread evenly. */
static size_t sweep_points(const ev_run *r, int sp, unsigned out[KT_EVAL_SWEEP_ROWS])
{
    size_t n = 0, cap = 256;
    uint32_t v[256];
    v[n++] = r->pol[sp].threshold;
    for (size_t k = 0; k < r->nscores && n < cap; k++) {
        const ev_score *s = &r->scores[k];
        if ((int)s->policy != sp || s->now) continue;
        uint32_t x = r->pol[sp].per_label ? s->sum : s->psum;
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++) seen = v[j] == x;
        if (!seen && x) v[n++] = x;
    }
    qsort(v, n, sizeof v[0], cmp_u32);
    size_t m = 0;
    for (size_t i = 0; i < KT_EVAL_SWEEP_ROWS && i < n; i++) {
        size_t j = n <= KT_EVAL_SWEEP_ROWS ? i : i * (n - 1) / (KT_EVAL_SWEEP_ROWS - 1);
        if (!m || out[m - 1] != v[j]) out[m++] = v[j];
    }
    bool has = false;
    for (size_t i = 0; i < m; i++) has |= out[i] == r->pol[sp].threshold;
    if (!has) {   /* replace the nearest point by the configured threshold */
        size_t i = 0;
        while (i + 1 < m && out[i + 1] < r->pol[sp].threshold) i++;
        out[i] = r->pol[sp].threshold;
        qsort(out, m, sizeof out[0], cmp_u32);
    }
    return m;
}

/* ---- output ------------------------------------------------------------------------------------ */

static void table_row(FILE *out, const char *name, ev_prf m, uint32_t labelled)
{
    fprintf(out, "  %-24s %7u %7u %7u %7u  ", name, labelled, m.tp, m.fp, m.fn);
    put_num(out, m.p, false);
    fputs("  ", out);
    put_num(out, m.r, false);
    fputs("  ", out);
    put_num(out, m.f1, false);
    fputc('\n', out);
}

static ev_prf cat_prf(const ev_count *k) { return prf(k->tp, k->fp, k->tp, k->fn); }
static ev_prf ent_prf(const ev_count *k) { return prf(k->tp, k->fp, k->found, k->fn); }

static void print_sweep(const ev_run *r, int sp, FILE *out, bool json)
{
    uint64_t cats[2];
    sweep_cats(r, sp, cats);
    unsigned pts[KT_EVAL_SWEEP_ROWS];
    size_t n = sweep_points(r, sp, pts);
    const char *pname = r->cfg->chain[sp].name;
    if (json) {
        fputs("{\"policy\":", out);
        put_json_str(out, pname);
        fprintf(out, ",\"threshold\":%u,\"rows\":[", r->pol[sp].threshold);
    } else {
        fprintf(out, "\nThreshold sweep: %s (configured threshold %u; categories:", pname,
                r->pol[sp].threshold);
        for (unsigned c = 0; c < r->names.n; c++)
            if (bit_get(cats, c)) fprintf(out, " %s", r->names.v[c]);
        fprintf(out, ")\n  %9s %7s %7s %7s  %6s  %6s  %6s  %s\n", "threshold", "tp", "fp", "fn",
                "prec", "recall", "f1", "flagged negatives");
    }
    for (size_t i = 0; i < n; i++) {
        ev_row w = sweep_row(r, sp, pts[i], cats);
        double fpr = w.negatives ? (double)w.flagged / w.negatives : -1;
        if (json) {
            fprintf(out, "%s{\"threshold\":%u,\"tp\":%u,\"fp\":%u,\"fn\":%u,\"precision\":", i ? "," : "",
                    w.t, w.m.tp, w.m.fp, w.m.fn);
            put_num(out, w.m.p, true);
            fputs(",\"recall\":", out);
            put_num(out, w.m.r, true);
            fputs(",\"f1\":", out);
            put_num(out, w.m.f1, true);
            fprintf(out, ",\"negatives\":%u,\"flagged_negatives\":%u}", w.negatives, w.flagged);
            continue;
        }
        fprintf(out, "%c %9u %7u %7u %7u  ", w.t == r->pol[sp].threshold ? '*' : ' ', w.t, w.m.tp,
                w.m.fp, w.m.fn);
        put_num(out, w.m.p, false);
        fputs("  ", out);
        put_num(out, w.m.r, false);
        fputs("  ", out);
        put_num(out, w.m.f1, false);
        fprintf(out, "  %u/%u", w.flagged, w.negatives);
        if (fpr >= 0) fprintf(out, " (%.2f %%)", 100 * fpr);
        fputc('\n', out);
    }
    if (json) fputs("]}", out);
}

#define EV_HDR "  %-24s %7s %7s %7s %7s  %6s  %6s  %6s\n"

static void print_tables(const ev_run *r, FILE *out)
{
    fprintf(out, "%zu items: %u labelled (%u flagged), %u without labels (%u flagged",
            r->nitems, r->labelled_items, r->labelled_flagged, r->unlabelled, r->unlabelled_flagged);
    if (r->unlabelled) fprintf(out, ", %.2f %%", 100.0 * r->unlabelled_flagged / r->unlabelled);
    fputs(")\n", out);
    if (r->truncated) fprintf(out, "%u items had more than %d findings\n", r->truncated, KT_FINDINGS_MAX);
    fprintf(out, "\nCategories (per item)\n");
    fprintf(out, EV_HDR, "category", "items", "tp", "fp", "fn", "prec", "recall", "f1");
    for (unsigned c = 0; c < r->names.n; c++)
        if (r->cat[c].labelled) table_row(out, r->names.v[c], cat_prf(&r->cat[c]), r->cat[c].tp + r->cat[c].fn);
    fprintf(out, "\nEntities (per span; a prediction overlapping a labelled span of its type is a hit)\n");
    fprintf(out, EV_HDR, "type", "spans", "tp", "fp", "fn", "prec", "recall", "f1");
    for (unsigned c = 0; c < r->names.n; c++)
        if (r->ent[c].labelled || r->ent[c].predicted)
            table_row(out, r->names.v[c], ent_prf(&r->ent[c]), r->ent[c].found + r->ent[c].fn);
    for (size_t p = 0; p < r->npol; p++)
        if (r->pol[p].scored) print_sweep(r, (int)p, out, false);
    if (r->o->max_list && r->nex)
        fprintf(out, "\nFalse positives and misses (at most %u per name and kind)\n", r->o->max_list);
    for (size_t i = 0; i < r->nex; i++)
        if (!r->ex[i].cat || r->cat[r->ex[i].name].labelled)
            fwrite(r->examples.p + r->ex[i].off, 1, r->ex[i].len, out);
}

static void json_counts(const ev_run *r, FILE *out, bool ent)
{
    bool first = true;
    for (unsigned c = 0; c < r->names.n; c++) {
        const ev_count *k = ent ? &r->ent[c] : &r->cat[c];
        if (!(k->labelled || (ent && k->predicted))) continue;
        ev_prf m = ent ? ent_prf(k) : cat_prf(k);
        fputs(first ? "" : ",", out);
        put_json_str(out, r->names.v[c]);
        fprintf(out, ":{\"labelled\":%u,\"tp\":%u,\"fp\":%u,\"fn\":%u,\"precision\":",
                ent ? k->found + k->fn : k->tp + k->fn, m.tp, m.fp, m.fn);
        put_num(out, m.p, true);
        fputs(",\"recall\":", out);
        put_num(out, m.r, true);
        fputs(",\"f1\":", out);
        put_num(out, m.f1, true);
        fputc('}', out);
        first = false;
    }
}

static void print_json(const ev_run *r, FILE *out)
{
    fprintf(out, "{\"items\":%zu,\"labelled_items\":%u,\"labelled_flagged\":%u,"
                 "\"unlabelled_items\":%u,\"unlabelled_flagged\":%u,\"truncated\":%u,\"categories\":{",
            r->nitems, r->labelled_items, r->labelled_flagged, r->unlabelled, r->unlabelled_flagged,
            r->truncated);
    json_counts(r, out, false);
    fputs("},\"entities\":{", out);
    json_counts(r, out, true);
    fputs("},\"sweeps\":[", out);
    bool first = true;
    for (size_t p = 0; p < r->npol; p++) {
        if (!r->pol[p].scored) continue;
        if (!first) fputc(',', out);
        print_sweep(r, (int)p, out, true);
        first = false;
    }
    fputs("]}\n", out);
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
        if (o->json) print_json(r, out);
        else print_tables(r, out);
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
