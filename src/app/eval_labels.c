/* kt policy eval: one line of the labels file into an item (eval.h has the format). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "kt/common.h"

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
