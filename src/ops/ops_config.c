/* GET /keeptrusts/config and POST /keeptrusts/config/reload. The reload endpoint changes what
 * kt enforces, so only clients on the loopback interface (the app in the same pod, an operator's
 * kubectl exec) may call it; everyone else gets 403. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "kt/audit.h"
#include "kt/policy.h"   /* KT_DIR_* */
#include "kt/reload.h"
#include "kt/router.h"
#include "ops_priv.h"

#define KT_CONFIG_DOC_MAX (256u * 1024)

static bool path_is(kt_str path, const char *lit)
{
    return path.n == strlen(lit) && memcmp(path.p, lit, path.n) == 0;
}

bool kt_addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
        return memcmp(a, v4mapped, 12) == 0 && a[12] == 127;
    }
    return false;
}

static void str_field(kt_buf *b, const char *name, const char *v)
{
    kt_buf_printf(b, "\"%s\":", name);
    if (v) kt_buf_json_str(b, v, strlen(v));
    else kt_buf_puts(b, "null");
}

/* Targets without their keys: only whether one is present and where it comes from. */
static void targets_json(const kt_config *cfg, kt_buf *b)
{
    static const char *const srcs[] = { "none", "env", "file", "store" };
    kt_buf_puts(b, "[");
    for (size_t i = 0; i < cfg->ntargets; i++) {
        const kt_target *t = &cfg->targets[i];
        kt_buf_puts(b, i ? ",{" : "{");
        str_field(b, "id", t->id);
        kt_buf_puts(b, ",");
        str_field(b, "provider", kt_provider_name(t->provider));
        kt_buf_puts(b, ",");
        str_field(b, "host", t->host);
        kt_buf_printf(b, ",\"port\":%u,\"tls\":%s,", t->port, t->tls ? "true" : "false");
        str_field(b, "model", t->model);
        kt_buf_puts(b, ",\"fallbacks\":[");   /* failover (docs/ROUTING.md) */
        for (size_t k = 0; k < t->nfallbacks; k++)
            kt_buf_printf(b, "%s\"%s\"", k ? "," : "", cfg->targets[t->fallbacks[k]].id);
        kt_buf_puts(b, "]");
        kt_buf_printf(b, ",\"key_source\":\"%s\",\"key_present\":%s}",
                      srcs[t->key_source <= KT_KEY_STORE ? t->key_source : 0],
                      t->key ? "true" : "false");
    }
    kt_buf_puts(b, "]");
}

static void chain_json(const kt_config *cfg, kt_buf *b)
{
    kt_buf_puts(b, "[");
    for (size_t i = 0; i < cfg->nchain; i++) {
        const kt_policy_cfg *p = &cfg->chain[i];
        kt_buf_puts(b, i ? ",{" : "{");
        str_field(b, "name", p->name);
        kt_buf_puts(b, ",");
        str_field(b, "kind", p->kind);
        kt_buf_printf(b, ",\"directions\":[%s%s%s]}", (p->dirs & KT_DIR_INPUT) ? "\"input\"" : "",
                      (p->dirs & KT_DIR_INPUT) && (p->dirs & KT_DIR_OUTPUT) ? "," : "",
                      (p->dirs & KT_DIR_OUTPUT) ? "\"output\"" : "");
    }
    kt_buf_puts(b, "]");
}

/* Consumers by name only: never a key, a hash or a key reference. */
static void consumers_json(const kt_config *cfg, kt_buf *b)
{
    kt_buf_puts(b, "[");
    for (size_t i = 0; i < cfg->nconsumers; i++) {
        if (i) kt_buf_puts(b, ",");
        kt_buf_json_str(b, cfg->consumers[i].name, strlen(cfg->consumers[i].name));
    }
    kt_buf_puts(b, "]");
}

void kt_ops_config_json(const kt_config *cfg, const kt_reload_state *last, kt_buf *b)
{
    kt_buf_puts(b, "{\"pack\":{");
    str_field(b, "name", cfg->pack_name);
    kt_buf_puts(b, ",");
    str_field(b, "version", cfg->pack_version);
    kt_buf_printf(b, ",\"enabled\":%s},\"hash\":\"sha256:%s\",", cfg->pack_enabled ? "true" : "false",
                  cfg->hash);
    str_field(b, "source", cfg->source);
    kt_buf_printf(b, ",\"config_reload\":%s,\"config_poll_interval_ms\":%u,\"targets\":",
                  cfg->gateway.config_reload ? "true" : "false", cfg->gateway.config_poll_interval_ms);
    targets_json(cfg, b);
    kt_buf_puts(b, ",\"chain\":");
    chain_json(cfg, b);
    kt_buf_puts(b, ",\"consumers\":");   /* governance: names only */
    consumers_json(cfg, b);
    kt_buf_puts(b, ",\"last_reload\":");
    kt_reload_state_json(last, b);
    kt_buf_puts(b, "}");
}

static void respond_buf(kt_conn *c, int status, kt_buf *b)
{
    if (!b->p) {
        kt_conn_error(c, 503, "unavailable", "out_of_memory", "out of memory");
        return;
    }
    kt_conn_respond(c, status, "application/json", b->p, b->len, NULL);
}

/* log_all_access: kt's own endpoints leave an audit record (who, which, the answer). */
static void audit_access(kt_conn *c, const char *endpoint, int status)
{
    kt_gateway *gw = kt__ops_gw(c);
    const kt_audit_opts *o = kt_audit_opts_of(gw->cfg);
    if (!gw->audit || !o || !o->log_all_access) return;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char src[64] = "", ver[300];
    if (!uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len)) {
        if (ss.ss_family == AF_INET) uv_ip4_name((const struct sockaddr_in *)(const void *)&ss, src, sizeof src);
        else if (ss.ss_family == AF_INET6) uv_ip6_name((const struct sockaddr_in6 *)(const void *)&ss, src, sizeof src);
    }
    snprintf(ver, sizeof ver, "%s@%s", gw->cfg->pack_name, gw->cfg->pack_version);
    kt_audit_info info = { .kind = "access", .source = src, .endpoint = endpoint,
                           .method = kt_http_in_method_name(&c->in), .status = status,
                           .config_version = ver };
    kt_audit_record(gw->audit, o, &info);
}

static void reload(kt_conn *c)
{
    struct sockaddr_storage peer;
    int len = sizeof peer;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &len) != 0 ||
        !kt_addr_is_loopback((struct sockaddr *)&peer)) {
        audit_access(c, "/keeptrusts/config/reload", 403);
        kt_conn_error(c, 403, "permission_error", "forbidden",
                      "config reload is only allowed from the loopback interface");
        return;
    }
    kt_buf b;
    kt_buf_init(&b, 64u * 1024);
    int rc = kt_gateway_reload(kt__ops_gw(c), "api", 0, &b);
    /* 200 applied or unchanged; 409 rejected (the running config is kept) or nothing to reload. */
    audit_access(c, "/keeptrusts/config/reload", rc == KT_OK ? 200 : 409);   /* the new config's */
    respond_buf(c, rc == KT_OK ? 200 : 409, &b);
    kt_buf_free(&b);
}

bool kt_ops_config_handle(kt_conn *c, kt_str path)
{
    bool is_reload = path_is(path, "/keeptrusts/config/reload");
    if (!is_reload && !path_is(path, "/keeptrusts/config")) return false;
    int m = kt_http_in_method(&c->in);
    bool ok = is_reload ? m == HTTP_POST : (m == HTTP_GET || m == HTTP_HEAD);
    if (!ok) {
        static const char body[] = "{\"error\":{\"type\":\"validation_error\",\"code\":"
                                   "\"method_not_allowed\",\"message\":\"method not allowed\","
                                   "\"policy\":null}}";
        kt_conn_respond(c, 405, "application/json", body, sizeof body - 1,
                        is_reload ? "Allow: POST\r\n" : "Allow: GET, HEAD\r\n");
        return true;
    }
    if (is_reload) {
        reload(c);
        return true;
    }
    kt_buf b;
    kt_buf_init(&b, KT_CONFIG_DOC_MAX);
    kt_ops_config_json(kt__ops_gw(c)->cfg, &kt__ops_gw(c)->last_reload, &b);
    audit_access(c, "/keeptrusts/config", 200);
    respond_buf(c, 200, &b);
    kt_buf_free(&b);
    return true;
}
