/* phone: NANP and E.164.
 * NANP: optional "+1" (then an optional separator) or "1" + separator; area "(NXX)" (then an
 * optional space or dash) or "NXX" + separator; exchange NXX; separator; line XXXX. N is 2-9,
 * separators are '-', '.' or ' '. Ten bare digits only after "+1".
 * E.164: '+', a digit 1-9, 8..15 digits in all, single spaces or dashes between digits. */
#include "detect_int.h"

static int kt__psep(int c) { return c == '-' || c == '.' || c == ' '; }

static int kt__nanp(kt__dtext *t, size_t s, size_t *e)
{
    size_t i = s;
    int c = kt__at(t, i), bare = 0;
    if (c == '+') {
        if (kt__at(t, i + 1) != '1') return 0;
        i += 2;
        if (kt__psep(kt__at(t, i))) i++;
        else bare = 1;
    } else if (c == '1' && kt__psep(kt__at(t, i + 1))) {
        i += 2;
    }
    int paren = kt__at(t, i) == '(';
    if (paren) {
        bare = 0;
        i++;
    }
    if (kt__digits(t, &i, 3) < 200) return 0;
    if (paren) {
        if (kt__at(t, i) != ')') return 0;
        c = kt__at(t, ++i);
        if (c == ' ' || c == '-') i++;
    } else if (kt__psep(kt__at(t, i))) {
        i++;
    } else if (!bare) {
        return 0;
    }
    if (kt__digits(t, &i, 3) < 200) return 0;
    if (kt__psep(kt__at(t, i))) i++;
    else if (!bare) return 0;
    if (kt__digits(t, &i, 4) < 0) return 0;
    if (!kt__num_right_ok(t, i)) return 0;
    *e = i;
    return 1;
}

static int kt__e164(kt__dtext *t, size_t s, size_t *e)
{
    size_t i = s + 1;
    int c = kt__at(t, i), nd = 0;
    if (c < '1' || c > '9') return 0;
    for (;;) {
        c = kt__at(t, i);
        if (kt__digit(c)) {
            if (++nd > 15) return 0;
            i++;
            continue;
        }
        if ((c == ' ' || c == '-') && kt__digit(kt__at(t, i + 1))) {
            i++;
            continue;
        }
        break;
    }
    if (nd < 8 || !kt__num_right_ok(t, i)) return 0;
    *e = i;
    return 1;
}

int kt__det_phone(kt__dtext *t, size_t s, kt__dres *r)
{
    int c = kt__at(t, s);
    size_t e = 0;
    if (c == '+' || c == '(') {
        if (kt__word(kt__before(t, s, 1))) return 0;
    } else if (!kt__num_left_ok(t, s)) {
        return 0;
    }
    if (!kt__nanp(t, s, &e) && !(c == '+' && kt__e164(t, s, &e))) return 0;
    r->start = s;
    r->end = e;
    r->ent = KT_ENT_PHONE;
    return 1;
}
