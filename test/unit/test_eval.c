/* kt policy eval: label-file parsing and the counts behind precision, recall and F1 on tiny
 * corpora whose answers are known by hand. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/app/eval.h"
#include "kt_test.h"
#include "kt_test_config.h"

static const char kt__cfg[] =
    "pack: {name: t, version: 1.0.0}\n"
    "policies: {chain: [pii-detector, dlp-filter, safety-filter]}\n"
    "policy:\n"
    "  pii-detector: {action: redact}\n"
    "  dlp-filter: {action: redact}\n"
    "  safety-filter: {action: block}\n";

/* Runs the eval over `labels` with --json and returns the parsed summary (NULL on failure). */
static cJSON *eval_json(const char *labels, int *code)
{
    kt_config *c = kt_test_config(kt__cfg);
    if (!c) return NULL;
    FILE *in = fmemopen((void *)labels, strlen(labels), "r");
    char *outp = NULL, *errp = NULL;
    size_t outn = 0, errn = 0;
    FILE *out = open_memstream(&outp, &outn), *err = open_memstream(&errp, &errn);
    kt_eval_opts o = { .json = true, .max_list = 5 };
    *code = kt_eval_run(c, in, "labels", &o, out, err);
    fclose(in);
    fclose(out);
    fclose(err);
    if (errn) printf("#   stderr: %s", errp);
    cJSON *j = *code == 0 ? cJSON_Parse(outp) : NULL;
    free(outp);
    free(errp);
    kt_config_release(&c);
    return j;
}

static double num(const cJSON *j, const char *a, const char *b, const char *k)
{
    const cJSON *x = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, a), b), k);
    return cJSON_IsNumber(x) ? x->valuedouble : cJSON_IsNull(x) ? -2 : -1;
}

KT_TEST(parse_item_reads_text_direction_and_labels)
{
    kt_eval_names names = { 0 };
    kt_eval_item it;
    char err[160];
    const char *l = "{\"text\":\"ab\\u00e9 x@y.io\",\"direction\":\"output\",\"labels\":{\"categories\":"
                    "[\"hate\"],\"entities\":[{\"type\":\"email\",\"start\":5,\"end\":11}]}}";
    KT_ASSERT_EQ_INT(kt_eval_parse_item(&names, l, strlen(l), &it, err, sizeof err), 0);
    KT_ASSERT_EQ_INT(it.len, 11);   /* offsets are bytes: the é is two */
    KT_ASSERT_EQ_INT(it.dir, KT_DIR_OUTPUT);
    KT_ASSERT_EQ_INT(it.ncats, 1);
    KT_ASSERT_EQ_STR(names.v[it.cats[0]], "hate");
    KT_ASSERT_EQ_INT(it.nents, 1);
    KT_ASSERT_EQ_STR(names.v[it.ents[0].type], "email");
    kt_eval_item_free(&it);
}

KT_TEST(parse_item_rejects_bad_lines)
{
    static const char *const bad[] = {
        "{\"text\":1}",
        "[1]",
        "{\"text\":\"abc\",\"direction\":\"sideways\"}",
        "{\"text\":\"abc\",\"labels\":{\"entities\":[{\"type\":\"email\",\"start\":1,\"end\":9}]}}",
        "{\"text\":\"abc\",\"labels\":{\"entities\":[{\"type\":\"email\",\"start\":2,\"end\":2}]}}",
        "{\"text\":\"abc\",\"labels\":{\"entities\":[{\"type\":\"email\",\"start\":0.5,\"end\":2}]}}",
        "{\"text\":\"abc\",\"labels\":{\"categories\":\"hate\"}}",
        "{\"text\":\"abc\",\"labels\":{\"categories\":[\"\"]}}",
        "{\"text\":\"abc\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kt_eval_names names = { 0 };
        kt_eval_item it;
        char err[160];
        int rc = kt_eval_parse_item(&names, bad[i], strlen(bad[i]), &it, err, sizeof err);
        if (rc == 0) KT_FAILF("accepted: %s", bad[i]);
        if (rc == 0) kt_eval_item_free(&it);
    }
}

/* 4 labelled emails, 3 found; one unlabelled email (fp); one item without labels flagged. */
KT_TEST(entity_precision_recall_by_overlap)
{
    const char *labels =
        "{\"text\":\"mail jane@example.com\",\"labels\":{\"entities\":[{\"type\":\"email\",\"start\":5,\"end\":21}]}}\n"
        "{\"text\":\"to bob@example.org now\",\"labels\":{\"entities\":[{\"type\":\"email\",\"start\":3,\"end\":10}]}}\n"
        "\n"
        "{\"text\":\"x al@example.net\",\"labels\":{\"entities\":[{\"type\":\"email\",\"start\":2,\"end\":16}]}}\n"
        "{\"text\":\"contact: me at home\",\"labels\":{\"entities\":[{\"type\":\"email\",\"start\":9,\"end\":19}]}}\n"
        "{\"text\":\"cc ann@example.com\"}\n"
        "{\"text\":\"nothing at all\"}\n";
    int code = 0;
    cJSON *j = eval_json(labels, &code);
    KT_ASSERT_EQ_INT(code, 0);
    KT_ASSERT(j != NULL);
    if (!j) return;
    KT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "items")->valueint, 6);
    KT_ASSERT_EQ_INT(num(j, "entities", "email", "labelled"), 4);
    KT_ASSERT_EQ_INT(num(j, "entities", "email", "tp"), 3);   /* a partial overlap counts */
    KT_ASSERT_EQ_INT(num(j, "entities", "email", "fp"), 1);
    KT_ASSERT_EQ_INT(num(j, "entities", "email", "fn"), 1);
    KT_ASSERT(num(j, "entities", "email", "precision") == 0.75);
    KT_ASSERT(num(j, "entities", "email", "recall") == 0.75);
    KT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "unlabelled_items")->valueint, 2);
    KT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "unlabelled_flagged")->valueint, 1);
    cJSON_Delete(j);
}

/* A type labelled but never predicted: recall 0, precision undefined (null). */
KT_TEST(undefined_precision_is_null)
{
    const char *labels =
        "{\"text\":\"my zip is 12345\",\"labels\":{\"entities\":[{\"type\":\"zip\",\"start\":10,\"end\":15}]}}\n";
    int code = 0;
    cJSON *j = eval_json(labels, &code);
    KT_ASSERT(j != NULL);
    if (!j) return;
    KT_ASSERT(num(j, "entities", "zip", "recall") == 0);
    KT_ASSERT(num(j, "entities", "zip", "precision") == -2);
    cJSON_Delete(j);
}

/* Categories per item: the category is a finding's label or the policy's kind. A sweep exists for
 * the scored safety-filter and is monotone: raising the threshold never adds flagged items. */
KT_TEST(categories_per_item_and_sweep)
{
    const char *labels =
        "{\"text\":\"I will kill you, I am going to murder you\",\"labels\":{\"categories\":[\"violence\"]}}\n"
        "{\"text\":\"how do I bake bread\",\"labels\":{\"categories\":[\"violence\"]}}\n"
        "{\"text\":\"the weather is nice\"}\n"
        "{\"text\":\"key AKIAIOSFODNN7EXAMPLE here\",\"labels\":{\"categories\":[\"dlp-filter\"]}}\n";
    int code = 0;
    cJSON *j = eval_json(labels, &code);
    KT_ASSERT(j != NULL);
    if (!j) return;
    KT_ASSERT_EQ_INT(num(j, "categories", "violence", "labelled"), 2);
    KT_ASSERT_EQ_INT(num(j, "categories", "violence", "tp"), 1);
    KT_ASSERT_EQ_INT(num(j, "categories", "violence", "fn"), 1);
    KT_ASSERT_EQ_INT(num(j, "categories", "violence", "fp"), 0);
    KT_ASSERT_EQ_INT(num(j, "categories", "dlp-filter", "tp"), 1);
    const cJSON *sw = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "sweeps"), 0);
    KT_ASSERT(sw != NULL);
    if (sw) {
        KT_ASSERT_EQ_STR(cJSON_GetObjectItem(sw, "policy")->valuestring, "safety-filter");
        const cJSON *rows = cJSON_GetObjectItem(sw, "rows"), *row;
        KT_ASSERT(cJSON_GetArraySize(rows) >= 1);
        int prev_t = 0, prev_tp = 1 << 30;
        cJSON_ArrayForEach(row, rows) {
            int t = cJSON_GetObjectItem(row, "threshold")->valueint;
            int tp = cJSON_GetObjectItem(row, "tp")->valueint;
            KT_ASSERT(t > prev_t);
            KT_ASSERT(tp <= prev_tp);
            prev_t = t;
            prev_tp = tp;
        }
    }
    cJSON_Delete(j);
}

/* Names come from the labels file: the summary escapes them and stays valid JSON. */
KT_TEST(json_names_are_escaped)
{
    int code = 0;
    cJSON *j = eval_json("{\"text\":\"x\",\"labels\":{\"categories\":[\"a\\\"b\\\\c\"]}}\n", &code);
    KT_ASSERT_EQ_INT(code, 0);
    KT_ASSERT(j != NULL);
    if (!j) return;
    KT_ASSERT_EQ_INT(num(j, "categories", "a\"b\\c", "labelled"), 1);
    cJSON_Delete(j);
}

KT_TEST(bad_line_fails_with_its_number)
{
    int code = 0;
    cJSON *j = eval_json("{\"text\":\"ok\"}\n{\"text\":\"x\",\"labels\":[]}\n", &code);
    KT_ASSERT_EQ_INT(code, 2);
    KT_ASSERT(j == NULL);
}

int main(void)
{
    KT_RUN(parse_item_reads_text_direction_and_labels);
    KT_RUN(parse_item_rejects_bad_lines);
    KT_RUN(entity_precision_recall_by_overlap);
    KT_RUN(undefined_precision_is_null);
    KT_RUN(categories_per_item_and_sweep);
    KT_RUN(json_names_are_escaped);
    KT_RUN(bad_line_fails_with_its_number);
    return KT_DONE();
}
