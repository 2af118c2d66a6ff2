/* Escape-aware JSON scanning and splice editing over raw bytes.
 *
 * The policy engine never re-prints a user payload: it walks the raw body with kt_json_walk(),
 * decodes each string value it cares about with kt_json_str_decode() (which also yields a map from
 * decoded bytes back to raw offsets), runs detectors over the decoded text, and turns every finding
 * into an edit of the raw bytes. kt_json_splice() then copies every unchanged byte through, so
 * numbers such as 64-bit seeds, key order and whitespace reach the upstream exactly as sent.
 *
 * All offsets are byte offsets into the buffer passed to the walker. No function allocates per
 * value; the walker recurses at most `max_depth` (<= KT_JSON_MAX_DEPTH) levels. */
#ifndef KT_JSON_TEXT_H
#define KT_JSON_TEXT_H

#include <stdbool.h>

#include "kt/buf.h"
#include "kt/common.h"

#define KT_JSON_MAX_DEPTH 64

typedef enum kt_json_type {
    KT_JSON_NULL,
    KT_JSON_FALSE,
    KT_JSON_TRUE,
    KT_JSON_NUMBER,
    KT_JSON_STRING,
    KT_JSON_ARRAY,
    KT_JSON_OBJECT,
} kt_json_type;

/* One step of a path: an object key (raw span of the key between its quotes, escapes still
 * encoded) or an array index. */
typedef struct kt_json_path_elem {
    size_t key_start;
    size_t key_len;
    size_t index;
    int is_index;
    int plain;  /* the key is known to be printable ASCII without escapes (set by the scanner);
                   0: not known */
} kt_json_path_elem;

/* Path from the document root to a value: el[0] is the step taken from the top-level value. A
 * top-level value has depth 0. `buf` is the walked document (key spans point into it). */
typedef struct kt_json_path {
    const char *buf;
    int depth;
    kt_json_path_elem el[KT_JSON_MAX_DEPTH];
} kt_json_path;

/* A value's raw span. For strings, [start, end) is the content between the quotes (escapes still
 * encoded); for every other type it is the whole token or container, brackets included. */
typedef struct kt_json_value {
    kt_json_type type;
    size_t start;
    size_t end;
    int plain;  /* strings (kt_json_scan): the content is printable ASCII without escapes, its own
                   decoding (kt_json_str_plain); 0 otherwise */
} kt_json_value;

typedef struct kt_json_limits {
    int max_depth; /* nesting of arrays/objects; 1..KT_JSON_MAX_DEPTH (0 means the maximum) */
} kt_json_limits;

/* Called for every string VALUE (never for keys), in document order, with the raw content span
 * [start, end). A nonzero return stops the walk; the walker returns that value unchanged and the
 * rest of the document is not validated (return a positive value to tell it from KT_E* codes). */
typedef int (*kt_json_visit_fn)(void *ud, const kt_json_path *path, size_t start, size_t end);

/* Called for every value of any type, in post-order (a container after all its children). */
typedef int (*kt_json_value_fn)(void *ud, const kt_json_path *path, const kt_json_value *v);

/* Strict RFC 8259 validation of the whole buffer (one value, optional surrounding whitespace, no
 * BOM, UTF-8 checked, no leading zeros, no control characters in strings, escapes checked; lone
 * \uD800-style surrogates are accepted — the grammar allows them — and decode to U+FFFD).
 * Returns 0, KT_EPARSE, KT_ELIMIT (nesting deeper than the cap) or a callback's nonzero value.
 * `fn` may be NULL (pure validation). */
int kt_json_walk(const char *buf, size_t len, kt_json_visit_fn fn, void *ud);
int kt_json_walk_ex(const char *buf, size_t len, const kt_json_limits *lim, kt_json_visit_fn fn,
                    void *ud);
int kt_json_scan(const char *buf, size_t len, const kt_json_limits *lim, kt_json_value_fn fn,
                 void *ud);
int kt_json_validate(const char *buf, size_t len);

/* Path patterns: dot-separated keys, each followed by any number of `[*]` or `[N]`; `*` matches
 * any single key; a final `**` matches any remaining steps (zero or more). The empty pattern
 * matches the top-level value. Keys are compared against the DECODED key, so a key written as
 * "con\u0074ent" matches `content`. Examples: `messages[*].content`, `messages[*].content[*].text`,
 * `choices[*].delta.content`, `input[*]`, `tools.**`.
 * Returns 1 on a match, 0 otherwise; a malformed pattern never matches. */
int kt_json_path_match(const kt_json_path *p, const char *pattern);
/* Fast matching for many patterns against one path: the path's signature is its keys joined by
 * '.', each array step written "[*]" (e.g. "messages[*].content[*].text"). Returns the length
 * written to `out` (NUL-terminated), or -1 when a key needs decoding (an escape) or the signature
 * does not fit: then use kt_json_path_match. kt_json_sig_match compares a signature with a
 * pattern that uses only plain keys, "[*]" and an optional final ".**". */
int kt_json_path_sig(const kt_json_path *p, char *out, size_t cap);
int kt_json_sig_match(const char *sig, size_t n, const char *pattern);
/* A fixed list of patterns matched against every path of one walk, level by level: the levels a
 * path shares with the previous one (same key occurrence, or an array step) are not looked at
 * again, and a level only compares the patterns still alive above it. The answer is exactly
 * that of kt_json_sig_match over kt_json_path_sig (signature buffer of 256), or of
 * kt_json_path_match when the signature is unavailable, for any of the patterns. Patterns are
 * given with their length and `lim`: the length without a final ".**" (KT_JSON_PAT_REST for a
 * literal ending in ".**"; kt_json_pat_of works it out at run time). */
typedef struct kt_json_pat {
    const char *s;
    size_t len;
    size_t lim;
} kt_json_pat;
#define KT_JSON_PAT(lit) { (lit), sizeof(lit) - 1, sizeof(lit) - 1 }
#define KT_JSON_PAT_REST(lit) { (lit), sizeof(lit) - 1, sizeof(lit) - 4 }
#define KT_JSON_PATHSET_MAX 64
typedef uint64_t kt_json_patmask;   /* one bit per pattern of a list */
#define KT_JSON_SIG_CAP 256

/* What a pattern list needs at every walk, worked out once: for each byte position k of the
 * patterns, the patterns by the byte they have there ("cells": position k's cells are
 * [at[k], at[k + 1]), a byte and the mask of the patterns with that byte at k), so a level
 * narrows its alive patterns with one mask per signature byte instead of comparing each pattern.
 * Positions from `cov` on (when the cells would not fit) are compared pattern by pattern. */
#define KT_JSON_PATSET_CELLS 384
typedef struct kt_json_patset {
    const kt_json_pat *pats;
    size_t n;
    kt_json_patmask rest;                   /* the patterns ending in ".**" */
    uint16_t cov;                           /* positions below it have cells */
    uint16_t at[KT_JSON_SIG_CAP + 1];
    uint8_t cbyte[KT_JSON_PATSET_CELLS];
    kt_json_patmask cmask[KT_JSON_PATSET_CELLS];
} kt_json_patset;

typedef struct kt_json_pathset {
    const kt_json_patset *ps;
    const char *buf;                        /* the walked document the cache belongs to */
    int depth;                              /* cached levels */
    size_t key[KT_JSON_MAX_DEPTH];          /* key_start of each cached step, 0 for an index */
    kt_json_patmask alive[KT_JSON_MAX_DEPTH + 1];  /* patterns whose start equals the signature */
    kt_json_patmask done[KT_JSON_MAX_DEPTH + 1];   /* ".**" patterns matched for all deeper */
    int16_t siglen[KT_JSON_MAX_DEPTH + 1];  /* -1: no signature (escaped key, too long) */
    char sig[KT_JSON_SIG_CAP];
    kt_json_patset own;                     /* compiled by kt_json_pathset_init */
} kt_json_pathset;

kt_json_pat kt_json_pat_of(const char *pattern);
/* KT_EINVAL when n > KT_JSON_PATHSET_MAX. */
int kt_json_patset_compile(kt_json_patset *ps, const kt_json_pat *pats, size_t n);
/* A walk over a compiled list (`ps` must outlive it): no per-walk work beyond a few fields. */
void kt_json_pathset_start(kt_json_pathset *set, const kt_json_patset *ps);
/* Compiles `pats` into the set itself, then starts it. KT_EINVAL when n > KT_JSON_PATHSET_MAX. */
int kt_json_pathset_init(kt_json_pathset *set, const kt_json_pat *pats, size_t n);
/* 1 when some pattern matches `p`, 0 otherwise. */
int kt_json_pathset_match(kt_json_pathset *set, const kt_json_path *p);
/* 1 when `pattern` is well formed, 0 otherwise (for config validation). */
int kt_json_path_pattern_valid(const char *pattern);
/* Compares a raw key span (escapes encoded) with a plain string after decoding: 1 when equal. */
int kt_json_key_eq(const char *raw, size_t n, const char *s, size_t slen);

/* Top-level field lookups for the request path (no cJSON). The whole document is validated (one
 * pass per call). When a key occurs more than once the LAST occurrence wins (what JSON.parse and
 * Python's json do, i.e. what the upstream will see). Keys are compared decoded.
 * Return 0, KT_ENOTFOUND (no such key), KT_EINVAL (the document is not an object, or the field
 * has another type), KT_EPARSE, KT_ELIMIT (depth, or `out` full). */
int kt_json_top_field(const char *buf, size_t len, const char *key, kt_json_value *out);
/* Appends the decoded string value to `out` (whose contents are first reset). */
int kt_json_top_string(const char *buf, size_t len, const char *key, kt_buf *out);
int kt_json_top_bool(const char *buf, size_t len, const char *key, int *out);

/* Several top-level fields in one pass: a collector that any kt_json_scan visitor can feed (the
 * policy walk does, so a request body is read once), or that kt_json_top_scan fills on its own.
 * Keys are "name" (depth 1) or "outer.inner" (depth 2, inside a top-level object); compared
 * decoded; the LAST occurrence wins, as with kt_json_top_field. */
#define KT_JSON_TOP_MAX 8
typedef struct kt_json_top {
    const char *const *keys;       /* nkeys <= KT_JSON_TOP_MAX, borrowed */
    size_t nkeys;
    kt_json_type root;             /* type of the top-level value (when seen) */
    bool root_seen;
    bool complete;                 /* the whole document was validated while collecting */
    uint32_t found;                /* bit i: keys[i] seen */
    kt_json_value v[KT_JSON_TOP_MAX];
    uint16_t n0[KT_JSON_TOP_MAX];  /* keys[i]'s part before the dot (all of it without one) */
    uint16_t n1[KT_JSON_TOP_MAX];  /* and after the dot */
    uint8_t depth[KT_JSON_TOP_MAX];/* 1, or 2 for "outer.inner" */
} kt_json_top;

/* Starts a collection. KT_EINVAL when n > KT_JSON_TOP_MAX or a key has more than one dot. */
int kt_json_top_begin(kt_json_top *t, const char *const *keys, size_t n);
/* Feeds one value of a kt_json_scan over `t`'s document (cheap for depth > 2). */
void kt_json_top_note(kt_json_top *t, const kt_json_path *p, const kt_json_value *v);
/* One strict pass over the document that only collects; sets `complete` on success. Returns 0,
 * KT_EPARSE or KT_ELIMIT (depth). */
int kt_json_top_scan(kt_json_top *t, const char *buf, size_t len);
/* keys[i] as found: its value, or NULL (absent, or the root is not an object). */
const kt_json_value *kt_json_top_get(const kt_json_top *t, size_t i);

/* Decodes the raw content of a JSON string (escapes encoded, no quotes) into UTF-8, appended to
 * `text` after resetting it. Every escape form is decoded: \" \\ \/ \b \f \n \r \t \uXXXX, and
 * surrogate pairs into one 4-byte character; a lone surrogate decodes to U+FFFD.
 * When `map` is non-NULL it must hold at least (decoded length + 1) entries — `n + 1` is always
 * enough — and receives, for each decoded byte i, the raw offset where the CHARACTER containing
 * byte i begins (every byte of a multi-byte character maps to its first raw byte), and
 * map[text->len] = n. So a decoded match [a, b) maps to the raw span [map[a], map[b]), which
 * always starts and ends on a character boundary of the raw text (never inside an escape).
 * Returns 0, KT_EPARSE (bad escape, raw control character or unescaped quote), KT_ELIMIT (`text`
 * max, `map_cap` too small, or n > UINT32_MAX) or KT_ENOMEM. */
int kt_json_str_decode(const char *raw, size_t n, kt_buf *text, uint32_t *map, size_t map_cap);
/* 1 when raw string content is printable ASCII without escapes: then it decodes to itself and
 * its decode map is the identity (map[i] = i), so it can be used in place. */
int kt_json_str_plain(const char *raw, size_t n);

/* Appends `s` encoded as JSON string CONTENT (no quotes): escapes `"`, `\` and control
 * characters, passes valid UTF-8 through, and writes invalid UTF-8 bytes as \ufffd so a splice
 * can never make the document invalid. On error `out` is left unchanged. */
int kt_json_escape_into(kt_buf *out, const char *s, size_t n);

/* A replacement of raw bytes [start, end) by `rep` (rep_len bytes, already JSON-escaped when it
 * lands inside a string). start == end is an insertion. */
typedef struct kt_json_edit {
    size_t start;
    size_t end;
    const char *rep;
    size_t rep_len;
} kt_json_edit;

/* Appends `buf` with the edits applied to `out`, copying unchanged ranges byte for byte. Edits
 * must be sorted by start, within [0, len], with start <= end and non-overlapping (an edit may
 * start where the previous one ends); otherwise KT_EINVAL and `out` is unchanged. KT_ELIMIT when
 * `out` would exceed its max (`out` unchanged). */
int kt_json_splice(const char *buf, size_t len, const kt_json_edit *edits, size_t n_edits,
                   kt_buf *out);

#endif
