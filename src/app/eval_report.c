/* kt policy eval: the report of a run. Precision, recall and F1 per category and entity type,
 * the threshold sweep of each scored policy, the listed false positives and misses; as tables
 * or as one JSON object. */
#include <stdlib.h>
#include <string.h>

#include "eval_priv.h"

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
        kt__eval_predicted(r, &r->items[i], sp, 1, true, p);
        cats[0] |= p[0];
        cats[1] |= p[1];
    }
    kt__eval_bit_set(cats, r->pol[sp].name);
    kt__eval_bit_set(cats, r->pol[sp].kind);
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
        kt__eval_predicted(r, ei, sp, t, false, p);
        bool gold_any = (ei->gold[0] & cats[0]) || (ei->gold[1] & cats[1]);
        bool pred_any = (p[0] & cats[0]) || (p[1] & cats[1]);
        for (unsigned c = 0; c < r->names.n; c++) {
            if (!kt__eval_bit(cats, c)) continue;
            bool g = kt__eval_bit(ei->gold, c), q = kt__eval_bit(p, c);
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
            if (kt__eval_bit(cats, c)) fprintf(out, " %s", r->names.v[c]);
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

void kt__eval_print_tables(const ev_run *r, FILE *out)
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

void kt__eval_print_json(const ev_run *r, FILE *out)
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
