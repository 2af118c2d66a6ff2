/* phone: NANP, E.164 and the national formats of the enabled regions, each with an optional
 * extension (see kt/detect.h for the rules).
 * NANP: optional "+1" (then an optional separator) or "1" + separator; area "(NXX)" (then an
 * optional space or dash) or "NXX" + separator; exchange NXX; separator; line XXXX. N is 2-9,
 * separators are '-', '.' or ' '. Ten bare digits only after "+1".
 * E.164: '+', a digit 1-9, 8..15 digits in all, single spaces, dashes or dots between digits,
 * one "(0)" after the country code.
 * National: the digit groups read once, whole, then matched against the formats of the enabled
 * regions (a table of group shapes, below). */
#include <string.h>

#include "detect_int.h"

static int kt__psep(int c) { return c == '-' || c == '.' || c == ' '; }

/* ---- regions ---------------------------------------------------------------------------------- */

static const char kt__region_names[KT_REGION__COUNT][3] = {
    "US", "DE", "FR", "GB", "IN", "ES", "IT", "NL", "AU", "BR", "JP",
};

const char *kt_region_name(kt_region r)
{
    return (unsigned)r < KT_REGION__COUNT ? kt__region_names[r] : NULL;
}

static int kt__up(int c) { return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c; }

int kt_region_from_name(const char *s, size_t n)
{
    if (!s) return -1;
    if (n == 2 && kt__up(s[0]) == 'C' && kt__up(s[1]) == 'A') return KT_REGION_US;
    if (n == 4 && kt__up(s[0]) == 'N' && kt__up(s[1]) == 'A' && kt__up(s[2]) == 'N' &&
        kt__up(s[3]) == 'P')
        return KT_REGION_US;
    for (int r = 0; r < KT_REGION__COUNT && n == 2; r++)
        if (kt__up(s[0]) == kt__region_names[r][0] && kt__up(s[1]) == kt__region_names[r][1])
            return r;
    return -1;
}

/* ---- extensions ------------------------------------------------------------------------------- */

static int kt__lit_ci(kt__dtext *t, size_t i, const char *lit)
{
    for (size_t k = 0; lit[k]; k++)
        if (kt__up(kt__at(t, i + k)) != kt__up((unsigned char)lit[k])) return 0;
    return 1;
}

/* An extension right after a number that ends at e: [ ,;]? ("x" | "ext" "."? | "extension" |
 * "ext=") " "? 1..6 digits, then a boundary. Returns its end, or 0. */
static size_t kt__extension(kt__dtext *t, size_t e)
{
    size_t i = e;
    int c = kt__at(t, i);
    if (c == ',' || c == ';') c = kt__at(t, ++i);
    if (c == ' ') i++;
    if (kt__lit_ci(t, i, "extension")) i += 9;
    else if (kt__lit_ci(t, i, "ext")) {
        i += 3;
        c = kt__at(t, i);
        if (c == '.' || c == '=') i++;
    } else if (kt__up(kt__at(t, i)) == 'X') i++;
    else return 0;
    if (kt__at(t, i) == ' ') i++;
    size_t d = 0;
    while (d < 7 && kt__digit(kt__at(t, i + d))) d++;
    if (d == 0 || d > 6) return 0;
    i += d;
    c = kt__at(t, i);
    if (kt__word(c) || ((c == '.' || c == '-' || c == '/' || c == ',') && kt__digit(kt__at(t, i + 1))))
        return 0;
    return i;
}

/* The end of a phone number whose digits end at e: after its extension, if any; 0 when the right
 * boundary fails. */
static size_t kt__phone_end(kt__dtext *t, size_t e)
{
    size_t x = kt__extension(t, e);
    if (x) return x;
    return kt__num_right_ok(t, e) ? e : 0;
}

/* ---- NANP and E.164 ---------------------------------------------------------------------------- */

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
    *e = kt__phone_end(t, i);
    return *e != 0;
}

static int kt__e164(kt__dtext *t, size_t s, size_t *e)
{
    size_t i = s + 1;
    int c = kt__at(t, i), nd = 0, trunk = 0;
    if (c < '1' || c > '9') return 0;
    for (;;) {
        c = kt__at(t, i);
        if (kt__digit(c)) {
            if (++nd > 15) return 0;
            i++;
            continue;
        }
        if (kt__psep(c) && kt__digit(kt__at(t, i + 1))) {
            i++;
            continue;
        }
        /* "+44 (0)20 ...": the trunk digit, written but not dialled, once after the country code */
        size_t j = i + (c == ' ');
        if (!trunk && nd <= 3 && kt__lit(t, j, "(0)")) {
            j += 3;
            if (kt__at(t, j) == ' ') j++;
            if (kt__digit(kt__at(t, j))) {
                trunk = 1;
                i = j;
                continue;
            }
        }
        break;
    }
    if (nd < 8) return 0;
    *e = kt__phone_end(t, i);
    return *e != 0;
}

/* ---- national formats -------------------------------------------------------------------------- */

#define KT__D(x) (1u << (x))
#define KT__D_ANY 0x3ffu
#define KT__D_1_9 (KT__D_ANY & ~1u)

/* One national shape: the first group's length and leading digits, the number and lengths of the
 * other groups, the total digit count, and parentheses around the first group (0 no, 1 may,
 * 2 must). */
typedef struct kt__natfmt {
    unsigned char region;
    unsigned short d0, d1;          /* allowed first and second digits (bit per digit) */
    unsigned char g1lo, g1hi, nlo, nhi, glo, ghi, tlo, thi, paren;
} kt__natfmt;

static const kt__natfmt kt__nat[] = {
    /* DE: 0 + area (2-5 digits) + subscriber, "030 12345678", "(0171) 123 4567", "089/1234567" */
    {KT_REGION_DE, KT__D(0), KT__D_1_9, 3, 6, 1, 4, 2, 8, 9, 12, 1},
    /* FR: "01 23 45 67 89" */
    {KT_REGION_FR, KT__D(0), KT__D_1_9, 2, 2, 4, 4, 2, 2, 10, 10, 0},
    /* GB: "020 7946 0958", "0161 496 0000", "07700 900123", "(01632) 960123" */
    {KT_REGION_GB, KT__D(0), KT__D_1_9, 3, 5, 1, 2, 3, 6, 10, 11, 1},
    /* IN: mobile "98765 43210", "098765 43210"; landline "022 2345 6789", "011-23456789" */
    {KT_REGION_IN, KT__D(6) | KT__D(7) | KT__D(8) | KT__D(9), KT__D_ANY, 5, 5, 1, 1, 5, 5, 10, 10, 0},
    {KT_REGION_IN, KT__D(0), KT__D(6) | KT__D(7) | KT__D(8) | KT__D(9), 6, 6, 1, 1, 5, 5, 11, 11, 0},
    {KT_REGION_IN, KT__D(0), KT__D_1_9, 3, 5, 1, 2, 3, 8, 11, 11, 1},
    /* ES: "912 345 678", "612 34 56 78" */
    {KT_REGION_ES, KT__D(6) | KT__D(7) | KT__D(8) | KT__D(9), KT__D_ANY, 3, 3, 2, 3, 2, 3, 9, 9, 0},
    /* IT: landline "06 1234 5678", "02 12345678"; mobile "347 123 4567" */
    {KT_REGION_IT, KT__D(0), KT__D_1_9, 2, 4, 1, 2, 3, 8, 9, 11, 0},
    {KT_REGION_IT, KT__D(3), KT__D_1_9, 3, 3, 1, 2, 3, 7, 10, 10, 0},
    /* NL: "020 123 4567", "06 12345678", "(010) 123 45 67" */
    {KT_REGION_NL, KT__D(0), KT__D_1_9, 2, 4, 1, 3, 2, 8, 10, 10, 1},
    /* AU: "(02) 9876 5432", "0412 345 678" */
    {KT_REGION_AU, KT__D(0), KT__D(2) | KT__D(3) | KT__D(7) | KT__D(8), 2, 2, 2, 2, 4, 4, 10, 10, 1},
    {KT_REGION_AU, KT__D(0), KT__D(4) | KT__D(5), 4, 4, 2, 2, 3, 3, 10, 10, 0},
    /* BR: "(11) 91234-5678", "(21) 2345-6789" */
    {KT_REGION_BR, KT__D_1_9, KT__D_1_9, 2, 2, 1, 2, 4, 5, 10, 11, 2},
    /* JP: "03-1234-5678", "090-1234-5678", "0120-123-456" */
    {KT_REGION_JP, KT__D(0), KT__D_1_9, 2, 5, 2, 2, 2, 4, 10, 11, 1},
};

#define KT__NAT_GROUPS 6
#define KT__NAT_DIGITS 13

typedef struct kt__groups {
    int n, paren, total;
    int dot;                      /* a '.' separates groups */
    int len[KT__NAT_GROUPS];
    size_t end[KT__NAT_GROUPS];   /* position after each group */
    int d0, d1;
} kt__groups;

static int kt__natsep(int c) { return c == ' ' || c == '-' || c == '.' || c == '/'; }

/* Reads "(" g1 ")" [ -]? or g1 sep, then groups joined by one separator kind. More than
 * KT__NAT_DIGITS digits: g->total says so and the number is not national. */
static int kt__read_groups(kt__dtext *t, size_t s, kt__groups *g)
{
    size_t i = s;
    g->n = g->total = g->d0 = g->d1 = g->dot = 0;
    g->paren = kt__at(t, i) == '(';
    if (g->paren) i++;
    int sep2 = 0;
    while (g->n < KT__NAT_GROUPS) {
        int d = 0;
        while (kt__digit(kt__at(t, i))) {
            if (g->total == 0) g->d0 = t->p[i] - '0';
            if (g->total == 1) g->d1 = t->p[i] - '0';
            if (++g->total > KT__NAT_DIGITS) return 1;
            d++;
            i++;
        }
        if (d == 0) return 0;
        g->len[g->n] = d;
        g->end[g->n++] = i;
        int c = kt__at(t, i);
        if (g->n == 1 && g->paren) {
            if (c != ')') return 0;
            c = kt__at(t, ++i);
            if (c == ' ' || c == '-') c = kt__at(t, ++i);
            if (!kt__digit(c)) return 0;
            continue;
        }
        if (!kt__natsep(c) || !kt__digit(kt__at(t, i + 1))) break;
        g->dot |= c == '.';
        if (g->n >= 2) {
            if (sep2 && c != sep2) break;
            sep2 = c;
        }
        i++;
    }
    return g->n >= 2;
}

static int kt__fmt_ok(const kt__natfmt *f, const kt__groups *g, int k, int total)
{
    if (!(f->d0 & KT__D(g->d0)) || !(f->d1 & KT__D(g->d1))) return 0;
    if ((f->paren == 0 && g->paren) || (f->paren == 2 && !g->paren)) return 0;
    if (g->len[0] < f->g1lo || g->len[0] > f->g1hi) return 0;
    if (k - 1 < f->nlo || k - 1 > f->nhi || total < f->tlo || total > f->thi) return 0;
    for (int j = 1; j < k; j++)
        if (g->len[j] < f->glo || g->len[j] > f->ghi) return 0;
    return 1;
}

static int kt__shape_ok(const kt__dtext *t, const kt__groups *g, int k, int total)
{
    for (size_t f = 0; f < sizeof kt__nat / sizeof kt__nat[0]; f++)
        if ((t->regions & (1u << kt__nat[f].region)) && kt__fmt_ok(&kt__nat[f], g, k, total))
            return 1;
    return 0;
}

/* Words after which a national-looking number is an identifier, not a phone. */
static const char *const kt__not_phone[] = {
    "order", "invoice", "ref", "ticket", "tracking", "serial", "sku", "isbn", "part", "po", "id",
    "ssn", "order no", "invoice no", "ref no", "ticket no", "tracking no", "serial no", "part no",
    "account", "account no", "acct", "case", "case no", "case number", "batch", "parcel",
    "package", "shipment", "consignment", "booking", "booking ref", "reservation", "claim",
    "claim no", "policy no", "receipt", "transaction", "txn", "customer id", "customer no",
    "member id", "reference", "confirmation", "job", "build", "lot", "voucher", "order number",
    "invoice number", "tracking number", "serial number", "account number", "claim number",
    "reference number", "confirmation number", "customer number", "ticket number", NULL,
};

/* Identifier labels in the other languages of the national formats (German, French, Spanish,
 * Italian, Portuguese, Dutch, Polish): order, invoice, customer number, case, reference. */
static const char *const kt__not_phone_intl[] = {
    "auftrag", "bestellung", "rechnung", "rechnung nr", "kundennummer", "aktenzeichen", "vorgang",
    "commande", "facture", "dossier", "pedido", "factura", "expediente", "ordine", "fattura",
    "pratica", "encomenda", "fatura", "bestelling", "factuur", "zamowienie", "faktura", NULL,
};

/* Words after which a number is a quantity: "4096 bytes", "1200 ms", "350 rows". */
static const char *const kt__units_after[] = {
    "bytes", "byte", "kb", "mb", "gb", "ms", "sec", "seconds", "rows", "records", "items", "users",
    "times", "tokens", "requests", "points", "km", "kg", NULL,
};

static int kt__unit_after(kt__dtext *t, size_t e)
{
    if (kt__at(t, e) != ' ') return 0;
    for (size_t u = 0; kt__units_after[u]; u++) {
        size_t n = strlen(kt__units_after[u]), k = 0;
        while (k < n && (kt__at(t, e + 1 + k) | 0x20) == kt__units_after[u][k]) k++;
        if (k == n && !kt__alnum(kt__at(t, e + 1 + n))) return 1;
    }
    return 0;
}

/* A national number is the whole run of digit groups, not glued to a longer one before it (the
 * groups of an IBAN or a card) and not after a label that makes it an identifier. */
static int kt__national(kt__dtext *t, size_t s, size_t *e)
{
    kt__groups g;
    int b1 = kt__before(t, s, 1);
    if ((b1 == '.' || b1 == '/') && kt__digit(kt__before(t, s, 2))) return 0;
    if (kt__after_group(t, s)) return 0;
    if (!kt__read_groups(t, s, &g) || g.total > KT__NAT_DIGITS) return 0;
    if (g.dot && g.n < 3) return 0; /* "0123.456" is a decimal, not a phone */
    if (!kt__shape_ok(t, &g, g.n, g.total)) return 0;
    size_t end = kt__phone_end(t, g.end[g.n - 1]);
    if (!end || kt__label_before(t, s, " :.#-", 4, kt__not_phone) ||
        kt__label_before(t, s, " :.#-", 4, kt__not_phone_intl) || kt__unit_after(t, end))
        return 0;
    *e = end;
    return 1;
}

#define KT__NATIONAL_REGIONS (((1u << KT_REGION__COUNT) - 1u) & ~(1u << KT_REGION_US))

int kt__det_phone(kt__dtext *t, size_t s, kt__dres *r)
{
    int c = kt__at(t, s);
    size_t e = 0;
    if (c == '+' || c == '(') {
        if (kt__word(kt__before(t, s, 1))) return 0;
    } else if (!kt__num_left_ok(t, s)) {
        return 0;
    }
    int ok = (t->regions & (1u << KT_REGION_US)) && kt__nanp(t, s, &e);
    if (!ok && c == '+') ok = kt__e164(t, s, &e);
    if (!ok && c != '+' && (t->regions & KT__NATIONAL_REGIONS)) ok = kt__national(t, s, &e);
    if (!ok) return 0;
    r->start = s;
    r->end = e;
    r->ent = KT_ENT_PHONE;
    return 1;
}
