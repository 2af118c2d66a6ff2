/* Content detectors for the PII (`pii-detector`) and secret (`dlp-filter`) policies.
 *
 * Pure functions over UTF-8 text that has already been JSON-unescaped: no I/O, no allocation,
 * no global state. One pass, linear time, no backtracking: a skip loop looks for the few bytes
 * that can anchor an entity (digits, '@', ':', '-', '_', 'A', 'B'/'b', 'J') and only then runs
 * the local, bounded parser of each family that the anchor can start.
 *
 * Matching rules (the decisions the tests pin down):
 *  - Word boundaries: an entity never starts or ends inside a run of letters/digits/'_'. Non-ASCII
 *    bytes count as boundaries, so PII glued to CJK text is still found.
 *  - Numbers: a numeric entity does not start right after "<alnum>." "<alnum>-" "<alnum>/"
 *    "<alnum>," or "<digit>:" and does not end before "." "-" "/" "," ":" followed by a digit, so
 *    it is never a slice of a date, time, version, order id or longer dotted/dashed number.
 *  - email: local@domain, local part [A-Za-z0-9._%+-]{1,64} (no leading/trailing/double dot),
 *    domain of dot-separated labels [A-Za-z0-9-]{1,63} with an alphabetic TLD of >= 2 letters,
 *    whole address <= 254. "user@localhost" is NOT matched (no dotted domain: not routable).
 *  - phone: NANP (+1 / 1- prefix optional; "(NXX) NXX-XXXX", "NXX-NXX-XXXX" with - . or space;
 *    area and exchange start 2-9; ten bare digits only after "+1") and E.164 ("+" [1-9] then
 *    8..15 digits in all, single spaces/dashes allowed between digits). Note "555-123-4567" is
 *    not a phone: exchange 123 starts with 1.
 *  - ssn: AAA-GG-SSSS (dashes or spaces, the same both times), area not 000/666/9xx, group not
 *    00, serial not 0000. Nine bare digits are not matched.
 *  - credit_card: 13-19 digits, bare (the whole digit run) or in groups (first group 4 digits,
 *    then groups of 3-6, last group 1-6, one separator kind: space or dash); Luhn-valid and in a
 *    known IIN range (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro). With
 *    groups, the longest valid prefix ending at a group boundary is taken.
 *  - iban: country code + 2 check digits + BBAN, compact or in groups of 4 separated by single
 *    spaces, exact length from a per-country table (80 countries), mod-97 == 1, upper case.
 *  - ipv4: dotted quad, octets 0-255 without leading zeros; not after '.' or a letter ("v1.2.3.4"),
 *    not before ".<digit>" or "-<digit>". "version 1.2.3.4" IS an address (syntactically it is one).
 *  - ipv6: 8 groups, or a "::" form with an optional embedded IPv4. To keep code clean of false
 *    positives (C++ "a::b", Python "x[1::2]"), a "::" form needs a decimal digit somewhere and a
 *    group of >= 3 hex digits or an embedded IPv4, except the loopback "::1"; bare "::" is not
 *    an address.
 *  - api_key: "sk-" (OpenAI incl. sk-proj-, Anthropic sk-ant-) + >= 20 [A-Za-z0-9_-] with a
 *    digit; GitHub gh[pousr]_ + >= 30 alnum, github_pat_ + >= 22 [A-Za-z0-9_]; Slack
 *    xox[baprs]- + >= 10 [A-Za-z0-9-] with a digit; Stripe sk_live_/rk_live_/sk_test_/rk_test_ +
 *    >= 16 alnum; Google AIza + exactly 35 [A-Za-z0-9_-]. Keys are cut at 512 bytes.
 *  - cloud_key: AWS AKIA/ASIA + exactly 16 [A-Z0-9].
 *  - private_key: "-----BEGIN <label containing PRIVATE KEY>-----" through the matching
 *    "-----END ...-----", or to the end of the text when unterminated; capped at 8192 bytes.
 *  - jwt: eyJ... "." ... "." ... in base64url (first segment >= 10, second >= 4, third may be
 *    empty), capped at 8192 bytes.
 *  - bearer_token: "Bearer"/"bearer" + spaces + a token of >= 16 [A-Za-z0-9-._~+/] (then '='
 *    padding) that has a digit or an upper-case letter; the match is the token only. A token that
 *    is itself a JWT or key is reported as bearer_token (the earlier anchor wins). Capped at 4096.
 * Matches never overlap; the earliest anchor wins.
 */
#ifndef KT_DETECT_H
#define KT_DETECT_H

#include <stddef.h>
#include <stdint.h>

typedef enum kt_entity {
    KT_ENT_EMAIL,
    KT_ENT_PHONE,
    KT_ENT_SSN,
    KT_ENT_CREDIT_CARD,
    KT_ENT_IBAN,
    KT_ENT_IPV4,
    KT_ENT_IPV6,
    /* DLP: */
    KT_ENT_API_KEY,
    KT_ENT_CLOUD_KEY,
    KT_ENT_PRIVATE_KEY,
    KT_ENT_JWT,
    KT_ENT_BEARER,
    KT_ENT__COUNT
} kt_entity;

#define KT_ENT_BIT(e) (1u << (e))
#define KT_DETECT_PII_MASK                                                                  \
    (KT_ENT_BIT(KT_ENT_EMAIL) | KT_ENT_BIT(KT_ENT_PHONE) | KT_ENT_BIT(KT_ENT_SSN) |        \
     KT_ENT_BIT(KT_ENT_CREDIT_CARD) | KT_ENT_BIT(KT_ENT_IBAN) | KT_ENT_BIT(KT_ENT_IPV4) |  \
     KT_ENT_BIT(KT_ENT_IPV6))
#define KT_DETECT_DLP_MASK                                                                  \
    (KT_ENT_BIT(KT_ENT_API_KEY) | KT_ENT_BIT(KT_ENT_CLOUD_KEY) |                           \
     KT_ENT_BIT(KT_ENT_PRIVATE_KEY) | KT_ENT_BIT(KT_ENT_JWT) | KT_ENT_BIT(KT_ENT_BEARER))
#define KT_DETECT_ALL_MASK ((1u << KT_ENT__COUNT) - 1u)

/* "email", "phone", "ssn", "credit_card", "iban", "ipv4", "ipv6", "api_key", "cloud_key",
 * "private_key", "jwt", "bearer_token"; NULL when out of range. */
const char *kt_entity_name(kt_entity e);
/* Exact, case-insensitive name (also "bearer" and "credit-card"); -1 if unknown. */
int kt_entity_from_name(const char *s, size_t n);

typedef struct kt_match {
    size_t start, end; /* [start, end) byte offsets */
    kt_entity ent;
} kt_match;

/* Finds non-overlapping matches of the entities in `mask` (bit 1u<<ent) in text[0..len), in
 * order. Returns the number found (at most max; *truncated, if not NULL, is set to 1 when more
 * existed, else 0). To continue after a truncated result, call kt_detect_ctx with
 * from = out[max-1].end: the scan resumes exactly where it stopped. */
size_t kt_detect(const char *text, size_t len, uint32_t mask, kt_match *out, size_t max,
                 int *truncated);

/* Streaming support: the largest n <= len such that no match of an enabled detector that could
 * be completed or extended by text appended after `len` can start before n, and no match found
 * in text[0..len) straddles n. Text before n can be emitted (after redacting the matches that
 * lie entirely before n); the rest is held back. len - n never exceeds
 * kt_detect_max_holdback(mask): every detector decides within that many bytes of its anchor. */
size_t kt_detect_stable_prefix(const char *text, size_t len, uint32_t mask);
size_t kt_detect_max_holdback(uint32_t mask);

/* Bytes of already-emitted text a streaming caller keeps in front of the held tail, so that word
 * boundaries at the cut are judged exactly as in the whole text. */
#define KT_DETECT_CONTEXT 8

/* The same with left context: text[0..from) was already emitted and is only looked at (for word
 * boundaries); no match starts before `from`. The streaming protocol that makes piecewise output
 * identical to redacting the whole text at once:
 *
 *     hold = ""; ctx = 0;                       // hold = kept context + unemitted bytes
 *     on bytes b:  hold += b;
 *                  n = kt_detect_stable_prefix_ctx(hold, len, ctx, mask);
 *                  m = kt_detect_ctx(hold, len, ctx, mask, ...);
 *                  emit hold[ctx..n) with the matches that end <= n redacted;
 *                  k = min(n, KT_DETECT_CONTEXT); drop hold[0..n-k); ctx = k;
 *     at the end:  m = kt_detect_ctx(hold, len, ctx, ...); emit hold[ctx..len) redacted.
 */
size_t kt_detect_ctx(const char *text, size_t len, size_t from, uint32_t mask, kt_match *out,
                     size_t max, int *truncated);
size_t kt_detect_stable_prefix_ctx(const char *text, size_t len, size_t from, uint32_t mask);

#endif
