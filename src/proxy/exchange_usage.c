/* Usage for governance when the client did not ask for it. An OpenAI chat stream reports token
 * usage only with `stream_options.include_usage`; a spend or token limit needs it to settle, so
 * kt adds the option to the request and takes out again what the client did not ask for: the
 * final usage chunk (`"choices":[]` with `usage`) and the `"usage":null` member the option adds
 * to every other chunk. Everything else reaches the client byte for byte. Only complete SSE
 * events are rewritten; an event that does not look like a chat chunk passes untouched. */
#include <string.h>

#include "exchange.h"
#include "kt/json_text.h"

#define KT_USAGE_OPTION ",\"stream_options\":{\"include_usage\":true}"
#define KT_STRIP_EVENT_MAX (4u << 20)   /* one SSE event held for rewriting */

static bool holds_usage(const kt_gov_req *r)
{
    for (size_t i = 0; i < r->nholds; i++)
        if (r->holds[i].what != 1) return true;   /* KT_HOLD_REQS needs no usage */
    return false;
}

static bool is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

void kt__usage_prepare(kt_exchange *x)
{
    kt_buf *b = &x->c->in.body;
    if (x->api != KT_API_CHAT || x->facts.stream != 1 || x->facts.include_usage == 1 ||
        x->target->provider != KT_PROVIDER_OPENAI || !x->gov.admitted || !holds_usage(&x->gov) ||
        !b->len || kt_memfind(b->p, b->len, "\"stream_options\"", 16))
        return;
    size_t end = b->len;
    while (end && is_ws(b->p[end - 1])) end--;
    if (!end || b->p[end - 1] != '}') return;
    kt_buf nb;
    kt_buf_init(&nb, (size_t)b->max + sizeof KT_USAGE_OPTION);
    int rc = kt_buf_append(&nb, b->p, end - 1);
    if (!rc) rc = kt_buf_puts(&nb, KT_USAGE_OPTION);
    if (!rc) rc = kt_buf_append(&nb, b->p + end - 1, b->len - (end - 1));
    if (rc) {
        kt_buf_free(&nb);
        return;
    }
    kt_buf_free(b);
    *b = nb;
    x->usage_added = true;
    kt_buf_init(&x->strip_pending, KT_STRIP_EVENT_MAX);
    kt_buf_init(&x->strip_out, KT_STRIP_EVENT_MAX + 4096);
}

/* The member `"usage":null` of an object, with one adjacent comma: [*a, *b) to cut. */
static bool null_member(const char *j, size_t n, const kt_json_value *v, size_t *a, size_t *b)
{
    size_t k = v->start;
    while (k && is_ws(j[k - 1])) k--;
    if (!k || j[k - 1] != ':') return false;
    k--;
    while (k && is_ws(j[k - 1])) k--;
    if (k < 7 || memcmp(j + k - 7, "\"usage\"", 7) != 0) return false;
    size_t ks = k - 7, p = ks;
    while (p && is_ws(j[p - 1])) p--;
    if (p && j[p - 1] == ',') {   /* ,"usage":null */
        *a = p - 1;
        *b = v->end;
        return true;
    }
    size_t q = v->end;   /* first member: "usage":null, */
    while (q < n && is_ws(j[q])) q++;
    if (q < n && j[q] == ',') {
        *a = ks;
        *b = q + 1;
        return true;
    }
    return false;
}

/* Appends one complete event (`ev`, its blank line included), rewritten or dropped. */
static int one_event(kt_buf *out, const char *ev, size_t n)
{
    size_t pre = n >= 6 && memcmp(ev, "data: ", 6) == 0 ? 6 : n >= 5 && !memcmp(ev, "data:", 5) ? 5 : 0;
    size_t je = n;
    while (je > pre && (ev[je - 1] == '\n' || ev[je - 1] == '\r')) je--;
    const char *j = ev + pre;
    size_t jn = je - pre;
    if (!pre || !jn || j[0] != '{' || memchr(j, '\n', jn) || memchr(j, '\r', jn))
        return kt_buf_append(out, ev, n);
    static const char *const keys[] = { "usage", "choices" };
    kt_json_top t;
    if (kt_json_top_begin(&t, keys, 2) || kt_json_top_scan(&t, j, jn))
        return kt_buf_append(out, ev, n);
    const kt_json_value *u = kt_json_top_get(&t, 0), *ch = kt_json_top_get(&t, 1);
    if (u && u->type == KT_JSON_OBJECT && ch && ch->type == KT_JSON_ARRAY) {
        size_t k = ch->start + 1;
        while (k < ch->end - 1 && is_ws(j[k])) k++;
        if (k == ch->end - 1) return KT_OK;   /* the usage chunk the client did not ask for */
    }
    size_t a, b;
    if (u && u->type == KT_JSON_NULL && null_member(j, jn, u, &a, &b)) {
        int rc = kt_buf_append(out, ev, pre + a);
        return rc ? rc : kt_buf_append(out, j + b, n - pre - b);
    }
    return kt_buf_append(out, ev, n);
}

/* The end of the first complete event in p[0..n): just after its blank line, or 0. */
static size_t event_end(const char *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] == '\n' && p[i + 1] == '\n') return i + 2;
        if (i + 3 < n && p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return i + 4;
    }
    return 0;
}

bool kt__usage_strip(kt_exchange *x, const char **data, size_t *len)
{
    kt_buf_reset(&x->strip_out);
    bool end = *data == NULL;
    if (!end && kt_buf_append(&x->strip_pending, *data, *len)) {
        x->usage_added = false;   /* an event too big to hold: the rest passes as it comes */
        kt_buf_append(&x->strip_out, x->strip_pending.p, x->strip_pending.len);
        kt_buf_append(&x->strip_out, *data, *len);
        kt_buf_reset(&x->strip_pending);
        *data = x->strip_out.p;
        *len = x->strip_out.len;
        return *len > 0;
    }
    const char *p = x->strip_pending.p;
    size_t n = x->strip_pending.len, off = 0, e;
    while (off < n && (e = event_end(p + off, n - off)) > 0) {
        (void)one_event(&x->strip_out, p + off, e);   /* out never outgrows what is held */
        off += e;
    }
    if (end && off < n) {   /* a last event without its blank line */
        kt_buf_append(&x->strip_out, p + off, n - off);
        off = n;
    }
    if (off) {
        memmove(x->strip_pending.p, p + off, n - off);
        x->strip_pending.len = n - off;
    }
    *data = x->strip_out.p;
    *len = x->strip_out.len;
    return *len > 0;
}
