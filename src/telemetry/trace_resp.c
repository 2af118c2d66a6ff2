/* The response facts a span reports (gen_ai.response.model, gen_ai.response.finish_reasons),
 * read from the response bytes as they pass, whatever the split: each chunk is scanned for
 * matches that lie wholly inside it, and the seam with the previous chunk's last bytes for the
 * matches that cross it. Values are copied only when they are plain, bounded strings. */
#include <string.h>

#include "kt/trace.h"

#define KT__SPACES_MAX 8

typedef enum { KEY_MODEL, KEY_FINISH, KEY_STOP, KEYS } key_id;

static const struct {
    const char *s;
    size_t n;
} keys[KEYS] = { { "\"model\"", 7 }, { "\"finish_reason\"", 15 }, { "\"stop_reason\"", 13 } };

/* At p[0..n) a key ("model" ...), ':' and a string: the value's bounds, or false. */
static bool match_at(const char *p, size_t n, key_id *which, size_t *vs, size_t *ve)
{
    for (int k = 0; k < KEYS; k++) {
        size_t kl = keys[k].n, i = kl;
        if (n < kl || memcmp(p, keys[k].s, kl) != 0) continue;
        size_t sp = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\t') && sp++ < KT__SPACES_MAX) i++;
        if (i >= n || p[i++] != ':') return false;
        sp = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\t') && sp++ < KT__SPACES_MAX) i++;
        if (i >= n || p[i++] != '"') return false;
        size_t cap = k == KEY_MODEL ? KT_RESP_MODEL_MAX : KT_RESP_REASON_MAX;
        size_t start = i;
        while (i < n && p[i] != '"' && p[i] != '\\' && (unsigned char)p[i] >= 0x20 &&
               i - start < cap)
            i++;
        if (i >= n || p[i] != '"' || i == start) return false;
        *which = (key_id)k;
        *vs = start;
        *ve = i;
        return true;
    }
    return false;
}

static void take(kt_resp_sniff *s, key_id k, const char *v, size_t n)
{
    if (k == KEY_MODEL) {
        if (s->model[0] || n >= KT_RESP_MODEL_MAX) return;
        memcpy(s->model, v, n);
        s->model[n] = '\0';
        return;
    }
    if (n >= KT_RESP_REASON_MAX) return;
    for (int i = 0; i < s->nreasons; i++)
        if (strlen(s->reasons[i]) == n && memcmp(s->reasons[i], v, n) == 0) return;
    if (s->nreasons == KT_RESP_REASONS) return;
    memcpy(s->reasons[s->nreasons], v, n);
    s->reasons[s->nreasons++][n] = '\0';
}

/* Matches starting in p[from..to) that end within p[0..n) and, when `past` is set, end at or
 * after `past` (the seam: what the previous scans could not see whole). `prev` is the byte
 * before p[0] (0 when none), for the escape check. */
static void scan(kt_resp_sniff *s, const char *p, size_t n, size_t from, size_t to, size_t past,
                 char prev)
{
    for (size_t i = from; i < to; i++) {
        const char *q = memchr(p + i, '"', to - i);
        if (!q) return;
        i = (size_t)(q - p);
        char before = i ? p[i - 1] : prev;
        key_id k;
        size_t vs, ve;
        if (before == '\\' || !match_at(p + i, n - i, &k, &vs, &ve)) continue;
        if (i + ve + 1 <= past) continue;   /* wholly inside the carry: seen already */
        take(s, k, p + i + vs, ve - vs);
    }
}

void kt_resp_sniff_feed(kt_resp_sniff *s, const char *p, size_t n)
{
    if (!n) return;
    if (s->clen) {   /* the seam: carry + the first bytes of this chunk */
        char w[2 * KT_RESP_CARRY];
        size_t take_n = n < KT_RESP_CARRY ? n : KT_RESP_CARRY;
        memcpy(w, s->carry, s->clen);
        memcpy(w + s->clen, p, take_n);
        scan(s, w, s->clen + take_n, 0, s->clen, s->clen, 0);
    }
    scan(s, p, n, 0, n, 0, s->clen ? s->carry[s->clen - 1] : 0);
    if (n >= KT_RESP_CARRY) {
        memcpy(s->carry, p + n - KT_RESP_CARRY, KT_RESP_CARRY);
        s->clen = KT_RESP_CARRY;
        return;
    }
    size_t keep = s->clen + n > KT_RESP_CARRY ? KT_RESP_CARRY - n : s->clen;
    memmove(s->carry, s->carry + s->clen - keep, keep);
    memcpy(s->carry + keep, p, n);
    s->clen = keep + n;
}
