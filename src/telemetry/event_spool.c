/* The event spool: a write-ahead log of decision events in a directory. Segments wal-<id>.log
 * hold records (event_wal.c) appended in seq order, one fdatasync per commit; a mapped state page
 * holds the counters that make every event accounted for across a crash (event_priv.h). Past
 * spool_max_bytes the oldest segment is deleted and its unacknowledged events counted; segments
 * whose events are all acknowledged are deleted. Blocking I/O: kt_spool_open runs at start-up,
 * the rest on libuv's threadpool, one call at a time (event_durable.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event_priv.h"

#define KT_SPOOL_PATH 4200
#define KT_SPOOL_SEG_MIN (8u << 10)
#define KT_SPOOL_SEG_MAXSZ (4u << 20)
#define KT_SPOOL_WINDOW (128u << 10)
#define KT_SPOOL_FILE_MAX (64u << 20)   /* a segment larger than this is not one of ours */
#define KT_SPOOL_STATE_BYTES 4096

static void seg_path(const kt_spool *s, uint64_t id, char *out, size_t n)
{
    snprintf(out, n, "%s/wal-%016" PRIu64 ".log", s->dir, id);
}

static int seg_cmp(const void *a, const void *b)
{
    const kt_wal_seg *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int seg_add(kt_spool *s, const kt_wal_seg *g)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        kt_wal_seg *nv = kt_realloc(s->segs, ncap * sizeof *nv);
        if (!nv) return KT_ENOMEM;
        s->segs = nv;
        s->cap = ncap;
    }
    s->segs[s->n++] = *g;
    s->bytes += g->bytes;
    return KT_OK;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return errno ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_at(int fd, char *p, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return KT_EIO;
        got += (size_t)r;
    }
    return KT_OK;
}

/* ---- the state page ------------------------------------------------------------------------ */

static int state_open(kt_spool *s, bool *reset)
{
    char path[KT_SPOOL_PATH];
    snprintf(path, sizeof path, "%s/state", s->dir);
    s->st_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->st_fd < 0) return KT_EIO;
    struct stat sb;
    if (fstat(s->st_fd, &sb) != 0) return KT_EIO;
    bool fresh = sb.st_size < (off_t)sizeof(kt_wal_state);
    if (sb.st_size < KT_SPOOL_STATE_BYTES && ftruncate(s->st_fd, KT_SPOOL_STATE_BYTES) != 0)
        return KT_EIO;
    void *p = mmap(NULL, KT_SPOOL_STATE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, s->st_fd, 0);
    if (p == MAP_FAILED) return KT_EIO;
    s->st = p;
    if (s->st->magic != KT_WAL_STATE_MAGIC) {
        *reset = !fresh;
        memset(s->st, 0, sizeof *s->st);
        s->st->produced = 1;
        s->st->magic = KT_WAL_STATE_MAGIC;
    }
    return KT_OK;
}

/* ---- indexing at start-up ------------------------------------------------------------------ */

/* Reads a whole segment to index it: its records' seqs, and damaged records in the middle. */
static int index_seg(kt_spool *s, kt_wal_seg *g, uint64_t *damaged)
{
    char path[KT_SPOOL_PATH];
    seg_path(s, g->id, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return KT_EIO;
    struct stat sb;
    int rc = fstat(fd, &sb) == 0 ? KT_OK : KT_EIO;
    if (!rc && (uint64_t)sb.st_size > KT_SPOOL_FILE_MAX) rc = KT_ELIMIT;
    kt_buf b;
    kt_buf_init(&b, KT_SPOOL_FILE_MAX + 1);
    if (!rc && sb.st_size) rc = kt_buf_reserve(&b, (size_t)sb.st_size);
    if (!rc && sb.st_size) rc = read_at(fd, b.p, (size_t)sb.st_size, 0);
    close(fd);
    if (!rc) {
        b.len = (size_t)sb.st_size;
        g->bytes = b.len;
        size_t off = 0;
        kt_wal_rec r;
        kt_wal_res res;
        while ((res = kt__wal_next((const unsigned char *)b.p, b.len, &off, &r)) != KT_WAL_END &&
               res != KT_WAL_TORN) {
            if (res != KT_WAL_REC) continue;
            if (!g->count) g->first = r.seq;
            if (r.seq > g->last) g->last = r.seq;
            g->count++;
        }
        /* Seqs in a segment are contiguous: a hole is a record that failed its check. */
        if (g->count && g->last >= g->first && g->last - g->first + 1 > g->count)
            *damaged += g->last - g->first + 1 - g->count;
    }
    kt_buf_free(&b);
    return rc;
}

static int scan_dir(kt_spool *s, kt_spool_recovery *rec)
{
    DIR *d = opendir(s->dir);
    if (!d) return KT_EIO;
    struct dirent *e;
    int rc = KT_OK;
    while ((e = readdir(d)) && !rc) {
        unsigned long long id;
        char tail[8];
        if (sscanf(e->d_name, "wal-%16llu.%7s", &id, tail) != 2 || strcmp(tail, "log") != 0)
            continue;
        kt_wal_seg g = { (uint64_t)id, 0, 0, 0, 0 };
        rc = index_seg(s, &g, &rec->damaged);
        if (rc == KT_ELIMIT) {   /* not a segment kt wrote: leave it alone */
            rc = KT_OK;
            continue;
        }
        if (!rc) rc = seg_add(s, &g);
        if (g.id >= s->next_id) s->next_id = g.id + 1;
    }
    closedir(d);
    if (s->n) qsort(s->segs, s->n, sizeof *s->segs, seg_cmp);
    return rc;
}

static void remove_seg(kt_spool *s, size_t i)
{
    char path[KT_SPOOL_PATH];
    if (s->fd >= 0 && i == s->n - 1) {
        close(s->fd);
        s->fd = -1;
    }
    seg_path(s, s->segs[i].id, path, sizeof path);
    unlink(path);
    s->bytes -= s->segs[i].bytes;
    memmove(&s->segs[i], &s->segs[i + 1], (s->n - i - 1) * sizeof *s->segs);
    s->n--;
}

/* Every seq up to `produced` is accounted for: what is neither on disk, acknowledged nor counted
 * was accepted and never written (the process died first), and is counted now. */
static void settle(kt_spool *s, kt_spool_recovery *rec)
{
    kt_wal_state *st = s->st;
    uint64_t high = KT_MAX(st->settled, st->acked);
    for (size_t i = 0; i < s->n; i++) high = KT_MAX(high, s->segs[i].last);
    rec->lost = st->produced > high + 1 ? st->produced - 1 - high : 0;
    st->dropped += rec->lost + rec->damaged + st->dropped_inflight;
    st->dropped += st->evicted - st->evicted_seen;
    st->evicted_seen = st->evicted;
    st->dropped_inflight = 0;
    st->settled = KT_MAX(high, st->produced - 1);
    st->produced = st->settled + 1;
    for (size_t i = 0; i < s->n;) {
        const kt_wal_seg *g = &s->segs[i];
        if (!g->count || g->last <= st->acked) {
            remove_seg(s, i);
            continue;
        }
        i++;
    }
}

/* ---- segments of the previous format --------------------------------------------------------
 * seg-<n>.jsonl (one event per line, whole files written by rename) from a kt before the log:
 * their events become records with new seqs, so an upgrade delivers what an older kt left. */

static void append_imported(kt_spool *s, kt_buf *b)
{
    kt_spool_out o;
    if (!b->len) return;
    kt_spool_append(s, b->p, b->len, s->st->acked, &o);
    uint64_t high = KT_MAX(o.last_written, o.last_failed);
    if (high > s->st->settled) s->st->settled = high;
    s->st->dropped += o.failed + (s->st->evicted - s->st->evicted_seen);
    s->st->evicted_seen = s->st->evicted;
    kt_buf_reset(b);
}

static void import_file(kt_spool *s, const char *path, kt_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (n < 2 || line[0] != '{' || line[n - 1] != '}') continue;   /* never half an event */
        if (b->len + (size_t)n + KT_WAL_HDR > (4u << 20)) append_imported(s, b);
        if (kt__wal_encode(b, s->st->produced, line, (size_t)n) == KT_OK) s->st->produced++;
    }
    free(line);
    fclose(f);
    append_imported(s, b);
}

static int legacy_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void import_legacy(kt_spool *s)
{
    DIR *d = opendir(s->dir);
    if (!d) return;
    uint64_t seqs[1024];
    size_t n = 0;
    struct dirent *e;
    char path[KT_SPOOL_PATH];
    while ((e = readdir(d))) {
        unsigned long long seq;
        char tail[16];
        if (sscanf(e->d_name, "seg-%16llu.%15s", &seq, tail) != 2) continue;
        snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
        if (strcmp(tail, "jsonl") != 0) unlink(path);   /* a temporary: never complete */
        else if (n < KT_ARRAY_LEN(seqs)) seqs[n++] = seq;
    }
    closedir(d);
    if (!n) return;
    qsort(seqs, n, sizeof *seqs, legacy_cmp);
    kt_buf b;
    kt_buf_init(&b, (8u << 20));
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/seg-%016" PRIu64 ".jsonl", s->dir, seqs[i]);
        import_file(s, path, &b);
        unlink(path);
    }
    kt_buf_free(&b);
    s->st->produced = KT_MAX(s->st->produced, s->st->settled + 1);
}

static void count_unread(kt_spool *s, kt_spool_recovery *rec)
{
    for (size_t i = 0; i < s->n; i++) {
        const kt_wal_seg *g = &s->segs[i];
        if (g->count && g->last > s->st->acked)
            rec->unread += g->first > s->st->acked ? g->count : g->last - s->st->acked;
    }
    rec->segments = s->n;
    msync(s->st, KT_SPOOL_STATE_BYTES, MS_SYNC);
}

int kt_spool_open(kt_spool *s, const char *dir, uint64_t max_bytes, kt_spool_recovery *rec,
                  char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    memset(rec, 0, sizeof *rec);
    s->fd = s->st_fd = -1;
    s->max_bytes = max_bytes;
    s->seg_max = KT_MIN(KT_MAX(max_bytes / 8, KT_SPOOL_SEG_MIN), KT_SPOOL_SEG_MAXSZ);
    s->next_id = 1;
    kt_buf_init(&s->io, KT_WAL_REC_MAX + KT_WAL_HDR + KT_SPOOL_WINDOW);
    if (strlen(dir) > KT_SPOOL_PATH - 64) {
        snprintf(err, errlen, "spool directory path too long");
        return KT_EINVAL;
    }
    s->dir = kt_strdup(dir);
    if (!s->dir) return KT_ENOMEM;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (state_open(s, &rec->state_reset)) {
        snprintf(err, errlen, "cannot map the spool state in %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (scan_dir(s, rec)) {
        snprintf(err, errlen, "cannot read spool directory %s", dir);
        goto fail;
    }
    settle(s, rec);
    s->last_read = s->st->acked;
    import_legacy(s);
    count_unread(s, rec);
    s->rid = s->n ? s->segs[0].id : s->next_id;
    return KT_OK;
fail:
    kt_spool_close(s);
    return KT_EIO;
}

void kt_spool_close(kt_spool *s)
{
    if (s->fd >= 0) {
        fdatasync(s->fd);
        close(s->fd);
    }
    if (s->st) {
        msync(s->st, KT_SPOOL_STATE_BYTES, MS_SYNC);
        munmap(s->st, KT_SPOOL_STATE_BYTES);
    }
    if (s->st_fd >= 0) close(s->st_fd);
    kt_buf_free(&s->io);
    free(s->dir);
    free(s->segs);
    memset(s, 0, sizeof *s);
    s->fd = s->st_fd = -1;
}

/* ---- appending ------------------------------------------------------------------------------ */

/* Unacknowledged records of a segment, and those with a seq above `above` (contiguous seqs). */
static uint64_t seg_above(const kt_wal_seg *g, uint64_t above)
{
    if (!g->count || g->last <= above) return 0;
    return g->first > above ? g->count : g->last - above;
}

static void evict_oldest(kt_spool *s, uint64_t acked, kt_spool_out *o)
{
    const kt_wal_seg *g = &s->segs[0];
    uint64_t lost = seg_above(g, acked);
    /* Counted before the file goes: a crash between the two never loses the count. */
    s->st->evicted += lost;
    o->evicted += lost;
    o->evicted_unread += seg_above(g, KT_MAX(acked, s->last_read));
    if (g->last > o->evicted_upto) o->evicted_upto = g->last;
    if (g->last > s->last_read) s->last_read = g->last;
    remove_seg(s, 0);
}

static int new_segment(kt_spool *s)
{
    if (s->fd >= 0) {
        fdatasync(s->fd);
        close(s->fd);
        s->fd = -1;
    }
    char path[KT_SPOOL_PATH];
    kt_wal_seg g = { s->next_id++, 0, 0, 0, 0 };
    seg_path(s, g.id, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return errno ? errno : EIO;
    if (seg_add(s, &g)) {
        close(fd);
        unlink(path);
        return ENOMEM;
    }
    sync_dir(s->dir);
    s->fd = fd;
    return 0;
}

/* The records of p[off..n) that fit one write of at most seg_max bytes (at least one). */
static size_t chunk_end(const kt_spool *s, const char *p, size_t n, size_t off, uint32_t *cnt,
                        uint64_t *first, uint64_t *last)
{
    size_t end = off;
    kt_wal_rec r;
    *cnt = 0;
    while (end < n) {
        size_t next = end;
        if (kt__wal_next((const unsigned char *)p, n, &next, &r) != KT_WAL_REC) break;
        if (*cnt && next - off > s->seg_max) break;
        if (!*cnt) *first = r.seq;
        *last = r.seq;
        (*cnt)++;
        end = next;
    }
    return end;
}

static void append_chunk(kt_spool *s, const char *p, size_t len, uint32_t cnt, uint64_t first,
                         uint64_t last, uint64_t acked, kt_spool_out *o)
{
    while (s->n && s->bytes + len > s->max_bytes) evict_oldest(s, acked, o);
    int e = len > s->max_bytes ? EFBIG : 0;
    if (!e && (s->fd < 0 || s->segs[s->n - 1].bytes >= s->seg_max)) e = new_segment(s);
    kt_wal_seg *g = s->n ? &s->segs[s->n - 1] : NULL;
    if (!e) e = write_all(s->fd, p, len);
    if (e) {
        if (s->fd >= 0) {   /* nothing half-written stays: the next append starts a new file */
            if (ftruncate(s->fd, (off_t)g->bytes) != 0) { /* the reader skips a torn tail */ }
            close(s->fd);
            s->fd = -1;
        }
        o->failed += cnt;
        o->last_failed = last;
        o->err = e;
        return;
    }
    if (!g->count) g->first = first;
    g->last = last;
    g->count += cnt;
    g->bytes += len;
    s->bytes += len;
    o->written += cnt;
    o->last_written = last;
}

void kt_spool_append(kt_spool *s, const char *recs, size_t len, uint64_t acked, kt_spool_out *o)
{
    memset(o, 0, sizeof *o);
    size_t off = 0;
    while (off < len) {
        uint32_t cnt;
        uint64_t first = 0, last = 0;
        size_t end = chunk_end(s, recs, len, off, &cnt, &first, &last);
        if (!cnt) break;   /* never: the loop encoded them */
        append_chunk(s, recs + off, end - off, cnt, first, last, acked, o);
        off = end;
    }
    if (s->fd >= 0 && o->written && fdatasync(s->fd) != 0) o->err = errno ? errno : EIO;
    /* The counters reach the disk with each commit too: after a power loss (not just a kill,
     * which the page cache survives) at most what came after this commit is uncounted. */
    msync(s->st, KT_SPOOL_STATE_BYTES, MS_SYNC);
}

/* ---- reading and trimming ------------------------------------------------------------------ */

/* The index of the first segment with id >= the cursor's, or s->n. */
static size_t cursor_seg(kt_spool *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->segs[i].id < s->rid) continue;
        if (s->segs[i].id != s->rid) {
            s->rid = s->segs[i].id;
            s->roff = 0;
        }
        return i;
    }
    return s->n;
}

/* Reads a window of segment i at the cursor into s->io. */
static int read_window(kt_spool *s, size_t i, size_t want)
{
    char path[KT_SPOOL_PATH];
    seg_path(s, s->segs[i].id, path, sizeof path);
    int fd = (s->fd >= 0 && i == s->n - 1) ? s->fd : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return KT_EIO;
    kt_buf_reset(&s->io);
    int rc = kt_buf_reserve(&s->io, want);
    if (!rc) rc = read_at(fd, s->io.p, want, s->roff);
    if (!rc) s->io.len = want;
    if (fd != s->fd) close(fd);
    return rc;
}

typedef struct read_ctx {
    uint64_t acked;
    uint32_t max;
    size_t max_bytes;
    kt_buf *out;
    uint32_t *count;
    uint64_t *first, *last;
    bool full;
} read_ctx;

/* Takes the records of the window in s->io, advancing the cursor past each one used or skipped
 * (acknowledged, or damaged bytes: those are counted at the next start-up). The result of the
 * last kt__wal_next; *moved when the cursor moved. */
static int take_window(kt_spool *s, read_ctx *c, kt_wal_res *last_res, bool *moved)
{
    const unsigned char *p = (const unsigned char *)s->io.p;
    size_t off = 0, used = 0;
    kt_wal_rec r;
    kt_wal_res res;
    while ((res = kt__wal_next(p, s->io.len, &off, &r)) == KT_WAL_REC || res == KT_WAL_BAD) {
        if (res == KT_WAL_REC && r.seq > c->acked) {
            size_t need = r.len + (*c->count ? 1u : 0u);
            if (*c->count == c->max || (*c->count && c->out->len + need > c->max_bytes)) {
                c->full = true;
                break;
            }
            int rc = *c->count ? kt_buf_append(c->out, ",", 1) : KT_OK;
            if (!rc) rc = kt_buf_append(c->out, r.data, r.len);
            if (rc) return rc;
            if (!*c->count) *c->first = r.seq;
            *c->last = r.seq;
            (*c->count)++;
            if (r.seq > s->last_read) s->last_read = r.seq;
        }
        used = off;
    }
    *last_res = res;
    *moved = used > 0;
    s->roff += used;
    s->io.len -= used;   /* what is left of the window, for the caller's tail check */
    return KT_OK;
}

int kt_spool_read(kt_spool *s, uint64_t acked, uint32_t max, size_t max_bytes, kt_buf *out,
                  uint32_t *count, uint64_t *first, uint64_t *last)
{
    read_ctx c = { acked, max, max_bytes, out, count, first, last, false };
    *count = 0;
    *first = *last = 0;
    size_t i;
    while (!c.full && *count < max && (i = cursor_seg(s)) < s->n) {
        const kt_wal_seg *g = &s->segs[i];
        if (s->roff >= g->bytes) {
            if (i + 1 == s->n) break;
            s->rid = s->segs[i + 1].id;
            s->roff = 0;
            continue;
        }
        uint64_t left = g->bytes - s->roff;
        size_t want = (size_t)KT_MIN(left, (uint64_t)KT_SPOOL_WINDOW);
        kt_wal_res res;
        bool moved;
        for (;;) {
            int rc = read_window(s, i, want);
            if (!rc) rc = take_window(s, &c, &res, &moved);
            if (rc) return rc;
            /* No record fits the window: one may be up to KT_WAL_REC_MAX long. */
            if (moved || c.full || res != KT_WAL_TORN || want == left ||
                want >= KT_WAL_REC_MAX + KT_WAL_HDR)
                break;
            want = (size_t)KT_MIN(left, (uint64_t)(KT_WAL_REC_MAX + KT_WAL_HDR));
        }
        /* The window reached the end of the file and what is left is not a record: a torn tail
         * (a crash mid-append). Nothing more comes from this segment. */
        if (!c.full && res == KT_WAL_TORN && want == left) s->roff = g->bytes;
        else if (!c.full && !moved && res == KT_WAL_END && want == left) s->roff = g->bytes;
    }
    return KT_OK;
}

void kt_spool_trim(kt_spool *s, uint64_t acked)
{
    while (s->n && (s->segs[0].count ? s->segs[0].last <= acked
                                      : (s->fd < 0 || s->n > 1)))
        remove_seg(s, 0);
}
