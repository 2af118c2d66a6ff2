/* ipv4 and ipv6 addresses.
 * ipv4: a dotted quad, octets 0-255 without leading zeros, not inside a longer dotted or dashed
 * number and not glued to a letter ("v1.2.3.4") and not the
 * start of a host name ("127.0.0.1.nip.io"). A port, a CIDR suffix or a comma may follow.
 * ipv6: 8 groups of 1-4 hex digits, or a "::" form with at most 7 groups, optionally ending in
 * an embedded ipv4 (counted as 2 groups). A "::" form needs a decimal digit and a group of
 * >= 3 hex digits or an embedded ipv4, except the loopback "::1" (code like "a::b", "x[1::2]"). */
#include "detect_int.h"

int kt__v4_quad(kt__dtext *t, size_t i, size_t *e)
{
    for (int k = 0; k < 4; k++) {
        if (k && kt__at(t, i++) != '.') return 0;
        int c = kt__at(t, i);
        if (!kt__digit(c)) return 0;
        int v = c - '0', nd = 1;
        i++;
        while (kt__digit(c = kt__at(t, i))) {
            if (v == 0 || ++nd > 3) return 0;
            v = v * 10 + (c - '0');
            i++;
        }
        if (v > 255) return 0;
    }
    *e = i;
    return 1;
}

int kt__det_ipv4(kt__dtext *t, size_t s, kt__dres *r)
{
    /* a comma before a dotted quad is a list, never thousands grouping; "user@10.0.0.1" is a
     * login to that host */
    int b1 = kt__before(t, s, 1);
    if (b1 == '.' || (b1 != ',' && b1 != '@' && !kt__num_left_ok(t, s))) return 0;
    size_t i;
    if (!kt__v4_quad(t, s, &i)) return 0;
    int c = kt__at(t, i);
    if (kt__word(c) || c == '@') return 0;
    if (c == '.' && kt__alnum(kt__at(t, i + 1))) return 0; /* "127.0.0.1.nip.io" is a name */
    if (c == '-' && kt__digit(kt__at(t, i + 1))) return 0;
    r->start = s;
    r->end = i;
    r->ent = KT_ENT_IPV4;
    return 1;
}

int kt__det_ipv6(kt__dtext *t, size_t s, kt__dres *r)
{
    int b = kt__before(t, s, 1);
    if (kt__word(b) || b == ':' || b == '.' || b == '@') return 0;
    size_t i = s;
    int groups = 0, dbl = 0, lead = 0, digit = 0, big = 0, v4 = 0, one = 0, c;
    if (kt__at(t, i) == ':') {
        if (kt__at(t, i + 1) != ':') return 0;
        dbl = lead = 1;
        i += 2;
    }
    for (;;) {
        size_t g = i;
        int hd = 0, dec = 1;
        while (hd < 5 && kt__hex(c = kt__at(t, i))) {
            if (kt__digit(c)) digit = 1;
            else dec = 0;
            hd++;
            i++;
        }
        if (hd == 0) break;
        if (hd > 4) return 0;
        size_t e;
        if (c == '.' && dec && hd <= 3 && kt__v4_quad(t, g, &e)) {
            groups += 2;
            v4 = 1;
            i = e;
            break;
        }
        if (++groups > 8) return 0;
        if (hd >= 3) big = 1;
        one = hd == 1 && t->p[g] == '1';
        if (c != ':') break;
        c = kt__at(t, i + 1);
        if (c == ':') {
            if (dbl) return 0;
            dbl = 1;
            i += 2;
        } else if (kt__hex(c)) {
            i++;
        } else {
            break;
        }
    }
    if (dbl ? groups > 7 : groups != 8) return 0;
    if (!digit) return 0;
    if (dbl && !big && !v4 && !(lead && groups == 1 && one)) return 0;
    c = kt__at(t, i);
    if (kt__word(c) || c == '@') return 0;
    if (c == '.' && kt__digit(kt__at(t, i + 1))) return 0;
    r->start = s;
    r->end = i;
    r->ent = KT_ENT_IPV6;
    return 1;
}
