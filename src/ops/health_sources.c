/* The sources of /health's reasons. Each looks at one concern of the running gateway and appends
 * what needs attention; kt_health_collect calls them in order. To add a concern, write one more
 * source and list it in kt_health_collect. */
#include <string.h>

#include "health.h"
#include "kt/circuit.h"
#include "kt/governance.h"
#include "kt/metrics.h"
#include "kt/router.h"

static void src_draining(kt_gateway *gw, kt_health *h)
{
    if (gw->draining)
        kt_health_add(h, KT_HEALTH_UNHEALTHY, "draining",
                      "SIGTERM received: finishing in-flight requests, then exiting");
}

/* The embedded default, or a pack switched off: kt runs, but not the governance intended. */
static void src_config(kt_gateway *gw, kt_health *h)
{
    const kt_config *c = gw->cfg;
    if (strcmp(c->source, KT_CONFIG_EMBEDDED) == 0)
        kt_health_add(h, KT_HEALTH_DEGRADED, "embedded_default",
                      "no config file was found: running the embedded default (pii-detector and "
                      "dlp-filter redact); mount /etc/keeptrusts/policy-config.yaml or pass "
                      "--policy-config");
    if (!c->pack_enabled)
        kt_health_add(h, KT_HEALTH_DEGRADED, "policies_off",
                      "pack.enabled is false: no policy runs, traffic passes unchecked");
}

static void src_reload(kt_gateway *gw, kt_health *h)
{
    const kt_reload_state *r = &gw->last_reload;
    if (strcmp(r->status, "failed") == 0)
        kt_health_add(h, KT_HEALTH_DEGRADED, "reload_failed",
                      "the last config reload was rejected (the previous config still runs): %s",
                      r->error);
}

bool kt_health_can_serve(const kt_gateway *gw)
{
    for (size_t i = 0; i < gw->cfg->ntargets; i++)
        if (gw->cfg->targets[i].key) return true;
    return false;
}

static void src_targets(kt_gateway *gw, kt_health *h)
{
    const kt_config *c = gw->cfg;
    bool any = kt_health_can_serve(gw);
    for (size_t i = 0; i < c->ntargets; i++) {
        const kt_target *t = &c->targets[i];
        if (t->key) continue;
        kt_health_add(h, any ? KT_HEALTH_DEGRADED : KT_HEALTH_UNHEALTHY, "target_without_key",
                      "target %s has no API key (%s): requests to it get 503", t->id,
                      t->key_error[0] ? t->key_error : "not configured");
    }
    if (!any)
        kt_health_add(h, KT_HEALTH_UNHEALTHY, "no_target_can_serve",
                      "no target has an API key: every request gets 503");
}

/* A counter that grew within the window: `seen` and `at` remember the last increase. */
static bool recent_growth(uint64_t now, uint64_t value, uint64_t *seen, uint64_t *at)
{
    if (value > *seen) {
        *seen = value;
        *at = now ? now : 1;
    }
    return *at && now - *at < KT_HEALTH_EVENTS_WINDOW_MS;
}

static void src_events(kt_gateway *gw, kt_health *h)
{
    const kt_metrics *m = gw->metrics;
    if (!m || !gw->events) return;   /* without metrics the counters are not kept */
    kt_health_track *t = &gw->health_track;
    uint64_t now = uv_now(&gw->loop);
    if (recent_growth(now, m->events_rejected, &t->rejected, &t->rejected_ms))
        kt_health_add(h, KT_HEALTH_DEGRADED, "events_rejected",
                      "the control plane refused decision event batches in the last %u s "
                      "(%llu refused since start)", KT_HEALTH_EVENTS_WINDOW_MS / 1000,
                      (unsigned long long)m->events_rejected);
    if (recent_growth(now, m->events_dropped, &t->dropped, &t->dropped_ms))
        kt_health_add(h, KT_HEALTH_DEGRADED, "events_dropped",
                      "decision events were dropped in the last %u s (%llu since start): the "
                      "control plane is unreachable, refusing them, or the queue is full",
                      KT_HEALTH_EVENTS_WINDOW_MS / 1000, (unsigned long long)m->events_dropped);
}

/* An open circuit: the target is skipped while its fallbacks can serve (docs/ROUTING.md). kt
 * still serves, so degraded; the target itself is what needs attention. */
static void src_circuits(kt_gateway *gw, kt_health *h)
{
    if (!gw->circuits) return;
    uint64_t now = uv_now(&gw->loop);
    for (size_t i = 0; i < gw->cfg->ntargets; i++) {
        const kt_target *t = &gw->cfg->targets[i];
        const kt_circuit *c = kt_circuits_find(gw->circuits, t->id);
        kt_circuit_state s = c ? kt_circuit_state_now(c, now) : KT_CIRCUIT_CLOSED;
        if (s == KT_CIRCUIT_OPEN)
            kt_health_add(h, KT_HEALTH_DEGRADED, "circuit_open",
                          "target %s is ejected after %u consecutive failures; probed again in "
                          "%llu ms", t->id, c->failures,
                          (unsigned long long)(c->open_until_ms - now));
        else if (s == KT_CIRCUIT_HALF_OPEN)
            kt_health_add(h, KT_HEALTH_DEGRADED, "circuit_open",
                          "target %s is half-open: the next request to it probes whether it "
                          "recovered", t->id);
    }
}

/* Redis unreachable: limits are counted per instance (local), every limited request is refused
 * (deny), or nothing is limited (allow). Degraded, never unhealthy: every replica shares the one
 * Redis, so unrouting or restarting pods would not bring it back. */
static void src_shared_state(kt_gateway *gw, kt_health *h)
{
    uint64_t for_ms;
    const char *mode;
    if (!kt_gov_shared_down(gw->gov, &for_ms, &mode)) return;
    bool deny = strcmp(mode, "deny") == 0;
    kt_health_add(h, KT_HEALTH_DEGRADED, "shared_state_unavailable",
                  "the shared limit counters (Redis) are unreachable for %llu s; on_unavailable: "
                  "%s (%s)", (unsigned long long)(for_ms / 1000), mode,
                  deny ? "every limited request is refused"
                  : strcmp(mode, "allow") == 0 ? "requests pass without limits"
                                               : "each instance counts on its own");
}

void kt_health_collect(kt_gateway *gw, kt_health *h)
{
    kt_health_init(h);
    src_draining(gw, h);
    src_targets(gw, h);
    src_reload(gw, h);
    src_config(gw, h);
    src_events(gw, h);
    src_circuits(gw, h);
    src_shared_state(gw, h);
}
