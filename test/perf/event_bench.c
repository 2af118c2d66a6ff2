/* Per-request cost of the request-end hook's formatting and metrics, and of the policy walk's
 * timing: one representative chat request (the bench pack: pii-detector + safety-filter, nothing
 * found, usage known, a price) run N times through
 *   event    kt_event_json into a stack buffer, as kt_events_request_done does
 *   metrics  kt_events_observe (labelled counters and histograms)
 *   walk     kt_policy_json over the request body, then the response body (policy timing)
 *   price    kt_price_usd for the model (the built-in table)
 * Prints ns per iteration. Not built by make; after `make`, run:
 *   cc -std=c11 -D_GNU_SOURCE -O2 -g -Iinclude test/perf/event_bench.c build/libkt.a -luv \
 *      -lmbedtls -lmbedx509 -lmbedcrypto -lcjson -lyaml -lpcre2-8 -lm -o /tmp/event_bench
 *   taskset -c 1 /tmp/event_bench event 1000000
 * Instruction counts (deterministic): valgrind --tool=callgrind /tmp/event_bench event 100000,
 * minus the same with N = 0, divided by N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kt/events.h"
#include "kt/metrics.h"
#include "kt/policy.h"

static const char *cfg_src =
    "pack: {name: bench-policies, version: 1.0.0}\n"
    "policies: {chain: [pii-detector, safety-filter]}\n"
    "policy: {pii-detector: {action: redact}, safety-filter: {action: block}}\n"
    "providers:\n"
    "  targets:\n"
    "    - {id: up, provider: openai, base_url: 'https://localhost:8443/v1',\n"
    "       secret_key_ref: {env: OPENAI_API_KEY}}\n";

static const char *req_body =
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a concise "
    "assistant for an internal engineering team. Answer in plain English.\"},{\"role\":\"user\","
    "\"content\":\"Summarise in one sentence why connection reuse matters for a reverse proxy in "
    "front of an API.\"}],\"max_tokens\":64,\"temperature\":0.2}";

static const char *resp_body =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"Reusing connections avoids a TCP and TLS handshake per "
    "request, cutting latency and CPU.\"},\"finish_reason\":\"stop\"}],\"usage\":"
    "{\"prompt_tokens\":41,\"completion_tokens\":17,\"total_tokens\":58}}";

static const char *env_key(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "OPENAI_API_KEY") == 0 ? "sk-bench" : NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int walk(const kt_config *cfg, kt_decision *d, kt_buf *out)
{
    bool changed = false;
    kt_buf_reset(out);
    int rc = kt_policy_json(cfg, KT_DIR_INPUT, req_body, strlen(req_body), out, &changed, d);
    kt_buf_reset(out);
    if (!rc)
        rc = kt_policy_json(cfg, KT_DIR_OUTPUT, resp_body, strlen(resp_body), out, &changed, d);
    return rc;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "event";
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    kt_config *cfg = NULL;
    kt_env env = { env_key, NULL };
    if (kt_config_parse("bench.yaml", cfg_src, strlen(cfg_src), env, &cfg, NULL)) return 1;
    kt_decision d;
    kt_buf out;
    kt_buf_init(&out, 1 << 20);
    if (kt_decision_init(&d, cfg) || walk(cfg, &d, &out)) return 1;
    kt_event_info ev = { .id = "3f2b8c1e-9a4d-4e6f-b0a1-c2d3e4f5a6b7", .unix_ms = 1700000000123ull,
                         .decision = &d, .model = "gpt-4o-mini", .provider = "openai",
                         .target = "up", .api = "chat", .cfg = cfg, .input_tokens = 41,
                         .output_tokens = 17, .status = 200, .latency_ms = 1 };
    ev.cost_usd = kt_price_usd(&cfg->gateway.events, ev.model, 41, 17);
    kt_req_obs o;
    memset(&o, 0, sizeof o);
    o.t0_ns = 1000;
    o.up_start_ns = 50000;
    o.up_sent_ns = 60000;
    o.up_head_ns = 900000;
    o.up_end_ns = 950000;
    kt_metrics m;
    kt_metrics_init(&m);
    char smem[16384];
    kt_buf scratch = { smem, 0, sizeof smem, sizeof smem - 1 };
    smem[0] = '\0';
    size_t bytes = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (strcmp(mode, "event") == 0) {
            kt_buf_reset(&scratch);
            if (kt_event_json(&ev, &scratch)) return 1;
            bytes += scratch.len;
        } else if (strcmp(mode, "metrics") == 0) {
            kt_events_observe(&m, &ev, &o, 1000000);
        } else if (strcmp(mode, "walk") == 0) {
            kt_decision_free(&d);
            if (kt_decision_init(&d, cfg) || walk(cfg, &d, &out)) return 1;
        } else if (strcmp(mode, "price") == 0) {
            ev.cost_usd = kt_price_usd(&cfg->gateway.events, ev.model, 41 + (i & 1), 17);
        } else {
            fprintf(stderr, "usage: event_bench event|metrics|walk|price [N]\n");
            return 2;
        }
    }
    double t = now_s() - t0;
    printf("%s: %ld iterations, %.1f ns each%s", mode, n, n ? t * 1e9 / (double)n : 0.0,
           bytes ? "" : "\n");
    if (bytes) printf(", %zu bytes per event\n", bytes / (size_t)n);
    kt_metrics_free(&m);
    kt_decision_free(&d);
    kt_buf_free(&out);
    kt_config_release(&cfg);
    return 0;
}
