/* Throughput of the built-in PII + DLP detector set on a realistic prompt corpus.
 *
 * Build and run:
 *   make build/detect_bench
 *   build/detect_bench [MB] [FILE]
 *
 * Without FILE it generates MB (default 50) megabytes in memory: English prose, source code, JSON
 * payloads and chat transcripts, with PII and secrets sprinkled in about one line in forty (the
 * PII is synthetic). With FILE it scans that file instead. It prints the best of 5 runs in MB/s
 * (1 MB = 1e6 bytes) and the number of matches per entity. KT_MASK=0x... scans for a subset of
 * the entities instead (bit 1 << entity, in the order of kt_entity), to see what a family costs.
 * The scan uses AVX2 blocks where the CPU has them and SSE2 blocks otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kt/detect.h"

static const char *const prose[] = {
    "The quarterly report shows that revenue grew in every region, with the strongest gains in ",
    "Please summarize the following meeting notes and list the action items for each owner. ",
    "We discussed the migration plan, the rollback strategy and the timeline for the next release. ",
    "Customers reported that the checkout page was slow during the holiday sale on 2024-11-29. ",
    "Write a short poem about the ocean, the wind and a lighthouse keeper who never sleeps. ",
    "Explain the difference between a process and a thread, and when to prefer async I/O. ",
    "The patient was advised to rest, drink plenty of fluids and return if symptoms persist. ",
    "Translate this paragraph into French, keeping the formal tone of the original letter. ",
    "Our team met at 10:30 to review version 2.4.1 of the API and the open issues in the tracker. ",
    "In 1969, humans first walked on the Moon; the mission lasted eight days, three hours and 18 minutes. ",
    "Total cost was $1,234.56 including tax, shipped with order ORD-2024-123456 on Monday. ",
    "Can you help me draft an email to the landlord about the broken heating in apartment 4B? ",
};
static const char *const code[] = {
    "def handler(event, context):\n    items = event.get(\"items\", [])\n    return {\"count\": len(items)}\n",
    "for (size_t i = 0; i < n; i++) {\n    sum += values[i] * weights[i];\n}\n",
    "const res = await fetch(`${baseUrl}/v1/users/${id}`, { headers: { 'Content-Type': 'application/json' } });\n",
    "std::vector<int> v{1, 2, 3};\nstd::sort(v.begin(), v.end());\n",
    "SELECT id, name, created_at FROM users WHERE created_at > '2024-01-01' ORDER BY id LIMIT 100;\n",
    "if err != nil {\n\treturn fmt.Errorf(\"open %s: %w\", path, err)\n}\n",
    "x = np.linspace(0, 1, 101)[::2]\ny = np.sin(2 * np.pi * x)\n",
    "server:\n  listen: 0.0.0.0:8080\n  timeout_ms: 30000\n  workers: 4\n",
};
static const char *const json[] = {
    "{\"model\":\"gpt-4o-mini\",\"temperature\":0.2,\"max_tokens\":512,\"messages\":[{\"role\":\"user\",\"content\":\"",
    "\"}]}\n",
    "{\"id\":\"chatcmpl-9x8YzAbC\",\"object\":\"chat.completion\",\"created\":1718000000,\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":48}}\n",
    "{\"uuid\":\"123e4567-e89b-12d3-a456-426614174000\",\"sha\":\"d41d8cd98f00b204e9800998ecf8427e\",\"ts\":\"2024-01-15T12:30:45Z\"}\n",
};
static const char *const pii[] = {
    "Reach me at john.doe@example.com or ", "call (415) 555-2671 after 5pm. ",
    "My SSN is 123-45-6789. ", "Card 4111 1111 1111 1111 exp 12/27. ",
    "Wire to DE89 3704 0044 0532 0130 00 please. ", "The host is 192.168.1.10, ",
    "gateway fe80::1 ", "OPENAI_API_KEY=sk-proj-Ab3dEf_Gh1jKlMn0pQrStUvWxYz-12345\n",
    "aws_access_key_id=AKIAIOSFODNN7EXAMPLE\n", "Authorization: Bearer abcdef0123456789ABCDEF\n",
    "+44 20 7946 0958 ", "jane_doe+tag@mail.example.co.uk ",
};

static unsigned long long kt_rng = 0x9E3779B97F4A7C15ull;
static unsigned rnd(unsigned n)
{
    kt_rng ^= kt_rng << 13;
    kt_rng ^= kt_rng >> 7;
    kt_rng ^= kt_rng << 17;
    return (unsigned)(kt_rng % n);
}

#define PICK(a) (a)[rnd(sizeof(a) / sizeof((a)[0]))]

static size_t put(char *buf, size_t at, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (at + n > cap) n = cap - at;
    memcpy(buf + at, s, n);
    return at + n;
}

static size_t generate(char *buf, size_t cap)
{
    size_t at = 0;
    while (at < cap) {
        unsigned kind = rnd(10);
        if (kind < 5) {
            for (unsigned k = 0, n = 2 + rnd(5); k < n; k++) at = put(buf, at, cap, PICK(prose));
            at = put(buf, at, cap, "\n\n");
        } else if (kind < 8) {
            at = put(buf, at, cap, PICK(code));
        } else {
            at = put(buf, at, cap, json[0]);
            at = put(buf, at, cap, PICK(prose));
            at = put(buf, at, cap, json[1]);
            at = put(buf, at, cap, json[2 + rnd(2)]);
        }
        if (rnd(40) == 0) at = put(buf, at, cap, PICK(pii));
    }
    return at;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 50, len;
    char *buf;
    if (argc > 2) {
        FILE *f = fopen(argv[2], "rb");
        if (!f) return perror(argv[2]), 1;
        fseek(f, 0, SEEK_END);
        len = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc(len ? len : 1);
        if (!buf || fread(buf, 1, len, f) != len) return fprintf(stderr, "read failed\n"), 1;
        fclose(f);
    } else {
        len = (mb ? mb : 50) * 1000000;
        buf = malloc(len);
        if (!buf) return fprintf(stderr, "out of memory\n"), 1;
        len = generate(buf, len);
        const char *dump = getenv("KT_BENCH_DUMP"); /* keep the corpus for other tools */
        FILE *o = dump ? fopen(dump, "wb") : NULL;
        if (o) {
            fwrite(buf, 1, len, o);
            fclose(o);
        }
    }
    const char *ms = getenv("KT_MASK");
    uint32_t mask = ms ? (uint32_t)strtoul(ms, NULL, 0) & KT_DETECT_ALL_MASK : KT_DETECT_ALL_MASK;
    size_t max = 1 << 20, counts[KT_ENT__COUNT] = {0};
    kt_match *m = malloc(max * sizeof *m);
    if (!m) return 1;
    double best = 1e9;
    size_t total = 0;
    for (int run = 0; run < 5; run++) {
        double t0 = now();
        size_t from = 0, n;
        int tr = 1;
        total = 0;
        memset(counts, 0, sizeof counts);
        while (tr) {
            n = kt_detect_ctx(buf, len, from, mask, m, max, &tr);
            for (size_t k = 0; k < n; k++) counts[m[k].ent]++;
            total += n;
            if (n) from = m[n - 1].end;
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    if (mask == KT_DETECT_ALL_MASK)
        printf("detect_bench: %.1f MB corpus, PII+DLP (12 entities): %.0f MB/s (best of 5), %zu matches\n",
               (double)len / 1e6, (double)len / 1e6 / best, total);
    else
        printf("detect_bench: %.1f MB corpus, entity mask 0x%x: %.0f MB/s (best of 5), %zu matches\n",
               (double)len / 1e6, (unsigned)mask, (double)len / 1e6 / best, total);
    for (int e = 0; e < KT_ENT__COUNT; e++) printf("  %-12s %zu\n", kt_entity_name((kt_entity)e), counts[e]);
    free(m);
    free(buf);
    return 0;
}
