/* Fuzzes the streaming output filter: arbitrary bytes as an SSE body of each API, fed whole and
 * in input-chosen pieces. The filtered output must not depend on the split, and must never be
 * larger than a bound of the input (no runaway growth). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kt/policy_stream.h"

static const char *no_env(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

/* Built once: compiling the safety lexicon per input would dominate the run. */
static kt_config *config(void)
{
    static kt_config *cached;
    if (cached) return kt_config_ref(cached);
    static const char yaml[] =
        "pack: {name: f, version: 1.0.0}\n"
        "policies: {chain: [pii-detector, dlp-filter, safety-filter]}\n"
        "policy: {pii-detector: {action: redact}, dlp-filter: {action: redact}, "
        "safety-filter: {action: block}}\n";
    kt_env env = { no_env, NULL };
    kt_config *c = NULL;
    if (kt_config_parse("fuzz", yaml, sizeof yaml - 1, env, &c, NULL)) abort();
    cached = c;
    return kt_config_ref(cached);
}

static void run(kt_config *c, kt_api api, const uint8_t *data, size_t size, size_t step,
                kt_buf *out)
{
    kt_decision d;
    kt_stream_filter f;
    if (kt_decision_init(&d, c)) abort();
    kt_stream_filter_init(&f, c, api, &d, out);
    for (size_t off = 0; off < size; off += step)
        kt_stream_filter_feed(&f, (const char *)data + off, size - off < step ? size - off : step);
    kt_stream_filter_finish(&f);
    kt_stream_filter_free(&f);
    kt_decision_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    kt_config *c = config();
    kt_api api = (kt_api)(data[0] % 6);
    size_t step = (size_t)(data[1] % 13) + 1;
    data += 2;
    size -= 2;
    kt_buf a, b;
    kt_buf_init(&a, 64u << 20);
    kt_buf_init(&b, 64u << 20);
    run(c, api, data, size, size ? size : 1, &a);
    run(c, api, data, size, step, &b);
    if (a.len != b.len || (a.len && memcmp(a.p, b.p, a.len) != 0)) abort();
    if (a.len > 8 * size + 4096) abort();
    kt_buf_free(&a);
    kt_buf_free(&b);
    kt_config_release(&c);
    return 0;
}
