/* The audit trail of audit-logger: one JSON line per audited request (or, with log_all_access,
 * per access to kt's own endpoints and per refused request), holding who, what, when, the config
 * version and HMAC-SHA256 digests of the input and output texts under a per-deployment key, never
 * the texts. With `immutable: true` the lines form a hash chain (each carries the previous line's
 * SHA-256) appended to daily files under gateway.audit_dir, written and fsynced on libuv's
 * threadpool; `kt audit verify PATH` checks a chain. Every record is also shipped to the control
 * plane as an event of type "audit". */
#ifndef KT_AUDIT_H
#define KT_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "kt/buf.h"
#include "kt/config.h"
#include "kt/gov_opts.h"
#include "kt/tls.h"

typedef struct kt_events kt_events;
typedef struct kt_audit kt_audit;

/* ---- the chain (audit_chain.c) --------------------------------------------------------------
 * A line: {"seq":N,"prev":"<64 hex>",<fields>,"hash":"<64 hex>"} where hash is the SHA-256 of
 * every byte before "hash" (from '{' to the ',' before it). The first record of a chain has
 * prev = 64 zeros and seq 1. */

#define KT_AUDIT_LINE_MAX (256u * 1024)   /* one record, at most */
#define KT_AUDIT_HASH_HEX 64

typedef struct kt_audit_link {
    uint64_t seq;                      /* 0: no record yet */
    char hash[KT_AUDIT_HASH_HEX + 1];  /* of the last record ("000…" when none) */
} kt_audit_link;

void kt_audit_link_init(kt_audit_link *l);
/* Appends one sealed line (with its '\n') for `fields` (JSON members, no braces) after `prev`,
 * and moves `prev` on to it. KT_ELIMIT when the line would exceed KT_AUDIT_LINE_MAX. */
int kt_audit_seal(kt_audit_link *prev, const char *fields, size_t n, kt_buf *out);

typedef enum kt_audit_verdict {
    KT_AUDIT_OK,
    KT_AUDIT_MALFORMED,   /* not a record line */
    KT_AUDIT_BAD_HASH,    /* the line's bytes do not match its hash (edited) */
    KT_AUDIT_BAD_PREV,    /* prev is not the previous line's hash (deleted, reordered, spliced) */
    KT_AUDIT_BAD_SEQ,     /* seq does not follow the previous line's */
} kt_audit_verdict;

/* One line (without its '\n') against the chain so far. `link` moves on when it is OK; a link
 * with seq 0 accepts any first record (the start of what is kept: retention may have deleted
 * older files) but remembers it. */
kt_audit_verdict kt_audit_check_line(const char *line, size_t n, kt_audit_link *link);

/* What verify found: records checked, and the first broken link (line is 1-based in `file`). */
typedef struct kt_audit_report {
    uint64_t records;
    uint64_t first_seq;           /* seq of the first record checked */
    kt_audit_verdict verdict;     /* KT_AUDIT_OK when the whole chain holds */
    char file[512];
    uint64_t line;
    uint64_t seq;                 /* the broken record's seq when it could be read */
} kt_audit_report;

/* Checks the lines of one file's content, continuing `link` (files in chain order share it).
 * Returns false at the first broken link (rep says where). */
bool kt_audit_verify_text(const char *name, const char *p, size_t n, kt_audit_link *link,
                          kt_audit_report *rep);
/* A file, or a directory of daily files (audit-YYYY-MM-DD.jsonl, in date order). Exit status
 * for `kt audit verify`: 0 when the chain holds, 1 when a link is broken, 2 when PATH cannot be
 * read. Prints the result on `out`/`err` (FILE *). */
int kt_audit_verify_path(const char *path, void *out, void *err);
const char *kt_audit_verdict_name(kt_audit_verdict v);

/* ---- the writer (audit.c) ------------------------------------------------------------------- */

#define KT_AUDIT_KEY_BYTES 32

/* What one audited exchange (or access) reports; the proxy and the ops endpoints fill it. */
typedef struct kt_audit_info {
    const char *kind;             /* "request", "refusal", "access" */
    const char *source;           /* the client's address ("" unknown) */
    const char *endpoint;         /* access: the path ("/keeptrusts/config") */
    const char *method;
    int status;
    const char *config_version;   /* pack name@version */
    const char *event_json;       /* request: the decision event (what, who, when), or NULL */
    size_t event_len;
    const uint8_t *input_digest;  /* KT_AUDIT_KEY_BYTES of HMAC, or NULL */
    const uint8_t *output_digest;
} kt_audit_info;

/* `dir` NULL: records are only shipped (no chain, no file). The HMAC key comes from `opts`'
 * digest_key_ref when given (env or file, at least 16 bytes), else from dir/digest.key (created
 * with 32 random bytes, mode 0600, on first start), else (no dir) a random key for this process.
 * Restart continues the chain from the newest file's last record (a torn last line is cut).
 * Blocking: call before the loop runs. */
int kt_audit_open(uv_loop_t *loop, const char *dir, const kt_audit_opts *opts, kt_env env,
                  kt_tls_ctx *rng, kt_events *ship, kt_audit **out, char *err, size_t errlen);
const uint8_t *kt_audit_key(const kt_audit *a);
/* Formats, seals (with `o->immutable` and a dir) and queues one record; never waits. */
void kt_audit_record(kt_audit *a, const kt_audit_opts *o, const kt_audit_info *info);
/* Records appended to disk, and records that could not be (queue full or a write error). */
void kt_audit_counts(const kt_audit *a, uint64_t *written, uint64_t *failed);
/* Writes what is queued, then closes (the loop must run for it to finish). */
void kt_audit_close(kt_audit *a);
void kt_audit_free(kt_audit *a);
/* The audit-logger options of a snapshot's chain (the first audit-logger), or NULL. */
const kt_audit_opts *kt_audit_opts_of(const kt_config *cfg);

#endif
