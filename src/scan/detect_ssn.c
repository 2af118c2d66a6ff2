/* ssn: AAA-GG-SSSS with dashes or spaces (the same separator twice), or nine bare digits right
 * after an SSN label ("SS#" is "SS" then a skipped '#'). The area is not 000, 666 or 900-999, the group not 00, the serial not 0000. */
#include "detect_int.h"

static const char *const kt__ssn_labels[] = {
    "ssn", "ss", "social security number", "social security no", "social security",
    "social security num", "soc. sec. no", "soc sec no", "soc. sec. number", "soc sec number",
    "social sec. no", "ss no", "ssn no", NULL,
};

static int kt__ssn_valid(int area, int group, int serial)
{
    return area > 0 && area != 666 && area < 900 && group > 0 && serial > 0;
}

/* Nine bare digits at s (the area already read into *area, i after it). */
static int kt__ssn_bare(kt__dtext *t, size_t s, size_t i, int area, kt__dres *r)
{
    int group = kt__digits(t, &i, 2);
    int serial = group < 0 ? -1 : kt__digits(t, &i, 4);
    if (serial < 0 || kt__digit(kt__at(t, i)) || !kt__ssn_valid(area, group, serial)) return 0;
    if (!kt__num_right_ok(t, i) || !kt__label_before(t, s, " :#=.-", 4, kt__ssn_labels)) return 0;
    r->start = s;
    r->end = i;
    r->ent = KT_ENT_SSN;
    return 1;
}

int kt__det_ssn(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__num_left_ok(t, s)) return 0;
    size_t i = s;
    int area = kt__digits(t, &i, 3);
    if (area < 0) return 0;
    int sep = kt__at(t, i);
    if (kt__digit(sep)) return kt__ssn_bare(t, s, i, area, r);
    if (sep != '-' && sep != ' ') return 0;
    i++;
    int group = kt__digits(t, &i, 2);
    if (group < 0 || kt__at(t, i) != sep) return 0;
    i++;
    int serial = kt__digits(t, &i, 4);
    if (serial < 0 || !kt__ssn_valid(area, group, serial)) return 0;
    if (!kt__num_right_ok(t, i)) return 0;
    if (sep == ' ' && kt__at(t, i) == ' ' && kt__digit(kt__at(t, i + 1))) return 0;
    r->start = s;
    r->end = i;
    r->ent = KT_ENT_SSN;
    return 1;
}
