/* The optional model tier of safety-filter and prompt-injection: a classifier service that is
 * asked about the texts the in-process tier did not decide (its learned score inside the
 * policy's `model.undecided` band). This header is the policy layer's part: the `model:` options,
 * the request bodies, the parsers of the answers (OpenAI /v1/moderations, or a guard model behind
 * an OpenAI-compatible /v1/chat/completions), the outcomes, and the clean-text cache keyed by
 * SHA-256. The asynchronous calls themselves are the exchange's (src/proxy/exchange_model.c).
 * Nothing here logs or keeps a text: the cache holds digests only, and the API key is only ever
 * written into a request head. */
#ifndef KT_CLASSIFIER_H
#define KT_CLASSIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kt/buf.h"
#include "kt/config.h"
#include "kt/yaml_read.h"

typedef enum kt_clf_kind { KT_CLF_MODERATIONS, KT_CLF_CHAT } kt_clf_kind;
/* What the classifier is asked: content safety (categories) or prompt injection (yes/no). */
typedef enum kt_clf_task { KT_CLF_SAFETY, KT_CLF_INJECTION } kt_clf_task;

/* Decision labels the model tier adds; every kind with a model tier names them in its label(). */
#define KT_CLF_LABEL_FLAGGED 0x1F0u       /* "classifier": flagged, no kt category named */
#define KT_CLF_LABEL_UNAVAILABLE 0x1F1u   /* "classifier_unavailable": fail_mode closed */

#define KT_CLF_TEXTS_MAX 32            /* undecided texts of one policy in one call */
#define KT_CLF_ANSWER_MAX (256u << 10) /* bytes of a classifier answer */

typedef struct kt_clf_cfg {
    kt_clf_kind kind;
    kt_clf_task task;
    kt_target target;          /* host, port, tls of `url` (id "classifier"); path in `path` */
    char *path;                /* the URL's path, e.g. "/v1/moderations" */
    char *model;               /* the "model" field sent */
    char *api_key;             /* resolved from api_key_ref; NULL: no Authorization header */
    uint32_t timeout_ms;       /* the whole call, connect included */
    float band_lo, band_hi;    /* undecided: band_lo <= score < band_hi */
    uint32_t cache_entries;    /* clean-text cache size wanted (0: no cache) */
    bool fail_open;            /* on timeout/error/unreadable answer: decide in-process */
    bool output;               /* also ask about responses (buffered bodies only) */
    uint8_t action;            /* kt_action of the policy (block or flag) */
    uint32_t category_mask;    /* safety: the policy's categories (KT_SAFETY_BIT) */
} kt_clf_cfg;

/* Reads the `model` option of the policy `pc` (absent: off, *out NULL); api_key_ref.env is
 * looked up through pc->env; model.fail_mode defaults to the policy's own fail_mode, else
 * closed. Errors are reported with line and column through `x`. Returns KT_OK (also after a
 * reported error) or KT_ENOMEM. */
int kt_clf_cfg_read(kt_yread *x, const kt_policy_cfg *pc, kt_clf_task task, kt_clf_cfg **out);
void kt_clf_cfg_free(kt_clf_cfg *c);

/* The JSON request body for `n` texts (texts[i], lens[i]). moderations: {"model","input":[..]};
 * chat: {"model","messages":[system, user],"temperature":0,"max_tokens":..}, the texts joined
 * by a separator line. */
int kt_clf_request_body(const kt_clf_cfg *c, const char *const *texts, const size_t *lens,
                        size_t n, kt_buf *out);

/* A classifier's answer. `label`: a kt safety category, KT_CLF_LABEL_FLAGGED, or unused. */
typedef struct kt_clf_verdict {
    bool flagged;
    uint16_t label;
} kt_clf_verdict;

/* Parses a /v1/moderations answer for `n` inputs: results[] must have n objects, each with a
 * boolean "flagged" and a "categories" object. Flagged when a true category maps onto a kt
 * category in `mask` (hate, harassment -> hate; violence, illicit/violent -> violence; self-harm
 * -> self_harm; sexual, sexual/minors -> sexual); others (illicit, ...) are outside kt's scope.
 * KT_OK or KT_EPARSE (unreadable). */
int kt_clf_parse_moderations(const char *body, size_t len, size_t n, uint32_t mask,
                             kt_clf_verdict *v);
/* Parses a chat completion: choices[0].message.content, then kt_clf_parse_answer. */
int kt_clf_parse_chat(const char *body, size_t len, kt_clf_task task, uint32_t mask,
                      kt_clf_verdict *v);
/* The guard model's answer text. safety: first line "safe" or "unsafe", then optionally a line
 * of comma-separated Llama Guard codes (S1, S9 -> violence; S3, S4, S12 -> sexual; S10 -> hate;
 * S11 -> self_harm) or kt category names; "unsafe" with no code is KT_CLF_LABEL_FLAGGED, with
 * only codes outside kt's categories it is clean. injection: first word "yes" or "no" (also
 * "unsafe"/"safe"). Case-insensitive, surrounding blanks and punctuation ignored. */
int kt_clf_parse_answer(const char *text, size_t len, kt_clf_task task, uint32_t mask,
                        kt_clf_verdict *v);

/* ---- outcomes (metrics and the decision event) ---------------------------------------------- */

typedef enum kt_clf_outcome {
    KT_CLF_NONE = 0,        /* not asked */
    KT_CLF_CLEAN,           /* asked: clean */
    KT_CLF_FLAGGED,         /* asked: flagged */
    KT_CLF_CACHED,          /* every undecided text was in the clean-text cache */
    KT_CLF_TIMEOUT,
    KT_CLF_ERROR,           /* connect, HTTP status, too many texts */
    KT_CLF_UNREADABLE,      /* an answer kt cannot parse */
} kt_clf_outcome;

const char *kt_clf_outcome_name(kt_clf_outcome o);   /* "clean", "flagged", ... */

/* ---- the clean-text cache -------------------------------------------------------------------- */

/* Texts a classifier found clean, by SHA-256 of (scope, policy name, direction, text): a fixed
 * number of entries, evicted by CLOCK (second chance). Single-threaded; owned by the gateway. */
typedef struct kt_clf_key {
    unsigned char d[32];
} kt_clf_key;

typedef struct kt_clf_entry {
    kt_clf_key key;
    uint32_t next;             /* bucket chain: index + 1, 0 ends */
    bool used, ref;
} kt_clf_entry;

typedef struct kt_clf_cache {
    kt_clf_entry *v;
    uint32_t *buckets;         /* index + 1 of a chain's first entry */
    uint32_t cap, nbuckets, hand, n;
    uint64_t hits, misses;
} kt_clf_cache;

void kt_clf_key_of(const char *scope, const char *policy, int dir, const char *text, size_t len,
                   kt_clf_key *out);
/* Sizes the cache to `entries` (a different size empties it; 0 frees it). KT_ENOMEM leaves it
 * off. */
int kt_clf_cache_size(kt_clf_cache *c, uint32_t entries);
bool kt_clf_cache_has(kt_clf_cache *c, const kt_clf_key *k);
void kt_clf_cache_put(kt_clf_cache *c, const kt_clf_key *k);
void kt_clf_cache_free(kt_clf_cache *c);

#endif
