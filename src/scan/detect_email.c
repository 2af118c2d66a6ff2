/* email: local@domain. Local part [A-Za-z0-9._%+-]{1,64} without a leading, trailing or double
 * dot; domain of dot-separated labels [A-Za-z0-9-]{1,63} (no '-' at either end) ending in an
 * alphabetic TLD of >= 2 letters; the whole address <= 254 bytes. A dot that ends a sentence is
 * not part of the address. */
#include "detect_int.h"

static int kt__label_ok(const char *p, size_t a, size_t b)
{
    return b > a && p[a] != '-' && p[b - 1] != '-';
}

int kt__det_email(kt__dtext *t, size_t s, kt__dres *r)
{
    if (kt__local_char(kt__before(t, s, 1))) return 0;
    size_t i = s;
    int c, prev = -1;
    for (;;) {
        c = kt__at(t, i);
        if (!kt__local_char(c)) break;
        if (c == '.' && (prev < 0 || prev == '.')) return 0;
        prev = c;
        if (++i - s > 64) return 0;
    }
    if (c != '@' || i == s || prev == '.') return 0;
    size_t lab = ++i, dots = 0;
    int alpha = 1;
    for (;;) {
        c = kt__at(t, i);
        if (kt__alnum(c) || c == '-') {
            alpha &= kt__alpha(c);
            if (++i - s > 254 || i - lab > 63) return 0;
            continue;
        }
        if (c == '.' && i > lab && kt__alnum(kt__at(t, i + 1))) {
            if (!kt__label_ok(t->p, lab, i)) return 0;
            dots++;
            lab = ++i;
            alpha = 1;
            continue;
        }
        break;
    }
    if (!dots || !alpha || i - lab < 2) return 0;
    if (c == '@' || c == '_') return 0;
    r->start = s;
    r->end = i;
    r->ent = KT_ENT_EMAIL;
    return 1;
}
