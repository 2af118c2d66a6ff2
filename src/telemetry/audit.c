/* The audit writer: formats one record per audited request or access (never a text, only names,
 * codes, counts and keyed digests), seals it into the hash chain when the audit-logger is
 * immutable, and ships it as an event of type "audit". Sealed lines are appended to the day's
 * file under gateway.audit_dir by one threadpool job at a time (write, then fdatasync: a group
 * commit of everything queued since the last job); the same job deletes daily files older than
 * retention_days. At start the chain continues from the newest file's last record. */
#include <dirent.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kt/audit.h"
#include "kt/events.h"
#include "kt/log.h"

#define KT_AUDIT_PENDING_MAX (16u << 20)   /* sealed lines waiting for the disk */

struct kt_audit {
    uv_loop_t *loop;
    char *dir;                 /* NULL: ship only */
    kt_tls_ctx *rng;
    kt_events *ship;
    uint8_t key[KT_AUDIT_KEY_BYTES];
    char key_id[17];           /* first 8 bytes of SHA-256(key), hex: which key made a digest */
    kt_audit_link link;        /* the chain's last record */
    kt_buf pending;            /* sealed lines not yet handed to the disk */
    kt_buf job;                /* the lines the job in flight writes */
    uv_work_t work;
    bool busy, closing;
    int job_err;
    uint64_t retention_days, job_retention;
    int64_t pruned_day;        /* the UTC day retention last ran for */
    uint64_t written, failed, job_n, pending_n;
};

static int64_t utc_day(void)
{
    return (int64_t)(time(NULL) / 86400);
}

static void day_name(int64_t day, char out[64])
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 64, "audit-%04d-%02d-%02d.jsonl", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* ---- the key ---------------------------------------------------------------------------------- */

static int key_from_bytes(kt_audit *a, const char *p, size_t n, char *err, size_t errlen)
{
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ')) n--;
    if (n < 16) {
        snprintf(err, errlen, "audit-logger digest key: at least 16 bytes are needed");
        return KT_EINVAL;
    }
    /* Any length: the HMAC key is SHA-256 of the secret, so it is always 32 bytes. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_sha256((const unsigned char *)p, n, a->key, 0);
#else
    mbedtls_sha256_ret((const unsigned char *)p, n, a->key, 0);
#endif
    return KT_OK;
}

static int read_small(const char *path, char *buf, size_t cap, size_t *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return KT_EIO;
    ssize_t r = read(fd, buf, cap);
    close(fd);
    if (r < 0) return KT_EIO;
    *n = (size_t)r;
    return KT_OK;
}

/* dir/digest.key: created once with 32 random bytes (hex), mode 0600. */
static int key_from_dir(kt_audit *a, char *err, size_t errlen)
{
    char path[1200], buf[256];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/digest.key", a->dir);
    if (read_small(path, buf, sizeof buf, &n) == KT_OK) return key_from_bytes(a, buf, n, err, errlen);
    uint8_t raw[32];
    if (kt_tls_random(a->rng, raw, sizeof raw)) {
        snprintf(err, errlen, "audit: cannot draw a digest key");
        return KT_EIO;
    }
    for (int i = 0; i < 32; i++) snprintf(buf + 2 * i, 3, "%02x", raw[i]);
    memset(raw, 0, sizeof raw);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, buf, 64) == 64 && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    if (!ok) {
        snprintf(err, errlen, "audit: cannot write %s: %s", path, strerror(errno));
        return KT_EIO;
    }
    int rc = key_from_bytes(a, buf, 64, err, errlen);
    memset(buf, 0, sizeof buf);
    return rc;
}

static int load_key(kt_audit *a, const kt_audit_opts *o, kt_env env, char *err, size_t errlen)
{
    char buf[4096];
    size_t n = 0;
    int rc;
    if (o && o->key_src == KT_AUDIT_KEY_ENV) {
        const char *v = env.get(env.ud, o->key_ref);
        if (!v) {
            snprintf(err, errlen, "audit-logger digest_key_ref: variable %s is not set", o->key_ref);
            return KT_EINVAL;
        }
        rc = key_from_bytes(a, v, strlen(v), err, errlen);
    } else if (o && o->key_src == KT_AUDIT_KEY_FILE) {
        if (read_small(o->key_ref, buf, sizeof buf, &n)) {
            snprintf(err, errlen, "audit-logger digest_key_ref: cannot read %s", o->key_ref);
            return KT_EINVAL;
        }
        rc = key_from_bytes(a, buf, n, err, errlen);
        memset(buf, 0, sizeof buf);
    } else if (a->dir) {
        rc = key_from_dir(a, err, errlen);
    } else {
        rc = kt_tls_random(a->rng, a->key, sizeof a->key) ? KT_EIO : KT_OK;
        if (!rc) KT_WARN("audit_key", "no gateway.audit_dir or digest_key_ref: audit digests use a "
                         "key of this process only");
    }
    if (rc) return rc;
    unsigned char id[32];
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_sha256(a->key, sizeof a->key, id, 0);
#else
    mbedtls_sha256_ret(a->key, sizeof a->key, id, 0);
#endif
    for (int i = 0; i < 8; i++) snprintf(a->key_id + 2 * i, 3, "%02x", id[i]);
    return KT_OK;
}

/* ---- restart: the chain goes on from the newest file's last record -------------------------- */

static int newest_file(const char *dir, char name[64])
{
    DIR *d = opendir(dir);
    if (!d) return KT_EIO;
    name[0] = '\0';
    struct dirent *e;
    while ((e = readdir(d)))
        if (strlen(e->d_name) == 22 && !strncmp(e->d_name, "audit-", 6) &&
            !strcmp(e->d_name + 16, ".jsonl") && strcmp(e->d_name, name) > 0)
            memcpy(name, e->d_name, 23);   /* 22 characters and the NUL */
    closedir(d);
    return KT_OK;
}

/* Reads the last complete line of `path`; a torn tail (a crash mid-append) is cut off. */
static int resume(kt_audit *a, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return KT_OK;
    struct stat st;
    off_t size = fstat(fd, &st) == 0 ? st.st_size : 0;
    size_t want = (size_t)KT_MIN((off_t)KT_AUDIT_LINE_MAX + 1, size);
    char *buf = kt_malloc(want + 1);
    ssize_t r = buf && want ? pread(fd, buf, want, size - (off_t)want) : 0;
    int rc = KT_OK;
    if (buf && r == (ssize_t)want && want) {
        size_t end = want;
        while (end && buf[end - 1] != '\n') end--;
        if (end < want) {
            KT_WARN("audit_torn", "%s: cut a torn last record of %zu bytes", path, want - end);
            if (ftruncate(fd, size - (off_t)(want - end))) rc = KT_EIO;
        }
        size_t start = end ? end - 1 : 0;
        while (start && buf[start - 1] != '\n') start--;
        if (end && kt_audit_check_line(buf + start, end - 1 - start, &a->link) != KT_AUDIT_OK) {
            snprintf(err, errlen, "audit: the last record of %s does not verify; run kt audit "
                     "verify on %s", path, a->dir);
            rc = KT_EINVAL;
        }
    }
    free(buf);
    close(fd);
    return rc;
}

/* ---- the disk job (threadpool) ------------------------------------------------------------- */

static void prune(const char *dir, uint64_t days, int64_t today)
{
    char oldest[64];
    day_name(today - (int64_t)days, oldest);   /* files named before this one go */
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strlen(e->d_name) != 22 || strncmp(e->d_name, "audit-", 6) ||
            strcmp(e->d_name + 16, ".jsonl") || strcmp(e->d_name, oldest) >= 0)
            continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static void job_run(uv_work_t *w)
{
    kt_audit *a = w->data;
    int64_t today = utc_day();
    a->job_err = 0;
    if (a->job.len) {
        char name[64], path[1200];
        day_name(today, name);
        snprintf(path, sizeof path, "%s/%s", a->dir, name);
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) a->job_err = errno;
        size_t off = 0;
        while (fd >= 0 && off < a->job.len && !a->job_err) {
            ssize_t r = write(fd, a->job.p + off, a->job.len - off);
            if (r < 0 && errno != EINTR) a->job_err = errno;
            else if (r > 0) off += (size_t)r;
        }
        if (fd >= 0 && !a->job_err && fdatasync(fd)) a->job_err = errno;
        if (fd >= 0) close(fd);
    }
    if (a->pruned_day != today && a->job_retention) {
        prune(a->dir, a->job_retention, today);
        a->pruned_day = today;
    }
}

static void kick(kt_audit *a);

static void job_done(uv_work_t *w, int status)
{
    kt_audit *a = w->data;
    a->busy = false;
    if (status || a->job_err) {
        a->failed += a->job_n;
        KT_ERROR("audit_write", "cannot append %llu audit records: %s",
                 (unsigned long long)a->job_n, strerror(a->job_err ? a->job_err : EIO));
    } else {
        a->written += a->job_n;
    }
    kt_buf_reset(&a->job);
    a->job_n = 0;
    kick(a);
}

static void kick(kt_audit *a)
{
    if (a->busy || !a->dir || (!a->pending.len && a->pruned_day == utc_day())) return;
    kt_buf t = a->job;
    a->job = a->pending;
    a->pending = t;
    a->job_n = a->pending_n;
    a->pending_n = 0;
    a->job_retention = a->retention_days;
    a->work.data = a;
    a->busy = true;
    if (uv_queue_work(a->loop, &a->work, job_run, job_done)) {
        a->busy = false;
        a->failed += a->job_n;
        kt_buf_reset(&a->job);
    }
}

/* ---- records ------------------------------------------------------------------------------- */

static int hex_field(kt_buf *b, const char *name, const uint8_t *d)
{
    if (!d) return kt_buf_printf(b, ",\"%s\":null", name);
    int rc = kt_buf_printf(b, ",\"%s\":\"hmac-sha256:", name);
    for (int i = 0; i < KT_AUDIT_KEY_BYTES && !rc; i++) rc = kt_buf_printf(b, "%02x", d[i]);
    if (!rc) rc = kt_buf_append(b, "\"", 1);
    return rc;
}

static int str_field(kt_buf *b, const char *name, const char *v)
{
    int rc = kt_buf_printf(b, ",\"%s\":", name);
    if (!rc) rc = v ? kt_buf_json_str(b, v, strlen(v)) : kt_buf_puts(b, "null");
    return rc;
}

static int fields(kt_audit *a, const kt_audit_info *in, kt_buf *b)
{
    char id[37], ts[64];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t s = tv.tv_sec;
    gmtime_r(&s, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
    if (kt_uuid4(a->rng, id)) snprintf(id, sizeof id, "00000000-0000-4000-8000-000000000000");
    int rc = kt_buf_printf(b, "\"event_type\":\"audit\",\"id\":\"%s\",\"timestamp\":\"%s\"", id, ts);
    if (!rc) rc = str_field(b, "kind", in->kind);
    if (!rc) rc = str_field(b, "source", in->source && *in->source ? in->source : NULL);
    if (!rc && in->endpoint) rc = str_field(b, "endpoint", in->endpoint);
    if (!rc && in->method) rc = str_field(b, "method", in->method);
    if (!rc) rc = kt_buf_printf(b, ",\"status\":%d", in->status);
    if (!rc) rc = str_field(b, "config_version", in->config_version);
    if (!rc) rc = hex_field(b, "input_digest", in->input_digest);
    if (!rc) rc = hex_field(b, "output_digest", in->output_digest);
    if (!rc) rc = str_field(b, "digest_key_id", a->key_id);
    if (!rc && in->event_json) rc = kt_buf_puts(b, ",\"decision\":");
    if (!rc && in->event_json) rc = kt_buf_append(b, in->event_json, in->event_len);
    return rc;
}

void kt_audit_record(kt_audit *a, const kt_audit_opts *o, const kt_audit_info *info)
{
    if (!a || a->closing) return;
    kt_buf f, line;
    kt_buf_init(&f, KT_AUDIT_LINE_MAX - 256);
    kt_buf_init(&line, KT_AUDIT_LINE_MAX + 1);
    int rc = fields(a, info, &f);
    bool chain = o && o->immutable;   /* without a dir: chained in memory, shipped only */
    bool local = chain && a->dir;
    if (o) a->retention_days = o->retention_days;
    if (!rc && chain) rc = kt_audit_seal(&a->link, f.p, f.len, &line);
    if (!rc && !chain) rc = kt_buf_printf(&line, "{%s}\n", f.p);
    if (!rc && local && a->pending.len + line.len > KT_AUDIT_PENDING_MAX) rc = KT_ELIMIT;
    if (!rc && local) rc = kt_buf_append(&a->pending, line.p, line.len);
    if (rc) {
        a->failed++;
        KT_ERROR("audit_record", "an audit record could not be %s", local ? "queued" : "formatted");
    } else {
        if (local) a->pending_n++;
        kt_events_push(a->ship, line.p, line.len - 1);   /* without the '\n' */
        if (local) kick(a);
    }
    kt_buf_free(&f);
    kt_buf_free(&line);
}

void kt_audit_counts(const kt_audit *a, uint64_t *written, uint64_t *failed)
{
    *written = a ? a->written : 0;
    *failed = a ? a->failed : 0;
}

const uint8_t *kt_audit_key(const kt_audit *a) { return a ? a->key : NULL; }

const kt_audit_opts *kt_audit_opts_of(const kt_config *cfg)
{
    for (size_t i = 0; cfg && i < cfg->nchain; i++)
        if (!strcmp(cfg->chain[i].kind, "audit-logger") && cfg->chain[i].state)
            return cfg->chain[i].state;
    return NULL;
}

int kt_audit_open(uv_loop_t *loop, const char *dir, const kt_audit_opts *opts, kt_env env,
                  kt_tls_ctx *rng, kt_events *ship, kt_audit **out, char *err, size_t errlen)
{
    *out = NULL;
    kt_audit *a = kt_calloc(1, sizeof *a);
    if (!a) return KT_ENOMEM;
    a->loop = loop;
    a->rng = rng;
    a->ship = ship;
    a->retention_days = opts ? opts->retention_days : 90;
    a->pruned_day = -1;
    kt_audit_link_init(&a->link);
    kt_buf_init(&a->pending, KT_AUDIT_PENDING_MAX + KT_AUDIT_LINE_MAX);
    kt_buf_init(&a->job, KT_AUDIT_PENDING_MAX + KT_AUDIT_LINE_MAX);
    int rc = KT_OK;
    if (dir) {
        a->dir = kt_strdup(dir);
        if (!a->dir) rc = KT_ENOMEM;
        if (!rc && mkdir(dir, 0700) && errno != EEXIST) {
            snprintf(err, errlen, "gateway.audit_dir: cannot create %s: %s", dir, strerror(errno));
            rc = KT_EIO;
        }
    }
    if (!rc) rc = load_key(a, opts, env, err, errlen);
    if (!rc && !a->dir && opts && opts->immutable)
        KT_WARN("audit_no_dir", "audit-logger immutable: records are hash-chained and shipped as "
                "events, but no local copy is kept without gateway.audit_dir");
    char name[64];
    if (!rc && a->dir && newest_file(a->dir, name) == KT_OK && name[0]) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", a->dir, name);
        rc = resume(a, path, err, errlen);
        if (!rc && a->link.seq)
            KT_INFO("audit_resume", "audit chain continues after record %llu",
                    (unsigned long long)a->link.seq);
    }
    if (rc) {
        kt_audit_free(a);
        return rc;
    }
    *out = a;
    kick(a);   /* retention */
    return KT_OK;
}

void kt_audit_close(kt_audit *a)
{
    if (!a) return;
    a->closing = true;
    kick(a);
}

void kt_audit_free(kt_audit *a)
{
    if (!a) return;
    memset(a->key, 0, sizeof a->key);
    kt_buf_free(&a->pending);
    kt_buf_free(&a->job);
    free(a->dir);
    free(a);
}
