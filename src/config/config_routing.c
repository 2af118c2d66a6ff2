/* A target's routing keys: `model` (one name or a list of fnmatch globs), `aliases` (names a
 * client may use, rewritten to the model sent upstream), `fallbacks` (other targets tried when
 * this one fails, docs/ROUTING.md), and the Azure base_url forms (with or without
 * /openai/deployments[/NAME]). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

#define KT__CFG_MAX_MODELS 64
#define KT__CFG_MAX_ALIASES 64
#define KT__CFG_MAX_FALLBACKS 8
#define KT__CFG_MAX_MODEL_LEN 256

static bool model_name_ok(kt__cfgctx *x, const kt_ynode *n, const char *s, const char *where)
{
    if (strlen(s) <= KT__CFG_MAX_MODEL_LEN) return true;
    kt_yr_err(&x->rd, n, "%s: a model name or pattern is at most %d characters", where,
              KT__CFG_MAX_MODEL_LEN);
    return false;
}

void kt__cfg_target_models(kt__cfgctx *x, kt_target *t, const kt_ynode *v, const char *where)
{
    char path[160];
    snprintf(path, sizeof path, "%s.model", where);
    if (!v) return;
    bool list = v->type == KT_Y_SEQ;
    size_t n = list ? v->n : 1;
    if (list && (n == 0 || n > KT__CFG_MAX_MODELS)) {
        kt_yr_err(&x->rd, v, "%s lists 1 to %d models", path, KT__CFG_MAX_MODELS);
        return;
    }
    t->models = kt_calloc(n, sizeof *t->models);
    if (!t->models) {
        x->rd.oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const kt_ynode *item = list ? v->vals[i] : v;
        const char *s = kt_yr_want_str(&x->rd, item, path);
        if (!s || !model_name_ok(x, item, s, path)) continue;
        char *d = kt_yr_dup(&x->rd, s);
        if (d) t->models[t->nmodels++] = d;
    }
    if (t->nmodels) t->model = kt_yr_dup(&x->rd, t->models[0]);
}

void kt__cfg_target_aliases(kt__cfgctx *x, kt_target *t, const kt_ynode *v, const char *where)
{
    char path[160];
    snprintf(path, sizeof path, "%s.aliases", where);
    if (!v || kt_y_is_null(v) || !kt_yr_want_map(&x->rd, v, path) || !v->n) return;
    if (v->n > KT__CFG_MAX_ALIASES) {
        kt_yr_err(&x->rd, v, "%s has more than %d aliases", path, KT__CFG_MAX_ALIASES);
        return;
    }
    t->aliases = kt_calloc(v->n, sizeof *t->aliases);
    if (!t->aliases) {
        x->rd.oom = 1;
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const char *to = kt_yr_want_str(&x->rd, v->vals[i], path);
        const char *from = v->keys[i]->str;
        if (!to || !from || !*from || !model_name_ok(x, v->keys[i], from, path) ||
            !model_name_ok(x, v->vals[i], to, path))
            continue;
        kt_model_alias *a = &t->aliases[t->naliases];
        a->name = kt_yr_dup(&x->rd, from);
        a->model = kt_yr_dup(&x->rd, to);
        if (a->name && a->model) t->naliases++;
        else {
            free(a->name);
            free(a->model);
        }
    }
}

/* Whether `s` ends with `suffix`; its start in *at. */
static bool ends_with(const char *s, const char *suffix, size_t *at)
{
    size_t n = strlen(s), k = strlen(suffix);
    if (n < k || memcmp(s + n - k, suffix, k) != 0) return false;
    *at = n - k;
    return true;
}

/* Azure's documented base_url forms all name the resource; kt adds /openai/deployments/<dep>
 * itself, so a prefix that already has it (or /openai) is cut back, and a deployment named in it
 * is the target's deployment unless `deployment:` says otherwise. */
void kt__cfg_azure_base(kt__cfgctx *x, kt_target *t)
{
    char *p = t->path_prefix;
    if (!p || t->provider != KT_PROVIDER_AZURE) return;
    const char *marker = "/openai/deployments";
    char *m = strstr(p, marker);
    size_t at;
    if (m && (m[strlen(marker)] == '\0' || m[strlen(marker)] == '/')) {
        const char *dep = m + strlen(marker);
        if (*dep == '/') dep++;
        size_t dn = strcspn(dep, "/");
        if (dn && !t->deployment) {
            t->deployment = kt_calloc(1, dn + 1);
            if (!t->deployment) x->rd.oom = 1;
            else memcpy(t->deployment, dep, dn);
        }
        *m = '\0';
    } else if (ends_with(p, "/openai", &at)) {
        p[at] = '\0';
    }
}

static bool same_api_family(kt_provider_kind a, kt_provider_kind b)
{
    return (a == KT_PROVIDER_ANTHROPIC) == (b == KT_PROVIDER_ANTHROPIC);
}

static int target_index(const kt_config *c, const char *id)
{
    for (size_t i = 0; i < c->ntargets; i++)
        if (c->targets[i].id && strcmp(c->targets[i].id, id) == 0) return (int)i;
    return -1;
}

static void one_fallback_list(kt__cfgctx *x, size_t ti, const kt_ynode *v, const char *where)
{
    kt_config *c = x->cfg;
    kt_target *t = &c->targets[ti];
    if (!kt_yr_want_seq(&x->rd, v, where) || !v->n) return;
    if (v->n > KT__CFG_MAX_FALLBACKS) {
        kt_yr_err(&x->rd, v, "%s lists more than %d targets", where, KT__CFG_MAX_FALLBACKS);
        return;
    }
    t->fallbacks = kt_calloc(v->n, sizeof *t->fallbacks);
    if (!t->fallbacks) {
        x->rd.oom = 1;
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const char *id = kt_yr_want_str(&x->rd, v->vals[i], where);
        if (!id) continue;
        int k = target_index(c, id);
        bool dup = false;
        for (size_t j = 0; k >= 0 && j < t->nfallbacks; j++) dup |= t->fallbacks[j] == (uint16_t)k;
        if (k < 0)
            kt_yr_err(&x->rd, v->vals[i], "%s: no target has the id %s", where,
                      KT_YQN(v->vals[i]));
        else if ((size_t)k == ti)
            kt_yr_err(&x->rd, v->vals[i], "%s: a target cannot be its own fallback", where);
        else if (dup)
            kt_yr_err(&x->rd, v->vals[i], "%s lists %s twice", where, KT_YQN(v->vals[i]));
        else if (!same_api_family(t->provider, c->targets[k].provider))
            kt_yr_err(&x->rd, v->vals[i],
                      "%s: %s is a %s target, which does not speak the API of %s (%s); a "
                      "fallback must serve the same requests", where, KT_YQN(v->vals[i]),
                      kt_provider_name(c->targets[k].provider), t->id,
                      kt_provider_name(t->provider));
        else
            t->fallbacks[t->nfallbacks++] = (uint16_t)k;
    }
}

void kt__cfg_target_fallbacks(kt__cfgctx *x, const kt_ynode *list, const char *lname)
{
    for (size_t i = 0; i < x->cfg->ntargets && i < list->n; i++) {
        const kt_ynode *item = list->vals[i];
        const kt_ynode *v = item && item->type == KT_Y_MAP ? kt_ymap_get(item, "fallbacks") : NULL;
        if (!v || kt_y_is_null(v) || !x->cfg->targets[i].id) continue;
        char where[80];
        snprintf(where, sizeof where, "%s[%zu].fallbacks", lname, i);
        one_fallback_list(x, i, v, where);
    }
}

void kt__cfg_target_routing_free(kt_target *t)
{
    for (size_t i = 0; i < t->nmodels; i++) free(t->models[i]);
    free(t->models);
    for (size_t i = 0; i < t->naliases; i++) {
        free(t->aliases[i].name);
        free(t->aliases[i].model);
    }
    free(t->aliases);
    free(t->fallbacks);
}
