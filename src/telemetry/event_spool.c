/* The event spool: segments on disk so an outage longer than the ring, or a restart, loses
 * nothing within spool_max_bytes. Event ids make a replayed segment idempotent upstream. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event_priv.h"
#include "kt/log.h"

#define KT_SPOOL_SEG_MAX (8u << 20)

static void seg_path(const kt_spool *s, uint64_t seq, const char *suffix, char *out, size_t n)
{
    snprintf(out, n, "%s/seg-%016" PRIu64 ".jsonl%s", s->dir, seq, suffix);
}

static int seg_cmp(const void *a, const void *b)
{
    const kt_spool_seg *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int seg_add(kt_spool *s, uint64_t seq, uint64_t bytes, uint32_t count)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        kt_spool_seg *nv = kt_realloc(s->segs, ncap * sizeof *nv);
        if (!nv) return KT_ENOMEM;
        s->segs = nv;
        s->cap = ncap;
    }
    s->segs[s->n++] = (kt_spool_seg){ seq, bytes, count };
    s->bytes += bytes;
    return KT_OK;
}

static uint32_t count_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint32_t n = 0;
    int ch;
    while ((ch = getc(f)) != EOF)
        if (ch == '\n') n++;
    fclose(f);
    return n;
}

static int scan_dir(kt_spool *s)
{
    DIR *d = opendir(s->dir);
    if (!d) return KT_EIO;
    struct dirent *e;
    int rc = KT_OK;
    while ((e = readdir(d)) && !rc) {
        unsigned long long seq;
        char tail[16];
        char path[4200];
        if (sscanf(e->d_name, "seg-%16llu.%15s", &seq, tail) != 2) continue;
        snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
        if (strcmp(tail, "jsonl") != 0) {   /* a temporary left by a crash: never complete */
            unlink(path);
            continue;
        }
        struct stat st;
        if (stat(path, &st) != 0) continue;
        rc = seg_add(s, seq, (uint64_t)st.st_size, count_lines(path));
        if (seq >= s->next_seq) s->next_seq = seq + 1;
    }
    closedir(d);
    if (s->n) qsort(s->segs, s->n, sizeof *s->segs, seg_cmp);
    return rc;
}

int kt_spool_open(kt_spool *s, const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->max_bytes = max_bytes;
    s->next_seq = 1;
    s->dir = kt_strdup(dir);
    if (!s->dir) return KT_ENOMEM;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (scan_dir(s)) {
        snprintf(err, errlen, "cannot read spool directory %s", dir);
        goto fail;
    }
    return KT_OK;
fail:
    kt_spool_close(s);
    return KT_EIO;
}

void kt_spool_close(kt_spool *s)
{
    free(s->dir);
    free(s->segs);
    memset(s, 0, sizeof *s);
}

void kt_spool_remove(kt_spool *s, uint64_t seq)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->segs[i].seq != seq) continue;
        char path[4200];
        seg_path(s, seq, "", path, sizeof path);
        unlink(path);
        s->bytes -= s->segs[i].bytes;
        memmove(&s->segs[i], &s->segs[i + 1], (s->n - i - 1) * sizeof *s->segs);
        s->n--;
        return;
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return KT_EIO;
        p += w;
        n -= (size_t)w;
    }
    return KT_OK;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

int kt_spool_write(kt_spool *s, const kt_event_rec *list, size_t max, uint64_t *dropped)
{
    kt_buf b;
    kt_buf_init(&b, KT_SPOOL_SEG_MAX);
    char tmp[4200], path[4200];
    uint32_t n = 0;
    int rc = KT_OK, fd = -1;
    for (const kt_event_rec *e = list; e && n < max; e = e->next, n++) {
        if (b.len + e->len + 1 > KT_SPOOL_SEG_MAX) break;
        rc = kt_buf_append(&b, e->data, e->len);
        if (!rc) rc = kt_buf_append(&b, "\n", 1);
        if (rc) goto fail;
    }
    if (!n) goto fail;
    /* Stay within the bound: the oldest segments go first. */
    while (s->n && s->bytes + b.len > s->max_bytes) {
        *dropped += s->segs[0].count;
        kt_spool_remove(s, s->segs[0].seq);
    }
    if (b.len > s->max_bytes) {
        rc = KT_ELIMIT;
        goto fail;
    }
    uint64_t seq = s->next_seq++;
    seg_path(s, seq, ".tmp", tmp, sizeof tmp);
    seg_path(s, seq, "", path, sizeof path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, b.p, b.len) || fsync(fd) != 0) {
        rc = KT_EIO;
        goto fail;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = KT_EIO;
        goto fail;
    }
    sync_dir(s->dir);
    rc = seg_add(s, seq, b.len, n);
    if (rc) goto fail;
    kt_buf_free(&b);
    return (int)n;
fail:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    kt_buf_free(&b);
    return rc ? rc : 0;
}

int kt_spool_read_oldest(kt_spool *s, kt_buf *out, uint64_t *seq, uint32_t *count)
{
    if (!s->n) return KT_ENOTFOUND;
    char path[4200];
    seg_path(s, s->segs[0].seq, "", path, sizeof path);
    *seq = s->segs[0].seq;
    *count = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return KT_EIO;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = KT_OK;
    while ((n = getline(&line, &cap, f)) > 0 && !rc) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        if (n < 2 || line[0] != '{' || line[n - 1] != '}') continue;   /* never half an event */
        if (*count) rc = kt_buf_append(out, ",", 1);
        if (!rc) rc = kt_buf_append(out, line, (size_t)n);
        if (!rc) (*count)++;
    }
    free(line);
    fclose(f);
    return rc;
}
