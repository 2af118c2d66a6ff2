/* Token usage from response bytes as they pass: find a "usage" key, capture its object (bounded),
 * read the counters. OpenAI: prompt_tokens/completion_tokens; responses API and Anthropic:
 * input_tokens/output_tokens. Nothing is buffered beyond one small window. */
#include <stdlib.h>
#include <string.h>

#include "kt/events.h"

void kt_usage_init(kt_usage_sniff *u)
{
    memset(u, 0, sizeof *u);
    u->input = u->output = -1;
}

/* The counters, in the order of precedence: input_tokens over prompt_tokens, output_tokens over
 * completion_tokens (the responses API and Anthropic name them so). */
static const struct {
    const char *key;   /* with its quotes */
    size_t len;
} kt__counters[4] = {
    { "\"prompt_tokens\"", 15 }, { "\"input_tokens\"", 14 },
    { "\"completion_tokens\"", 19 }, { "\"output_tokens\"", 15 },
};

/* The number after the key at p (past spaces and colons), or -1 when none follows. */
static int64_t number_at(const char *q, const char *end)
{
    while (q < end && (*q == ' ' || *q == ':' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
    if (q >= end || *q < '0' || *q > '9') return -1;
    int64_t v = 0;
    while (q < end && *q >= '0' && *q <= '9' && v < (INT64_MAX / 10 - 10)) v = v * 10 + (*q++ - '0');
    return v;
}

/* One pass over the window for all four counters: each takes the first occurrence of its key
 * that a number follows. A key occurrence starts with a quote, so visiting every quote finds
 * them all; an occurrence without a number hides the next kl - 1 bytes from that key, as a
 * search that resumes after it would (`kt__usage_window_plain`, the four-search form, is the
 * reference the tests compare with). */
void kt__usage_window(const char *w, size_t n, int64_t v[4])
{
    const char *end = w + n, *skip[4] = { w, w, w, w };
    int left = 4;
    for (int k = 0; k < 4; k++) v[k] = -1;
    for (const char *p = w; left && (p = memchr(p, '"', (size_t)(end - p))) != NULL; p++) {
        for (int k = 0; k < 4; k++) {
            size_t kl = kt__counters[k].len;
            if (v[k] >= 0 || p < skip[k] || (size_t)(end - p) < kl ||
                memcmp(p, kt__counters[k].key, kl) != 0)
                continue;
            if ((v[k] = number_at(p + kl, end)) >= 0) left--;
            else skip[k] = p + kl;
        }
    }
}

void kt__usage_window_plain(const char *w, size_t n, int64_t v[4])
{
    const char *end = w + n;
    for (int k = 0; k < 4; k++) {
        size_t kl = kt__counters[k].len;
        const char *p = w;
        v[k] = -1;
        while ((p = memmem(p, (size_t)(end - p), kt__counters[k].key, kl))) {
            if ((v[k] = number_at(p + kl, end)) >= 0) break;
            p += kl;
        }
    }
}

static void parse_window(kt_usage_sniff *u)
{
    int64_t v[4];
    kt__usage_window(u->win, u->wlen, v);
    if (v[0] >= 0) u->input = v[0];
    if (v[1] >= 0) u->input = v[1];
    if (v[2] >= 0) u->output = v[2];
    if (v[3] >= 0) u->output = v[3];
    u->active = false;
    u->wlen = 0;
    u->depth = 0;
    u->in_str = u->esc = false;
}

/* Captures bytes of the usage value; returns how many were consumed. */
static size_t capture(kt_usage_sniff *u, const char *d, size_t n)
{
    size_t i = 0;
    for (; i < n; i++) {
        char ch = d[i];
        if (u->depth == 0) {   /* between the key and the value */
            if (ch == ':' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
            if (ch != '{') {   /* null, or not an object: nothing to read */
                parse_window(u);
                return i;
            }
        }
        if (u->wlen < KT_USAGE_WIN) u->win[u->wlen++] = ch;
        if (u->in_str) {
            if (u->esc) u->esc = false;
            else if (ch == '\\') u->esc = true;
            else if (ch == '"') u->in_str = false;
        } else if (ch == '"') {
            u->in_str = true;
        } else if (ch == '{') {
            u->depth++;
        } else if (ch == '}' && --u->depth == 0) {
            parse_window(u);
            return i + 1;
        }
        if (u->wlen == KT_USAGE_WIN) {   /* bounded: read what we have */
            parse_window(u);
            return i + 1;
        }
    }
    return i;
}

static const char kt__key[] = "\"usage\"";

static void keep_tail(kt_usage_sniff *u, const char *data, size_t len)
{
    const size_t keep = sizeof kt__key - 2;   /* a key split across reads has at most this much
                                                 on the earlier side */
    if (len >= keep) {
        memcpy(u->tail, data + len - keep, keep);
        u->tlen = keep;
        return;
    }
    size_t old = KT_MIN(u->tlen, keep - len);
    memmove(u->tail, u->tail + u->tlen - old, old);
    memcpy(u->tail + old, data, len);
    u->tlen = old + len;
}

void kt_usage_feed(kt_usage_sniff *u, const char *data, size_t len)
{
    const size_t kl = sizeof kt__key - 1;
    const char *orig = data;
    /* A key split across two reads: look at the previous tail joined with this head. */
    if (!u->active && u->tlen && len) {
        char j[16];
        size_t h = KT_MIN(len, kl - 1);
        memcpy(j, u->tail, u->tlen);
        memcpy(j + u->tlen, data, h);
        const char *m = memmem(j, u->tlen + h, kt__key, kl);
        if (m && (size_t)(m - j) < u->tlen && (size_t)(m - j) + kl > u->tlen) {
            u->active = true;
            size_t skip = (size_t)(m - j) + kl - u->tlen;
            data += skip;
            len -= skip;
        }
    }
    size_t off = 0, free_from = 0;   /* bytes before free_from were inside a usage window */
    bool captured = false;
    while (off < len) {
        if (u->active) {
            off += capture(u, data + off, len - off);
            if (!u->active) {
                free_from = off;
                captured = true;
            }
            continue;
        }
        const char *m = kt_memfind(data + off, len - off, kt__key, kl);
        if (!m) break;
        u->active = true;
        off = (size_t)(m - data) + kl;
    }
    /* The tail only ever holds bytes outside usage windows, so a split key is found exactly
     * where one read would have found it. */
    if (u->active || captured || data != orig) u->tlen = 0;
    if (!u->active) keep_tail(u, data + free_from, len - free_from);
}
