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
 *  - phone: NANP (region US; +1 / 1- prefix optional; "(NXX) NXX-XXXX", "NXX-NXX-XXXX" with
 *    - . or space; area and exchange start 2-9; ten bare digits only after "+1"), E.164 ("+"
 *    [1-9] then 8..15 digits in all, single spaces, dashes or dots between digits, one "(0)"
 *    trunk mark allowed after the country code: "+44 (0)20 7946 0958"), and national formats of
 *    the enabled regions (see kt_region; all by default): a trunk or mobile prefix and digit
 *    groups of the lengths the region uses, one separator kind (space - . /) after the first
 *    group (which may be in parentheses) and one between the others ('.' only with three groups
 *    or more), and the region's digit
 *    count, e.g. DE "030 12345678", FR "01 23 45 67 89", GB "020 7946 0958", IN "98765 43210",
 *    JP "03-1234-5678", BR "(11) 91234-5678". The groups are the whole run (a longer run, or
 *    one glued to digits before it as in an IBAN, is no national phone), and a national format
 *    right after "order", "invoice", "ref", "ticket", "tracking", "serial", "sku", "isbn", "part",
 *    "po", "id", "ssn", "account", "acct" or "<one of those> no" (then up to four of space : . #
 *    -) is not a phone. Any phone may end in an extension, which is part of the match: "x123", " x 123",
 *    " ext. 45", " ext 45", ", extension 123", ";ext=12" (1..6 digits). Note "555-123-4567" is
 *    not a phone: exchange 123 starts with 1.
 *  - ssn: AAA-GG-SSSS (dashes or spaces, the same both times), area not 000/666/9xx, group not
 *    00, serial not 0000. Nine bare digits only right after a label: "SSN", "SS",
 *    "social security number", "social security no" or "social security" (any case; then up to
 *    four of space : # = . -, so "SSN#", "SS#" and "social security #" too).
 *  - credit_card: 13-19 digits, bare (the whole digit run) or in groups (first group 4 digits,
 *    then groups of 3-6, last group 1-6, one separator kind: space or dash); Luhn-valid and in a
 *    known IIN range (Visa, Mastercard, Amex, Discover, JCB 16-19 digits 3528-3589 and 15 digits
 *    1800 / 2131, Diners, UnionPay, Maestro). With groups, the longest valid prefix ending at a
 *    group boundary is taken, and a grouped number does not start right after "<digit> " or
 *    "<digit>-" (a slice of an IBAN).
 *  - iban: country code + 2 check digits + BBAN, compact or in groups of 4 separated by single
 *    spaces, exact length from a per-country table (the 89 countries of the SWIFT IBAN registry,
 *    Russia's 33 included), mod-97 == 1, upper case.
 *  - ipv4: dotted quad, octets 0-255 without leading zeros; not after '.' or a letter ("v1.2.3.4"),
 *    but after '@' ("ssh admin@10.0.0.1");
 *    not before ".<digit>" or "-<digit>". "version 1.2.3.4" IS an address (syntactically it is one).
 *  - ipv6: 8 groups, or a "::" form with an optional embedded IPv4. To keep code clean of false
 *    positives (C++ "a::b", Python "x[1::2]"), a "::" form needs a decimal digit somewhere and a
 *    group of >= 3 hex digits or an embedded IPv4, except the loopback "::1"; bare "::" is not
 *    an address.
 *  - api_key: "sk-" (OpenAI incl. sk-proj-, Anthropic sk-ant-) + >= 20 [A-Za-z0-9_-] with a
 *    digit; GitHub gh[pousr]_ + >= 30 alnum, github_pat_ + >= 22 [A-Za-z0-9_]; Slack
 *    xox[baprs]- + >= 10 [A-Za-z0-9-] with a digit, Slack app tokens xapp- + >= 20 [A-Za-z0-9-]
 *    with a digit, Slack webhooks "hooks.slack.com/services/T<id>/B<id>/<secret>" (ids
 *    [A-Za-z0-9]{6,16}, secret [A-Za-z0-9]{16,48}; the match starts at "hooks"); Stripe sk_live_/rk_live_/sk_test_/rk_test_ +
 *    >= 16 alnum; Google AIza + exactly 35 [A-Za-z0-9_-]. Keys are cut at 512 bytes.
 *  - cloud_key: AWS AKIA/ASIA + exactly 16 [A-Z0-9]; and an AWS secret access key: exactly 40
 *    [A-Za-z0-9/+] with an upper-case letter, a lower-case letter and a digit or / or +, either
 *    as the value of a name ending in "secret_access_key" or "aws_secret_key" (any case; then up
 *    to 8 of space tab quote : =) or within 48 bytes after an access key id, with only punctuation
 *    and the words secret, key, access, aws, is, and, the, with, sk between them.
 *  - private_key: "-----BEGIN <label containing PRIVATE KEY>-----" through the matching
 *    "-----END ...-----", or to the end of the text when unterminated; capped at 8192 bytes.
 *  - jwt: eyJ... "." ... "." ... in base64url (first segment >= 10, second >= 4, third may be
 *    empty), capped at 8192 bytes; the header must decode to a JSON object with an "alg" member
 *    (printable text ending in "}" when the header is at most 512 characters) and the payload
 *    must decode to text starting with "{" (after blanks).
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
#define KT_DETECT_ENT_MASK ((1u << KT_ENT__COUNT) - 1u)

/* Phone regions whose national formats are recognised (see the phone rule above); a mask selects
 * them with KT_DETECT_REGION_BIT. A mask with no region bit means all of them (the default), so
 * KT_ENT_BIT(KT_ENT_PHONE) alone finds every format; KT_DETECT_REGIONS_SET with no region bit
 * means none (E.164 only). US is NANP (Canada and the other NANP countries alike). */
typedef enum kt_region {
    KT_REGION_US, KT_REGION_DE, KT_REGION_FR, KT_REGION_GB, KT_REGION_IN, KT_REGION_ES,
    KT_REGION_IT, KT_REGION_NL, KT_REGION_AU, KT_REGION_BR, KT_REGION_JP, KT_REGION__COUNT
} kt_region;
#define KT_DETECT_REGION_SHIFT 16
#define KT_DETECT_REGION_BIT(r) (1u << (KT_DETECT_REGION_SHIFT + (r)))
#define KT_DETECT_REGIONS_ALL (((1u << KT_REGION__COUNT) - 1u) << KT_DETECT_REGION_SHIFT)
#define KT_DETECT_REGIONS_SET (1u << 31)
#define KT_DETECT_ALL_MASK (KT_DETECT_ENT_MASK | KT_DETECT_REGIONS_ALL)

/* "US", "DE", ... (upper case); NULL when out of range. kt_region_from_name also takes "CA" and
 * "NANP" (US), any case; -1 if unknown. */
const char *kt_region_name(kt_region r);
int kt_region_from_name(const char *s, size_t n);

/* "email", "phone", "ssn", "credit_card", "iban", "ipv4", "ipv6", "api_key", "cloud_key",
 * "private_key", "jwt", "bearer_token"; NULL when out of range. */
const char *kt_entity_name(kt_entity e);
/* Exact, case-insensitive name (also "bearer" and "credit-card"); -1 if unknown. */
int kt_entity_from_name(const char *s, size_t n);

typedef struct kt_match {
    size_t start, end; /* [start, end) byte offsets */
    kt_entity ent;
} kt_match;

/* Finds non-overlapping matches of the entities in `mask` (bit 1u<<ent, plus region bits) in
 * text[0..len), in
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
 * boundaries and the labels parsers look back for ("SSN:", "aws_secret_access", "order") are
 * judged exactly as in the whole text: no parser looks further back than this. */
#define KT_DETECT_CONTEXT 32

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
