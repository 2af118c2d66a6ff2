/* UTC calendar dates from day counts and back, without gmtime_r/timegm (whose time zone lock and
 * table walks showed per request in the event line and the spend windows): H. Hinnant's
 * civil_from_days / days_from_civil, the proleptic Gregorian calendar that gmtime_r gives. */
#ifndef KT_CIVIL_H
#define KT_CIVIL_H

#include <stdint.h>

typedef struct kt_civil {
    unsigned year, month, day;   /* month 1..12, day 1..31 */
} kt_civil;

/* The date of day `days` after 1970-01-01 (days >= 0). */
kt_civil kt_civil_from_days(uint64_t days);
/* The day count of a date (year >= 1970, month 1..12, day 1..31). */
uint64_t kt_days_from_civil(unsigned year, unsigned month, unsigned day);

#endif
