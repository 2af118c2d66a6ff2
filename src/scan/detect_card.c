/* credit_card: 13-19 digits, Luhn-valid, in a known IIN range with a length that range issues
 * (JCB: 3528-3589 with 16-19 digits, and the older 15-digit 1800 and 2131).
 * Bare: the whole digit run. Grouped: a first group of 4, then groups of 3-6 (the last may be
 * 1-6) joined by one kind of separator (space or dash); the longest valid prefix that ends on a
 * group boundary wins; grouped numbers right after "<digit><space or dash>" are not taken (the
 * groups of an IBAN). */
#include "detect_int.h"

static int kt__luhn(const char *d, int n)
{
    int sum = 0;
    for (int k = 0; k < n; k++) {
        int v = d[n - 1 - k] - '0';
        if (k & 1) {
            v *= 2;
            if (v > 9) v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static int kt__iin(const char *d, int n)
{
    int p2 = (d[0] - '0') * 10 + (d[1] - '0');
    int p3 = p2 * 10 + (d[2] - '0');
    int p4 = p3 * 10 + (d[3] - '0');
    int p6 = p4 * 100 + (d[4] - '0') * 10 + (d[5] - '0');
    if (d[0] == '4') return n == 13 || n == 16 || n == 19;                      /* Visa */
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;   /* Mastercard */
    if (p2 == 34 || p2 == 37) return n == 15;                                   /* Amex */
    if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) return n >= 16;     /* Discover */
    if (p6 >= 622126 && p6 <= 622925) return n >= 16;                           /* Discover/CUP */
    if (p4 >= 3528 && p4 <= 3589) return n >= 16;                               /* JCB */
    if (p4 == 1800 || p4 == 2131) return n == 15;                               /* JCB 15 */
    if (p2 == 36 || p2 == 38 || p2 == 39 || (p3 >= 300 && p3 <= 305) || p4 == 3095)
        return n >= 14;                                                         /* Diners */
    if (p2 == 62) return n >= 16;                                               /* UnionPay */
    if (p2 == 50 || (p2 >= 56 && p2 <= 58) || p4 == 6304 || p4 == 6759 ||
        (p4 >= 6761 && p4 <= 6763))
        return n >= 13;                                                         /* Maestro */
    return 0;
}

static int kt__card_ok(const char *d, int n)
{
    return n >= 13 && n <= 19 && kt__iin(d, n) && kt__luhn(d, n);
}

int kt__det_card(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__num_left_ok(t, s)) return 0;
    char dig[19];
    size_t i = s;
    int nd = 0, c;
    while (kt__digit(c = kt__at(t, i))) {
        if (nd == 19) return 0;
        dig[nd++] = (char)c;
        i++;
    }
    size_t end = 0;
    if (nd >= 13) {
        if (!kt__card_ok(dig, nd) || !kt__num_right_ok(t, i)) return 0;
        end = i;
    } else {
        int sep = c;
        if (nd != 4 || (sep != ' ' && sep != '-')) return 0;
        /* groups glued to digit groups before them are a slice of a longer number (an IBAN) */
        if (kt__after_group(t, s)) return 0;
        while (kt__at(t, i) == sep) {
            size_t j = i + 1;
            int gl = 0;
            while (gl < 7 && kt__digit(c = kt__at(t, j))) {
                if (nd + gl < 19) dig[nd + gl] = (char)c;
                gl++;
                j++;
            }
            if (gl == 0 || gl > 6 || nd + gl > 19) break;
            nd += gl;
            i = j;
            if (kt__card_ok(dig, nd) && kt__num_right_ok(t, i)) end = i;
            if (gl < 3) break;
        }
        if (!end) return 0;
    }
    r->start = s;
    r->end = end;
    r->ent = KT_ENT_CREDIT_CARD;
    return 1;
}
