/* The spend file (gateway.state_dir/spend.json) is read at start: whatever it holds, loading it
 * must not crash or leak, every counter must be non-negative, rate TATs at most a minute ahead,
 * and what kt writes back must load to the same counters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/governance/gov_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const kt_gov_now now = { 20000, 24300, 5000000000, 1728000000000ull };

/* Every counter non-negative, no hold, and no rate TAT more than a minute ahead (a file cannot
 * block a limit for longer than GCRA itself would). */
static double total(const kt_gov_store *s)
{
    double t = 0;
    for (size_t i = 0; i < KT_GOV_BUCKETS; i++)
        for (const kt_gov_entry *e = s->buckets[i]; e; e = e->next) {
            if (e->spent_day < 0 || e->spent_month < 0 || e->held != 0) abort();
            if (e->tat_reqs > now.mono_us + (int64_t)KT_MINUTE_US ||
                e->tat_tokens > now.mono_us + (int64_t)KT_MINUTE_US)
                abort();
            t += (double)(e->tat_reqs > now.mono_us) + (double)(e->tat_tokens > now.mono_us);
            t += e->spent_day + e->spent_month;
        }
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kt_gov_store a, b;
    kt__store_init(&a);
    kt__store_init(&b);
    kt__persist_parse(&a, (const char *)data, size, &now);
    double ta = total(&a);
    kt_buf out;
    kt_buf_init(&out, 64u << 20);
    if (!kt__persist_render(&a, &out, &now)) {
        if (kt__persist_parse(&b, out.p, out.len, &now)) abort();
        double tb = total(&b);
        if (tb < ta * (1 - 1e-6) - 1e-6 || tb > ta * (1 + 1e-6) + 1e-6) abort();
    }
    kt_buf_free(&out);
    kt__store_free(&a);
    kt__store_free(&b);
    return 0;
}
