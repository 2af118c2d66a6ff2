/* The audit hash chain: sealing a record line (its SHA-256 over every byte before "hash", the
 * previous line's hash inside it) and checking lines, files and directories of daily files in
 * order, reporting the first broken link. The parser is strict and bounded: a line is read from
 * its fixed prefix and fixed suffix only; the fields between are covered by the hash. */
#include <dirent.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kt/audit.h"

#define KT__PREFIX "{\"seq\":"
#define KT__PREV ",\"prev\":\""
#define KT__SUFFIX_LEN (sizeof "\"hash\":\"" - 1 + KT_AUDIT_HASH_HEX + 2)   /* "hash":"…"} */

void kt_audit_link_init(kt_audit_link *l)
{
    l->seq = 0;
    memset(l->hash, '0', KT_AUDIT_HASH_HEX);
    l->hash[KT_AUDIT_HASH_HEX] = '\0';
}

static void sha256_hex(const char *p, size_t n, char out[KT_AUDIT_HASH_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char h[32];
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_sha256((const unsigned char *)p, n, h, 0);
#else
    mbedtls_sha256_ret((const unsigned char *)p, n, h, 0);
#endif
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[KT_AUDIT_HASH_HEX] = '\0';
}

int kt_audit_seal(kt_audit_link *prev, const char *fields, size_t n, kt_buf *out)
{
    size_t start = out->len;
    uint64_t seq = prev->seq + 1;
    if (n + 200 > KT_AUDIT_LINE_MAX) return KT_ELIMIT;
    int rc = kt_buf_printf(out, KT__PREFIX "%llu" KT__PREV "%s\",", (unsigned long long)seq,
                           prev->hash);
    if (!rc) rc = kt_buf_append(out, fields, n);
    if (!rc) rc = kt_buf_append(out, ",", 1);
    char h[KT_AUDIT_HASH_HEX + 1];
    if (!rc) sha256_hex(out->p + start, out->len - start, h);
    if (!rc) rc = kt_buf_printf(out, "\"hash\":\"%s\"}\n", h);
    if (rc) {
        out->len = start;
        if (out->p) out->p[start] = '\0';
        return rc;
    }
    prev->seq = seq;
    memcpy(prev->hash, h, sizeof h);
    return KT_OK;
}

static bool is_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return false;
    return true;
}

/* seq and prev from the line's fixed prefix; false when it is not one. */
static bool read_head(const char *line, size_t n, uint64_t *seq, const char **prev, size_t *body)
{
    size_t pl = sizeof KT__PREFIX - 1, i = pl;
    if (n < pl || memcmp(line, KT__PREFIX, pl) != 0) return false;
    uint64_t v = 0;
    while (i < n && line[i] >= '0' && line[i] <= '9' && i - pl < 19) v = v * 10 + (uint64_t)(line[i++] - '0');
    if (i == pl || (line[pl] == '0')) return false;   /* digits, no leading zero */
    size_t vl = sizeof KT__PREV - 1;
    if (n - i < vl + KT_AUDIT_HASH_HEX + 2 || memcmp(line + i, KT__PREV, vl) != 0) return false;
    *prev = line + i + vl;
    if (!is_hex(*prev, KT_AUDIT_HASH_HEX) || memcmp(*prev + KT_AUDIT_HASH_HEX, "\",", 2) != 0)
        return false;
    *seq = v;
    *body = i + vl + KT_AUDIT_HASH_HEX + 2;
    return true;
}

kt_audit_verdict kt_audit_check_line(const char *line, size_t n, kt_audit_link *link)
{
    uint64_t seq;
    const char *prev;
    size_t body;
    if (n > KT_AUDIT_LINE_MAX || !read_head(line, n, &seq, &prev, &body)) return KT_AUDIT_MALFORMED;
    if (n < body + KT__SUFFIX_LEN) return KT_AUDIT_MALFORMED;
    const char *suf = line + n - KT__SUFFIX_LEN;
    if (memcmp(suf, "\"hash\":\"", 8) != 0 || memcmp(line + n - 2, "\"}", 2) != 0 ||
        !is_hex(suf + 8, KT_AUDIT_HASH_HEX) || suf[-1] != ',')
        return KT_AUDIT_MALFORMED;
    char h[KT_AUDIT_HASH_HEX + 1];
    sha256_hex(line, (size_t)(suf - line), h);
    if (memcmp(h, suf + 8, KT_AUDIT_HASH_HEX) != 0) return KT_AUDIT_BAD_HASH;
    if (link->seq) {
        if (memcmp(prev, link->hash, KT_AUDIT_HASH_HEX) != 0) return KT_AUDIT_BAD_PREV;
        if (seq != link->seq + 1) return KT_AUDIT_BAD_SEQ;
    }
    link->seq = seq;
    memcpy(link->hash, h, sizeof h);
    return KT_AUDIT_OK;
}

const char *kt_audit_verdict_name(kt_audit_verdict v)
{
    switch (v) {
    case KT_AUDIT_OK: return "ok";
    case KT_AUDIT_MALFORMED: return "not an audit record";
    case KT_AUDIT_BAD_HASH: return "record changed (its hash does not match)";
    case KT_AUDIT_BAD_PREV: return "chain broken (prev is not the previous record's hash: a record "
                                   "was deleted, reordered or inserted)";
    case KT_AUDIT_BAD_SEQ: return "sequence broken (seq does not follow the previous record)";
    }
    return "?";
}

bool kt_audit_verify_text(const char *name, const char *p, size_t n, kt_audit_link *link,
                          kt_audit_report *rep)
{
    size_t off = 0;
    uint64_t line = 0;
    while (off < n) {
        const char *nl = memchr(p + off, '\n', n - off);
        size_t len = nl ? (size_t)(nl - (p + off)) : n - off;
        line++;
        uint64_t before = link->seq;
        kt_audit_verdict v = kt_audit_check_line(p + off, len, link);
        if (v != KT_AUDIT_OK || !nl) {
            rep->verdict = v != KT_AUDIT_OK ? v : KT_AUDIT_MALFORMED;   /* no '\n': torn */
            snprintf(rep->file, sizeof rep->file, "%s", name);
            rep->line = line;
            rep->seq = v == KT_AUDIT_OK ? link->seq : before + 1;
            return false;
        }
        if (!rep->records++) rep->first_seq = link->seq;
        off += len + 1;
    }
    return true;
}

static int read_file(const char *path, kt_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) return KT_EIO;
    char tmp[65536];
    size_t r;
    int rc = KT_OK;
    while (!rc && (r = fread(tmp, 1, sizeof tmp, f)) > 0) rc = kt_buf_append(b, tmp, r);
    if (ferror(f)) rc = KT_EIO;
    fclose(f);
    return rc;
}

static bool daily_name(const char *n)
{
    /* audit-YYYY-MM-DD.jsonl */
    return strlen(n) == 22 && strncmp(n, "audit-", 6) == 0 && strcmp(n + 16, ".jsonl") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The daily files of `dir` in date order (the name sorts by date). */
static int list_dir(const char *dir, char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) return KT_EIO;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *e;
    int rc = KT_OK;
    while (!rc && (e = readdir(d))) {
        if (!daily_name(e->d_name)) continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv) rc = KT_ENOMEM;
            else v = nv;
        }
        if (!rc && !(v[cnt++] = kt_strdup(e->d_name))) rc = KT_ENOMEM;
    }
    closedir(d);
    if (cnt) qsort(v, cnt, sizeof *v, cmp_names);
    *out = v;
    *n = cnt;
    return rc;
}

static int verify_one(const char *path, const char *shown, kt_audit_link *link,
                      kt_audit_report *rep)
{
    kt_buf b;
    kt_buf_init(&b, (size_t)1 << 34);
    int rc = read_file(path, &b);
    if (rc) {
        kt_buf_free(&b);
        return -1;
    }
    bool ok = kt_audit_verify_text(shown, b.p ? b.p : "", b.len, link, rep);
    kt_buf_free(&b);
    return ok ? 0 : 1;
}

static int verify_dir(const char *path, kt_audit_link *link, kt_audit_report *rep, FILE *err)
{
    char **names = NULL;
    size_t n = 0;
    int rc = list_dir(path, &names, &n) ? -1 : 0;
    if (rc) fprintf(err, "kt audit verify: cannot read directory %s\n", path);
    for (size_t i = 0; i < n && !rc; i++) {
        char full[1400];
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        rc = verify_one(full, full, link, rep);
        if (rc < 0) fprintf(err, "kt audit verify: cannot read %s\n", full);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int kt_audit_verify_path(const char *path, void *out_, void *err_)
{
    FILE *out = out_, *err = err_;
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(err, "kt audit verify: %s: %s\n", path, strerror(errno));
        return 2;
    }
    kt_audit_link link;
    kt_audit_link_init(&link);
    kt_audit_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = S_ISDIR(st.st_mode) ? verify_dir(path, &link, &rep, err)
                                 : verify_one(path, path, &link, &rep);
    if (rc < 0) {
        if (!S_ISDIR(st.st_mode)) fprintf(err, "kt audit verify: cannot read %s\n", path);
        return 2;
    }
    if (rc) {
        fprintf(out, "BROKEN %s:%llu (record seq %llu): %s; %llu records before it verified\n",
                rep.file, (unsigned long long)rep.line, (unsigned long long)rep.seq,
                kt_audit_verdict_name(rep.verdict), (unsigned long long)rep.records);
        return 1;
    }
    fprintf(out, "OK %llu records, seq %llu..%llu, last hash %s\n",
            (unsigned long long)rep.records, (unsigned long long)rep.first_seq,
            (unsigned long long)link.seq, link.hash);
    return 0;
}
