/* Model rules: `allow` and `deny` glob lists (fnmatch: *, ?, [...]) of the gateway and of a
 * consumer, checked against the request's model and the Azure deployment. */
#include <fnmatch.h>

#include "gov_priv.h"

static bool any(char *const *pats, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (fnmatch(pats[i], s, 0) == 0) return true;
    return false;
}

bool kt_gov_model_allowed(const kt_model_rules *r, const char *model)
{
    if (!r || !model) return true;
    if (any(r->deny, r->ndeny, model)) return false;
    return !r->nallow || any(r->allow, r->nallow, model);
}

/* Whether every rule that applies allows `name` (NULL: nothing to check). */
bool kt__gov_models_ok(const kt_config *cfg, const kt_consumer *c, const char *name)
{
    if (!name) return true;
    return kt_gov_model_allowed(&cfg->gateway.models, name) &&
           (!c || kt_gov_model_allowed(&c->models, name));
}
