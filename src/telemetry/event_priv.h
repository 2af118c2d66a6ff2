/* Private to the event pipeline: the write-ahead log's record format (event_wal.c), the spool
 * directory that holds it (event_spool.c, blocking, run on libuv's threadpool) and the loop's side
 * of it (event_durable.c). */
#ifndef KT_EVENT_PRIV_H
#define KT_EVENT_PRIV_H

#include "kt/events.h"

/* ---- record format (event_wal.c) ------------------------------------------------------------ */

#define KT_WAL_MAGIC 0x3145544bu   /* "KTE1" little-endian */
#define KT_WAL_HDR 24u             /* magic, len, seq, crc, hcrc */
#define KT_WAL_REC_MAX (1u << 20)  /* one event's JSON, at most */

typedef enum {
    KT_WAL_REC,    /* a whole record, checked */
    KT_WAL_END,    /* no bytes left */
    KT_WAL_TORN,   /* the bytes left are not a whole record: a crash mid-append, or the window */
    KT_WAL_BAD,    /* damaged bytes; *off moved to the next magic (or the end) */
} kt_wal_res;

typedef struct kt_wal_rec {
    uint64_t seq;
    const char *data;   /* points into the buffer given to kt__wal_next */
    uint32_t len;
} kt_wal_rec;

uint32_t kt__crc32c(uint32_t crc, const void *data, size_t n);
/* Appends one record. KT_ELIMIT for a payload shorter than 2 or longer than KT_WAL_REC_MAX. */
int kt__wal_encode(kt_buf *b, uint64_t seq, const char *data, size_t len);
/* Reads the record at *off of p[0..n); on KT_WAL_REC advances *off past it. */
kt_wal_res kt__wal_next(const unsigned char *p, size_t n, size_t *off, kt_wal_rec *r);

/* ---- the spool directory (event_spool.c) -----------------------------------------------------
 * wal-<id>.log segments of records, appended with one fdatasync per commit, and `state`: a page
 * mapped MAP_SHARED, so what the loop stores there is in the kernel's page cache at once and
 * survives a SIGKILL or an OOM kill of kt without a system call on the request path.
 *
 * Sequence numbers are given to events as they are accepted, from 1, never reused. Every seq
 * below `produced` is exactly one of: acknowledged (<= acked), in a segment, or counted in
 * `dropped` (or `dropped_inflight`, carried by the batch in flight, or `evicted` not yet folded
 * in). What a crash left between `settled` and `produced` (accepted, not yet written) is counted
 * when the spool is opened again. */

#define KT_WAL_STATE_MAGIC 0x3174617473656b74ull   /* "ktestat1" */

typedef struct kt_wal_state {
    uint64_t magic;
    uint64_t produced;          /* the next seq (loop) */
    uint64_t settled;           /* every seq <= this was written or counted (loop) */
    uint64_t acked;             /* every seq <= this was acknowledged (loop) */
    uint64_t dropped;           /* counted losses no batch has carried yet (loop) */
    uint64_t dropped_inflight;  /* the count the batch in flight carries (loop) */
    uint64_t evicted;           /* unacknowledged events deleted for spool_max_bytes (worker) */
    uint64_t evicted_seen;      /* the part of `evicted` already added to `dropped` (loop) */
} kt_wal_state;

typedef struct kt_wal_seg {
    uint64_t id;
    uint64_t bytes;          /* file size (committed records, plus a torn tail after a crash) */
    uint64_t first, last;    /* seqs of its records (contiguous); 0 when none */
    uint32_t count;
} kt_wal_seg;

typedef struct kt_spool {
    char *dir;
    uint64_t max_bytes, seg_max, bytes;
    kt_wal_seg *segs;        /* oldest first */
    size_t n, cap;
    uint64_t next_id;
    int fd;                  /* segs[n - 1] open for appending, or -1 */
    kt_wal_state *st;        /* the mapped state page */
    int st_fd;
    uint64_t rid, roff;      /* read cursor: segment id and offset */
    uint64_t last_read;      /* highest seq handed out by kt_spool_read */
    kt_buf io;               /* read window */
} kt_spool;

typedef struct kt_spool_recovery {
    uint64_t lost;           /* accepted before a crash and never written: now in dropped */
    uint64_t damaged;        /* records in the middle of a segment that failed their check */
    uint64_t unread;         /* events to deliver */
    size_t segments;
    bool state_reset;        /* the state page was missing or unreadable */
} kt_spool_recovery;

/* What one append did. */
typedef struct kt_spool_out {
    uint32_t written, failed;      /* records appended; records that could not be (counted) */
    uint64_t last_written, last_failed;
    uint64_t evicted;              /* unacknowledged records deleted to stay within the bound */
    uint64_t evicted_upto;         /* the highest seq deleted */
    uint64_t evicted_unread;       /* of those, never read */
    int err;                       /* errno of a failed write or fdatasync, 0 */
} kt_spool_out;

/* Creates the directory and the state page if needed, indexes the segments and settles what a
 * crash left (counted into st->dropped, reported in `rec`). Blocking: call before the loop runs. */
int kt_spool_open(kt_spool *s, const char *dir, uint64_t max_bytes, kt_spool_recovery *rec,
                  char *err, size_t errlen);
void kt_spool_close(kt_spool *s);
/* Appends encoded records (kt__wal_encode output) and fdatasyncs once. Segments past the bound go
 * first, oldest first; their unacknowledged records are added to st->evicted before a file is
 * deleted. Threadpool. */
void kt_spool_append(kt_spool *s, const char *recs, size_t len, uint64_t acked, kt_spool_out *o);
/* From the read cursor: up to `max` events with seq > acked, comma-separated, appended to `out`
 * (at most `max_bytes` of them). Threadpool. */
int kt_spool_read(kt_spool *s, uint64_t acked, uint32_t max, size_t max_bytes, kt_buf *out,
                  uint32_t *count, uint64_t *first, uint64_t *last);
/* Deletes the segments whose every record is acknowledged. Threadpool. */
void kt_spool_trim(kt_spool *s, uint64_t acked);

/* ---- the loop's side (event_durable.c) ------------------------------------------------------ */

typedef struct kt_durable_cb {
    /* A batch read from the log: n events (0: nothing to deliver), the highest seq. */
    void (*on_batch)(void *owner, const char *events, size_t len, uint32_t n, uint64_t last);
    /* Records were committed: the shipper may want to start. */
    void (*on_commit)(void *owner);
    /* kt_durable_close finished. */
    void (*on_closed)(void *owner);
} kt_durable_cb;

typedef struct kt_durable_task kt_durable_task;

typedef struct kt_durable {
    uv_loop_t *loop;
    kt_spool spool;
    kt_metrics *m;
    kt_durable_cb cb;
    void *owner;
    size_t pending_max;
    uint32_t commit_ms;
    kt_buf pending;          /* encoded records not yet handed to the disk */
    uint32_t pending_n;
    uint64_t unread;         /* committed, not yet read */
    uint64_t read_first, read_last;   /* the batch handed out and not acknowledged (0: none) */
    uint64_t precounted;     /* of it, events the bound deleted and `dropped` already counts */
    uint32_t batch_max;
    size_t batch_bytes;
    uint64_t full_unlogged, full_logged_ms;   /* events_spool_full, once per interval */
    kt_durable_task *task;
    uv_timer_t commit_timer;
    bool busy, commit_due, read_wanted, trim_due, closing, closed, timer_open;
} kt_durable;

int kt_durable_open(kt_durable *d, uv_loop_t *loop, const kt_events_opts *o, kt_metrics *m,
                    const kt_durable_cb *cb, void *owner, char *err, size_t errlen);
/* Accepts one event: a seq and a record in memory, committed within commit_ms. KT_ELIMIT when
 * the memory for records waiting for the disk is full (counted in dropped). */
int kt_durable_push(kt_durable *d, const char *json, size_t len);
/* Asks for the next batch (committing what is pending first); on_batch follows. */
void kt_durable_read(kt_durable *d, uint32_t max, size_t max_bytes);
/* The batch handed out was delivered (or refused for good): its events are settled. */
void kt_durable_ack(kt_durable *d);
/* Events waiting: committed and unread, plus pending. */
uint64_t kt_durable_waiting(const kt_durable *d);
/* The counts a batch carries: not yet reported, and carried by the batch in flight. */
uint64_t *kt_durable_dropped(kt_durable *d);
uint64_t *kt_durable_dropped_inflight(kt_durable *d);
/* Commits what is pending, then on_closed. */
void kt_durable_close(kt_durable *d);
/* After the loop has stopped. */
void kt_durable_free(kt_durable *d);

#endif
