/* What the shared state tells the operator: the `shared_state` member of /health (backend,
 * state, address, since when, the last error, settles waiting) and the keeptrusts_shared_state_*
 * metrics (up, fallbacks by on_unavailable mode, errors by kind, calls, settles). Neither ever
 * shows the password: the client does not keep it anywhere they read. */
#include <string.h>

#include "gov_priv.h"
#include "gov_redis.h"

static const char *state_name(const kt_rds *r)
{
    return r->state == KT_RDS_UP ? "up" : r->state == KT_RDS_CONNECTING ? "connecting" : "down";
}

static const char *mode_name(kt_unavailable_mode m)
{
    return m == KT_UNAVAIL_DENY ? "deny" : m == KT_UNAVAIL_ALLOW ? "allow" : "local";
}

int kt_gov_health_json(const kt_gov *g, kt_buf *out)
{
    if (!g || !g->rds) return kt_buf_puts(out, "{\"backend\":\"local\"}");
    const kt_rds *r = g->rds;
    uint64_t now = uv_now(r->loop);
    uint64_t since = r->state == KT_RDS_UP ? r->up_since_ms : r->down_since_ms;
    int rc = kt_buf_printf(out, "{\"backend\":\"redis\",\"state\":\"%s\",\"address\":",
                           state_name(r));
    char addr[KT_REDIS_HOST_MAX + 16];
    int n = snprintf(addr, sizeof addr, "%s:%u", r->host, r->port);
    if (!rc) rc = kt_buf_json_str(out, addr, n > 0 ? strlen(addr) : 0);
    if (!rc) rc = kt_buf_printf(out, ",\"db\":%u,\"on_unavailable\":\"%s\",\"for_seconds\":%llu,"
                                "\"pending_settles\":%zu,\"last_error\":", r->db,
                                mode_name(g->on_unavailable),
                                (unsigned long long)((now - since) / 1000), g->nretry);
    if (!rc) rc = r->last_error[0] ? kt_buf_json_str(out, r->last_error, strlen(r->last_error))
                                   : kt_buf_puts(out, "null");
    if (!rc) rc = kt_buf_puts(out, "}");
    return rc;
}

bool kt_gov_shared_down(const kt_gov *g, uint64_t *for_ms, const char **on_unavailable)
{
    if (!g || !g->rds || g->rds->state == KT_RDS_UP) return false;
    uint64_t since = g->rds->down_since_ms, now = uv_now(g->rds->loop);
    *for_ms = since && since <= now ? now - since : 0;
    *on_unavailable = mode_name(g->on_unavailable);
    return true;
}

int kt_gov_metrics(const kt_gov *g, kt_buf *out)
{
    if (!g || !g->rds) return KT_OK;
    const kt_rds *r = g->rds;
    const kt_gov_shared_stats *s = &g->shared;
    return kt_buf_printf(
        out,
        "# HELP keeptrusts_shared_state_up Whether the shared limit counters (Redis) are reachable.\n"
        "# TYPE keeptrusts_shared_state_up gauge\n"
        "keeptrusts_shared_state_up %d\n"
        "# HELP keeptrusts_shared_state_fallbacks_total Admissions decided by on_unavailable while Redis "
        "was unavailable.\n"
        "# TYPE keeptrusts_shared_state_fallbacks_total counter\n"
        "keeptrusts_shared_state_fallbacks_total{mode=\"local\"} %llu\n"
        "keeptrusts_shared_state_fallbacks_total{mode=\"deny\"} %llu\n"
        "keeptrusts_shared_state_fallbacks_total{mode=\"allow\"} %llu\n"
        "# HELP keeptrusts_shared_state_errors_total Redis calls or connections that failed.\n"
        "# TYPE keeptrusts_shared_state_errors_total counter\n"
        "keeptrusts_shared_state_errors_total{kind=\"timeout\"} %llu\n"
        "keeptrusts_shared_state_errors_total{kind=\"connection\"} %llu\n"
        "keeptrusts_shared_state_errors_total{kind=\"disconnect\"} %llu\n"
        "# HELP keeptrusts_shared_state_connects_total Connections that completed their set-up.\n"
        "# TYPE keeptrusts_shared_state_connects_total counter\n"
        "keeptrusts_shared_state_connects_total %llu\n"
        "# HELP keeptrusts_shared_state_reservations_total Check-and-reserve calls Redis admitted.\n"
        "# TYPE keeptrusts_shared_state_reservations_total counter\n"
        "keeptrusts_shared_state_reservations_total %llu\n"
        "# HELP keeptrusts_shared_state_settles_total Settles by outcome (duplicate: a retry that "
        "counted once; lost: given up, the reservation expires by itself).\n"
        "# TYPE keeptrusts_shared_state_settles_total counter\n"
        "keeptrusts_shared_state_settles_total{outcome=\"applied\"} %llu\n"
        "keeptrusts_shared_state_settles_total{outcome=\"duplicate\"} %llu\n"
        "keeptrusts_shared_state_settles_total{outcome=\"lost\"} %llu\n"
        "# HELP keeptrusts_shared_state_settles_pending Settles waiting for Redis to come back.\n"
        "# TYPE keeptrusts_shared_state_settles_pending gauge\n"
        "keeptrusts_shared_state_settles_pending %zu\n",
        r->state == KT_RDS_UP, (unsigned long long)s->fallback_local,
        (unsigned long long)s->fallback_deny, (unsigned long long)s->fallback_allow,
        (unsigned long long)r->stats.timeouts, (unsigned long long)r->stats.errors,
        (unsigned long long)r->stats.disconnects, (unsigned long long)r->stats.connects,
        (unsigned long long)s->reserves, (unsigned long long)s->settles,
        (unsigned long long)s->settles_duplicate, (unsigned long long)s->settles_lost, g->nretry);
}
