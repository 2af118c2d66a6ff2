/* Streaming output policies: see kt/policy_stream.h for the contract. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt/detect.h"
#include "kt/json_text.h"
#include "kt/policy_stream.h"

/* Emitted bytes kept as left context: word boundaries and detector labels (kt/detect.h). */
#define KT_STREAM_CONTEXT (KT_DETECT_CONTEXT > 16 ? KT_DETECT_CONTEXT : 16)
#define KT_STREAM_MAX_CANDS 32
#define KT_STREAM_HOLD_MAX (64u * 1024)

enum { K_TEXT = 1, K_REFUSAL = 2, K_ARGS = 3, K_THINKING = 4 };

typedef struct cand {
    uint8_t kind;     /* 0: a whole document string (responses *.done events) */
    uint32_t a, b;
    size_t start, end;
    size_t tool_pos;  /* chat tool_calls array position, for the "index" lookup */
    bool tool;
} cand;

typedef struct tool_index {
    uint32_t choice;
    size_t pos;
    uint32_t index;
} tool_index;

typedef struct ev_scan {
    kt_stream_filter *f;
    const char *data;
    cand c[KT_STREAM_MAX_CANDS];
    size_t nc;
    bool overflow;
    tool_index tidx[KT_STREAM_MAX_CANDS];
    size_t ntidx;
    uint32_t finished[KT_STREAM_MAX_CANDS];   /* chat choices whose finish_reason is set */
    size_t nfinished;
    char type[64];
    int64_t index, output_index, content_index;
    int64_t seq;                /* top-level sequence_number (-1: none) */
    size_t seq_start, seq_end;
} ev_scan;

/* ---- setup ---------------------------------------------------------------------------------- */

int kt_stream_filter_init(kt_stream_filter *f, const kt_config *cfg, kt_api api, kt_decision *d,
                          kt_buf *out);
static int on_event(void *ud, const kt_sse_event *ev);

int kt_stream_filter_init(kt_stream_filter *f, const kt_config *cfg, kt_api api, kt_decision *d,
                          kt_buf *out)
{
    memset(f, 0, sizeof *f);
    f->cfg = cfg;
    f->api = api;
    f->d = d;
    f->out = out;
    kt_sse_init(&f->sse, KT_SSE_DEFAULT_MAX_EVENT, on_event, f);
    kt_buf_init(&f->text, KT_SSE_DEFAULT_MAX_EVENT);
    kt_buf_init(&f->scratch, 4 * KT_SSE_DEFAULT_MAX_EVENT);
    f->seq_last = -1;
    return KT_OK;
}

void kt_stream_filter_free(kt_stream_filter *f)
{
    kt_sse_free(&f->sse);
    for (size_t i = 0; i < f->nkeys; i++) {
        kt_buf_free(&f->keys[i].hold);
        kt_buf_free(&f->keys[i].last);
        kt_buf_free(&f->keys[i].last_event);
    }
    free(f->keys);
    f->keys = NULL;
    f->nkeys = 0;
    kt_findings_free(&f->f);
    kt_buf_free(&f->text);
    kt_buf_free(&f->scratch);
    free(f->map);
}

/* ---- blocking ------------------------------------------------------------------------------- */

static int emit_block(kt_stream_filter *f)
{
    f->blocked = true;
    const kt_decision *d = f->d;
    const char *pname = d->block_policy >= 0 ? d->cfg->chain[d->block_policy].name : "policy";
    const char *label = d->block_policy >= 0
                            ? kt_decision_label(d, (uint16_t)d->block_policy, d->block_label)
                            : "limit";
    char msg[256];
    snprintf(msg, sizeof msg, "the response was blocked by policy '%s' (%s)", pname, label);
    kt_buf *o = &f->scratch;
    kt_buf_reset(o);
    int rc;
    if (f->api == KT_API_MESSAGES) {
        rc = kt_buf_puts(o, "{\"type\":\"error\",\"error\":{\"type\":\"policy_violation\",\"message\":");
        if (!rc) rc = kt_buf_json_str(o, msg, strlen(msg));
        if (!rc) rc = kt_buf_puts(o, "}}");
        if (!rc) rc = kt_sse_write_event(f->out, "error", o->p, o->len);
    } else {
        rc = kt_buf_puts(o, "{\"error\":{\"type\":\"policy_violation\",\"code\":\"output_blocked\",\"message\":");
        if (!rc) rc = kt_buf_json_str(o, msg, strlen(msg));
        if (!rc) rc = kt_buf_puts(o, ",\"policy\":");
        if (!rc) rc = kt_buf_json_str(o, pname, strlen(pname));
        if (!rc) rc = kt_buf_puts(o, "}}");
        if (!rc) rc = kt_sse_write_event(f->out, NULL, o->p, o->len);
    }
    return rc;
}

/* ---- keys ----------------------------------------------------------------------------------- */

/* Room for more keys (doubling, up to KT_STREAM_MAX_KEYS): the first new slot, or NULL. Key
 * pointers do not survive it (none is held across a key_get). */
static kt_stream_key *keys_grow(kt_stream_filter *f)
{
    if (f->nkeys >= KT_STREAM_MAX_KEYS) return NULL;
    uint32_t n = f->nkeys ? KT_MIN(2 * f->nkeys, KT_STREAM_MAX_KEYS) : 1;
    kt_stream_key *k = kt_realloc(f->keys, n * sizeof *k);
    if (!k) return NULL;
    memset(k + f->nkeys, 0, (n - f->nkeys) * sizeof *k);
    f->keys = k;
    uint32_t first = f->nkeys;
    f->nkeys = n;
    return &f->keys[first];
}

static kt_stream_key *key_get(kt_stream_filter *f, uint8_t kind, uint32_t a, uint32_t b,
                              bool create)
{
    kt_stream_key *free_slot = NULL;
    for (size_t i = 0; i < f->nkeys; i++) {
        kt_stream_key *k = &f->keys[i];
        if (k->kind == kind && k->a == a && k->b == b) return k;
        if (!k->kind && !free_slot) free_slot = k;
    }
    if (!create) return NULL;
    if (!free_slot && (free_slot = keys_grow(f)) == NULL) return NULL;
    free_slot->kind = kind;
    free_slot->a = a;
    free_slot->b = b;
    free_slot->ctx = 0;
    if (!free_slot->hold.max) {
        kt_buf_init(&free_slot->hold, KT_STREAM_HOLD_MAX);
        kt_buf_init(&free_slot->last, KT_SSE_DEFAULT_MAX_EVENT);
        kt_buf_init(&free_slot->last_event, 128);
    }
    kt_buf_reset(&free_slot->hold);
    kt_buf_reset(&free_slot->last);
    kt_buf_reset(&free_slot->last_event);
    free_slot->seq_start = free_slot->seq_end = 0;
    return free_slot;
}

static void key_release(kt_stream_key *k)
{
    k->kind = 0;
    kt_buf_reset(&k->hold);
    kt_buf_reset(&k->last);
    k->ctx = 0;
}

/* Scans hold[ctx..) and decides how much can go out now; the rendered (JSON-escaped) text for
 * that part is appended to `out`. Returns 1 when the chain blocked. */
static int key_advance(kt_stream_filter *f, kt_stream_key *k, bool final, kt_buf *out)
{
    const char *t = k->hold.p ? k->hold.p : "";
    size_t len = k->hold.len;
    f->f.n = 0;
    int rc = kt_chain_scan(f->cfg, KT_DIR_OUTPUT, t, len, k->ctx, &f->f, f->d);
    if (rc) return rc;
    size_t n = final ? len : kt_chain_stable(f->cfg, KT_DIR_OUTPUT, t, len, k->ctx);
    for (bool moved = true; moved && !final;) {   /* never cut through a finding */
        moved = false;
        for (size_t i = 0; i < f->f.n; i++)
            if (f->f.v[i].start < n && f->f.v[i].end > n) {
                n = f->f.v[i].start < k->ctx ? k->ctx : f->f.v[i].start;
                moved = true;
            }
    }
    /* What goes out now is decided now, and counted once: held text is scanned again later. */
    kt_chain_note(f->d, &f->f, n, KT_DIR_OUTPUT);
    if (f->d->verdict == KT_ACT_BLOCK) return 1;
    rc = kt_chain_render(f->cfg, t, k->ctx, n, &f->f, true, out);
    if (rc) return rc;
    size_t keep = n < KT_STREAM_CONTEXT ? n : KT_STREAM_CONTEXT;
    kt_buf_consume(&k->hold, n - keep);
    k->ctx = keep;
    return 0;
}

/* Adds to the sorted edits e[0..*n) one that sets the sequence_number at [start, end) to v; num
 * (24 bytes) holds its digits. */
static void add_seq_edit(kt_json_edit *e, size_t *n, size_t start, size_t end, int64_t v, char *num)
{
    int nn = snprintf(num, 24, "%lld", (long long)v);
    size_t at = 0;
    while (at < *n && e[at].start < start) at++;
    memmove(&e[at + 1], &e[at], (*n - at) * sizeof e[0]);
    e[at] = (kt_json_edit){ start, end, num, (size_t)nn };
    (*n)++;
}

/* Sends the held tail of `k` in a copy of its last delta event. */
static int key_flush(kt_stream_filter *f, kt_stream_key *k)
{
    if (!k->kind) return 0;
    int rc = 0;
    if (k->hold.len > k->ctx && k->last.len) {
        kt_buf rendered;
        kt_buf_init(&rendered, 4 * KT_STREAM_HOLD_MAX + 1024);
        rc = key_advance(f, k, true, &rendered);
        if (rc == 0) {
            kt_json_edit e[2] = {
                { k->last_start, k->last_end, rendered.p ? rendered.p : "", rendered.len } };
            size_t ne = 1;
            char num[24];
            if (k->seq_end > k->seq_start) {   /* takes the number of the event it precedes */
                add_seq_edit(e, &ne, k->seq_start, k->seq_end, f->seq_here + f->seq_shift, num);
                f->seq_shift++;
            }
            kt_buf_reset(&f->scratch);
            rc = kt_json_splice(k->last.p, k->last.len, e, ne, &f->scratch);
            if (!rc)
                rc = kt_sse_write_event(f->out, k->last_event.len ? k->last_event.p : NULL,
                                        f->scratch.p, f->scratch.len);
        }
        kt_buf_free(&rendered);
    }
    key_release(k);
    return rc;
}

static int flush_matching(kt_stream_filter *f, int kind, int64_t a, int64_t b)
{
    for (size_t i = 0; i < f->nkeys; i++) {
        kt_stream_key *k = &f->keys[i];
        if (!k->kind) continue;
        if (kind >= 0 && k->kind != kind) continue;
        if (a >= 0 && k->a != (uint32_t)a) continue;
        if (b >= 0 && k->b != (uint32_t)b) continue;
        int rc = key_flush(f, k);
        if (rc) return rc;
    }
    return 0;
}

/* ---- reading an event ----------------------------------------------------------------------- */

static int64_t parse_uint(const char *p, size_t n)
{
    int64_t v = 0;
    if (n == 0 || n > 9) return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static void add_cand(ev_scan *s, uint8_t kind, uint32_t a, uint32_t b, size_t st, size_t en)
{
    if (s->nc == KT_STREAM_MAX_CANDS) {
        s->overflow = true;
        return;
    }
    s->c[s->nc++] = (cand){ kind, a, b, st, en, 0, false };
}

static int scan_value(void *ud, const kt_json_path *p, const kt_json_value *v)
{
    ev_scan *s = ud;
    const char *raw = s->data + v->start;
    size_t rn = v->end - v->start;
    if (v->type == KT_JSON_NUMBER) {
        int64_t num = parse_uint(raw, rn);
        if (kt_json_path_match(p, "index")) s->index = num;
        else if (kt_json_path_match(p, "output_index")) s->output_index = num;
        else if (kt_json_path_match(p, "content_index")) s->content_index = num;
        else if (kt_json_path_match(p, "sequence_number") && num >= 0) {
            s->seq = num;
            s->seq_start = v->start;
            s->seq_end = v->end;
        }
        else if (kt_json_path_match(p, "choices[*].delta.tool_calls[*].index") && num >= 0 &&
                 s->ntidx < KT_STREAM_MAX_CANDS)
            s->tidx[s->ntidx++] = (tool_index){ (uint32_t)p->el[1].index, p->el[4].index,
                                                (uint32_t)num };
        return 0;
    }
    if (v->type != KT_JSON_STRING) return 0;
    if (kt_json_path_match(p, "type")) {
        size_t n = rn < sizeof s->type - 1 ? rn : sizeof s->type - 1;
        memcpy(s->type, raw, n);
        s->type[n] = '\0';
        return 0;
    }
    if (kt_json_path_match(p, "choices[*].finish_reason")) {
        if (s->nfinished < KT_STREAM_MAX_CANDS) s->finished[s->nfinished++] = (uint32_t)p->el[1].index;
        return 0;
    }
    uint32_t ci = p->depth >= 2 && p->el[1].is_index ? (uint32_t)p->el[1].index : 0;
    if (kt_json_path_match(p, "choices[*].delta.content") || kt_json_path_match(p, "choices[*].text"))
        add_cand(s, K_TEXT, ci, 0, v->start, v->end);
    else if (kt_json_path_match(p, "choices[*].delta.refusal"))
        add_cand(s, K_REFUSAL, ci, 0, v->start, v->end);
    else if (kt_json_path_match(p, "choices[*].delta.tool_calls[*].function.arguments")) {
        add_cand(s, K_ARGS, ci, 0, v->start, v->end);
        if (!s->overflow) {
            s->c[s->nc - 1].tool = true;
            s->c[s->nc - 1].tool_pos = p->el[4].index;
        }
    } else if (kt_json_path_match(p, "delta.text") || kt_json_path_match(p, "content_block.text"))
        add_cand(s, K_TEXT, 0, 0, v->start, v->end);            /* Anthropic; a = index later */
    else if (kt_json_path_match(p, "delta.partial_json"))
        add_cand(s, K_ARGS, 0, 0, v->start, v->end);
    else if (kt_json_path_match(p, "delta.thinking"))
        add_cand(s, K_THINKING, 0, 0, v->start, v->end);
    else if (kt_json_path_match(p, "delta"))
        add_cand(s, K_TEXT, 0, 0, v->start, v->end);            /* Responses API; kind by type */
    else if (kt_json_path_match(p, "text") || kt_json_path_match(p, "arguments") ||
             kt_json_path_match(p, "part.text") || kt_json_path_match(p, "item.content[*].text") ||
             kt_json_path_match(p, "item.arguments") ||
             kt_json_path_match(p, "response.output[*].content[*].text") ||
             kt_json_path_match(p, "response.output[*].arguments") ||
             kt_json_path_match(p, "message.content[*].text"))
        add_cand(s, 0, 0, 0, v->start, v->end);                  /* a whole text, scanned as is */
    return 0;
}

/* Fills in keys that depend on fields seen anywhere in the event. */
static void resolve_keys(ev_scan *s, kt_api api)
{
    for (size_t i = 0; i < s->nc; i++) {
        cand *c = &s->c[i];
        if (c->tool) {
            c->b = (uint32_t)c->tool_pos;
            for (size_t k = 0; k < s->ntidx; k++)
                if (s->tidx[k].choice == c->a && s->tidx[k].pos == c->tool_pos) c->b = s->tidx[k].index;
            continue;
        }
        if (!c->kind) continue;
        if (api == KT_API_MESSAGES) {
            c->a = s->index < 0 ? 0 : (uint32_t)s->index;
        } else if (api == KT_API_RESPONSES) {
            c->a = s->output_index < 0 ? 0 : (uint32_t)s->output_index;
            c->b = s->content_index < 0 ? 0 : (uint32_t)s->content_index;
            if (strstr(s->type, "function_call_arguments")) c->kind = K_ARGS;
            else if (strstr(s->type, "refusal")) c->kind = K_REFUSAL;
            else if (strstr(s->type, "reasoning")) c->kind = K_THINKING;
        }
    }
}

/* ---- ends of texts -------------------------------------------------------------------------- */

static bool cand_is_final(const ev_scan *s, const cand *c)
{
    for (size_t i = 0; i < s->nfinished; i++)
        if (s->finished[i] == c->a) return true;
    return false;
}

/* Flushes, before this event goes out, every key this event ends. */
static int flush_ended(kt_stream_filter *f, const ev_scan *s, bool done_marker)
{
    if (done_marker) return flush_matching(f, -1, -1, -1);
    const char *t = s->type;
    if (f->api == KT_API_MESSAGES) {
        if (strcmp(t, "content_block_stop") == 0) return flush_matching(f, -1, s->index, -1);
        if (strcmp(t, "message_stop") == 0 || strcmp(t, "message_delta") == 0)
            return flush_matching(f, -1, -1, -1);
        return 0;
    }
    if (f->api == KT_API_RESPONSES) {
        size_t n = strlen(t);
        if (n > 5 && strcmp(t + n - 5, ".done") == 0)
            return flush_matching(f, -1, s->output_index, strstr(t, "function_call") ? -1 : s->content_index);
        if (strcmp(t, "response.completed") == 0 || strcmp(t, "response.failed") == 0 ||
            strcmp(t, "response.incomplete") == 0)
            return flush_matching(f, -1, -1, -1);
        return 0;
    }
    for (size_t i = 0; i < s->nfinished; i++) {
        /* Keys of a finishing choice that get no text in this very event. */
        for (size_t k = 0; k < f->nkeys; k++) {
            kt_stream_key *key = &f->keys[k];
            if (!key->kind || key->a != s->finished[i]) continue;
            bool has_cand = false;
            for (size_t c = 0; c < s->nc; c++)
                if (s->c[c].kind == key->kind && s->c[c].a == key->a && s->c[c].b == key->b)
                    has_cand = true;
            if (!has_cand) {
                int rc = key_flush(f, key);
                if (rc) return rc;
            }
        }
    }
    return 0;
}

/* ---- one event ------------------------------------------------------------------------------ */

static int process_cand(kt_stream_filter *f, const ev_scan *s, const cand *c, kt_buf *reps,
                        kt_json_edit *edit)
{
    size_t need = c->end - c->start + 1;
    if (need > f->map_cap) {
        uint32_t *nm = kt_realloc(f->map, need * sizeof *nm);
        if (!nm) return KT_ENOMEM;
        f->map = nm;
        f->map_cap = need;
    }
    int rc = kt_json_str_decode(s->data + c->start, c->end - c->start, &f->text, f->map, f->map_cap);
    if (rc) return rc;
    size_t off = reps->len;
    if (!c->kind) {   /* a whole text: scan it at once */
        f->f.n = 0;
        rc = kt_chain_scan(f->cfg, KT_DIR_OUTPUT, f->text.p, f->text.len, 0, &f->f, f->d);
        if (rc) return rc;
        kt_chain_note(f->d, &f->f, f->text.len, KT_DIR_OUTPUT);
        if (f->d->verdict == KT_ACT_BLOCK) return 1;
        rc = kt_chain_render(f->cfg, f->text.p, 0, f->text.len, &f->f, true, reps);
    } else {
        kt_stream_key *k = key_get(f, c->kind, c->a, c->b, true);
        if (!k) return KT_ELIMIT;
        rc = kt_buf_append(&k->hold, f->text.p, f->text.len);
        if (rc) return rc;
        rc = key_advance(f, k, cand_is_final(s, c), reps);
        if (rc) return rc;
        if (cand_is_final(s, c)) key_release(k);
    }
    *edit = (kt_json_edit){ c->start, c->end, (const char *)(uintptr_t)off, reps->len - off };
    return rc;
}

/* Keeps this event as the carrier of key i's future tail: a copy of the data in which every
 * other delta string is emptied, so that a flush never repeats another key's text. */
static int remember(kt_stream_filter *f, const ev_scan *s, size_t i, const kt_str *evname)
{
    const cand *c = &s->c[i];
    if (!c->kind) return 0;
    kt_stream_key *k = key_get(f, c->kind, c->a, c->b, false);
    if (!k) return 0;   /* finished in this event */
    kt_json_edit others[KT_STREAM_MAX_CANDS];
    size_t n = 0, shift = 0, seq_shift = 0;
    for (size_t j = 0; j < s->nc; j++) {
        if (j == i) continue;
        others[n++] = (kt_json_edit){ s->c[j].start, s->c[j].end, "", 0 };
        if (s->c[j].end <= c->start) shift += s->c[j].end - s->c[j].start;
        if (s->c[j].end <= s->seq_start) seq_shift += s->c[j].end - s->c[j].start;
    }
    k->seq_start = k->seq_end = 0;
    if (s->seq >= 0) {
        k->seq_start = s->seq_start - seq_shift;
        k->seq_end = s->seq_end - seq_shift;
    }
    kt_buf_reset(&k->last);
    kt_buf_reset(&k->last_event);
    int rc = kt_json_splice(s->data, strlen(s->data), others, n, &k->last);
    if (!rc && evname->n && !(evname->n == 7 && memcmp(evname->p, "message", 7) == 0))
        rc = kt_buf_append(&k->last_event, evname->p, evname->n);
    k->last_start = c->start - shift;
    k->last_end = c->end - shift;
    return rc;
}

static int process_event(kt_stream_filter *f, const kt_sse_event *ev)
{
    if (!ev->dispatch) return kt_buf_append(f->out, ev->raw.p, ev->raw.n);
    bool done_marker = ev->data.n >= 6 && memcmp(ev->data.p, "[DONE]", 6) == 0;
    /* The data as a NUL-terminated copy: the scanner reports offsets into it. */
    kt_buf data;
    kt_buf_init(&data, KT_SSE_DEFAULT_MAX_EVENT);
    int rc = kt_buf_append(&data, ev->data.p, ev->data.n);
    ev_scan s;
    memset(&s, 0, sizeof s);
    s.f = f;
    s.data = data.p ? data.p : "";
    s.index = s.output_index = s.content_index = s.seq = -1;
    if (!rc && !done_marker) {
        int w = kt_json_scan(s.data, data.len, NULL, scan_value, &s);
        if (w == KT_EPARSE && ev->data.n) w = KT_OK;   /* not JSON: no text to check */
        if (w < 0) rc = w;
        if (s.overflow) rc = KT_ELIMIT;
    }
    if (!rc) resolve_keys(&s, f->api);
    f->seq_here = s.seq >= 0 ? s.seq : f->seq_last + 1;
    if (!rc) rc = flush_ended(f, &s, done_marker);
    kt_json_edit edits[KT_STREAM_MAX_CANDS + 1];
    kt_buf reps;
    kt_buf_init(&reps, 4 * KT_SSE_DEFAULT_MAX_EVENT);
    for (size_t i = 0; i < s.nc && !rc; i++) rc = process_cand(f, &s, &s.c[i], &reps, &edits[i]);
    for (size_t i = 0; i < s.nc && !rc; i++) rc = remember(f, &s, i, &ev->event);
    bool renumber = s.seq >= 0 && f->seq_shift > 0;
    if (s.seq >= 0) f->seq_last = s.seq;
    if (rc == 1 || (rc == 0 && f->d->verdict == KT_ACT_BLOCK)) {
        rc = emit_block(f);
    } else if (rc == 0 && s.nc == 0 && !renumber) {
        rc = kt_buf_append(f->out, ev->raw.p, ev->raw.n);
    } else if (rc == 0) {
        for (size_t i = 0; i < s.nc; i++)
            edits[i].rep = reps.p ? reps.p + (uintptr_t)edits[i].rep : "";
        size_t ne = s.nc;
        char num[24];
        if (renumber)   /* moved up past the copies inserted before it */
            add_seq_edit(edits, &ne, s.seq_start, s.seq_end, s.seq + f->seq_shift, num);
        kt_buf_reset(&f->scratch);
        rc = kt_json_splice(s.data, data.len, edits, ne, &f->scratch);
        bool named = ev->event.n && !(ev->event.n == 7 && memcmp(ev->event.p, "message", 7) == 0);
        char name[128] = "";
        if (named) snprintf(name, sizeof name, "%.*s", (int)ev->event.n, ev->event.p);
        if (!rc) rc = kt_sse_write_event(f->out, named ? name : NULL, f->scratch.p, f->scratch.len);
    }
    kt_buf_free(&reps);
    kt_buf_free(&data);
    return rc;
}

static int on_event(void *ud, const kt_sse_event *ev)
{
    kt_stream_filter *f = ud;
    if (f->blocked) return 0;
    int rc = process_event(f, ev);
    if (rc < 0) {
        /* Cannot check this event (too large, too many keys): fail closed. */
        kt_finding blk = { 0, 0, 0, 0, KT_ACT_BLOCK, 0 };
        if (f->d->npolicies) kt_decision_note(f->d, &blk, KT_DIR_OUTPUT);
        f->err = rc;
        emit_block(f);
    }
    return 0;
}

int kt_stream_filter_feed(kt_stream_filter *f, const char *data, size_t len)
{
    if (f->blocked) return KT_OK;
    int rc = kt_sse_feed(&f->sse, data, len);
    if (rc && !f->blocked) {   /* an event larger than the cap */
        kt_finding blk = { 0, 0, 0, 0, KT_ACT_BLOCK, 0 };
        if (f->d->npolicies) kt_decision_note(f->d, &blk, KT_DIR_OUTPUT);
        emit_block(f);
    }
    return KT_OK;
}

int kt_stream_filter_finish(kt_stream_filter *f)
{
    if (f->finished) return KT_OK;
    f->finished = true;
    if (f->blocked) return KT_OK;
    kt_sse_finish(&f->sse);
    if (f->blocked) return KT_OK;
    f->seq_here = f->seq_last + 1;
    int rc = flush_matching(f, -1, -1, -1);
    if (rc == 1 || f->d->verdict == KT_ACT_BLOCK) return emit_block(f);
    return rc;
}
