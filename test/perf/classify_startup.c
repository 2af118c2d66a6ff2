/* Start-up cost of the classifiers: kt_safety_init and kt_injection_init with the shipped
 * defaults (what a config load or reload pays per policy), best of 20, in process CPU time (the
 * machine may be shared). Built and run by `make bench`
 * (build/perf/classify_startup). */
#include <stdio.h>
#include <time.h>

#include "kt/injection.h"
#include "kt/safety.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(void)
{
    double bs = 1e9, bi = 1e9;
    for (int rep = 0; rep < 20; rep++) {
        kt_safety s;
        kt_injection d;
        double a = now_ms();
        if (kt_safety_init(&s, KT_SAFETY_ALL_MASK, 0, 0)) return 1;
        double b = now_ms();
        if (kt_injection_init(&d, NULL)) return 1;
        double c = now_ms();
        bs = b - a < bs ? b - a : bs;
        bi = c - b < bi ? c - b : bi;
        kt_safety_free(&s);
        kt_injection_free(&d);
    }
    printf("safety-filter init %.2f ms, prompt-injection init %.2f ms (CPU time, best of 20)\n", bs, bi);
    return 0;
}
