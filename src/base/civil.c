/* Day counts and UTC dates (see kt/civil.h). */
#include "kt/civil.h"

kt_civil kt_civil_from_days(uint64_t days)
{
    uint64_t z = days + 719468, era = z / 146097, doe = z % 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    kt_civil c;
    c.day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    c.month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    c.year = (unsigned)(yoe + era * 400 + (c.month <= 2));
    return c;
}

uint64_t kt_days_from_civil(unsigned year, unsigned month, unsigned day)
{
    uint64_t y = month <= 2 ? year - 1u : year;
    uint64_t era = y / 400, yoe = y - era * 400;
    uint64_t mp = month > 2 ? month - 3u : month + 9u;
    uint64_t doy = (153 * mp + 2) / 5 + day - 1;
    uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}
