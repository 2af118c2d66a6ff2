/* Measures safety-filter and prompt-injection on a labelled JSONL corpus (the eval format:
 * {"text":..., "labels":{"categories":[...]}}) in-process, with the shipped defaults: recall per
 * category and the false-positive rate on items without a category, for the lexicon alone, the
 * learned scorer alone and both (what the policies do), plus a sweep of the learned cutoff.
 * `kt policy eval` (make eval) gives the official figures; this adds the rules-alone and
 * learned-alone views and prints errors of either (-v shipped, -r rules). Not built by make:
 *   make && cc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Isrc/scan test/perf/classify_eval.c \
 *      build/libkt.a -luv -lmbedtls -lmbedx509 -lmbedcrypto -lcjson -lyaml -lpcre2-8 -lm \
 *      -o /tmp/classify_eval && /tmp/classify_eval safety test/corpora/safety/heldout.jsonl */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/injection.h"
#include "kt/safety.h"

#define NCUT 9
static const float cuts[NCUT] = { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f };

typedef struct tally {
    long pos, neg, tp_lex, fp_lex, tp_lrn[NCUT], fp_lrn[NCUT], tp_both, fp_both;
} tally;

static void add(tally *t, int want, int lex, float p, float cutoff)
{
    int both = lex || p >= cutoff;
    if (want) {
        t->pos++;
        t->tp_lex += lex;
        t->tp_both += both;
    } else {
        t->neg++;
        t->fp_lex += lex;
        t->fp_both += both;
    }
    for (int k = 0; k < NCUT; k++) {
        if (want) t->tp_lrn[k] += p >= cuts[k];
        else t->fp_lrn[k] += p >= cuts[k];
    }
}

static double r(long a, long b) { return b ? (double)a / (double)b : 0.0; }

static void report(const char *name, const tally *t)
{
    printf("%-16s pos %5ld neg %5ld | rules R %.3f FP %.4f | shipped R %.3f FP %.4f\n", name,
           t->pos, t->neg, r(t->tp_lex, t->pos), r(t->fp_lex, t->neg), r(t->tp_both, t->pos),
           r(t->fp_both, t->neg));
    printf("%-16s learned alone:", "");
    for (int k = 0; k < NCUT; k++)
        printf(" %.1f:R%.3f/FP%.4f", cuts[k], r(t->tp_lrn[k], t->pos), r(t->fp_lrn[k], t->neg));
    printf("\n");
}

static int has_cat(const cJSON *labels, const char *c)
{
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(labels, "categories"), *e;
    cJSON_ArrayForEach(e, cats) if (cJSON_IsString(e) && !strcmp(e->valuestring, c)) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: classify_eval safety|injection FILE.jsonl [-v|-r]  (print the shipped / rules-only errors)\n");
        return 2;
    }
    int safety = !strcmp(argv[1], "safety"), verbose = argc > 3 && !strcmp(argv[3], "-v");
    int rules_verbose = argc > 3 && !strcmp(argv[3], "-r");
    FILE *f = fopen(argv[2], "r");
    if (!f) return 2;
    kt_safety s;
    kt_injection d;
    if (kt_safety_init(&s, KT_SAFETY_ALL_MASK, 0, 0) || kt_injection_init(&d, NULL)) return 1;
    tally t[KT_SAFETY__COUNT + 1];
    memset(t, 0, sizeof t);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *txt = cJSON_GetObjectItemCaseSensitive(j, "text");
        const cJSON *lab = cJSON_GetObjectItemCaseSensitive(j, "labels");
        if (!cJSON_IsString(txt)) continue;
        const char *x = txt->valuestring;
        size_t len = strlen(x);
        if (safety) {
            uint32_t lexm = 0, anym = 0;
            kt_safety_eval(&s, x, len, &lexm);
            kt_safety_hit ch[16];
            size_t nc = kt_safety_combos(&s, x, len, ch, 16);
            for (size_t i = 0; i < nc; i++) lexm |= KT_SAFETY_BIT(ch[i].category);
            kt_safety_scores sc;
            kt_safety_score(&s, x, len, &sc);
            int any = 0;
            for (int c = 0; c < KT_SAFETY__COUNT; c++) {
                const char *cn = kt_safety_category_name(c);
                int want = has_cat(lab, cn);
                any |= want;
                add(&t[c], want, !!(lexm & KT_SAFETY_BIT(c)), sc.p[c], s.cutoff[c]);
                if ((lexm & KT_SAFETY_BIT(c)) || sc.p[c] >= s.cutoff[c]) anym |= KT_SAFETY_BIT(c);
            }
            float pmax = 0;
            for (int c = 0; c < KT_SAFETY__COUNT; c++) pmax = sc.p[c] > pmax ? sc.p[c] : pmax;
            add(&t[KT_SAFETY__COUNT], any, lexm != 0, pmax, s.cutoff[0]);
            if (verbose && (any != (anym != 0)))
                printf("%s %.3f %s\n", any ? "MISS" : "FP  ", pmax, x);
            if (rules_verbose && (any != (lexm != 0))) printf("%s %s\n", any ? "MISS" : "FP  ", x);
        } else {
            unsigned score = 0;
            kt_injection_eval(&d, x, len, &score);
            kt_injection_assessment a;
            kt_injection_assess(&d, x, len, &a);
            int want = has_cat(lab, "prompt-injection");
            int lex = score + a.view_score + a.combo_score >= d.threshold;
            add(&t[0], want, lex, a.p, d.cutoff);
            if (verbose && want != (lex || a.p >= d.cutoff))
                printf("%s %.3f %s\n", want ? "MISS" : "FP  ", a.p, x);
            if (rules_verbose && want != lex) printf("%s %s\n", want ? "MISS" : "FP  ", x);
        }
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    if (safety) {
        for (int c = 0; c < KT_SAFETY__COUNT; c++) report(kt_safety_category_name(c), &t[c]);
        report("any category", &t[KT_SAFETY__COUNT]);
    } else {
        report("prompt_injection", &t[0]);
    }
    kt_safety_free(&s);
    kt_injection_free(&d);
    return 0;
}
