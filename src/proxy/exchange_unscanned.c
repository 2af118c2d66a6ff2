/* gateway.fail_mode for the request side: what input policies cannot read (a body that is not
 * JSON or too large to scan, a Content-Encoding, a policy that failed) is refused under
 * fail_mode: closed (the default; proxy.c answers), or forwarded as it came under fail_mode: open
 * with the decision event saying `verdict: unscanned` and the reason, counted in
 * keeptrusts_unscanned_total{reason}. The reasons are fixed strings: a bounded metric label. */
#include "exchange.h"
#include "kt/log.h"

bool kt__request_encoded(const kt_exchange *x)
{
    const kt_headers *hs = &x->c->in.headers;
    int i = kt_headers_find(hs, "content-encoding", 0);
    return i >= 0 && !kt_str_eq_ci(kt_headers_value(hs, (uint32_t)i), "identity");
}

bool kt__unscanned_input(kt_exchange *x, int rc)
{
    if (!x->cfg->fail_open_input) return false;
    if (kt__request_encoded(x)) x->unscanned = "encoded_body";
    else if (rc == KT_EPARSE) x->unscanned = "not_json";
    else if (rc == KT_ELIMIT) x->unscanned = "too_large";
    else if (rc == KT_ENOMEM) return false;   /* not a policy's limit: kt itself is short */
    else x->unscanned = "policy_error";
    KT_DEBUG("unscanned", "fail_mode open: request forwarded unscanned (%s)", x->unscanned);
    return true;
}
