/* Fuzzes the JSON walker, decoder, path matcher, field lookups and splicing. Invariants: spans lie
 * inside the input between quotes; the decode map is monotonic, starts at 0 and ends at the raw
 * length; escaping the decoded text decodes back to it; splicing escaped text at any mapped span of
 * a valid document yields a valid document with the same number of strings. kt_json_pathset
 * answers as the signature matcher it replaced does, for fixed odd patterns, the policy lists and
 * patterns made of the document's own strings (so keys and patterns collide). The input policy
 * walk's note of the top-level "model" equals kt_json_top_string's answer on the body as sent and
 * as redacted whenever the walk saw it all, and noting it changes nothing else. */
#include <stdlib.h>
#include <string.h>

#include "kt/json_text.h"
#include "kt/policy.h"

#define MAX_EDITS 64
#define MAX_OWN 8

typedef struct fz {
    const char *buf;
    size_t len;
    uint32_t seed;
    int strings;
    kt_json_edit edits[MAX_EDITS];
    kt_buf reps[MAX_EDITS];
    size_t n_edits;
    kt_buf text;
    kt_buf esc;
    kt_buf text2;
    uint32_t *map;
    kt_json_pathset sets[3];
    kt_json_pat own[MAX_OWN];
    char *own_s[MAX_OWN];
    size_t n_own;
    kt_json_pathset own_set;
    int own_pass;
} fz;

static const char *const odd_pats[] = {
    "", ".**", "**", "*", "a", "a.**", "a.b", "a[*]", "a[*].b.**", "a[0]", "[*]", "a.b.c",
};

static const char *no_env(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

/* Built once: compiling the policies per input would dominate the run. */
static kt_config *config(void)
{
    static kt_config *cached;
    if (cached) return kt_config_ref(cached);
    static const char yaml[] = "pack: {name: f, version: 1.0.0}\n"
                               "policies: {chain: [pii-detector, dlp-filter, safety-filter]}\n"
                               "policy: {pii-detector: {action: redact}, dlp-filter: {action: "
                               "redact}, safety-filter: {action: block}}\n";
    kt_env env = { no_env, NULL };
    if (kt_config_parse("fuzz", yaml, sizeof yaml - 1, env, &cached, NULL)) abort();
    return kt_config_ref(cached);
}

/* The collected "model" decodes to what a separate kt_json_top_string over `buf` gives. */
static void same_model(const kt_json_top *t, const char *walked, const char *buf, size_t len)
{
    char mem[256], got[256];
    kt_buf b = { mem, 0, sizeof mem, sizeof mem - 1 }, g = { got, 0, sizeof got, sizeof got - 1 };
    size_t n = kt_json_top_string(buf, len, "model", &b) ? 0 : b.len;
    const kt_json_value *v = kt_json_top_get(t, 0);
    size_t m = 0;
    if (v && v->type == KT_JSON_STRING &&
        !kt_json_str_decode(walked + v->start, v->end - v->start, &g, NULL, 0))
        m = g.len;
    if (n != m || memcmp(mem, got, n) != 0) abort();
}

/* The chain reads nothing past `len`: scanning the input where it lies (libFuzzer's exact-size
 * buffer, so ASan sees any overread) finds what scanning a copy followed by '"' finds (how a
 * plain string is scanned in place inside its document). */
static void fuzz_scan_in_place(kt_config *c, const char *buf, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy) abort();
    memcpy(copy, buf, size);
    copy[size] = '"';
    kt_findings f1, f2;
    memset(&f1, 0, sizeof f1);
    memset(&f2, 0, sizeof f2);
    for (int dir = KT_DIR_INPUT; dir <= KT_DIR_OUTPUT; dir <<= 1) {
        f1.n = f2.n = 0;
        int r1 = kt_chain_scan(c, (kt_dir)dir, buf, size, 0, &f1, NULL);
        int r2 = kt_chain_scan(c, (kt_dir)dir, copy, size, 0, &f2, NULL);
        if (r1 != r2 || f1.n != f2.n || f1.truncated != f2.truncated) abort();
        for (size_t i = 0; i < f1.n; i++) {
            const kt_finding *a = &f1.v[i], *b = &f2.v[i];
            if (a->start != b->start || a->end != b->end || a->policy != b->policy ||
                a->label != b->label || a->action != b->action || a->weight != b->weight)
                abort();
        }
    }
    kt_findings_free(&f1);
    kt_findings_free(&f2);
    free(copy);
}

static void fuzz_model_note(const char *buf, size_t size)
{
    kt_config *c = config();
    fuzz_scan_in_place(c, buf, size);
    kt_decision d1, d2;
    kt_buf o1, o2;
    bool ch1 = false, ch2 = false;
    static const char *const keys[] = { "model" };
    kt_json_top top;
    if (kt_json_top_begin(&top, keys, 1)) abort();
    if (kt_decision_init(&d1, c) || kt_decision_init(&d2, c)) abort();
    kt_buf_init(&o1, (size_t)1 << 24);
    kt_buf_init(&o2, (size_t)1 << 24);
    kt_policy_walk w = { .cfg = c, .dir = KT_DIR_INPUT, .decision = &d1, .top = &top };
    int r1 = kt_policy_json_walk(&w, buf, size, &o1, &ch1);
    int r2 = kt_policy_json(c, KT_DIR_INPUT, buf, size, &o2, &ch2, &d2);
    if (r1 != r2 || ch1 != ch2 || d1.verdict != d2.verdict || o1.len != o2.len ||
        (o1.len && memcmp(o1.p, o2.p, o1.len) != 0))
        abort();
    if (top.complete != (r1 == 0 && d1.verdict != KT_ACT_BLOCK)) abort();
    if (top.complete) {
        same_model(&top, buf, buf, size);
        if (ch1) same_model(&top, buf, o1.p, o1.len);
    }
    kt_buf_free(&o1);
    kt_buf_free(&o2);
    kt_decision_free(&d1);
    kt_decision_free(&d2);
    kt_config_release(&c);
}

static int pathset_oracle(const kt_json_path *p, const kt_json_pat *pats, size_t n)
{
    char sig[KT_JSON_SIG_CAP];
    int len = kt_json_path_sig(p, sig, sizeof sig);
    for (size_t i = 0; i < n; i++)
        if (len >= 0 ? kt_json_sig_match(sig, (size_t)len, pats[i].s) : kt_json_path_match(p, pats[i].s))
            return 1;
    return 0;
}

static void check_pathsets(fz *f, const kt_json_path *p)
{
    for (int k = 0; k < 3; k++) {
        kt_json_pathset *s = &f->sets[k];
        if (kt_json_pathset_match(s, p) != pathset_oracle(p, s->ps->pats, s->ps->n)) abort();
    }
}

/* Second walk: the document's own strings as patterns. */
static int own_visit(void *ud, const kt_json_path *p, size_t start, size_t end)
{
    fz *f = ud;
    (void)start;
    (void)end;
    if (kt_json_pathset_match(&f->own_set, p) != pathset_oracle(p, f->own, f->n_own)) abort();
    return 0;
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void check_map(const uint32_t *map, size_t tlen, size_t n)
{
    if (tlen > n) abort();
    if (map[tlen] != n) abort();
    if (tlen && map[0] != 0) abort();
    for (size_t i = 0; i < tlen; i++) {
        if (map[i] > map[i + 1]) abort();
        if (map[i] >= n) abort();
    }
}

static int visit(void *ud, const kt_json_path *p, size_t start, size_t end)
{
    fz *f = ud;
    f->strings++;
    if (start > end || end >= f->len || start == 0) abort();
    if (f->buf[start - 1] != '"' || f->buf[end] != '"') abort();
    if (p->depth < 0 || p->depth > KT_JSON_MAX_DEPTH || p->buf != f->buf) abort();
    for (int d = 0; d < p->depth; d++) {
        const kt_json_path_elem *e = &p->el[d];
        if (!e->is_index && (e->key_start + e->key_len > f->len || e->key_start == 0 ||
                             f->buf[e->key_start - 1] != '"'))
            abort();
        /* the scanner's plain flag of a key is kt_json_str_plain of its raw span */
        if (!e->is_index && e->plain != kt_json_str_plain(f->buf + e->key_start, e->key_len))
            abort();
        if (e->is_index && e->plain) abort();
    }
    check_pathsets(f, p);
    kt_json_path_match(p, "messages[*].content[*].text");
    kt_json_path_match(p, "**");
    kt_json_path_match(p, "*.*[0]");
    size_t n = end - start;
    if (kt_json_str_decode(f->buf + start, n, &f->text, f->map, n + 1)) abort();
    check_map(f->map, f->text.len, n);
    if (kt_json_str_plain(f->buf + start, n)) {   /* policy_json then scans the raw span as is */
        if (f->text.len != n || memcmp(f->text.p, f->buf + start, n) != 0) abort();
        for (size_t i = 0; i <= n; i++)
            if (f->map[i] != i) abort();
    }
    if (f->n_own < MAX_OWN) {
        char *c = malloc(f->text.len + 1);
        if (!c) abort();
        memcpy(c, f->text.p, f->text.len + 1);
        f->own_s[f->n_own] = c;
        f->own[f->n_own++] = kt_json_pat_of(c);
    }
    /* escape(decode(x)) decodes back to decode(x): the decoded text is always valid UTF-8. */
    kt_buf_reset(&f->esc);
    if (kt_json_escape_into(&f->esc, f->text.p, f->text.len)) abort();
    if (kt_json_str_decode(f->esc.p, f->esc.len, &f->text2, NULL, 0)) abort();
    if (f->text2.len != f->text.len || memcmp(f->text2.p, f->text.p, f->text.len)) abort();
    if (f->n_edits < MAX_EDITS) {
        size_t a = f->text.len ? rnd(&f->seed) % (f->text.len + 1) : 0;
        size_t b = a + (f->text.len - a ? rnd(&f->seed) % (f->text.len - a + 1) : 0);
        kt_buf *rep = &f->reps[f->n_edits];
        kt_buf_init(rep, 1 << 16);
        /* replacement: some of the decoded text itself plus characters needing escapes */
        kt_buf_reset(&f->esc);
        kt_buf_append(&f->esc, f->text.p + a, b - a);
        kt_buf_append(&f->esc, "\"\\\n\x01\xff", 5);
        if (kt_json_escape_into(rep, f->esc.p, f->esc.len)) abort();
        f->edits[f->n_edits++] =
            (kt_json_edit){ start + f->map[a], start + f->map[b], rep->p, rep->len };
    }
    return 0;
}

/* kt_json_scan's `plain` is kt_json_str_plain of the string's content (0 for other values). */
static int check_plain(void *ud, const kt_json_path *p, const kt_json_value *v)
{
    (void)ud;
    int want = v->type == KT_JSON_STRING && kt_json_str_plain(p->buf + v->start, v->end - v->start);
    if (v->plain != want) abort();
    return 0;
}

static int count_strings(void *ud, const kt_json_path *p, size_t start, size_t end)
{
    (void)p;
    (void)start;
    (void)end;
    (*(int *)ud)++;
    return 0;
}

static void fuzz_raw_decode(const char *data, size_t size)
{
    kt_buf t;
    kt_buf_init(&t, 1 << 20);
    uint32_t *map = malloc((size + 1) * sizeof *map);
    if (!map) abort();
    int rc = kt_json_str_decode(data, size, &t, map, size + 1);
    if (rc == 0) check_map(map, t.len, size);
    else if (rc != KT_EPARSE) abort();
    free(map);
    kt_buf_free(&t);
}

static void fuzz_pattern(const char *data, size_t size)
{
    char *pat = malloc(size + 1);
    if (!pat) abort();
    memcpy(pat, data, size);
    pat[size] = '\0';
    kt_json_path p;
    memset(&p, 0, sizeof p);
    p.buf = "key";
    p.depth = 2;
    p.el[0].key_start = 0;
    p.el[0].key_len = 3;
    p.el[1].is_index = 1;
    p.el[1].index = 3;
    int valid = kt_json_path_pattern_valid(pat);
    int m = kt_json_path_match(&p, pat);
    if (m && !valid) abort();
    free(pat);
}

/* The one-pass collector agrees with one kt_json_top_field call per key (depth-1 keys). */
static void fuzz_top_fields(const char *buf, size_t size, int rc)
{
    static const char *const keys[] = { "model", "user", "stream", "max_tokens", "a.b" };
    kt_json_top t;
    if (kt_json_top_begin(&t, keys, KT_ARRAY_LEN(keys))) abort();
    int r = kt_json_top_scan(&t, buf, size);
    if (r != rc || t.complete != (r == 0)) abort();
    if (r) return;
    for (size_t i = 0; i + 1 < KT_ARRAY_LEN(keys); i++) {
        kt_json_value v;
        int fr = kt_json_top_field(buf, size, keys[i], &v);
        const kt_json_value *g = kt_json_top_get(&t, i);
        if ((fr == KT_OK) != (g != NULL)) abort();
        if (g && (g->type != v.type || g->start != v.start || g->end != v.end)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    fz f;
    memset(&f, 0, sizeof f);
    f.buf = buf;
    f.len = size;
    f.seed = 2166136261u;
    for (size_t i = 0; i < size; i++) f.seed = (f.seed ^ data[i]) * 16777619u;
    if (!f.seed) f.seed = 1;
    kt_buf_init(&f.text, 1 << 20);
    kt_buf_init(&f.esc, 1 << 20);
    kt_buf_init(&f.text2, 1 << 20);
    f.map = malloc((size + 1) * sizeof *f.map);
    if (!f.map) abort();

    kt_json_pat odd[KT_ARRAY_LEN(odd_pats)];
    for (size_t i = 0; i < KT_ARRAY_LEN(odd_pats); i++) odd[i] = kt_json_pat_of(odd_pats[i]);
    size_t n_in, n_out;
    const kt_json_pat *in = kt_policy_json_paths(KT_DIR_INPUT, &n_in);
    const kt_json_pat *out_p = kt_policy_json_paths(KT_DIR_OUTPUT, &n_out);
    kt_json_pathset_init(&f.sets[0], odd, KT_ARRAY_LEN(odd));
    kt_json_pathset_init(&f.sets[1], in, n_in);
    kt_json_pathset_init(&f.sets[2], out_p, n_out);

    int rc = kt_json_walk(buf, size, visit, &f);
    kt_json_pathset_init(&f.own_set, f.own, f.n_own);
    kt_json_walk(buf, size, own_visit, &f);
    if (rc != 0 && rc != KT_EPARSE && rc != KT_ELIMIT) abort();
    if (kt_json_validate(buf, size) != rc) abort();
    if (kt_json_scan(buf, size, NULL, check_plain, NULL) != rc) abort();
    if (rc == 0) {
        kt_buf out;
        kt_buf_init(&out, (size_t)1 << 24);
        if (kt_json_splice(buf, size, f.edits, f.n_edits, &out)) abort();
        int n2 = 0;
        if (kt_json_walk(out.p, out.len, count_strings, &n2)) abort();
        if (n2 != f.strings) abort();
        kt_buf_free(&out);
    }
    kt_buf s;
    kt_buf_init(&s, 1 << 20);
    int b;
    int r1 = kt_json_top_string(buf, size, "model", &s);
    int r2 = kt_json_top_bool(buf, size, "stream", &b);
    if (rc == 0 && (r1 == KT_EPARSE || r2 == KT_EPARSE)) abort();
    if (rc != 0 && (r1 != rc || r2 != rc)) abort();
    kt_buf_free(&s);
    fuzz_top_fields(buf, size, rc);

    fuzz_model_note(buf, size);
    fuzz_raw_decode(buf, size);
    fuzz_pattern(buf, size);

    for (size_t k = 0; k < f.n_edits; k++) kt_buf_free(&f.reps[k]);
    for (size_t k = 0; k < f.n_own; k++) free(f.own_s[k]);
    kt_buf_free(&f.text);
    kt_buf_free(&f.esc);
    kt_buf_free(&f.text2);
    free(f.map);
    return 0;
}
