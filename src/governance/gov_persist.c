/* Spend on disk (gateway.state_dir/spend.json), so a daily budget does not reset when the pod
 * restarts: read once at start, rewritten after spend changes by a libuv threadpool job (gov.c),
 * to a temporary file that is synced and renamed over the old one, and once more at exit. Only
 * settled spend of the current windows is written; reservations are not (a restarted process has
 * none in flight). The rate limits' theoretical arrival times go along, translated to the wall
 * clock (`tat_reqs_ms`, `tat_tokens_ms`), when they still lie ahead, so a restart does not hand
 * out a fresh burst. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gov_store.h"
#include "kt/log.h"

#define KT_STATE_FILE_MAX (16u << 20)

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    kt_buf b;
    kt_buf_init(&b, KT_STATE_FILE_MAX);
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (kt_buf_append(&b, tmp, n)) {
            kt_buf_free(&b);
            fclose(f);
            return NULL;
        }
    fclose(f);
    if (kt_buf_append(&b, "", 1)) {
        kt_buf_free(&b);
        return NULL;
    }
    *len = b.len - 1;
    return b.p;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e12 ? v->valuedouble : 0;
}

/* A TAT from the file: wall ms -> the rate clock, never more than one minute ahead. */
static int64_t tat_of(const cJSON *e, const char *k, const kt_gov_now *now)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);
    if (!cJSON_IsNumber(v) || v->valuedouble <= (double)now->wall_ms || v->valuedouble > 1e15)
        return 0;
    /* whole ms, as written (the difference is positive, so truncating is flooring) */
    double ahead_ms = (double)(int64_t)(v->valuedouble - (double)now->wall_ms);
    if (ahead_ms < 1) return 0;
    if (ahead_ms > (double)(KT_MINUTE_US / 1000)) ahead_ms = (double)(KT_MINUTE_US / 1000);
    return now->mono_us + (int64_t)(ahead_ms * 1000);
}

int kt__persist_parse(kt_gov_store *s, const char *text, size_t len, const kt_gov_now *now)
{
    int64_t day = now->day, month = now->month;
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *es = root ? cJSON_GetObjectItemCaseSensitive(root, "entries") : NULL;
    if (!cJSON_IsArray(es)) {
        cJSON_Delete(root);
        return KT_EPARSE;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, es) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "key");
        if (!cJSON_IsString(k) || strlen(k->valuestring) >= KT_GOV_KEY_MAX) continue;
        kt_gov_entry *en = kt__store_entry(s, k->valuestring);
        if (!en) break;
        en->day = day;
        en->month = month;
        if ((int64_t)num(e, "day") == day) en->spent_day = num(e, "spent_day");
        if ((int64_t)num(e, "month") == month) en->spent_month = num(e, "spent_month");
        en->tat_reqs = tat_of(e, "tat_reqs_ms", now);
        en->tat_tokens = tat_of(e, "tat_tokens_ms", now);
    }
    cJSON_Delete(root);
    return KT_OK;
}

int kt__persist_load(kt_gov_store *s, const char *dir, const kt_gov_now *now)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/spend.json", dir);
    size_t len = 0;
    errno = 0;
    char *text = read_all(path, &len);
    if (!text) {
        if (errno != ENOENT) KT_WARN("state_unreadable", "%s cannot be read; spend starts at 0", path);
        return KT_OK;
    }
    int rc = kt__persist_parse(s, text, len, now);
    free(text);
    if (rc) KT_WARN("state_invalid", "%s is not a kt spend file; spend starts at 0", path);
    return KT_OK;
}

static int json_key(kt_buf *out, const char *s)
{
    int rc = kt_buf_append(out, "\"", 1);
    for (; *s && !rc; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') rc = kt_buf_printf(out, "\\%c", ch);
        else if (ch < 0x20) rc = kt_buf_printf(out, "\\u%04x", ch);
        else rc = kt_buf_append(out, s, 1);
    }
    return rc ? rc : kt_buf_append(out, "\"", 1);
}

bool kt__store_rates_live(const kt_gov_store *s, int64_t mono_us)
{
    for (size_t i = 0; i < KT_GOV_BUCKETS; i++)
        for (const kt_gov_entry *e = s->buckets[i]; e; e = e->next)
            if (e->tat_reqs > mono_us || e->tat_tokens > mono_us) return true;
    return false;
}

static int tat_field(kt_buf *out, const char *name, int64_t tat, const kt_gov_now *now)
{
    if (tat <= now->mono_us) return KT_OK;
    return kt_buf_printf(out, ",\"%s\":%llu", name,
                         (unsigned long long)(now->wall_ms + (uint64_t)(tat - now->mono_us) / 1000));
}

int kt__persist_render(const kt_gov_store *s, kt_buf *out, const kt_gov_now *now)
{
    int rc = kt_buf_puts(out, "{\"version\":1,\"entries\":[");
    bool first = true;
    for (size_t i = 0; i < KT_GOV_BUCKETS && !rc; i++)
        for (const kt_gov_entry *e = s->buckets[i]; e && !rc; e = e->next) {
            bool spend = e->day >= 0 && (e->spent_day > 0 || e->spent_month > 0);
            bool rate = e->tat_reqs > now->mono_us || e->tat_tokens > now->mono_us;
            if (!spend && !rate) continue;
            rc = kt_buf_puts(out, first ? "{\"key\":" : ",{\"key\":");
            first = false;
            if (!rc) rc = json_key(out, e->key);
            if (!rc && spend)
                rc = kt_buf_printf(out, ",\"day\":%lld,\"month\":%lld,\"spent_day\":%.9g,"
                                   "\"spent_month\":%.9g", (long long)e->day,
                                   (long long)e->month, e->spent_day, e->spent_month);
            if (!rc) rc = tat_field(out, "tat_reqs_ms", e->tat_reqs, now);
            if (!rc) rc = tat_field(out, "tat_tokens_ms", e->tat_tokens, now);
            if (!rc) rc = kt_buf_puts(out, "}");
        }
    return rc ? rc : kt_buf_puts(out, "]}\n");
}

int kt__persist_write(const char *dir, const char *data, size_t len)
{
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/spend.json", dir);
    snprintf(tmp, sizeof tmp, "%s/.spend.json.tmp", dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return KT_EIO;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return KT_EIO;
        }
        off += (size_t)w;
    }
    int rc = fsync(fd);
    if (close(fd) || rc || rename(tmp, path)) {
        unlink(tmp);
        return KT_EIO;
    }
    return KT_OK;
}
