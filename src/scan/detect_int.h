/* Internal interface between the detector dispatcher (detect.c) and the entity parsers
 * (detect_<family>.c). Not part of the public API.
 *
 * A parser is anchored: it is given a position `s` (found by the dispatcher from an anchor byte)
 * and decides whether an entity starts there. It reads bytes only through kt__at(), which marks
 * the text as "hit" when the parser looks at or past the end: in streaming mode a result that
 * depended on the end of the text is reported as KT__MORE by the dispatcher (it could change when
 * more text arrives). Bytes before `s` are read through kt__before() (word boundaries), which
 * never looks past the start of the text. Every parser reads at most its kt__span_* bytes from
 * `s`, which bounds the streaming holdback. */
#ifndef KT_DETECT_INT_H
#define KT_DETECT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kt/detect.h"

typedef struct kt__dtext {
    const char *p;
    size_t len;
    int hit;          /* set when a parser read at or beyond len */
    uint32_t regions; /* phone regions enabled: bit r for kt_region r */
} kt__dtext;

typedef struct kt__dres {
    size_t start, end; /* the match, valid when a parser returns 1 */
    kt_entity ent;
} kt__dres;

/* Byte at i, or -1 (and t->hit) at or past the end. */
static inline int kt__at(kt__dtext *t, size_t i)
{
    if (i >= t->len) {
        t->hit = 1;
        return -1;
    }
    return (unsigned char)t->p[i];
}

/* Byte k positions before s, or -1 before the start of the text. */
static inline int kt__before(const kt__dtext *t, size_t s, size_t k)
{
    return s >= k ? (unsigned char)t->p[s - k] : -1;
}

static inline int kt__digit(int c) { return c >= '0' && c <= '9'; }
static inline int kt__upper(int c) { return c >= 'A' && c <= 'Z'; }
static inline int kt__lower(int c) { return c >= 'a' && c <= 'z'; }
static inline int kt__alpha(int c) { return kt__upper(c) || kt__lower(c); }
static inline int kt__alnum(int c) { return kt__digit(c) || kt__alpha(c); }
static inline int kt__word(int c) { return kt__alnum(c) || c == '_'; }
static inline int kt__hex(int c)
{
    return kt__digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 1 when text[i..) begins with lit (reads through kt__at). */
static inline int kt__lit(kt__dtext *t, size_t i, const char *lit)
{
    for (size_t k = 0; lit[k]; k++)
        if (kt__at(t, i + k) != (unsigned char)lit[k]) return 0;
    return 1;
}

/* Reads exactly n digits at *i into their value; -1 when one is not a digit. */
static inline int kt__digits(kt__dtext *t, size_t *i, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        int c = kt__at(t, *i);
        if (!kt__digit(c)) return -1;
        v = v * 10 + (c - '0');
        (*i)++;
    }
    return v;
}

/* Labels are looked for at most this many bytes before a parser's anchor (less than
 * KT_DETECT_CONTEXT, so streaming sees them as the whole text does). */
#define KT__LOOKBACK 30

/* 1 when the bytes right before s, after skipping up to `skip` bytes of `seps`, end with one of
 * the NULL-terminated labels (ASCII, compared case-insensitively; a label starts at a word
 * boundary). Reads only through kt__before, never before s - KT__LOOKBACK. */
int kt__label_before(const kt__dtext *t, size_t s, const char *seps, int skip,
                     const char *const *labels);

/* Characters of an email local part (a practical subset of RFC 5322 atext). */
static inline int kt__local_char(int c)
{
    return kt__alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

/* Shared boundary rules for numeric entities (see detect.h). */
static inline int kt__num_punct(int c)
{
    return c == '.' || c == ',' || c == '-' || c == '/' || c == ':';
}

/* A comma between digit groups is thousands grouping ("1,234") only with at most 3 digits before
 * it and exactly 3 after it; otherwise it separates a list ("4111111111111111,5555555555554444").
 * Reads after the comma through kt__at. */
int kt__grouping_comma(kt__dtext *t, size_t comma);

/* Left boundary of a number: not glued to a word, an `@`, or a longer number ("1.5", "12:30",
 * "1,234"). A comma after a word or quote separates a list ("name,4111..."). */
static inline int kt__num_left_ok(kt__dtext *t, size_t s)
{
    int c1 = kt__before(t, s, 1), c2 = kt__before(t, s, 2);
    if (c1 < 0) return 1;
    if (kt__word(c1) || c1 == '@') return 0;
    if (c1 == ':') return !kt__digit(c2);
    if (c1 == ',') return !kt__digit(c2) || !kt__grouping_comma(t, s - 1);
    if (kt__num_punct(c1)) return !kt__alnum(c2);
    return 1;
}

/* 1 when the number at s continues a run of digit groups: "<group><space or dash>" before it,
 * the group being digits and upper-case letters with a digit last ("0044 ", "DE89 "), as in an
 * IBAN or a longer grouped number; "jcb15 " or "tel 2 " is no such group. */
static inline int kt__after_group(const kt__dtext *t, size_t s)
{
    int b1 = kt__before(t, s, 1);
    if ((b1 != ' ' && b1 != '-') || !kt__digit(kt__before(t, s, 2))) return 0;
    for (size_t k = 3; k < 10; k++) {
        int c = kt__before(t, s, k);
        if (c < 0 || !kt__alnum(c)) return k > 3 || c < 0;
        if (kt__lower(c)) return 0;
    }
    return 1;
}

/* Right boundary of a number ending before e: the same rules, reading on. */
int kt__num_right_ok(kt__dtext *t, size_t e);
/* A dotted quad at i (octets 0-255, no leading zeros), no boundary checks; end in *e. */
int kt__v4_quad(kt__dtext *t, size_t i, size_t *e);

/* kt_detect_ctx and kt_detect_stable_prefix_ctx with the portable table classifier only: the
 * public functions classify long texts with SIMD blocks, and tests compare the two. */
size_t kt__detect_plain(const char *text, size_t len, size_t from, uint32_t mask, kt_match *out,
                        size_t max, int *truncated);
size_t kt__stable_prefix_plain(const char *text, size_t len, size_t from, uint32_t mask);

/* Parsers: return 1 and fill *r on a match, 0 otherwise. */
int kt__det_email(kt__dtext *t, size_t s, kt__dres *r);
int kt__det_phone(kt__dtext *t, size_t s, kt__dres *r);
int kt__det_ssn(kt__dtext *t, size_t s, kt__dres *r);
int kt__det_card(kt__dtext *t, size_t s, kt__dres *r);
int kt__det_iban(kt__dtext *t, size_t s, kt__dres *r);
int kt__det_ipv4(kt__dtext *t, size_t s, kt__dres *r);
int kt__det_ipv6(kt__dtext *t, size_t s, kt__dres *r);
/* DLP parsers (detect_secret.c), each at the position of its prefix. */
int kt__det_sk_key(kt__dtext *t, size_t s, kt__dres *r);       /* "sk-", "sk_live_", "rk_..." */
int kt__det_github_key(kt__dtext *t, size_t s, kt__dres *r);   /* "gh?_", "github_pat_" */
int kt__det_slack_key(kt__dtext *t, size_t s, kt__dres *r);    /* "xox?-" */
int kt__det_google_key(kt__dtext *t, size_t s, kt__dres *r);   /* "AIza" */
int kt__det_cloud_key(kt__dtext *t, size_t s, kt__dres *r);    /* "AKIA", "ASIA" */
int kt__det_private_key(kt__dtext *t, size_t s, kt__dres *r);  /* "-----BEGIN " */
int kt__det_jwt(kt__dtext *t, size_t s, kt__dres *r);          /* "eyJ" */
int kt__det_bearer(kt__dtext *t, size_t s, kt__dres *r);       /* "Bearer " */
int kt__det_xapp(kt__dtext *t, size_t s, kt__dres *r);         /* "xapp-" */
int kt__det_slack_hook(kt__dtext *t, size_t s, kt__dres *r);   /* "hooks.slack.com/services/" */
/* AWS secret access keys: after a name ending in "secret_access" / "aws_secret" (s at the '_'
 * before "key"), and within 48 bytes after an access key id (s at the id's end). */
int kt__det_aws_secret_named(kt__dtext *t, size_t s, kt__dres *r);
int kt__det_aws_secret_near(kt__dtext *t, size_t s, kt__dres *r);
/* The access key id at s, having read the window after it that kt__det_aws_secret_near looks at:
 * in streaming mode the id is held until that window is complete, so the secret's search runs
 * from the id's anchor in the same scan (the id is never only left context). */
int kt__det_cloud_pair(kt__dtext *t, size_t s, kt__dres *r);

/* The most bytes any parser of the family reads from its anchor position (inclusive of the
 * look-ahead that decides a boundary). */
enum {
    KT__SPAN_EMAIL = 260,
    KT__SPAN_PHONE = 56,
    KT__SPAN_SSN = 16,
    KT__SPAN_CARD = 48,
    KT__SPAN_IBAN = 48,
    KT__SPAN_IPV4 = 20,
    KT__SPAN_IPV6 = 56,
    KT__KEY_MAX = 512,
    KT__SPAN_KEY = KT__KEY_MAX + 8,
    KT__SPAN_CLOUD = 128,
    KT__PRIVATE_KEY_MAX = 8192,
    KT__SPAN_PRIVATE_KEY = KT__PRIVATE_KEY_MAX + 80,
    KT__JWT_MAX = 8192,
    KT__SPAN_JWT = KT__JWT_MAX + 8,
    KT__BEARER_MAX = 4096,
    KT__SPAN_BEARER = KT__BEARER_MAX + 24,
    /* The longest run of not-yet-anchored bytes an entity can begin with (an email local part
     * waiting for its '@'); the streaming tail rule holds back that much. */
    KT__TAIL_EMAIL = 65,
    KT__TAIL_OTHER = 12,
};

#endif
