/* DLP detectors: provider API keys, Slack tokens and webhooks, cloud access keys and AWS secret
 * access keys, private key blocks, JWTs and bearer tokens. Each parser starts at the first byte of its fixed prefix; a key may not be glued to a
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

int kt__det_xapp(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__key_left_ok(t, s) || !kt__lit(t, s, "xapp-")) return 0;
    return kt__body(t, s, s + 5, 20, kt__slack_ch, F_DIGIT, r, KT_ENT_API_KEY);
}

/* A run of [A-Za-z0-9] of lo..hi bytes at *i (advanced past it). */
static int kt__alnum_run(kt__dtext *t, size_t *i, size_t lo, size_t hi)
{
    int fl = 0;
    size_t n = kt__run(t, *i, hi + 1, kt__alnum, &fl);
    if (n < lo || n > hi) return 0;
    *i += n;
    return 1;
}

int kt__det_slack_hook(kt__dtext *t, size_t s, kt__dres *r)
{
    if (kt__alnum(kt__before(t, s, 1)) || !kt__lit(t, s, "hooks.slack.com/services/T")) return 0;
    size_t i = s + 26;
    if (!kt__alnum_run(t, &i, 6, 16) || !kt__lit(t, i, "/B")) return 0;
    i += 2;
    if (!kt__alnum_run(t, &i, 6, 16) || kt__at(t, i) != '/') return 0;
    i++;
    if (!kt__alnum_run(t, &i, 16, 48) || kt__word(kt__at(t, i))) return 0;
    return kt__key(r, s, i, KT_ENT_API_KEY);
}

/* ---- AWS secret access keys --------------------------------------------------------------------- */

static int kt__aws_ch(int c) { return kt__alnum(c) || c == '/' || c == '+'; }

/* Exactly 40 secret-key characters at i, not glued to more, with an upper-case and a lower-case
 * letter and a digit, '/' or '+' (so neither a hex digest nor a word). */
static int kt__aws_value(kt__dtext *t, size_t i, kt__dres *r)
{
    int up = 0, low = 0, other = 0, c;
    size_t n = 0;
    while (n < 41 && kt__aws_ch(c = kt__at(t, i + n))) {
        up |= kt__upper(c);
        low |= kt__lower(c);
        other |= !kt__alpha(c);
        n++;
    }
    if (n != 40 || c == '=' || c == '_' || c == '-' || !up || !low || !other) return 0;
    return kt__key(r, i, i + 40, KT_ENT_CLOUD_KEY);
}

static const char *const kt__aws_names[] = { "secret_access", "aws_secret", NULL };

int kt__det_aws_secret_named(kt__dtext *t, size_t s, kt__dres *r)
{
    if (kt__at(t, s) != '_' || !kt__label_before(t, s, "", 0, kt__aws_names)) return 0;
    int k = kt__at(t, s + 1), e = kt__at(t, s + 2), y = kt__at(t, s + 3);
    if ((k | 0x20) != 'k' || (e | 0x20) != 'e' || (y | 0x20) != 'y') return 0;
    size_t i = s + 4;
    int c, eq = 0;
    for (int n = 0; n < 8; n++, i++) {
        c = kt__at(t, i);
        if (c == ':' || c == '=') eq++;
        else if (c != ' ' && c != '\t' && c != '"' && c != '\'') break;
    }
    /* "name = value", "name: value", or the CLI's "aws configure set aws_secret_access_key value" */
    if (eq > 1 || i == s + 4 || kt__aws_ch(kt__before(t, i, 1))) return 0;
    return kt__aws_value(t, i, r);
}

int kt__det_cloud_pair(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__det_cloud_key(t, s, r)) return 0;
    kt__dres sec;
    (void)kt__det_aws_secret_near(t, r->end, &sec); /* read ahead: see detect_int.h */
    return 1;
}

/* Words that may stand between a key id and its secret ("AKIA..., secret key is: ..."). */
static int kt__aws_gap_word(const kt__dtext *t, size_t i, size_t n)
{
    static const char *const words[] = { "secret", "key", "access", "aws", "is", "and", "the",
                                         "secretkey", "secretaccesskey", "sk", "with", NULL };
    for (size_t w = 0; words[w]; w++) {
        size_t k = 0;
        if (strlen(words[w]) != n) continue;
        while (k < n && (t->p[i + k] | 0x20) == words[w][k]) k++;
        if (k == n) return 1;
    }
    return 0;
}

int kt__det_aws_secret_near(kt__dtext *t, size_t s, kt__dres *r)
{
    size_t i = s, lim = s + 48;
    while (i < lim) {
        int c = kt__at(t, i);
        if (c < 0) return 0;
        if (!kt__aws_ch(c)) {
            i++;
            continue;
        }
        if (kt__aws_value(t, i, r)) return 1;
        size_t n = 0, alnum = 0;
        while (n < 41 && kt__aws_ch(c = kt__at(t, i + n))) {
            alnum += kt__alnum(c) != 0;
            n++;
        }
        /* "AKIA... / <secret>": a run of only '/' or '+' separates like a space does */
        if (alnum && (n > 16 || !kt__aws_gap_word(t, i, n))) return 0; /* other words: not a pair */
        i += n;
    }
    return 0;
}

int kt__det_google_key(kt__dtext *t, size_t s, kt__dres *r)
{
    if (!kt__key_left_ok(t, s) || !kt__lit(t, s, "AIza")) return 0;
    int fl = 0;
    size_t n = kt__run(t, s + 4, 36, kt__b64url, &fl);
    if (n != 35) return 0;
    return kt__key(r, s, s + 4 + n, KT_ENT_API_KEY);
}

/* A key id that is a placeholder: one character repeated ("AKIAXXXXXXXXXXXXXXXX"). The AWS
 * documentation's example id (AKIAIOSFODNN7EXAMPLE) stays a match: it is what users test with. */
static int kt__aws_placeholder(const kt__dtext *t, size_t i)
{
    size_t same = 1;
    while (same < 16 && t->p[i + same] == t->p[i]) same++;
    return same == 16;
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
    if (n != 16 || kt__b64url(c) || kt__aws_placeholder(t, s + 4)) return 0;
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

/* base64url digit value, -1 for anything else. */
static int kt__b64v(int c)
{
    if (kt__upper(c)) return c - 'A';
    if (kt__lower(c)) return c - 'a' + 26;
    if (kt__digit(c)) return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* Decodes the base64url text[i..i+n) (n <= 4 * cap / 3) into out; returns the byte count. */
static size_t kt__b64_decode(const char *p, size_t n, unsigned char *out)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t k = 0; k < n; k++) {
        acc = (acc << 6) | (unsigned)kt__b64v((unsigned char)p[k]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

#define KT__JWT_HEADER_MAX 512

/* The header segment p[0..n) decodes to a JSON object with an "alg" member: printable text
 * (UTF-8 allowed) that contains "alg" and, when wholly decoded, ends in '}'. */
static int kt__jwt_header_ok(const char *p, size_t n)
{
    unsigned char h[KT__JWT_HEADER_MAX];
    size_t m = kt__b64_decode(p, n < KT__JWT_HEADER_MAX ? n : KT__JWT_HEADER_MAX, h);
    int alg = 0;
    size_t last = 0;
    for (size_t k = 0; k < m; k++) {
        if (h[k] < 0x20 && h[k] != '\t' && h[k] != '\n' && h[k] != '\r') return 0;
        if (k + 5 <= m && !memcmp(h + k, "\"alg\"", 5)) alg = 1;
        if (h[k] > ' ') last = k;
    }
    return alg && (n > KT__JWT_HEADER_MAX || (m && h[last] == '}'));
}

/* The payload segment's first decoded bytes are blanks then '{'. */
static int kt__jwt_payload_ok(const char *p, size_t n)
{
    unsigned char b[6];
    size_t m = kt__b64_decode(p, n < 8 ? n : 8, b);
    for (size_t k = 0; k < m; k++) {
        if (b[k] == '{') return 1;
        if (b[k] != ' ' && b[k] != '\n' && b[k] != '\r' && b[k] != '\t') return 0;
    }
    return 0;
}

int kt__det_jwt(kt__dtext *t, size_t s, kt__dres *r)
{
    int b = kt__before(t, s, 1);
    if (kt__b64url(b) || b == '.' || !kt__lit(t, s, "eyJ")) return 0;
    size_t lim = s + KT__JWT_MAX, i = s, seg0 = 0, seg1 = 0, at1 = 0;
    int fl = 0;
    for (int seg = 0; seg < 5; seg++) {
        if (seg) {
            if (i >= lim || kt__at(t, i) != '.') break;
            if (seg >= 3 && !kt__b64url(kt__at(t, i + 1))) break; /* a JWE's extra parts */
            i++;
        }
        size_t n = kt__run(t, i, lim - i, kt__b64url, &fl);
        if ((seg == 0 && n < 10) || (seg == 1 && n < 4)) return 0;
        if (seg == 0) seg0 = n;
        if (seg == 1) {
            seg1 = n;
            at1 = i;
        }
        i += n;
        if (seg == 1 && (i >= lim || kt__at(t, i) != '.')) return 0;
    }
    /* Read bytes were all seen through kt__at above. */
    if (!kt__jwt_header_ok(t->p + s, seg0) || !kt__jwt_payload_ok(t->p + at1, seg1)) return 0;
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
