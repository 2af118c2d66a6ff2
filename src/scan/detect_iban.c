/* iban: country code, 2 check digits and the BBAN (upper-case letters and digits), compact or in
 * groups of 4 separated by single spaces, with the exact length of the country's format and
 * mod-97 == 1 (ISO 13616). Only countries in the table are recognised: those of the SWIFT IBAN
 * registry (ISO 13616), with the IBAN length it gives for each. */
#include "detect_int.h"

static const struct {
    char cc[2];
    unsigned char len;
} kt__iban_fmt[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
    {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HN", 28}, {"HR", 21},
    {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30},
    {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
    {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23},
    {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22},
    {"RU", 33}, {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24},
    {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26},
    {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

static int kt__iban_len(int a, int b)
{
    for (size_t k = 0; k < sizeof kt__iban_fmt / sizeof kt__iban_fmt[0]; k++)
        if (kt__iban_fmt[k].cc[0] == a && kt__iban_fmt[k].cc[1] == b) return kt__iban_fmt[k].len;
    return 0;
}

static int kt__mod97(const char *v, int n)
{
    int rem = 0;
    for (int k = 0; k < n; k++) {
        int c = (unsigned char)v[(k + 4) % n];
        if (kt__digit(c)) rem = (rem * 10 + (c - '0')) % 97;
        else rem = (rem * 100 + (c - 'A' + 10)) % 97;
    }
    return rem;
}

int kt__det_iban(kt__dtext *t, size_t s, kt__dres *r)
{
    if (kt__word(kt__before(t, s, 1))) return 0;
    char v[34];   /* the longest IBAN has 34 characters (the registry's longest today: RU, 33) */
    int a = kt__at(t, s), b = kt__at(t, s + 1);
    if (!kt__upper(a) || !kt__upper(b)) return 0;
    int len = kt__iban_len(a, b);
    if (!len) return 0;
    size_t i = s + 2;
    int n = 0, spaced = -1;
    v[n++] = (char)a;
    v[n++] = (char)b;
    while (n < len) {
        int c = kt__at(t, i);
        if (n < 4 && !kt__digit(c)) return 0;
        if (n % 4 == 0) {
            if (spaced < 0) spaced = c == ' ';
            if (spaced) {
                if (c != ' ') return 0;
                c = kt__at(t, ++i);
            }
        }
        if (!kt__digit(c) && !kt__upper(c)) return 0;
        v[n++] = (char)c;
        i++;
    }
    if (kt__word(kt__at(t, i)) || kt__mod97(v, len) != 1) return 0;
    r->start = s;
    r->end = i;
    r->ent = KT_ENT_IBAN;
    return 1;
}
