/* Cost of the safety scan per byte on short benign prompts (the three sentences below, scanned
 * 10000 times each through kt_safety_scan_ctx with a 64-hit batch, as policy_safety.c does) and on
 * ~1 MB of generated prompt-like text (the words of classify_bench.c). Deterministic, so it suits
 * `valgrind --tool=callgrind` instruction counts. Not built by make; run:
 *   make && cc -std=c11 -D_GNU_SOURCE -O2 -g -Iinclude test/perf/safety_short_bench.c build/libkt.a \
 *      -luv -lmbedtls -lmbedx509 -lmbedcrypto -lcjson -lyaml -lpcre2-8 -lm \
 *      -o /tmp/safety_bench && taskset -c 1 /tmp/safety_bench [short|long] [reps] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kt/safety.h"

static const char *const kt_short[] = {
    "You are a concise assistant for an internal engineering team. Answer in plain English.",
    "Summarise in one sentence why connection reuse matters for a reverse proxy in front of an API.",
    "Reusing connections avoids a TCP and TLS handshake per request.",
};

static const char *const kt_words[] = {
    "the", "model", "should", "answer", "questions", "about", "our", "product", "and", "please",
    "summarise", "this", "document", "for", "me", "in", "three", "bullet", "points", "customer",
    "reported", "that", "the", "invoice", "was", "wrong", "we", "need", "to", "refund", "order",
    "12345", "by", "Friday", "function", "returns", "null", "when", "input", "is", "empty",
    "café", "naïve", "résumé", "über", "日本語", "テキスト", "données", "système", "kill",
    "process", "shoot", "photo", "previous", "email", "ignore", "warning", "system", "prompt",
    "instructions", "developer", "mode", "data", "base64", "json", "{\"key\":", "\"value\"}",
    "2024-05-13", "3.14159", "https://example.com/path", "user@example.com", "—", "…", "🙂" };

static size_t gen_long(char *buf, size_t target)
{
    size_t n = 0;
    unsigned long long r = 88172645463325252ull;
    while (n < target) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        const char *w = kt_words[r % (sizeof kt_words / sizeof *kt_words)];
        size_t l = strlen(w);
        memcpy(buf + n, w, l);
        n += l;
        buf[n++] = (r >> 20) % 13 == 0 ? '.' : (r >> 20) % 17 == 0 ? '\n' : ' ';
    }
    return n;
}

static size_t scan_all(const kt_safety *s, const char *t, size_t len)
{
    kt_safety_hit hits[64];
    size_t total = 0, pos = 0;
    for (;;) {
        int trunc = 0;
        size_t n = kt_safety_scan_ctx(s, t, len, pos, hits, 64, &trunc);
        total += n;
        if (!trunc || n == 0) return total;
        pos = hits[n - 1].start + 1;
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int lng = argc > 1 && !strcmp(argv[1], "long");
    long reps = argc > 2 ? atol(argv[2]) : lng ? 5 : 10000;
    kt_safety s;
    if (kt_safety_init(&s, KT_SAFETY_ALL_MASK, 0, 0)) return 1;
    char *buf = malloc((1u << 20) + 256);
    size_t blen = lng ? gen_long(buf, 1u << 20) : 0;
    size_t bytes = 0, hits = 0;
    double t0 = now();
    for (long r = 0; r < reps; r++) {
        if (lng) {
            hits += scan_all(&s, buf, blen);
            bytes += blen;
            continue;
        }
        for (size_t i = 0; i < sizeof kt_short / sizeof *kt_short; i++) {
            size_t l = strlen(kt_short[i]);
            hits += scan_all(&s, kt_short[i], l);
            bytes += l;
        }
    }
    double t = now() - t0;
    printf("%s: %zu bytes, %zu hits, %.2f ns/byte, %.0f MB/s\n", lng ? "long" : "short", bytes,
           hits, t * 1e9 / (double)bytes, (double)bytes / t / 1e6);
    kt_safety_free(&s);
    free(buf);
    return 0;
}
