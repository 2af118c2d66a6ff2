/* Private to the event pipeline: the on-disk spool (event_spool.c). */
#ifndef KT_EVENT_PRIV_H
#define KT_EVENT_PRIV_H

#include "kt/events.h"

/* A directory of segment files seg-<seq>.jsonl, one event per line, each written to a temporary
 * name, fsync'd and renamed (a segment is whole or absent). Bounded: past max_bytes the oldest
 * segment is deleted and its events counted as dropped. Blocking I/O, used only when the ring
 * overflows during an outage and at shutdown. */
typedef struct kt_spool_seg {
    uint64_t seq;
    uint64_t bytes;
    uint32_t count;
} kt_spool_seg;

typedef struct kt_spool {
    char *dir;
    uint64_t max_bytes, bytes;
    uint64_t next_seq;
    kt_spool_seg *segs;    /* oldest first */
    size_t n, cap;
} kt_spool;

/* Creates the directory if needed and indexes the segments already there (a restart). */
int kt_spool_open(kt_spool *s, const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void kt_spool_close(kt_spool *s);
/* Writes up to `max` records from `list` as one segment; returns how many were written (the
 * first ones), or a negative code. `*dropped` gets the events of segments evicted to stay within
 * the bound. */
int kt_spool_write(kt_spool *s, const kt_event_rec *list, size_t max, uint64_t *dropped);
/* Reads the oldest segment: its events as comma-separated JSON appended to `out`. */
int kt_spool_read_oldest(kt_spool *s, kt_buf *out, uint64_t *seq, uint32_t *count);
/* Deletes a delivered segment. */
void kt_spool_remove(kt_spool *s, uint64_t seq);

#endif
