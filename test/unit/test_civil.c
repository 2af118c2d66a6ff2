/* kt_civil_from_days and kt_days_from_civil give what gmtime_r and timegm give: every day from
 * 1970 to the end of 9999 (the event line's range), and the first of every month. */
#include <stdint.h>
#include <time.h>

#include "kt/civil.h"
#include "kt_test.h"

KT_TEST(every_day_as_gmtime)
{
    long diffs = 0;
    for (uint64_t d = 0; d <= 2932896; d++) {
        time_t s = (time_t)(d * 86400 + 43210);
        struct tm tm;
        gmtime_r(&s, &tm);
        kt_civil c = kt_civil_from_days(d);
        if ((c.year != (unsigned)tm.tm_year + 1900 || c.month != (unsigned)tm.tm_mon + 1 ||
             c.day != (unsigned)tm.tm_mday) && diffs++ < 5)
            KT_FAILF("day %llu: %u-%u-%u, gmtime_r %d-%d-%d", (unsigned long long)d, c.year,
                     c.month, c.day, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        if (kt_days_from_civil(c.year, c.month, c.day) != d && diffs++ < 5)
            KT_FAILF("day %llu does not come back", (unsigned long long)d);
    }
    KT_ASSERT_EQ_INT(diffs, 0);
}

KT_TEST(month_starts_as_timegm)
{
    for (unsigned y = 1970; y <= 9999; y++)
        for (unsigned m = 1; m <= 12; m++) {
            struct tm tm = { 0 };
            tm.tm_year = (int)y - 1900;
            tm.tm_mon = (int)m - 1;
            tm.tm_mday = 1;
            uint64_t want = (uint64_t)timegm(&tm) / 86400;
            if (kt_days_from_civil(y, m, 1) != want) {
                KT_FAILF("%u-%u-01: %llu, timegm %llu", y, m,
                         (unsigned long long)kt_days_from_civil(y, m, 1),
                         (unsigned long long)want);
                return;
            }
        }
    KT_ASSERT_EQ_INT(kt_days_from_civil(2026, 12, 2), 20789);
    kt_civil c = kt_civil_from_days(20789);
    KT_ASSERT(c.year == 2026 && c.month == 12 && c.day == 2);
}

int main(void)
{
    KT_RUN(every_day_as_gmtime);
    KT_RUN(month_starts_as_timegm);
    return KT_DONE();
}
