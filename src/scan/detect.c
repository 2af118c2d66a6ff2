/* Detector dispatcher: the skip loop over anchor bytes, the candidate order, match output and the
 * streaming stable-prefix computation. The entity parsers live in detect_<family>.c.
 *
 * One scan serves both modes. In final mode (kt_detect) the end of the text is the end of the
 * input. In streaming mode (stable prefix) a candidate whose parser read up to the end of the
 * text is "open": its anchor and everything after it are held back. Candidates are tried in the
 * order of their anchor bytes; after a match the scan resumes at its end, and no look-back
 * reaches before the end of the previous match, so matches are ordered and disjoint. */
#include <string.h>

#include "detect_int.h"
#include "kt/common.h"

static const char *const kt__names[KT_ENT__COUNT] = {
    "email", "phone", "ssn", "credit_card", "iban", "ipv4", "ipv6",
    "api_key", "cloud_key", "private_key", "jwt", "bearer_token",
};

const char *kt_entity_name(kt_entity e)
{
    return (unsigned)e < KT_ENT__COUNT ? kt__names[e] : NULL;
}

static int kt__name_eq(const char *s, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++) {
        int c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
        if (c == '-') c = '_';
        if (c != lit[i]) return 0;
    }
    return i == n && lit[i] == '\0';
}

int kt_entity_from_name(const char *s, size_t n)
{
    if (!s) return -1;
    for (int e = 0; e < KT_ENT__COUNT; e++)
        if (kt__name_eq(s, n, kt__names[e])) return e;
    if (kt__name_eq(s, n, "bearer")) return KT_ENT_BEARER;
    return -1;
}

/* ---- boundary rules shared by the numeric parsers ------------------------------------------ */

int kt__grouping_comma(kt__dtext *t, size_t comma)
{
    int before = 0, after = 0;
    while (before < 4 && kt__digit(kt__before(t, comma, (size_t)before + 1))) before++;
    while (after < 4 && kt__digit(kt__at(t, comma + 1 + (size_t)after))) after++;
    return before <= 3 && after == 3;
}

static int kt__lower_ascii(int c) { return c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c; }

int kt__label_before(const kt__dtext *t, size_t s, const char *seps, int skip,
                     const char *const *labels)
{
    size_t k = 0;
    int c;
    while ((int)k < skip && (c = kt__before(t, s, k + 1)) > 0 && strchr(seps, c)) k++;
    size_t end = s - k; /* the label ends here */
    for (size_t l = 0; labels[l]; l++) {
        size_t n = strlen(labels[l]);
        if (end < n || k + n > KT__LOOKBACK) continue;
        size_t a = end - n, j = 0;
        while (j < n && kt__lower_ascii((unsigned char)t->p[a + j]) == (unsigned char)labels[l][j]) j++;
        if (j == n && !(kt__alnum((unsigned char)labels[l][0]) && kt__alnum(kt__before(t, a, 1))))
            return 1;
    }
    return 0;
}

int kt__num_right_ok(kt__dtext *t, size_t e)
{
    int c = kt__at(t, e);
    if (c < 0) return 1;
    if (kt__word(c) || c == '@') return 0;
    if (c == ',') return !kt__digit(kt__at(t, e + 1)) || !kt__grouping_comma(t, e);
    if (kt__num_punct(c)) return !kt__digit(kt__at(t, e + 1));
    return 1;
}

/* ---- the scan ---------------------------------------------------------------------------- */

enum { C_NONE, C_DIGIT, C_AT, C_COLON, C_DASH, C_UNDER, C_A, C_B, C_J, C_DOT };

typedef int (*kt__parser)(kt__dtext *t, size_t s, kt__dres *r);

typedef struct kt__scan {
    kt__dtext t;
    uint32_t mask;
    int final;
    size_t pos;  /* end of the previous match: no candidate starts before it */
    int stop;
    int nat;     /* phone with a national region: short digit groups can start a phone */
    /* final mode */
    kt_match *out;
    size_t max, n;
    int truncated;
    /* streaming mode */
    size_t open; /* lowest anchor whose outcome is not yet known (len when none) */
    int seen_open;
    size_t tail; /* cut proposed by the tail rule, moved past a match that straddles it */
} kt__scan;

#define KT__ON(sc, e) ((sc)->mask & KT_ENT_BIT(e))

static void kt__note_open(kt__scan *sc, size_t s)
{
    if (s < sc->open) sc->open = s;
    sc->seen_open = 1;
}

/* Runs one parser at anchor s. Returns 1 when a match was taken (sc->pos moved to its end). */
static int kt__try(kt__scan *sc, size_t s, kt__parser fn)
{
    if (s < sc->pos) return 0;
    kt__dres r;
    sc->t.hit = 0;
    int m = fn(&sc->t, s, &r);
    if (!sc->final) {
        if (sc->t.hit || sc->seen_open) {
            /* Undecided, or decided only on the branch where an earlier open candidate fails. */
            if (sc->t.hit || m) kt__note_open(sc, s);
            return 0;
        }
        if (!m) return 0;
        /* A decided match is emitted whole: never cut between its anchor and its end. */
        if (s < sc->tail && sc->tail < r.end) sc->tail = r.end;
        sc->pos = r.end;
        return 1;
    }
    if (!m) return 0;
    if (sc->n == sc->max) {
        sc->truncated = 1;
        sc->stop = 1;
        return 1;
    }
    sc->out[sc->n].start = r.start;
    sc->out[sc->n].end = r.end;
    sc->out[sc->n].ent = r.ent;
    sc->n++;
    sc->pos = r.end;
    return 1;
}

/* Byte at i for prefilters: -1 past the end means "anything may still come". */
static int kt__raw(const kt__scan *sc, size_t i)
{
    return i < sc->t.len ? (unsigned char)sc->t.p[i] : -1;
}

/* 1 when text[s..) is `lit` or a prefix of it that the end of the text cut short. */
static int kt__could(const kt__scan *sc, size_t s, const char *lit)
{
    for (size_t k = 0; lit[k]; k++) {
        int c = kt__raw(sc, s + k);
        if (c < 0) return 1;
        if (c != (unsigned char)lit[k]) return 0;
    }
    return 1;
}

/* 1 when the n bytes before i exist after sc->pos and equal lit. */
static int kt__behind(const kt__scan *sc, size_t i, const char *lit, size_t n)
{
    return i >= sc->pos + n && memcmp(sc->t.p + i - n, lit, n) == 0;
}

static int kt__hexletter(int c) { return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int kt__is_sep(int c) { return c == ' ' || c == '-' || c == '.' || c < 0; }

/* A digit run of d digits starting with f can be the first group of a national phone without
 * parentheses: a trunk 0 (2-6 digits), or a mobile prefix (ES and IT 3 digits, IN 5; the shapes
 * of detect_phone.c). */
static inline int kt__nat_first(int f, size_t d)
{
    return d >= 2 && d <= 6 && (f == '0' || (d == 3 && (f == '3' || f >= '6')) || (d == 5 && f >= '6'));
}

/* A digit that follows a non-digit: every numeric family can start here or just before. */
static size_t kt__on_digit(kt__scan *sc, size_t i)
{
    const unsigned char *p = (const unsigned char *)sc->t.p;
    size_t len = sc->t.len, d = 0;
    while (i + d < len && d < 21 && kt__digit(p[i + d])) d++;
    int c = kt__raw(sc, i + d), end = c < 0;
    int b1 = kt__before(&sc->t, i, 1);

    if (KT__ON(sc, KT_ENT_IBAN) && i >= sc->pos + 2 && kt__upper(b1) &&
        kt__upper(p[i - 2]) && kt__try(sc, i - 2, kt__det_iban))
        return sc->pos;
    if (KT__ON(sc, KT_ENT_PHONE) && (b1 == '+' || b1 == '(') && i >= sc->pos + 1 &&
        kt__try(sc, i - 1, kt__det_phone))
        return sc->pos;
    if (KT__ON(sc, KT_ENT_IPV6) && d <= 4 && kt__hexletter(b1) && (c == ':' || kt__hex(c) || end)) {
        size_t j = i;
        while (j > sc->pos && i - j < 4 && kt__hexletter(p[j - 1])) j--;
        if (kt__try(sc, j, kt__det_ipv6)) return sc->pos;
    }
    if (KT__ON(sc, KT_ENT_CREDIT_CARD) && (d >= 13 || end || (d == 4 && (c == ' ' || c == '-'))) &&
        kt__try(sc, i, kt__det_card))
        return sc->pos;
    if (KT__ON(sc, KT_ENT_SSN) && (end || d == 9 || (d == 3 && (c == ' ' || c == '-'))) &&
        kt__try(sc, i, kt__det_ssn))
        return sc->pos;
    if (KT__ON(sc, KT_ENT_PHONE) &&
        (end || (d == 3 && kt__is_sep(c)) || (d == 1 && p[i] == '1' && kt__is_sep(c)) ||
         (sc->nat && kt__nat_first(p[i], d) && (kt__is_sep(c) || c == '/'))) &&
        kt__try(sc, i, kt__det_phone))
        return sc->pos;
    if (KT__ON(sc, KT_ENT_IPV4) && d <= 3 && (c == '.' || end) && kt__try(sc, i, kt__det_ipv4))
        return sc->pos;
    if (KT__ON(sc, KT_ENT_IPV6) && d <= 4 && (c == ':' || kt__hexletter(c) || end) &&
        kt__try(sc, i, kt__det_ipv6))
        return sc->pos;
    return i + (d ? d : 1);
}

static inline int kt__colon_in(const unsigned char *p, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (p[k] == ':') return 1;
    return 0;
}

/* 1 when kt__on_digit would try no parser that could take the digit run p[i..i+d), p[i+d] being
 * a non-digit inside the text: its conditions plus the parsers' left-boundary checks, without
 * the reads. The chunk scan asks this first so that the many runs no parser can take (list
 * indexes, years, token counts, times) cost no call. */
static inline __attribute__((always_inline)) int kt__digit_quiet(const kt__scan *sc, size_t i,
                                                                  size_t d)
{
    const unsigned char *p = (const unsigned char *)sc->t.p;
    int b1 = p[i - 1], c = p[i + d];
    if (d >= 13 || (kt__upper(b1) && kt__upper(p[i - 2])) || b1 == '+' || b1 == '(') return 0;
    /* ipv6: the run is in a group of at most 4 hex digits that a `:` ends */
    int grp = d <= 4 && (c == ':' || (kt__hexletter(c) && (i + 4 >= sc->t.len ||
                                                          kt__colon_in(p + i + d, 5 - d))));
    if (grp && (kt__hexletter(b1) || !(kt__word(b1) || b1 == ':' || b1 == '.' || b1 == '@')))
        return 0;
    if (c == '.' && d <= 3 && (b1 == ',' || b1 == '@')) return 0; /* ipv4 takes these on its left */
    kt__dtext t = sc->t; /* the run ends inside the text: no read reaches its end */
    if (!kt__num_left_ok(&t, i)) return 1;
    if (d == 9 && KT__ON(sc, KT_ENT_SSN)) return 0; /* a bare SSN after its label */
    if (sc->nat && (c == ' ' || c == '-' || c == '.' || c == '/') && kt__nat_first(p[i], d))
        return 0;
    if (c == '.') return d > 3;
    if (c == ' ' || c == '-') return !(d == 3 || d == 4 || (d == 1 && p[i] == '1'));
    return 1;
}

static size_t kt__on_at(kt__scan *sc, size_t i)
{
    size_t j = i;
    while (j > sc->pos && i - j <= 64 && kt__local_char((unsigned char)sc->t.p[j - 1])) j--;
    if (j < i && i - j <= 64 && kt__try(sc, j, kt__det_email)) return sc->pos;
    return i + 1;
}

static size_t kt__on_colon(kt__scan *sc, size_t i)
{
    const unsigned char *p = (const unsigned char *)sc->t.p;
    int b1 = kt__before(&sc->t, i, 1);
    if (kt__hexletter(b1)) {
        /* A group of hex letters only: a group with a digit was tried from that digit. */
        size_t j = i;
        while (j > sc->pos && i - j < 5 && kt__hex(p[j - 1])) j--;
        int letters = 1;
        for (size_t k = j; k < i; k++) letters &= !kt__digit(p[k]);
        if (letters && i - j <= 4 && kt__try(sc, j, kt__det_ipv6)) return sc->pos;
    } else if (b1 != ':' && !kt__digit(b1)) {
        int c = kt__raw(sc, i + 1);
        if ((c == ':' || c < 0) && kt__try(sc, i, kt__det_ipv6)) return sc->pos;
    }
    return i + 1;
}

static size_t kt__on_dash(kt__scan *sc, size_t i)
{
    if (KT__ON(sc, KT_ENT_PRIVATE_KEY) && kt__could(sc, i, "-----BEGIN ") &&
        kt__try(sc, i, kt__det_private_key))
        return sc->pos;
    if (KT__ON(sc, KT_ENT_API_KEY)) {
        if (kt__behind(sc, i, "sk", 2) && kt__try(sc, i - 2, kt__det_sk_key)) return sc->pos;
        if (i >= sc->pos + 4 && kt__behind(sc, i - 1, "xox", 3) &&
            strchr("baprs", sc->t.p[i - 1]) && kt__try(sc, i - 4, kt__det_slack_key))
            return sc->pos;
        if (kt__behind(sc, i, "xapp", 4) && kt__try(sc, i - 4, kt__det_xapp)) return sc->pos;
    }
    return i + 1;
}

static size_t kt__on_under(kt__scan *sc, size_t i)
{
    int k = kt__raw(sc, i + 1);
    if (KT__ON(sc, KT_ENT_CLOUD_KEY) && (k == 'k' || k == 'K' || k < 0) &&
        kt__try(sc, i, kt__det_aws_secret_named))
        return sc->pos;
    if (!KT__ON(sc, KT_ENT_API_KEY)) return i + 1;
    if ((kt__behind(sc, i, "sk", 2) || kt__behind(sc, i, "rk", 2)) &&
        kt__try(sc, i - 2, kt__det_sk_key))
        return sc->pos;
    if (i >= sc->pos + 3 && kt__behind(sc, i - 1, "gh", 2) && strchr("pousr", sc->t.p[i - 1]) &&
        kt__try(sc, i - 3, kt__det_github_key))
        return sc->pos;
    if (kt__behind(sc, i, "github", 6) && kt__try(sc, i - 6, kt__det_github_key)) return sc->pos;
    return i + 1;
}

static size_t kt__on_upper_a(kt__scan *sc, size_t i)
{
    int c = kt__raw(sc, i + 1);
    if (KT__ON(sc, KT_ENT_CLOUD_KEY) && (c == 'K' || c == 'S' || c < 0) &&
        kt__try(sc, i, kt__det_cloud_pair)) {
        /* the secret access key often follows its id */
        if (!sc->stop) kt__try(sc, sc->pos, kt__det_aws_secret_near);
        return sc->pos;
    }
    if (KT__ON(sc, KT_ENT_API_KEY) && (c == 'I' || c < 0) && kt__try(sc, i, kt__det_google_key))
        return sc->pos;
    return i + 1;
}

static size_t kt__on_b(kt__scan *sc, size_t i)
{
    int c = kt__raw(sc, i + 1);
    if ((c == 'e' || c == 'E' || c < 0) && kt__try(sc, i, kt__det_bearer)) return sc->pos;
    return i + 1;
}

static size_t kt__on_j(kt__scan *sc, size_t i)
{
    if (kt__behind(sc, i, "ey", 2) && kt__try(sc, i - 2, kt__det_jwt)) return sc->pos;
    return i + 1;
}

static size_t kt__on_dot(kt__scan *sc, size_t i)
{
    if (kt__behind(sc, i, "hooks", 5) && kt__could(sc, i, ".slack.com/services/") &&
        kt__try(sc, i - 5, kt__det_slack_hook))
        return sc->pos;
    return i + 1;
}

static void kt__table(uint32_t mask, unsigned char tab[256])
{
    memset(tab, C_NONE, 256);
    if (mask & (KT_ENT_BIT(KT_ENT_PHONE) | KT_ENT_BIT(KT_ENT_SSN) | KT_ENT_BIT(KT_ENT_CREDIT_CARD) |
                KT_ENT_BIT(KT_ENT_IBAN) | KT_ENT_BIT(KT_ENT_IPV4) | KT_ENT_BIT(KT_ENT_IPV6)))
        for (int c = '0'; c <= '9'; c++) tab[c] = C_DIGIT;
    if (mask & KT_ENT_BIT(KT_ENT_EMAIL)) tab['@'] = C_AT;
    if (mask & KT_ENT_BIT(KT_ENT_IPV6)) tab[':'] = C_COLON;
    if (mask & (KT_ENT_BIT(KT_ENT_PRIVATE_KEY) | KT_ENT_BIT(KT_ENT_API_KEY))) tab['-'] = C_DASH;
    if (mask & (KT_ENT_BIT(KT_ENT_API_KEY) | KT_ENT_BIT(KT_ENT_CLOUD_KEY))) tab['_'] = C_UNDER;
    if (mask & KT_ENT_BIT(KT_ENT_API_KEY)) tab['.'] = C_DOT;
    if (mask & (KT_ENT_BIT(KT_ENT_API_KEY) | KT_ENT_BIT(KT_ENT_CLOUD_KEY))) tab['A'] = C_A;
    if (mask & KT_ENT_BIT(KT_ENT_BEARER)) tab['B'] = tab['b'] = C_B;
    if (mask & KT_ENT_BIT(KT_ENT_JWT)) tab['J'] = C_J;
}

/* Which anchor classes are in use, for the block classifiers (detect_block.h). */
typedef struct kt__anchors {
    unsigned char tab[256];
    int digits, at, colon, dash, under, upper_a, bee, jay, dot;
} kt__anchors;

static void kt__anchors_init(kt__anchors *a, uint32_t mask)
{
    kt__table(mask, a->tab);
    a->digits = a->tab['0'] == C_DIGIT;
    a->at = a->tab['@'] == C_AT;
    a->colon = a->tab[':'] == C_COLON;
    a->dash = a->tab['-'] == C_DASH;
    a->under = a->tab['_'] == C_UNDER;
    a->upper_a = a->tab['A'] == C_A;
    a->bee = a->tab['b'] == C_B;
    a->jay = a->tab['J'] == C_J;
    a->dot = a->tab['.'] == C_DOT;
}

/* Candidates are marked a chunk at a time, one bit per byte. */
#define KT__CHUNK 256

/* Blocks of 16 bytes with SSE2 (every x86-64) and of 32 bytes with AVX2 where the CPU has it,
 * chosen at run time; elsewhere the plain table below. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KT__SIMD 1
#include <immintrin.h>

/* The byte constants of the block classifiers, one 32-byte row each (16-byte blocks use half). */
enum {
    KT__R_AT, KT__R_COLON, KT__R_DASH, KT__R_UNDER, KT__R_UA, KT__R_UJ, KT__R_UK, KT__R_US,
    KT__R_UI, KT__R_B, KT__R_E, KT__R_H, KT__R_K, KT__R_X, KT__R_Y, KT__R_CASE,
    KT__R_HEX_ADD, KT__R_HEX_LIM, KT__R_DIG_ADD, KT__R_DIG_LIM, KT__R_P, KT__R_S, KT__R_DOT,
    KT__R__COUNT
};
#define KT__ROW8(c)                                                                         \
    (unsigned char)(c), (unsigned char)(c), (unsigned char)(c), (unsigned char)(c),             \
        (unsigned char)(c), (unsigned char)(c), (unsigned char)(c), (unsigned char)(c)
#define KT__ROW(c) { KT__ROW8(c), KT__ROW8(c), KT__ROW8(c), KT__ROW8(c) }
static const unsigned char kt__vk[KT__R__COUNT][32] __attribute__((aligned(32))) = {
    KT__ROW('@'), KT__ROW(':'), KT__ROW('-'), KT__ROW('_'), KT__ROW('A'), KT__ROW('J'),
    KT__ROW('K'), KT__ROW('S'), KT__ROW('I'), KT__ROW('b'), KT__ROW('e'), KT__ROW('h'),
    KT__ROW('k'), KT__ROW('x'), KT__ROW('y'), KT__ROW(0x20),
    /* (c | 0x20) in 'a'..'f' as (c + 0x80 - 'a') < -128 + 6 in signed bytes; digits alike */
    KT__ROW(0x80 - 'a'), KT__ROW(0x80 + 6), KT__ROW(0x80 - '0'), KT__ROW(0x80 + 10),
    KT__ROW('p'), KT__ROW('s'), KT__ROW('.'),
};
#undef KT__ROW
#undef KT__ROW8

#define KT__W 16
#define KT__BLOCK kt__block16
#define KT__CLASSIFY kt__classify16
#define KT__ATTR
#define KT__MOVEMASK(m) ((uint64_t)(uint32_t)_mm_movemask_epi8((__m128i)(m)))
#include "detect_block.h"
#undef KT__W
#undef KT__BLOCK
#undef KT__CLASSIFY
#undef KT__ATTR
#undef KT__MOVEMASK

#define KT__W 32
#define KT__BLOCK kt__block32
#define KT__CLASSIFY kt__classify32
#define KT__ATTR __attribute__((target("avx2")))
#define KT__MOVEMASK(m) ((uint64_t)(uint32_t)_mm256_movemask_epi8((__m256i)(m)))
#include "detect_block.h"
#undef KT__W
#undef KT__BLOCK
#undef KT__CLASSIFY
#undef KT__ATTR
#undef KT__MOVEMASK
#endif

/* Candidate bytes of p[0..width) by the table alone (a superset of what the blocks give).
 * `carry` says the byte before p is a digit that continues a run. */
static void kt__classify_plain(const kt__anchors *a, const unsigned char *p, size_t width,
                               int carry, uint64_t *bits)
{
    int prev = carry;
    memset(bits, 0, KT__CHUNK / 8);
    for (size_t k = 0; k < width; k++) {
        int d = kt__digit(p[k]);
        if (a->tab[p[k]] && !(d && prev)) bits[k / 64] |= (uint64_t)1 << (k % 64);
        prev = d;
    }
}

/* Handles the candidate byte at i; returns where scanning continues. */
static size_t kt__handle(kt__scan *sc, const unsigned char *tab, size_t i)
{
    const unsigned char *p = (const unsigned char *)sc->t.p;
    switch (tab[p[i]]) {
    case C_DIGIT: return (i > sc->pos && kt__digit(p[i - 1])) ? i + 1 : kt__on_digit(sc, i);
    case C_AT: return kt__on_at(sc, i);
    case C_COLON: return kt__on_colon(sc, i);
    case C_DASH: return kt__on_dash(sc, i);
    case C_UNDER: return kt__on_under(sc, i);
    case C_A: return kt__on_upper_a(sc, i);
    case C_B: return kt__on_b(sc, i);
    case C_J: return kt__on_j(sc, i);
    case C_DOT: return kt__on_dot(sc, i);
    default: return i + 1;
    }
}

typedef void (*kt__classifier)(const kt__anchors *a, const unsigned char *p, uint64_t *bits,
                               uint64_t *digits);

/* Position of the first set bit at or after rel in a chunk's bit map, or KT__CHUNK. */
static inline size_t kt__next_bit(const uint64_t *bits, size_t rel)
{
    for (size_t w = rel / 64; w < KT__CHUNK / 64; w++) {
        uint64_t m = bits[w] & (w == rel / 64 ? ~(uint64_t)0 << (rel % 64) : ~(uint64_t)0);
        if (m) return w * 64 + (size_t)__builtin_ctzll(m);
    }
    return KT__CHUNK;
}

/* Length of the digit run at p[j] (>= 1), stopping at len. */
static inline size_t kt__digit_run(const unsigned char *p, size_t j, size_t len)
{
    size_t d = 1;
    while (j + d < len && kt__digit(p[j + d])) d++;
    return d;
}

/* Length of the run of set bits from rel (digits[] has a zero word past the chunk). */
static inline size_t kt__run_len(const uint64_t *digits, size_t rel)
{
    size_t w = rel / 64, r = rel % 64;
    uint64_t v = digits[w] >> r;
    if (r) v |= digits[w + 1] << (64 - r);
    return ~v ? (size_t)__builtin_ctzll(~v) : 64;
}

/* The scan, a chunk at a time: classify marks the candidates (NULL: the plain table), then
 * each candidate's handler runs, from the end of the previous match on. */
static inline __attribute__((always_inline)) void kt__scan_chunks(kt__scan *sc, size_t from,
                                                                   kt__classifier classify)
{
    kt__anchors a;
    kt__anchors_init(&a, sc->mask);
    const unsigned char *p = (const unsigned char *)sc->t.p;
    size_t len = sc->t.len, i = from;
    uint64_t bits[KT__CHUNK / 64], digits[KT__CHUNK / 64 + 1] = {0};
    /* The last chunk of a text (all of a short one) is classified in a copy with zeros around it:
     * a zero is no anchor and no neighbour any handler needs, and neither is the text's start. */
    unsigned char pad[2 + KT__CHUNK + 1];
    sc->pos = from;
    while (!sc->stop && i < len) {
        size_t base = i, width = KT_MIN((size_t)KT__CHUNK, len - i);
        int carry = i > sc->pos && kt__digit(p[i - 1]), full = 0;
        /* The classifiers read two bytes before the chunk and one after it. */
        if (classify && (len - i <= KT__CHUNK || i >= 2)) {
            const unsigned char *c = p + i;
            if (len - i <= KT__CHUNK) {
                size_t before = KT_MIN(i, (size_t)2);
                memset(pad, 0, sizeof pad);
                memcpy(pad + 2 - before, p + i - before, before + width);
                c = pad + 2;
            }
            classify(&a, c, bits, digits);
            /* The byte after the text is unknown, not a zero (streaming reads a prefix): the last
             * byte is a candidate as the table says. */
            unsigned char last = p[len - 1];
            if (c == pad + 2 && a.tab[last] && !kt__digit(last))
                bits[(width - 1) / 64] |= (uint64_t)1 << ((width - 1) % 64);
            if (a.digits && !carry && kt__digit(p[i])) bits[0] |= 1; /* a run at a match's end */
            full = 1;
        } else {
            kt__classify_plain(&a, p + i, width, carry, bits);
        }
        i = base + width;
        for (size_t rel = kt__next_bit(bits, 0); rel < width; rel = kt__next_bit(bits, rel)) {
            size_t j = base + rel;
            /* Digit runs are screened in every chunk (kt__digit_quiet reads two bytes before the
             * run), except in the table-only reference scan (classify NULL). */
            if (a.digits && kt__digit(p[j]) && classify && j >= 2) {
                size_t d = full ? kt__run_len(digits, rel) /* >= 1: digits[] marks p[j] */
                                : kt__digit_run(p, j, len);
                if (rel + d < width && kt__digit_quiet(sc, j, d)) {
                    rel += d;
                    continue;
                }
            }
            /* In streaming mode nothing past this point can pull the cut below the open anchor. */
            if (sc->seen_open && j > sc->open + KT__TAIL_EMAIL + 8) return;
            size_t pos = sc->pos, next = kt__handle(sc, a.tab, j);
            if (sc->stop) return;
            if (next >= base + width) {
                i = KT_MAX(next, base + 1);
                break;
            }
            rel = next - base;
            /* After a match a digit at its end starts a run, even after the match's digits. */
            if (sc->pos != pos && a.digits && kt__digit(p[next]))
                bits[rel / 64] |= (uint64_t)1 << (rel % 64);
        }
    }
}

#if KT__SIMD
static __attribute__((target("avx2"))) void kt__scan_avx2(kt__scan *sc, size_t from)
{
    kt__scan_chunks(sc, from, kt__classify32);
}
#endif

/* simd: 0 forces the portable table classifier (kt__detect_plain and its tests). */
static void kt__scan_run(kt__scan *sc, size_t from, int simd)
{
#if KT__SIMD
    if (simd && __builtin_cpu_supports("avx2")) {
        kt__scan_avx2(sc, from);
        return;
    }
    kt__scan_chunks(sc, from, simd ? kt__classify16 : NULL);
#else
    (void)simd;
    kt__scan_chunks(sc, from, NULL);
#endif
}

/* The phone regions of a mask: its region bits, or all of them when it has none and does not say
 * KT_DETECT_REGIONS_SET. */
static uint32_t kt__regions(uint32_t mask)
{
    uint32_t r = (mask & KT_DETECT_REGIONS_ALL) >> KT_DETECT_REGION_SHIFT;
    return r || (mask & KT_DETECT_REGIONS_SET) ? r : KT_DETECT_REGIONS_ALL >> KT_DETECT_REGION_SHIFT;
}

static void kt__scan_init(kt__scan *sc, const char *text, size_t len, uint32_t mask)
{
    memset(sc, 0, sizeof *sc);
    sc->t.p = text;
    sc->t.len = len;
    sc->t.regions = kt__regions(mask);
    sc->mask = mask & KT_DETECT_ENT_MASK;
    sc->nat = KT__ON(sc, KT_ENT_PHONE) && (sc->t.regions & ~(1u << KT_REGION_US));
}

static size_t kt__detect_run(const char *text, size_t len, size_t from, uint32_t mask,
                             kt_match *out, size_t max, int *truncated, int simd)
{
    kt__scan sc;
    kt__scan_init(&sc, text, len, mask);
    sc.final = 1;
    sc.out = out;
    sc.max = out ? max : 0;
    if (text && from < len && sc.mask) kt__scan_run(&sc, from, simd);
    if (truncated) *truncated = sc.truncated;
    return sc.n;
}

size_t kt_detect_ctx(const char *text, size_t len, size_t from, uint32_t mask, kt_match *out,
                     size_t max, int *truncated)
{
    return kt__detect_run(text, len, from, mask, out, max, truncated, 1);
}

size_t kt_detect(const char *text, size_t len, uint32_t mask, kt_match *out, size_t max,
                 int *truncated)
{
    return kt_detect_ctx(text, len, 0, mask, out, max, truncated);
}

static int kt__tail_byte(int c)
{
    return kt__alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '(';
}

static size_t kt__stable_run(const char *text, size_t len, size_t from, uint32_t mask, int simd)
{
    if (!text || !(mask & KT_DETECT_ENT_MASK) || from >= len) return len;
    kt__scan sc;
    kt__scan_init(&sc, text, len, mask);
    mask = sc.mask;
    sc.open = len;
    /* Tail rule: a trailing run that a later anchor could still claim by looking back. */
    size_t lim = (mask & KT_ENT_BIT(KT_ENT_EMAIL)) ? KT__TAIL_EMAIL : KT__TAIL_OTHER;
    size_t t = len;
    while (t > from && len - t < lim && kt__tail_byte((unsigned char)text[t - 1])) t--;
    sc.tail = t;
    kt__scan_run(&sc, from, simd);
    return sc.open < sc.tail ? sc.open : sc.tail;
}

size_t kt_detect_stable_prefix_ctx(const char *text, size_t len, size_t from, uint32_t mask)
{
    return kt__stable_run(text, len, from, mask, 1);
}

size_t kt_detect_stable_prefix(const char *text, size_t len, uint32_t mask)
{
    return kt_detect_stable_prefix_ctx(text, len, 0, mask);
}

size_t kt__detect_plain(const char *text, size_t len, size_t from, uint32_t mask, kt_match *out,
                        size_t max, int *truncated)
{
    return kt__detect_run(text, len, from, mask, out, max, truncated, 0);
}

size_t kt__stable_prefix_plain(const char *text, size_t len, size_t from, uint32_t mask)
{
    return kt__stable_run(text, len, from, mask, 0);
}

size_t kt_detect_max_holdback(uint32_t mask)
{
    static const unsigned short span[KT_ENT__COUNT] = {
        KT__SPAN_EMAIL, KT__SPAN_PHONE, KT__SPAN_SSN, KT__SPAN_CARD, KT__SPAN_IBAN,
        KT__SPAN_IPV4, KT__SPAN_IPV6, KT__SPAN_KEY, KT__SPAN_CLOUD, KT__SPAN_PRIVATE_KEY,
        KT__SPAN_JWT, KT__SPAN_BEARER,
    };
    size_t m = 0;
    mask &= KT_DETECT_ENT_MASK;
    if (!mask) return 0;
    for (int e = 0; e < KT_ENT__COUNT; e++)
        if ((mask & KT_ENT_BIT(e)) && span[e] > m) m = span[e];
    size_t tail = (mask & KT_ENT_BIT(KT_ENT_EMAIL)) ? KT__TAIL_EMAIL : KT__TAIL_OTHER;
    return m > tail ? m : tail;
}
