/* The exchange's audit record (audit-logger, kt/audit.h): keyed digests (HMAC-SHA256 under the
 * deployment's audit key) of the request body as the client sent it and of the response body as
 * the upstream sent it, computed as the bytes pass and never kept; at the end one record with the
 * decision event (who, what, when, config version), the client's address and the digests. A
 * request the chain does not audit is recorded only when log_all_access is set and kt refused it. */
#include <mbedtls/md.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange.h"
#include "kt/audit.h"

struct kt_xaudit {
    mbedtls_md_context_t out;
    bool out_started;
    uint8_t in_digest[KT_AUDIT_KEY_BYTES], out_digest[KT_AUDIT_KEY_BYTES];
    bool has_in;
};

static const mbedtls_md_info_t *sha256(void) { return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256); }

void kt__audit_begin(kt_exchange *x)
{
    const kt_audit_opts *o = kt_audit_opts_of(x->cfg);
    const uint8_t *key = kt_audit_key(x->gw->audit);
    if (!o || !key) return;
    struct kt_xaudit *a = kt_calloc(1, sizeof *a);
    if (!a) return;   /* the record then has no digests; it is still written */
    x->audit = a;
    mbedtls_md_init(&a->out);
    const kt_buf *body = &x->c->in.body;
    a->has_in = mbedtls_md_hmac(sha256(), key, KT_AUDIT_KEY_BYTES,
                                (const unsigned char *)(body->p ? body->p : ""), body->len,
                                a->in_digest) == 0;
}

void kt__audit_output(kt_exchange *x, const char *data, size_t len)
{
    struct kt_xaudit *a = x->audit;
    if (!a) return;
    if (!a->out_started) {
        if (mbedtls_md_setup(&a->out, sha256(), 1) ||
            mbedtls_md_hmac_starts(&a->out, kt_audit_key(x->gw->audit), KT_AUDIT_KEY_BYTES))
            return;
        a->out_started = true;
    }
    mbedtls_md_hmac_update(&a->out, (const unsigned char *)data, len);
}

static void peer_name(const kt_conn *c, char *out, size_t n)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    out[0] = '\0';
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len)) return;
    if (ss.ss_family == AF_INET) uv_ip4_name((const struct sockaddr_in *)(const void *)&ss, out, n);
    else if (ss.ss_family == AF_INET6) uv_ip6_name((const struct sockaddr_in6 *)(const void *)&ss, out, n);
}

/* The embedded decision is the record's "what", not an event of its own: its event_type goes
 * (readers that pick decision events by that key must not count it twice). The first occurrence
 * is the top-level one: kt_event_json writes the id, then event_type. */
static void drop_event_type(kt_buf *b)
{
    static const char key[] = ",\"event_type\":\"decision\"";
    char *p = b->p ? strstr(b->p, key) : NULL;
    if (!p) return;
    size_t n = sizeof key - 1, at = (size_t)(p - b->p);
    memmove(p, p + n, b->len - at - n + 1);
    b->len -= n;
}

/* Which record the exchange gets: "request" (the chain audits it), "refusal" (log_all_access and
 * kt refused it itself), or none. */
static const char *record_kind(const kt_exchange *x, const kt_audit_opts *o, const kt_event_info *ev)
{
    if (x->has_decision && x->decision.audit) return "request";
    bool refused = ev->reason_code && *ev->reason_code && ev->status >= 400 && ev->status < 500;
    return o->log_all_access && refused ? "refusal" : NULL;
}

void kt__audit_finish(kt_exchange *x, const kt_event_info *ev)
{
    struct kt_xaudit *a = x->audit;
    const kt_audit_opts *o = kt_audit_opts_of(x->cfg);
    const char *kind = o ? record_kind(x, o, ev) : NULL;
    if (kind && x->gw->audit) {
        char src[64];
        peer_name(x->c, src, sizeof src);
        kt_buf evj;
        kt_buf_init(&evj, 256 * 1024);
        bool have_ev = kt_event_json(ev, &evj) == KT_OK;
        drop_event_type(&evj);
        bool out = a && a->out_started && !mbedtls_md_hmac_finish(&a->out, a->out_digest);
        kt_audit_info info = { .kind = kind, .source = src, .status = ev->status,
                               .event_json = have_ev ? evj.p : NULL, .event_len = evj.len,
                               .input_digest = a && a->has_in ? a->in_digest : NULL,
                               .output_digest = out ? a->out_digest : NULL };
        char ver[300];
        snprintf(ver, sizeof ver, "%s@%s", x->cfg->pack_name ? x->cfg->pack_name : "",
                 x->cfg->pack_version ? x->cfg->pack_version : "");
        info.config_version = ver;
        kt_audit_record(x->gw->audit, o, &info);
        kt_buf_free(&evj);
    }
    if (a) {
        mbedtls_md_free(&a->out);
        memset(a, 0, sizeof *a);
        free(a);
        x->audit = NULL;
    }
}
