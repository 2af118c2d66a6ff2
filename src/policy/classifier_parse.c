/* Parsers of classifier answers (kt/classifier.h): OpenAI /v1/moderations results mapped onto
 * kt's safety categories, and a guard model's one-line verdict inside a chat completion. Every
 * answer kt cannot read is KT_EPARSE, so that the policy's fail mode decides. */
#include <ctype.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kt/classifier.h"
#include "kt/policy.h"
#include "kt/safety.h"

const char *kt_clf_outcome_name(kt_clf_outcome o)
{
    static const char *const names[] = { "none",    "clean", "flagged",   "cached",
                                         "timeout", "error", "unreadable" };
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "none";
}

/* OpenAI's moderation categories onto kt's ("illicit" and the like have no kt category). */
static int category_of(const char *name)
{
    static const struct {
        const char *prefix;
        int cat;
    } map[] = {
        { "hate", KT_SAFETY_HATE },           { "harassment", KT_SAFETY_HATE },
        { "violence", KT_SAFETY_VIOLENCE },   { "illicit/violent", KT_SAFETY_VIOLENCE },
        { "self-harm", KT_SAFETY_SELF_HARM }, { "self_harm", KT_SAFETY_SELF_HARM },
        { "sexual", KT_SAFETY_SEXUAL },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t n = strlen(map[i].prefix);
        if (!strncmp(name, map[i].prefix, n) && (name[n] == 0 || name[n] == '/'))
            return map[i].cat;
    }
    return -1;
}

/* One results[] object: KT_OK with v set when flagged in a category of `mask`. */
static int one_result(const cJSON *r, uint32_t mask, kt_clf_verdict *v)
{
    const cJSON *flagged = cJSON_GetObjectItemCaseSensitive(r, "flagged");
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(r, "categories");
    if (!cJSON_IsBool(flagged) || !cJSON_IsObject(cats)) return KT_EPARSE;
    if (!cJSON_IsTrue(flagged)) return KT_OK;
    for (const cJSON *c = cats->child; c; c = c->next) {
        if (!cJSON_IsTrue(c) || !c->string) continue;
        int k = category_of(c->string);
        if (k < 0 || !(mask & KT_SAFETY_BIT(k))) continue;
        if (!v->flagged) v->label = (uint16_t)k;
        v->flagged = true;
    }
    return KT_OK;
}

int kt_clf_parse_moderations(const char *body, size_t len, size_t n, uint32_t mask,
                             kt_clf_verdict *v)
{
    v->flagged = false;
    v->label = 0;
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *res = root ? cJSON_GetObjectItemCaseSensitive(root, "results") : NULL;
    int rc = cJSON_IsArray(res) && (size_t)cJSON_GetArraySize(res) == n && n ? KT_OK : KT_EPARSE;
    for (const cJSON *r = res ? res->child : NULL; r && !rc; r = r->next)
        rc = cJSON_IsObject(r) ? one_result(r, mask, v) : KT_EPARSE;
    cJSON_Delete(root);
    if (rc) v->flagged = false;
    return rc;
}

/* ---- guard answers ------------------------------------------------------------------------------ */

static bool is_word(int c) { return isalnum(c) || c == '_' || c == '-'; }

/* The next word of s[*i..n) (letters, digits, '_', '-'), lower-cased into w; false at the end. */
static bool next_word(const char *s, size_t n, size_t *i, char *w, size_t cap)
{
    while (*i < n && !is_word((unsigned char)s[*i])) (*i)++;
    if (*i >= n) return false;
    size_t k = 0;
    while (*i < n && is_word((unsigned char)s[*i])) {
        if (k + 1 < cap) w[k++] = (char)tolower((unsigned char)s[*i]);
        (*i)++;
    }
    w[k] = 0;
    return true;
}

/* A Llama Guard 3 code or a kt category name onto a kt category, -1. */
static int code_category(const char *w)
{
    static const struct {
        const char *code;
        int cat;
    } map[] = {
        { "s1", KT_SAFETY_VIOLENCE }, { "s3", KT_SAFETY_SEXUAL },    { "s4", KT_SAFETY_SEXUAL },
        { "s9", KT_SAFETY_VIOLENCE }, { "s10", KT_SAFETY_HATE },     { "s11", KT_SAFETY_SELF_HARM },
        { "s12", KT_SAFETY_SEXUAL },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(w, map[i].code)) return map[i].cat;
    int k = kt_safety_category_from_name(w, strlen(w));
    return k >= 0 ? k : category_of(w);
}

/* Whether w is a category code at all (S<digits>, or a name kt knows). */
static bool is_code(const char *w)
{
    if (w[0] == 's' && isdigit((unsigned char)w[1])) return true;
    return code_category(w) >= 0;
}

static int safety_answer(const char *s, size_t n, size_t i, uint32_t mask, kt_clf_verdict *v)
{
    char w[32];
    bool any_code = false;
    while (next_word(s, n, &i, w, sizeof w)) {
        if (!is_code(w)) return KT_EPARSE;   /* prose after "unsafe": not the format asked for */
        any_code = true;
        int k = code_category(w);
        if (k >= 0 && (mask & KT_SAFETY_BIT(k)) && !v->flagged) {
            v->flagged = true;
            v->label = (uint16_t)k;
        }
    }
    if (!any_code) {
        v->flagged = true;
        v->label = KT_CLF_LABEL_FLAGGED;
    }
    return KT_OK;
}

int kt_clf_parse_answer(const char *text, size_t len, kt_clf_task task, uint32_t mask,
                        kt_clf_verdict *v)
{
    v->flagged = false;
    v->label = 0;
    char w[32];
    size_t i = 0;
    if (!next_word(text, len, &i, w, sizeof w)) return KT_EPARSE;
    bool yes = !strcmp(w, "unsafe") || (task == KT_CLF_INJECTION && !strcmp(w, "yes"));
    bool no = !strcmp(w, "safe") || (task == KT_CLF_INJECTION && !strcmp(w, "no"));
    if (no) return next_word(text, len, &i, w, sizeof w) ? KT_EPARSE : KT_OK;
    if (!yes) return KT_EPARSE;
    if (task == KT_CLF_SAFETY) {
        int rc = safety_answer(text, len, i, mask, v);
        if (rc) v->flagged = false;   /* an unreadable answer carries no verdict */
        return rc;
    }
    if (next_word(text, len, &i, w, sizeof w)) return KT_EPARSE;
    v->flagged = true;
    v->label = KT_CLF_LABEL_FLAGGED;
    return KT_OK;
}

int kt_clf_parse_chat(const char *body, size_t len, kt_clf_task task, uint32_t mask,
                      kt_clf_verdict *v)
{
    v->flagged = false;
    v->label = 0;
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *ch = root ? cJSON_GetObjectItemCaseSensitive(root, "choices") : NULL;
    const cJSON *c0 = cJSON_IsArray(ch) ? cJSON_GetArrayItem(ch, 0) : NULL;
    const cJSON *msg = c0 ? cJSON_GetObjectItemCaseSensitive(c0, "message") : NULL;
    const cJSON *content = msg ? cJSON_GetObjectItemCaseSensitive(msg, "content") : NULL;
    int rc = KT_EPARSE;
    if (cJSON_IsString(content) && content->valuestring)
        rc = kt_clf_parse_answer(content->valuestring, strlen(content->valuestring), task, mask, v);
    cJSON_Delete(root);
    return rc;
}
