/* What the clean-text cache saves on a growing chat: turn k sends the system prompt and the k
 * messages so far (as every chat client does), through kt_policy_json with the bench chain
 * (pii-detector + safety-filter), once with the cache and once without. Prints the input-policy
 * cost of the last turn and of the whole conversation for both. Not built by make; run:
 *   make && cc -std=c11 -D_GNU_SOURCE -O2 -g -Iinclude test/perf/conversation_bench.c \
 *      build/libkt.a -luv -lmbedtls -lmbedx509 -lmbedcrypto -lcjson -lyaml -lpcre2-8 -lm \
 *      -o /tmp/conv_bench
 *   taskset -c 1 /tmp/conv_bench [turns] [repeats]   (defaults 40 and 20; medians of repeats) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kt/policy.h"
#include "kt/scan_cache.h"

static const char cfg_yaml[] = "pack: {name: bench-policies, version: 1.0.0}\n"
                               "policies: {chain: [pii-detector, safety-filter]}\n"
                               "policy: {pii-detector: {action: redact}, safety-filter: {action: block}}\n";

/* Plain prose of ~450 bytes a message, varied by turn so that no two messages are equal. */
static void message(kt_buf *b, int turn)
{
    kt_buf_printf(b, "{\"role\":\"%s\",\"content\":\"Turn %d. The deployment runs three replicas "
                  "behind a load balancer; version 2.%d.1 shipped on 2025-03-%02d at 10:%02d. "
                  "Latency at the 99th percentile rose from 180 ms to 240 ms after the change, "
                  "mostly in the database tier, where connection pools of 64 were exhausted "
                  "during the nightly batch. We should raise the pool to 96, add a circuit "
                  "breaker with a 5 second window, and compare error budgets for the next "
                  "two weeks before deciding whether to roll back.\"}",
                  turn % 2 ? "assistant" : "user", turn, turn % 10, 1 + turn % 28, turn % 60);
}

static void body_for(kt_buf *b, int turns)
{
    kt_buf_reset(b);
    kt_buf_puts(b, "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":"
                   "\"You are a careful site-reliability assistant. Answer briefly.\"}");
    for (int t = 0; t < turns; t++) {
        kt_buf_puts(b, ",");
        message(b, t);
    }
    kt_buf_puts(b, "]}");
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One conversation of `turns` turns; returns its total cost and sets *last to the last turn's. */
static double conversation(const kt_config *c, int turns, kt_scan_cache *cache, double *last)
{
    kt_buf body, out;
    kt_buf_init(&body, 8u << 20);
    kt_buf_init(&out, 16u << 20);
    double total = 0;
    for (int k = 1; k <= turns; k++) {
        body_for(&body, k);
        kt_decision d;
        bool changed = false;
        if (kt_decision_init(&d, c)) exit(1);
        kt_buf_reset(&out);
        double t0 = now_us();
        kt_policy_walk w = { .cfg = c, .dir = KT_DIR_INPUT, .decision = &d, .cache = cache };
        int rc = kt_policy_json_walk(&w, body.p, body.len, &out, &changed);
        double dt = now_us() - t0;
        if (rc || changed || d.verdict != KT_ACT_ALLOW) {
            fprintf(stderr, "turn %d: rc %d, changed %d, verdict %d\n", k, rc, changed, d.verdict);
            exit(1);
        }
        kt_decision_free(&d);
        total += dt;
        *last = dt;
    }
    kt_buf_free(&body);
    kt_buf_free(&out);
    return total;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *no_env(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

int main(int argc, char **argv)
{
    int turns = argc > 1 ? atoi(argv[1]) : 40, reps = argc > 2 ? atoi(argv[2]) : 20;
    if (turns < 1 || reps < 1 || reps > 1000) return 2;
    kt_env env = { no_env, NULL };
    kt_diag diag = { .file = "bench" };
    kt_config *c = NULL;
    if (kt_config_parse("bench", cfg_yaml, sizeof cfg_yaml - 1, env, &c, &diag)) return 1;
    static const unsigned char key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    double tot[2][1000], last[2][1000];
    for (int r = 0; r < reps; r++) {
        for (int with = 0; with < 2; with++) {
            kt_scan_cache sc;
            kt_scan_cache_init(&sc, key);   /* a fresh cache per conversation */
            tot[with][r] = conversation(c, turns, with ? &sc : NULL, &last[with][r]);
            kt_scan_cache_free(&sc);
        }
    }
    for (int with = 0; with < 2; with++) {
        qsort(tot[with], (size_t)reps, sizeof(double), cmp);
        qsort(last[with], (size_t)reps, sizeof(double), cmp);
    }
    kt_buf b;
    kt_buf_init(&b, 8u << 20);
    body_for(&b, turns);
    printf("%d turns (last request %zu bytes), medians of %d:\n", turns, b.len, reps);
    printf("  without cache: last turn %8.1f us, whole conversation %9.1f us\n", last[0][reps / 2],
           tot[0][reps / 2]);
    printf("  with cache:    last turn %8.1f us, whole conversation %9.1f us\n", last[1][reps / 2],
           tot[1][reps / 2]);
    kt_buf_free(&b);
    kt_config_release(&c);
    return 0;
}
