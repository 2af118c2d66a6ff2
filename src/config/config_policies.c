/* The policy chain in the pack form: `policies.chain` lists policy kinds in order and
 * `policy.<kind>` holds each one's options, which the policy modules validate themselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"
#include "kt/policy.h"   /* KT_DIR_* */

static const char *const kinds[] = {
    "pii-detector", "dlp-filter", "safety-filter", "prompt-injection", "audit-logger", "spend-limit",
    "rate-limit", NULL,
};

bool kt__cfg_known_kind(const char *kind)
{
    for (size_t i = 0; kinds[i]; i++)
        if (strcmp(kinds[i], kind) == 0) return true;
    return false;
}

const char *kt__cfg_known_kinds(void)
{
    return "pii-detector, dlp-filter, safety-filter, prompt-injection, audit-logger, spend-limit, "
           "rate-limit";
}

void kt__cfg_add_policy(kt__cfgctx *x, const kt_ynode *at, const kt_ynode *name_node,
                        const char *name, const char *kind, const kt_ynode *options, bool input,
                        bool output)
{
    kt_config *c = x->cfg;
    for (size_t i = 0; i < c->nchain; i++)
        if (strcmp(c->chain[i].name, name) == 0) {
            if (name_node && name_node->expanded)
                kt_yr_err(&x->rd, at, "duplicate policy %s in the chain", KT_YQN(name_node));
            else
                kt_yr_err(&x->rd, at, "duplicate policy '%s' in the chain", KT_YQ(name));
            return;
        }
    if (c->nchain >= KT__CFG_MAX_POLICIES) {
        if (c->nchain == KT__CFG_MAX_POLICIES)
            kt_yr_err(&x->rd, at, "more than %d policies in the chain", KT__CFG_MAX_POLICIES);
        return;
    }
    kt_policy_cfg *nc = kt_realloc(c->chain, (c->nchain + 1) * sizeof *nc);
    if (!nc) {
        x->rd.oom = 1;
        return;
    }
    c->chain = nc;
    kt_policy_cfg *p = &c->chain[c->nchain];
    memset(p, 0, sizeof *p);
    p->name = kt_yr_dup(&x->rd, name);
    p->kind = kt_yr_dup(&x->rd, kind);
    if (!p->name || !p->kind) {
        free(p->name);
        free(p->kind);
        return;
    }
    p->options = options;
    p->env = x->env;
    p->input = input;
    p->output = output;
    c->nchain++;
}

static void chain_entry(kt__cfgctx *x, const kt_ynode *e, size_t i, const kt_ynode *policy)
{
    char where[64];
    snprintf(where, sizeof where, "policies.chain[%zu]", i);
    const char *kind = kt_yr_want_str(&x->rd, e, where);
    if (!kind) return;
    if (!kt__cfg_known_kind(kind)) {
        kt_yr_err(&x->rd, e, "unknown policy kind %s (known: %s)", KT_YQN(e),
                  kt__cfg_known_kinds());
        return;
    }
    const kt_ynode *opts = kt_ymap_get(policy, kind);
    char opath[96];
    snprintf(opath, sizeof opath, "policy.%s", kind);
    if (kt_y_is_null(opts)) opts = NULL;
    if (opts && !kt_yr_want_map(&x->rd, opts, opath)) return;
    kt__cfg_add_policy(x, e, e, kind, kind, opts, true, true);
}

void kt__cfg_pack_policies(kt__cfgctx *x, const kt_ynode *policies, const kt_ynode *policy)
{
    static const char *const policies_keys[] = { "chain", NULL };
    const kt_ynode *chain = NULL;
    if (policy && kt_y_is_null(policy)) policy = NULL;
    if (policy && !kt_yr_want_map(&x->rd, policy, "policy")) policy = NULL;
    if (policies && policies->type == KT_Y_SCALAR && !kt_y_is_null(policies)) {
        kt_yr_err(&x->rd, policies, "expected a mapping (policies: {chain: [...]}) or a sequence "
                  "(a list of policies) for policies, got a scalar");
    } else if (policies && policies->type == KT_Y_MAP) {
        kt_yr_check_keys(&x->rd, policies, policies_keys, "policies");
        chain = kt_ymap_get(policies, "chain");
        if (kt_y_is_null(chain)) chain = NULL;
        if (chain && !kt_yr_want_seq(&x->rd, chain, "policies.chain")) chain = NULL;
    }
    for (size_t i = 0; chain && i < chain->n; i++) chain_entry(x, chain->vals[i], i, policy);

    for (size_t i = 0; policy && i < policy->n; i++) {
        const kt_ynode *k = policy->keys[i];
        size_t j = 0;
        while (chain && j < chain->n && strcmp(chain->vals[j]->str ? chain->vals[j]->str : "",
                                                 k->str) != 0)
            j++;
        /* A warning: an edit that adds options before the chain entry must not stop a reload. */
        if (!chain || j == chain->n)
            kt_yr_warn(&x->rd, k, "policy '%s' is configured but not in policies.chain; it does "
                       "not run until listed there", KT_YQ(k->str));
    }
}

/* fail_mode per policy: `closed` keeps a direction closed whatever the gateway says (a body this
 * policy cannot read is not forwarded); `open` lets it fail open only if every other policy of
 * that direction agrees. */
void kt__cfg_fail_modes(kt__cfgctx *x)
{
    kt_config *c = x->cfg;
    bool in = c->gateway.fail_open, out = c->gateway.fail_open;
    bool any_in = false, any_out = false, all_in = true, all_out = true;
    for (size_t i = 0; i < c->nchain; i++) {
        const kt_policy_cfg *p = &c->chain[i];
        const kt_ynode *v = p->options ? kt_ymap_get(p->options, "fail_mode") : NULL;
        bool open = c->gateway.fail_open;
        if (v && !kt_y_is_null(v)) {
            const char *s = kt_yr_want_str(&x->rd, v, "fail_mode");
            if (s && strcmp(s, "open") != 0 && strcmp(s, "closed") != 0)
                kt_yr_err(&x->rd, v, "unknown fail_mode %s for policy '%s' (known: closed, open)",
                          KT_YQN(v), KT_YQ(p->name));
            else if (s) open = strcmp(s, "open") == 0;
        }
        if (p->dirs & KT_DIR_INPUT) {
            any_in = true;
            all_in = all_in && open;
        }
        if (p->dirs & KT_DIR_OUTPUT) {
            any_out = true;
            all_out = all_out && open;
        }
    }
    c->fail_open_input = any_in ? all_in : in;
    c->fail_open_output = any_out ? all_out : out;
}
