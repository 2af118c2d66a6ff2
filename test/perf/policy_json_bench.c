/* Cost of kt_policy_json on the bench's tiny chat request and response (bench/bench.py) with the
 * bench chain (pii-detector + safety-filter). Prints ns per request+response pair; under
 * `valgrind --tool=callgrind` the walk's own cost is the inclusive cost of kt_policy_json minus
 * that of kt_chain_scan. The request side notes the top-level "model" as the proxy does; the
 * second phase times the kt_json_top_string parse that this spares the request-end hook. Not
 * built by make; run:
 *   make && cc -std=c11 -D_GNU_SOURCE -O2 -g -Iinclude test/perf/policy_json_bench.c build/libkt.a \
 *      -luv -lmbedtls -lmbedx509 -lmbedcrypto -lcjson -lyaml -lpcre2-8 -lm -o /tmp/pj_bench
 *   taskset -c 1 /tmp/pj_bench [N]
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out /tmp/pj_bench 20000
 *   callgrind_annotate --inclusive=yes /tmp/cg.out | grep -E 'kt_policy_json|kt_chain_scan|top_string' */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kt/policy.h"

static const char cfg_yaml[] = "pack: {name: bench-policies, version: 1.0.0}\n"
                               "policies: {chain: [pii-detector, safety-filter]}\n"
                               "policy: {pii-detector: {action: redact}, safety-filter: {action: block}}\n";

static const char req[] =
    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a concise "
    "assistant for an internal engineering team. Answer in plain English.\"},{\"role\":\"user\","
    "\"content\":\"Summarise in one sentence why connection reuse matters for a reverse proxy in "
    "front of an API.\"}],\"max_tokens\":64,\"temperature\":0.2}";

static const char resp[] =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"Reusing connections avoids a TCP and TLS handshake per request.\"},"
    "\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":12,\"total_tokens\":54}}";

static const char *no_env(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

static int one(const kt_config *c, kt_dir dir, const char *body, size_t len, kt_buf *out,
               kt_json_top *top)
{
    kt_decision d;
    bool changed = false;
    if (kt_decision_init(&d, c)) return -1;
    kt_buf_reset(out);
    kt_policy_walk w = { .cfg = c, .dir = dir, .decision = &d, .top = top };
    if (top) top->complete = false;
    int rc = kt_policy_json_walk(&w, body, len, out, &changed);
    if (!rc && top && (!top->complete || !kt_json_top_get(top, 0))) rc = -3;
    if (!rc && (changed || d.verdict == KT_ACT_BLOCK)) rc = -2;   /* the bench bodies are clean */
    kt_decision_free(&d);
    return rc;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    kt_env env = { no_env, NULL };
    kt_diag diag = { .file = "bench" };
    kt_config *c = NULL;
    if (kt_config_parse("bench", cfg_yaml, sizeof cfg_yaml - 1, env, &c, &diag)) {
        fprintf(stderr, "config does not parse\n");
        return 1;
    }
    kt_buf out;
    kt_buf_init(&out, 1 << 20);
    static const char *const keys[] = { "model" };
    kt_json_top model;
    kt_json_top_begin(&model, keys, 1);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        int rc = one(c, KT_DIR_INPUT, req, sizeof req - 1, &out, &model);
        if (!rc) rc = one(c, KT_DIR_OUTPUT, resp, sizeof resp - 1, &out, NULL);
        if (rc) {
            fprintf(stderr, "kt_policy_json: %d\n", rc);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
    printf("%ld pairs: %.0f ns per request+response (%zu + %zu bytes)\n", n, ns, sizeof req - 1,
           sizeof resp - 1);
    char mmem[256];
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        kt_buf m = { mmem, 0, sizeof mmem, sizeof mmem - 1 };
        if (kt_json_top_string(req, sizeof req - 1, "model", &m)) return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
    printf("kt_json_top_string(request, \"model\"), spared by the walk's note: %.0f ns\n", ns);
    kt_buf_free(&out);
    kt_config_release(&c);
    return 0;
}
