/* DLP detectors: provider API keys, cloud access keys, private key blocks, JWTs and bearer
 * tokens. Each parser starts at the first byte of its fixed prefix; a key may not be glued to a
 * preceding identifier character. Key bodies are maximal runs of their alphabet, cut at a cap so
 * that every decision is made within a bounded window. */
#include <string.h>

#include "detect_int.h"
#include "kt/common.h"

enum { F_DIGIT = 1, F_UPPER = 2 };

static int kt__b64url(int c) { return kt__alnum(c) || c == '_' || c == '-'; }
static int kt__alnum_under(int c) { return kt__alnum(c) || c == '_'; }
static int kt__slack_ch(int c) { return kt__alnum(c) || c == '-'; }
static int kt__tok68(int c)
{
    return kt__alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

/* Length of the run of `ok` bytes at i, at most cap; *fl collects F_DIGIT/F_UPPER. */
static size_t kt__run(kt__dtext *t, size_t i, size_t cap, int (*ok)(int), int *fl)
{
    size_t n = 0;
    int c;
    while (n < cap && ok(c = kt__at(t, i + n))) {
        if (kt__digit(c)) *fl |= F_DIGIT;
        if (kt__upper(c)) *fl |= F_UPPER;
        n++;
    }
    return n;
}

static int kt__key_left_ok(const kt__dtext *t, size_t s) { return !kt__b64url(kt__before(t, s, 1)); }

static int kt__key(kt__dres *r, size_t s, size_t e, kt_entity ent)
{
    r->start = s;
    r->end = e;
    r->ent = ent;
    return 1;
}

/* A key body of >= min bytes of `ok` at b (the prefix started at s), cut at KT__KEY_MAX. */
static int kt__body(kt__dtext *t, size_t s, size_t b, size_t min, int (*ok)(int), int need,
                    kt__dres *r, kt_entity ent)
{
    int fl = 0;
    size_t n = kt__run(t, b, KT__KEY_MAX - (b - s), ok, &fl);
    if (n < min || (fl & need) != need) return 0;
    return kt__key(r, s, b + n, ent);
}

int kt__det_sk_key(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__key_left_ok(t, s)) return 0;
    if (kt__lit(t, s, "sk-")) return kt__body(t, s, s + 3, 20, kt__b64url, F_DIGIT, r, KT_ENT_API_KEY);
    if (kt__lit(t, s, "sk_live_") || kt__lit(t, s, "rk_live_") || kt__lit(t, s, "sk_test_") ||
        kt__lit(t, s, "rk_test_"))
        return kt__body(t, s, s + 8, 16, kt__alnum, F_DIGIT, r, KT_ENT_API_KEY);
    return 0;
}

int kt__det_github_key(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__key_left_ok(t, s)) return 0;
    if (kt__lit(t, s, "github_pat_"))
        return kt__body(t, s, s + 11, 22, kt__alnum_under, F_DIGIT, r, KT_ENT_API_KEY);
    int c = kt__at(t, s + 2);
    if (kt__lit(t, s, "gh") && c > 0 && strchr("pousr", c) && kt__at(t, s + 3) == '_')
        return kt__body(t, s, s + 4, 30, kt__alnum, 0, r, KT_ENT_API_KEY);
    return 0;
}

int kt__det_slack_key(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__key_left_ok(t, s) || !kt__lit(t, s, "xox")) return 0;
    int c = kt__at(t, s + 3);
    if (c <= 0 || !strchr("baprs", c) || kt__at(t, s + 4) != '-') return 0;
    return kt__body(t, s, s + 5, 10, kt__slack_ch, F_DIGIT, r, KT_ENT_API_KEY);
}

int kt__det_google_key(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__key_left_ok(t, s) || !kt__lit(t, s, "AIza")) return 0;
    int fl = 0;
    size_t n = kt__run(t, s + 4, 36, kt__b64url, &fl);
    if (n != 35) return 0;
    return kt__key(r, s, s + 4 + n, KT_ENT_API_KEY);
}

int kt__det_cloud_key(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__key_left_ok(t, s)) return 0;
    if (!kt__lit(t, s, "AKIA") && !kt__lit(t, s, "ASIA")) return 0;
    size_t n = 0;
    int c;
    while (n < 17 && kt__alnum(c = kt__at(t, s + 4 + n))) {
        if (kt__lower(c)) return 0;
        n++;
    }
    if (n != 16 || kt__b64url(c)) return 0;
    return kt__key(r, s, s + 20, KT_ENT_CLOUD_KEY);
}

/* "-----BEGIN <label>-----" / "-----END <label>-----": label [A-Z0-9 ]{1,48}; end in *e. */
static int kt__pem_line(kt__dtext *t, size_t i, const char *head, int need_private, size_t *e)
{
    if (!kt__lit(t, i, head)) return 0;
    size_t a = i + strlen(head), j = a;
    int c;
    while (j - a < 48 && ((c = kt__at(t, j)) == ' ' || kt__upper(c) || kt__digit(c))) j++;
    if (j == a || !kt__lit(t, j, "-----")) return 0;
    if (need_private) {
        int found = 0;
        for (size_t k = a; k + 11 <= j && !found; k++) found = !memcmp(t->p + k, "PRIVATE KEY", 11);
        if (!found) return 0;
    }
    *e = j + 5;
    return 1;
}

int kt__det_private_key(kt__dtext *t, size_t s, kt__dres *r)
{
    size_t i, e;
    if (!kt__pem_line(t, s, "-----BEGIN ", 1, &i)) return 0;
    size_t lim = s + KT__PRIVATE_KEY_MAX;
    for (;;) {
        if (i >= lim) return kt__key(r, s, lim, KT_ENT_PRIVATE_KEY);
        if (i >= t->len) {
            t->hit = 1; /* unterminated: the block runs to the end of the text */
            return kt__key(r, s, t->len, KT_ENT_PRIVATE_KEY);
        }
        const char *dash = memchr(t->p + i, '-', KT_MIN(t->len, lim) - i);
        if (!dash) {
            i = KT_MIN(t->len, lim);
            continue;
        }
        i = (size_t)(dash - t->p);
        if (kt__pem_line(t, i, "-----END ", 0, &e)) return kt__key(r, s, e, KT_ENT_PRIVATE_KEY);
        i++;
    }
}

int kt__det_jwt(kt__dtext *t, size_t s, kt__dres *r)
{
    int b = kt__before(t, s, 1);
    if (kt__b64url(b) || b == '.' || !kt__lit(t, s, "eyJ")) return 0;
    size_t lim = s + KT__JWT_MAX, i = s;
    int fl = 0;
    for (int seg = 0; seg < 5; seg++) {
        if (seg) {
            if (i >= lim || kt__at(t, i) != '.') break;
            if (seg >= 3 && !kt__b64url(kt__at(t, i + 1))) break; /* a JWE's extra parts */
            i++;
        }
        size_t n = kt__run(t, i, lim - i, kt__b64url, &fl);
        if ((seg == 0 && n < 10) || (seg == 1 && n < 4)) return 0;
        i += n;
        if (seg == 1 && (i >= lim || kt__at(t, i) != '.')) return 0;
    }
    return kt__key(r, s, i, KT_ENT_JWT);
}

int kt__det_bearer(kt__dtext *t, size_t s, kt__dres *r)
{
    if (kt__word(kt__before(t, s, 1))) return 0;
    if (!kt__lit(t, s, "Bearer") && !kt__lit(t, s, "bearer") && !kt__lit(t, s, "BEARER")) return 0;
    size_t i = s + 6, sp = 0;
    int c;
    while (sp < 4 && ((c = kt__at(t, i)) == ' ' || c == '\t')) sp++, i++;
    if (!sp) return 0;
    int fl = 0;
    size_t n = kt__run(t, i, KT__BEARER_MAX, kt__tok68, &fl);
    size_t e = i + n;
    if (n == KT__BEARER_MAX) return kt__key(r, i, e, KT_ENT_BEARER);
    for (int pad = 0; pad < 3 && kt__at(t, e) == '='; pad++) e++;
    while (e > i && t->p[e - 1] == '.') e--;
    if (e - i < 16 || !(fl & (F_DIGIT | F_UPPER))) return 0;
    return kt__key(r, i, e, KT_ENT_BEARER);
}
