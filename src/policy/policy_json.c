/* Policies over JSON bodies: find the strings the model sees or writes, decode them, run the
 * chain, and splice markers into the raw bytes. Nothing else in the body is touched. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kt/json_text.h"
#include "kt/policy.h"

/* Caps and sizes of one walk. */
#define KT__EDITS_FIRST 16                    /* edits allocated at the first redaction; doubles */
#define KT__REPS_MAX (64u * 1024 * 1024)      /* escaped marker bytes of one body: 64 MiB, then
                                               * KT_ELIMIT (markers are short; a body is capped) */
#define KT__TEXT_SLACK 16                     /* a decoded text is never longer than its raw
                                               * span (kt/json_text.h), itself at most len
                                               * bytes: headroom over len */
#define KT__PATHSETS 2                        /* cfg->json_paths: [0] input, [1] output */

static size_t pathset_of(kt_dir dir) { return dir == KT_DIR_INPUT ? 0 : 1; }

/* Every text the model sees: OpenAI chat/completions/embeddings/responses, Anthropic messages.
 * Definitions the model reads whole (tools, legacy functions, structured-output schemas,
 * predictions, earlier tool calls) are taken with ".**": every string at any depth of their JSON
 * schemas (descriptions, enums, titles, defaults, examples). Inside conversation items the text
 * fields are named one by one, so that base64 payloads next to them (images, audio, files,
 * encrypted reasoning) are not read as text. Each field has a case in the request fixtures,
 * test/fixtures/requests/{chat,completions,embeddings,responses,messages}.json (checked by
 * test/unit/test_request_fields.c): adding a field here means adding it there. */
static const kt_json_pat kt__input_paths[] = {
    /* chat (OpenAI) and messages (Anthropic) */
    KT_JSON_PAT("messages[*].content"),
    KT_JSON_PAT("messages[*].content[*].text"),
    KT_JSON_PAT("messages[*].content[*].content"),             /* tool_result (string) */
    KT_JSON_PAT("messages[*].content[*].content[*].text"),     /* tool_result, search_result */
    KT_JSON_PAT_REST("messages[*].content[*].input.**"),       /* tool_use */
    KT_JSON_PAT("messages[*].content[*].refusal"),
    KT_JSON_PAT("messages[*].content[*].thinking"),
    KT_JSON_PAT("messages[*].content[*].source.data"),         /* document, text source */
    KT_JSON_PAT("messages[*].content[*].source.content[*].text"), /* document, content source */
    KT_JSON_PAT("messages[*].content[*].title"),               /* document, search_result */
    KT_JSON_PAT("messages[*].content[*].context"),             /* document */
    KT_JSON_PAT_REST("messages[*].tool_calls.**"),
    KT_JSON_PAT_REST("messages[*].function_call.**"),
    KT_JSON_PAT("messages[*].name"),
    KT_JSON_PAT("messages[*].refusal"),
    /* completions */
    KT_JSON_PAT("prompt"),
    KT_JSON_PAT("prompt[*]"),
    KT_JSON_PAT("suffix"),
    /* embeddings and responses */
    KT_JSON_PAT("input"),
    KT_JSON_PAT("input[*]"),
    KT_JSON_PAT("input[*].content"),
    KT_JSON_PAT("input[*].content[*].text"),
    KT_JSON_PAT("input[*].output"),                            /* *_call_output */
    KT_JSON_PAT("input[*].output[*].text"),
    KT_JSON_PAT("input[*].arguments"),                         /* function_call, mcp_call */
    KT_JSON_PAT("input[*].name"),
    KT_JSON_PAT("input[*].input"),                             /* custom_tool_call */
    KT_JSON_PAT("input[*].summary[*].text"),                   /* reasoning */
    KT_JSON_PAT("instructions"),
    KT_JSON_PAT_REST("prompt.variables.**"),                   /* responses prompt template */
    KT_JSON_PAT_REST("text.format.**"),                        /* responses structured output */
    /* messages (Anthropic) */
    KT_JSON_PAT("system"),
    KT_JSON_PAT("system[*].text"),
    /* definitions, any API */
    KT_JSON_PAT_REST("tools.**"),
    KT_JSON_PAT_REST("functions.**"),
    KT_JSON_PAT_REST("response_format.**"),
    KT_JSON_PAT_REST("prediction.**"),
};

/* Every text the model writes, in non-streaming responses. */
static const kt_json_pat kt__output_paths[] = {
    KT_JSON_PAT("choices[*].message.content"),
    KT_JSON_PAT("choices[*].message.content[*].text"),
    KT_JSON_PAT("choices[*].message.refusal"),
    KT_JSON_PAT("choices[*].message.tool_calls[*].function.arguments"),
    KT_JSON_PAT("choices[*].message.function_call.arguments"),
    KT_JSON_PAT("choices[*].text"),
    KT_JSON_PAT("content[*].text"),
    KT_JSON_PAT_REST("content[*].input.**"),
    KT_JSON_PAT("output[*].content[*].text"),
    KT_JSON_PAT("output[*].arguments"),
    KT_JSON_PAT("output_text"),
    /* error bodies (OpenAI's and Anthropic's shape): providers echo the prompt in them */
    KT_JSON_PAT("error.message"),
    /* documents inside streaming events (responses API *.done events, response.completed) */
    KT_JSON_PAT("text"),
    KT_JSON_PAT("arguments"),
    KT_JSON_PAT("part.text"),
    KT_JSON_PAT("item.content[*].text"),
    KT_JSON_PAT("item.arguments"),
    KT_JSON_PAT("response.output[*].content[*].text"),
    KT_JSON_PAT("response.output[*].arguments"),
};

_Static_assert(KT_ARRAY_LEN(kt__input_paths) <= KT_JSON_PATHSET_MAX, "input paths");
_Static_assert(KT_ARRAY_LEN(kt__output_paths) <= KT_JSON_PATHSET_MAX, "output paths");

const kt_json_pat *kt_policy_json_paths(kt_dir dir, size_t *n)
{
    bool in = dir == KT_DIR_INPUT;
    *n = in ? KT_ARRAY_LEN(kt__input_paths) : KT_ARRAY_LEN(kt__output_paths);
    return in ? kt__input_paths : kt__output_paths;
}

int kt_policy_json_compile(kt_config *cfg)
{
    static const kt_dir dirs[KT__PATHSETS] = { KT_DIR_INPUT, KT_DIR_OUTPUT };
    kt_json_patset *ps = kt_malloc(KT__PATHSETS * sizeof *ps);
    if (!ps) return KT_ENOMEM;
    for (size_t i = 0; i < KT__PATHSETS; i++) {
        size_t n;
        const kt_json_pat *pats = kt_policy_json_paths(dirs[i], &n);
        assert(pathset_of(dirs[i]) == i);
        kt_json_patset_compile(&ps[i], pats, n);   /* cannot fail: the lists fit */
    }
    free(cfg->json_paths);
    cfg->json_paths = ps;
    return KT_OK;
}

typedef struct edit_list {
    kt_json_edit *v;
    size_t n, cap;
    kt_buf reps;          /* replacement bytes; edit.rep holds an offset until the splice */
} edit_list;

typedef struct json_ctx {
    const kt_config *cfg;
    kt_dir dir;
    const char *body;
    kt_json_pathset *paths;   /* outside the memset: only its first level needs setting */
    kt_buf text;
    uint32_t *map;
    size_t map_cap;
    kt_findings f;
    edit_list edits;
    kt_decision *d;
    size_t raw_start;
    bool identity;            /* the current text is the raw span itself (no map) */
    int err;
    kt_json_top *top;         /* NULL: not wanted */
    struct kt_scan_cache *cache;   /* NULL: scan every text */
    const kt_policy_walk *w;
    kt_buf shown;             /* on_text: the text with this walk's redactions applied */
} json_ctx;

static int add_edit(void *ud, size_t start, size_t end, const char *marker, size_t mlen)
{
    json_ctx *x = ud;
    edit_list *e = &x->edits;
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : KT__EDITS_FIRST;
        kt_json_edit *nv = kt_realloc(e->v, ncap * sizeof *nv);
        if (!nv) return KT_ENOMEM;
        e->v = nv;
        e->cap = ncap;
    }
    size_t off = e->reps.len;
    int rc = kt_json_escape_into(&e->reps, marker, mlen);
    if (rc) return rc;
    assert(start <= end);   /* kt_chain_each_redaction hands out merged, ordered spans */
    size_t a = x->identity ? start : x->map[start], b = x->identity ? end : x->map[end];
    e->v[e->n++] = (kt_json_edit){ x->raw_start + a, x->raw_start + b,
                                   (const char *)(uintptr_t)off, e->reps.len - off };
    return KT_OK;
}

/* The decoded text of raw [start, end) in `text`, `tlen`. Plain ASCII without escapes is its own
 * decoding, with the identity as map: the raw bytes are scanned in place, nothing is copied. */
static int text_of(json_ctx *x, size_t start, size_t end, int plain, const char **text,
                   size_t *tlen)
{
    size_t n = end - start;
    x->identity = n < UINT32_MAX && plain;
    if (x->identity) {
        *text = x->body + start;
        *tlen = n;
        return KT_OK;
    }
    if (n + 1 > x->map_cap) {
        uint32_t *nm = kt_realloc(x->map, (n + 1) * sizeof *nm);
        if (!nm) return KT_ENOMEM;
        x->map = nm;
        x->map_cap = n + 1;
    }
    int rc = kt_json_str_decode(x->body + start, n, &x->text, x->map, x->map_cap);
    *text = x->text.p;
    *tlen = x->text.len;
    return rc;
}

/* Hands a scanned text to the walk's on_text as the upstream will see it: with the chain's
 * redactions applied (the model tier must not send what a policy takes out). */
static int show_text(json_ctx *x, const char *text, size_t tlen)
{
    bool redacted = false;
    for (size_t i = 0; i < x->f.n && !redacted; i++) redacted = x->f.v[i].action == KT_ACT_REDACT;
    if (!redacted) return x->w->on_text(x->w->text_ud, text, tlen);
    kt_buf_reset(&x->shown);
    int rc = kt_chain_render(x->cfg, text, 0, tlen, &x->f, false, &x->shown);
    return rc ? rc : x->w->on_text(x->w->text_ud, x->shown.p ? x->shown.p : "", x->shown.len);
}

static int visit(void *ud, const kt_json_path *path, size_t start, size_t end, int plain)
{
    json_ctx *x = ud;
    if (!kt_json_pathset_match(x->paths, path)) return 0;
    const char *text;
    size_t tlen;
    int rc = text_of(x, start, end, plain, &text, &tlen);
    if (rc) return x->err = rc;
    x->f.n = 0;
    rc = kt_chain_scan_cached(x->cache, x->cfg, x->dir, text, tlen, &x->f, x->d);
    if (rc) return x->err = rc;
    kt_chain_note(x->d, &x->f, tlen, x->dir);
    if (x->d->verdict == KT_ACT_BLOCK) return 1;   /* decided: stop walking */
    if (x->w->on_text && (rc = show_text(x, text, tlen))) return x->err = rc;
    x->raw_start = start;
    rc = kt_chain_each_redaction(x->cfg, &x->f, 0, tlen, add_edit, x);
    return rc ? (x->err = rc) : 0;
}

static int on_value(void *ud, const kt_json_path *path, const kt_json_value *v)
{
    json_ctx *x = ud;
    if (x->top && path->depth <= 2) kt_json_top_note(x->top, path, v);
    return v->type == KT_JSON_STRING ? visit(x, path, v->start, v->end, v->plain) : 0;
}

int kt_policy_json(const kt_config *cfg, kt_dir dir, const char *body, size_t len, kt_buf *out,
                   bool *changed, kt_decision *d)
{
    kt_policy_walk w = { .cfg = cfg, .dir = dir, .decision = d };
    return kt_policy_json_walk(&w, body, len, out, changed);
}

int kt_policy_json_walk(const kt_policy_walk *w, const char *body, size_t len, kt_buf *out,
                        bool *changed)
{
    const kt_config *cfg = w->cfg;
    kt_dir dir = w->dir;
    kt_decision *d = w->decision;
    json_ctx x;
    memset(&x, 0, sizeof x);
    x.cfg = cfg;
    x.dir = dir;
    x.body = body;
    kt_json_pathset set;
    kt_json_pathset_start(&set, &cfg->json_paths[pathset_of(dir)]);
    x.paths = &set;
    x.d = d;
    kt_buf_init(&x.text, len + KT__TEXT_SLACK);
    kt_buf_init(&x.edits.reps, KT__REPS_MAX);
    *changed = false;
    x.top = w->top;
    x.cache = w->cache;
    x.w = w;
    kt_buf_init(&x.shown, len + KT__REPS_MAX);
    int rc = kt_json_scan(body, len, NULL, on_value, &x);
    if (rc > 0) rc = x.err ? x.err : KT_OK;   /* stopped by a block, or by an error */
    else if (!rc && x.top) x.top->complete = true;   /* the whole body was seen */
    if (!rc && x.edits.n && d->verdict != KT_ACT_BLOCK) {
        for (size_t i = 0; i < x.edits.n; i++)
            x.edits.v[i].rep = x.edits.reps.p ? x.edits.reps.p + (uintptr_t)x.edits.v[i].rep : "";
        rc = kt_json_splice(body, len, x.edits.v, x.edits.n, out);
        *changed = rc == KT_OK;
    }
    kt_buf_free(&x.text);
    kt_buf_free(&x.edits.reps);
    kt_buf_free(&x.shown);
    free(x.edits.v);
    free(x.map);
    kt_findings_free(&x.f);
    return rc;
}
