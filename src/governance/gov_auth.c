/* Gateway keys: the key is taken from where SDKs put it (Authorization: Bearer for OpenAI,
 * x-api-key for Anthropic, api-key for Azure), hashed with SHA-256 and compared in constant time
 * with the hash of every configured key. The key itself is never stored, logged or forwarded. */
#include <mbedtls/constant_time.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <string.h>

#include "gov_priv.h"

#define KT_GW_KEY_MAX 512

/* The client's key, or an empty string when it sent none. */
static kt_str client_key(const kt_headers *hs)
{
    int i = kt_headers_find(hs, "authorization", 0);
    if (i >= 0) {
        kt_str v = kt_headers_value(hs, (uint32_t)i);
        if (v.n > 7 && kt_str_eq_ci((kt_str){ v.p, 7 }, "bearer ")) {
            kt_str k = { v.p + 7, v.n - 7 };
            while (k.n && *k.p == ' ') k.p++, k.n--;
            return k;
        }
    }
    static const char *const others[] = { "x-api-key", "api-key" };
    for (size_t n = 0; n < KT_ARRAY_LEN(others); n++) {
        i = kt_headers_find(hs, others[n], 0);
        if (i >= 0) return kt_headers_value(hs, (uint32_t)i);
    }
    return (kt_str){ "", 0 };
}

const kt_consumer *kt__gov_lookup(const kt_config *cfg, const char *key, size_t n)
{
    unsigned char h[32];
#if MBEDTLS_VERSION_MAJOR < 3
    mbedtls_sha256_ret((const unsigned char *)key, n, h, 0);
#else
    mbedtls_sha256((const unsigned char *)key, n, h, 0);
#endif
    const kt_consumer *found = NULL;
    for (size_t i = 0; i < cfg->nconsumers; i++)   /* every key is compared: no early exit */
        for (size_t k = 0; k < cfg->consumers[i].nkeys; k++) {
            const kt_gw_key *gk = &cfg->consumers[i].keys[k];
            if (gk->ok && mbedtls_ct_memcmp(gk->sha, h, 32) == 0 && !found)
                found = &cfg->consumers[i];
        }
    return found;
}

static bool refuse(kt_gov_refusal *out, const char *code, const char *msg)
{
    out->status = 401;
    out->type = "authentication_error";
    out->code = code;
    snprintf(out->msg, sizeof out->msg, "%s", msg);
    return false;
}

bool kt_gov_authenticate(const kt_gov *g, const kt_config *cfg, const kt_headers *hs,
                         kt_gov_req *r, kt_gov_refusal *out)
{
    r->consumer = NULL;
    if (!kt_gov_keys_required(g, cfg)) return true;
    if (!cfg->nconsumers)
        return refuse(out, "no_consumers",
                      "this gateway requires gateway keys but has no consumers: add `consumers: "
                      "[{name: ..., keys: [{key_sha256: <sha256 of the key>}]}]` to the config, "
                      "or set `gateway.auth: none` for a sidecar only its own pod can reach");
    kt_str k = client_key(hs);
    if (!k.n)
        return refuse(out, "missing_gateway_key",
                      "a gateway key is required: send it as `Authorization: Bearer <key>`, "
                      "`x-api-key` or `api-key`");
    const kt_consumer *c = k.n <= KT_GW_KEY_MAX ? kt__gov_lookup(cfg, k.p, k.n) : NULL;
    if (!c) return refuse(out, "invalid_gateway_key", "the gateway key is not valid");
    r->consumer = c;
    return true;
}
