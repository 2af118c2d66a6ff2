/* ssn: AAA-GG-SSSS with dashes or spaces (the same separator twice). The area is not 000, 666
 * or 900-999, the group not 00, the serial not 0000. Nine bare digits are never an SSN here. */
#include "detect_int.h"

int kt__det_ssn(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__num_left_ok(t, s)) return 0;
    size_t i = s;
    int area = kt__digits(t, &i, 3);
    if (area < 0) return 0;
    int sep = kt__at(t, i);
    if (sep != '-' && sep != ' ') return 0;
    i++;
    int group = kt__digits(t, &i, 2);
    if (group < 0 || kt__at(t, i) != sep) return 0;
    i++;
    int serial = kt__digits(t, &i, 4);
    if (serial < 0) return 0;
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0) return 0;
    if (!kt__num_right_ok(t, i)) return 0;
    if (sep == ' ' && kt__at(t, i) == ' ' && kt__digit(kt__at(t, i + 1))) return 0;
    r->start = s;
    r->end = i;
    r->ent = KT_ENT_SSN;
    return 1;
}
