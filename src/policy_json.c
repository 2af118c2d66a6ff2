/* Policies over JSON bodies: find the strings the model sees or writes, decode them, run the
 * chain, and splice markers into the raw bytes. Nothing else in the body is touched. */
#include <stdlib.h>
#include <string.h>

#include "kt/json_text.h"
#include "kt/policy.h"

/* Every text the model sees: OpenAI chat/completions/embeddings/responses, Anthropic messages. */
static const char *const kt__input_paths[] = {
    "messages[*].content",
    "messages[*].content[*].text",
    "messages[*].content[*].content",
    "messages[*].content[*].content[*].text",
    "messages[*].content[*].input.**",
    "messages[*].tool_calls[*].function.arguments",
    "messages[*].function_call.arguments",
    "prompt",
    "prompt[*]",
    "suffix",
    "input",
    "input[*]",
    "input[*].content",
    "input[*].content[*].text",
    "input[*].output",
    "input[*].arguments",
    "instructions",
    "system",
    "system[*].text",
    NULL,
};

/* Every text the model writes, in non-streaming responses. */
static const char *const kt__output_paths[] = {
    "choices[*].message.content",
    "choices[*].message.content[*].text",
    "choices[*].message.refusal",
    "choices[*].message.tool_calls[*].function.arguments",
    "choices[*].message.function_call.arguments",
    "choices[*].text",
    "content[*].text",
    "content[*].input.**",
    "output[*].content[*].text",
    "output[*].arguments",
    "output_text",
    /* documents inside streaming events (responses API *.done events, response.completed) */
    "text",
    "arguments",
    "part.text",
    "item.content[*].text",
    "item.arguments",
    "response.output[*].content[*].text",
    "response.output[*].arguments",
    NULL,
};

kt_api kt_api_from_path(kt_str rest)
{
    static const struct { const char *p; kt_api a; } map[] = {
        { "/chat/completions", KT_API_CHAT }, { "/completions", KT_API_COMPLETIONS },
        { "/embeddings", KT_API_EMBEDDINGS },  { "/responses", KT_API_RESPONSES },
        { "/messages", KT_API_MESSAGES },
    };
    for (size_t i = 0; i < KT_ARRAY_LEN(map); i++)
        if (rest.n == strlen(map[i].p) && memcmp(rest.p, map[i].p, rest.n) == 0) return map[i].a;
    return KT_API_OTHER;
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
    const char *const *paths;
    kt_buf text;
    uint32_t *map;
    size_t map_cap;
    kt_findings f;
    edit_list edits;
    kt_decision *d;
    size_t raw_start;
    int err;
} json_ctx;

/* The path's signature is built once per string and compared with every pattern as a string;
 * only a key with an escape in it takes the slower general matcher. */
static bool wanted(const json_ctx *x, const kt_json_path *path)
{
    char sig[256];
    int n = kt_json_path_sig(path, sig, sizeof sig);
    for (size_t i = 0; x->paths[i]; i++) {
        bool m = n >= 0 ? kt_json_sig_match(sig, (size_t)n, x->paths[i])
                        : kt_json_path_match(path, x->paths[i]);
        if (m) return true;
    }
    return false;
}

static int add_edit(void *ud, size_t start, size_t end, const char *marker, size_t mlen)
{
    json_ctx *x = ud;
    edit_list *e = &x->edits;
    if (e->n == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 16;
        kt_json_edit *nv = kt_realloc(e->v, ncap * sizeof *nv);
        if (!nv) return KT_ENOMEM;
        e->v = nv;
        e->cap = ncap;
    }
    size_t off = e->reps.len;
    int rc = kt_json_escape_into(&e->reps, marker, mlen);
    if (rc) return rc;
    e->v[e->n++] = (kt_json_edit){ x->raw_start + x->map[start], x->raw_start + x->map[end],
                                   (const char *)(uintptr_t)off, e->reps.len - off };
    return KT_OK;
}

static int visit(void *ud, const kt_json_path *path, size_t start, size_t end)
{
    json_ctx *x = ud;
    if (!wanted(x, path)) return 0;
    size_t need = end - start + 1;
    if (need > x->map_cap) {
        uint32_t *nm = kt_realloc(x->map, need * sizeof *nm);
        if (!nm) return x->err = KT_ENOMEM;
        x->map = nm;
        x->map_cap = need;
    }
    int rc = kt_json_str_decode(x->body + start, end - start, &x->text, x->map, x->map_cap);
    if (rc) return x->err = rc;
    x->f.n = 0;
    rc = kt_chain_scan(x->cfg, x->dir, x->text.p, x->text.len, 0, &x->f, x->d);
    if (rc) return x->err = rc;
    kt_chain_note(x->d, &x->f, x->text.len, x->dir);
    if (x->d->verdict == KT_ACT_BLOCK) return 1;   /* decided: stop walking */
    x->raw_start = start;
    rc = kt_chain_each_redaction(x->cfg, &x->f, 0, x->text.len, add_edit, x);
    return rc ? (x->err = rc) : 0;
}

int kt_policy_json(const kt_config *cfg, kt_dir dir, const char *body, size_t len, kt_buf *out,
                   bool *changed, kt_decision *d)
{
    json_ctx x;
    memset(&x, 0, sizeof x);
    x.cfg = cfg;
    x.dir = dir;
    x.body = body;
    x.paths = dir == KT_DIR_INPUT ? kt__input_paths : kt__output_paths;
    x.d = d;
    kt_buf_init(&x.text, len + 16);
    kt_buf_init(&x.edits.reps, 64u * 1024 * 1024);
    *changed = false;
    int rc = kt_json_walk(body, len, visit, &x);
    if (rc > 0) rc = x.err ? x.err : KT_OK;   /* stopped by a block, or by an error */
    if (!rc && x.edits.n && d->verdict != KT_ACT_BLOCK) {
        for (size_t i = 0; i < x.edits.n; i++)
            x.edits.v[i].rep = x.edits.reps.p ? x.edits.reps.p + (uintptr_t)x.edits.v[i].rep : "";
        rc = kt_json_splice(body, len, x.edits.v, x.edits.n, out);
        *changed = rc == KT_OK;
    }
    kt_buf_free(&x.text);
    kt_buf_free(&x.edits.reps);
    free(x.edits.v);
    free(x.map);
    kt_findings_free(&x.f);
    return rc;
}
