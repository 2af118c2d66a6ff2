/* The `prompt-injection` classifier: rule loading, scanning (plain text and decoded base64 runs),
 * scoring and the streaming hold. */
#include <stdlib.h>
#include <string.h>

#include "classify_priv.h"
#include "cooc.h"
#include "decode.h"
#include "linscore.h"
#include "kt/injection.h"

#define KT__INJ_B64_MIN 24
#define KT__INJ_EXPAND_MAX 100000

static size_t nbuiltin(void)
{
    size_t n;
    (void)kt__inj_rules(&n);
    return n;
}

int kt_injection_rule_count(void) { return (int)nbuiltin() + 1; }

const char *kt_injection_rule_name(int id)
{
    size_t n;
    const kt__inj_rule *r = kt__inj_rules(&n);
    if (id < 0 || (size_t)id > n) return NULL;
    return (size_t)id == n ? "custom" : r[id].name;
}

int kt_injection_rule_from_name(const char *s, size_t n)
{
    for (int id = 0; id < kt_injection_rule_count(); id++)
        if (kt_str_eq_ci((kt_str){ s, n }, kt_injection_rule_name(id))) return id;
    return -1;
}

unsigned kt_injection_rule_weight(const kt_injection *d, int id)
{
    size_t n;
    const kt__inj_rule *r = kt__inj_rules(&n);
    if (id < 0 || (size_t)id > n) return 0;
    return (size_t)id == n ? d->extra_weight : r[id].weight;
}

float kt_injection_default_cutoff(void) { return kt__linmodel_injection.cutoff[0]; }

void kt_injection_opts_default(kt_injection_opts *o)
{
    memset(o, 0, sizeof *o);
    o->normalize_unicode = 1;
    o->decode_base64 = 1;
    o->threshold = KT_INJ_DEFAULT_THRESHOLD;
    o->extra_weight = KT_INJ_STRONG;
    o->max_b64_runs = 64;
    o->max_b64_decoded = 65536;
    o->decode_more = 1;
    o->learned = 1;
    o->cutoff = kt_injection_default_cutoff();
}

/* ---- loading ------------------------------------------------------------------------------ */

typedef struct kt__load {
    kt__lex *x;
    unsigned tflags, skip;
    uint32_t tag;
} kt__load;

static int load_one(void *ud, const char *s, size_t n)
{
    kt__load *l = ud;
    return kt__lex_add_text(l->x, l->tflags, l->skip, s, n, l->tag);
}

/* First pass: the places of the phrase templates' words, and the word classes from them. */
static int load_classes(kt_injection *d, const kt_injection_opts *o)
{
    size_t nr;
    const kt__inj_rule *r = kt__inj_rules(&nr);
    kt__wclass wc;
    kt__wclass_init(&wc);
    int rc = KT_OK;
    uint32_t serial = 0;
    for (size_t id = 0; id <= nr && !rc; id++) {
        if (id < nr && r[id].marker) continue;
        const char *const *pats = id < nr ? r[id].pats : o->extra_phrases;
        size_t np = id < nr ? SIZE_MAX : o->n_extra;
        for (size_t k = 0; k < np && pats && pats[k] && !rc; k++)
            rc = kt__expand_places(d->phrases, d->tflags, KT__INJ_SKIP, pats[k], serial++, &wc);
    }
    if (!rc) rc = kt__wclass_assign(&wc, d->phrases);
    kt__wclass_free(&wc);
    return rc;
}

static int load_rules(kt_injection *d, const kt_injection_opts *o)
{
    size_t nr;
    const kt__inj_rule *r = kt__inj_rules(&nr);
    for (size_t id = 0; id <= nr; id++) {
        const char *const *pats = id < nr ? r[id].pats : o->extra_phrases;
        size_t np = id < nr ? SIZE_MAX : o->n_extra;
        int marker = id < nr && r[id].marker;
        kt__load l = { marker ? d->markers : d->phrases, d->tflags, marker ? 0 : KT__INJ_SKIP,
                       (uint32_t)id };
        for (size_t k = 0; k < np && pats && pats[k]; k++) {
            size_t budget = KT__INJ_EXPAND_MAX;
            int rc = marker ? load_one(&l, pats[k], strlen(pats[k]))
                            : kt__expand_lex(l.x, l.tflags, l.skip, pats[k], l.tag, &budget);
            if (rc) return rc;
        }
    }
    return KT_OK;
}

int kt_injection_init(kt_injection *d, const kt_injection_opts *opts)
{
    int rc = KT_ENOMEM;
    kt_injection_opts o;
    kt_injection_opts_default(&o);
    if (opts) {
        o = *opts;
        if (!o.threshold) o.threshold = KT_INJ_DEFAULT_THRESHOLD;
        if (!o.extra_weight) o.extra_weight = KT_INJ_STRONG;
        if (!o.max_b64_runs) o.max_b64_runs = 64;
        if (!o.max_b64_decoded) o.max_b64_decoded = 65536;
        if (!(o.cutoff > 0.0f && o.cutoff < 1.0f)) o.cutoff = kt_injection_default_cutoff();
    }
    memset(d, 0, sizeof *d);
    d->tflags = KT__TF_LEET | KT__TF_PUNCT | KT__TF_LINES |
                (o.normalize_unicode ? KT__TF_CONF_ALL | KT__TF_TAGS : 0);
    d->decode_base64 = o.decode_base64;
    d->threshold = o.threshold;
    d->extra_weight = o.extra_weight;
    d->max_b64_runs = o.max_b64_runs;
    d->max_b64_decoded = o.max_b64_decoded;
    d->decode_more = o.decode_more;
    d->learned = o.learned;
    d->cutoff = o.cutoff;
    d->phrases = kt_calloc(1, sizeof *d->phrases);
    d->markers = kt_calloc(1, sizeof *d->markers);
    if (!d->phrases || !d->markers) goto fail;
    if ((rc = kt__lex_init(d->phrases)) || (rc = kt__lex_init(d->markers))) goto fail;
    if ((rc = load_classes(d, &o))) goto fail;
    /* the built-in rules make about 27500 nodes over their word classes (73000 over words) */
    if ((rc = kt__lex_reserve(d->phrases, 28000)) || (rc = load_rules(d, &o))) goto fail;
    if ((rc = kt__lex_build(d->phrases)) || (rc = kt__lex_build(d->markers))) goto fail;
    rc = KT_ENOMEM;
    d->combos = kt_calloc(1, sizeof *d->combos);
    if (!d->combos) goto fail;
    if ((rc = kt__cooc_init(d->combos, &kt__cooc_injection))) goto fail;
    return KT_OK;
fail:
    kt_injection_free(d);
    return rc;
}

void kt_injection_free(kt_injection *d)
{
    if (d->phrases) kt__lex_free(d->phrases);
    if (d->markers) kt__lex_free(d->markers);
    if (d->combos) kt__cooc_free(d->combos);
    free(d->combos);
    free(d->phrases);
    free(d->markers);
    memset(d, 0, sizeof *d);
}

/* ---- scanning ----------------------------------------------------------------------------- */

typedef struct kt__ictx {
    const kt_injection *d;
    kt_injection_hit *hits;
    size_t max, n;
    int truncated;
    unsigned long score;   /* base64 hits; the others are in tally */
    kt__tally *tally;      /* per rule, when counting without a hit array */
    uint64_t seen;         /* rules reported in the current base64 run */
    int b64;
    size_t rs, re;
    int plain;             /* no quiet path in the tokenizer (the tests' reference) */
} kt__ictx;

static void record(kt__ictx *c, int rule, size_t start, size_t end, unsigned flags)
{
    unsigned w = kt_injection_rule_weight(c->d, rule);
    if (!c->hits) {
        if (flags & KT_INJ_HIT_BASE64) c->score += w;
        else if (c->tally) kt__tally_add(&c->tally[rule], start, end, w);
        return;
    }
    if (c->n == c->max) {
        c->truncated = 1;
        return;
    }
    c->hits[c->n++] = (kt_injection_hit){ start, end, rule, w, flags };
}

static void on_hit(void *ud, int run, uint32_t tag, size_t start, size_t end)
{
    kt__ictx *c = ud;
    (void)run;
    if (c->b64) {
        uint64_t bit = 1ull << (tag & 63);
        if (c->seen & bit) return;
        c->seen |= bit;
        record(c, (int)tag, c->rs, c->re, KT_INJ_HIT_BASE64);
        return;
    }
    record(c, (int)tag, start, end, 0);
}

static void scan_setup(const kt_injection *d, kt__scan *sc, kt__hit_fn fn, void *ud,
                       const char *text, size_t from, int plain)
{
    kt__scan_begin(sc, fn, ud);
    sc->plain = plain;
    kt__scan_add_lex(sc, d->phrases, KT__INJ_SKIP);
    kt__scan_add_lex(sc, d->markers, 0);
    kt__scan_start(sc, d->tflags, text, from);
}

/* 1 for [A-Za-z0-9+/=_-]. */
static const uint8_t kt__b64set[256] = {
    ['+'] = 1, ['-'] = 1, ['/'] = 1, ['='] = 1, ['_'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

static int is_b64(unsigned char c) { return kt__b64set[c]; }

static unsigned b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26u;
    if (c >= '0' && c <= '9') return c - '0' + 52u;
    return c == '+' || c == '-' ? 62u : 63u;
}

/* Characters of a run that are decoded at most. */
static size_t b64_window(const kt_injection *d) { return (d->max_b64_decoded + 2) / 3 * 4; }

/* A run of the base64 alphabet whose decoded window is all hex digits (even length) is hex; all
 * upper-case base32 letters and digits is base32; anything else is base64. Only the window is
 * looked at, so what streaming holds decides it. */
enum { KT__RUN_B64, KT__RUN_HEX, KT__RUN_B32 };

static int run_kind(const char *text, size_t rs, size_t re)
{
    int hex = (re - rs) % 2 == 0, b32 = 1;
    for (size_t i = rs; i < re && (hex || b32); i++) {
        unsigned char c = (unsigned char)text[i];
        int h = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        hex &= h;
        b32 &= (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7') || c == '=';
    }
    return hex ? KT__RUN_HEX : b32 ? KT__RUN_B32 : KT__RUN_B64;
}

/* Decodes text[rs..wend) of the given kind into out (cap bytes); chunks of whole groups. */
static size_t decode_chunk(int kind, const char *text, size_t rs, size_t wend, char *out,
                           size_t cap)
{
    if (kind == KT__RUN_HEX) return kt__dec_hex(text + rs, wend - rs, out, cap);
    return kt__dec_base32(text + rs, wend - rs, out, cap);
}

static void decode_run(const kt_injection *d, const char *text, size_t rs, size_t re, kt__ictx *c)
{
    size_t wend = rs + KT_MIN(re - rs, b64_window(d)), produced = 0;
    kt__scan sc;
    c->b64 = 1;
    c->rs = rs;
    c->re = wend;
    c->seen = 0;
    scan_setup(d, &sc, on_hit, c, "", 0, c->plain);
    unsigned char out[256];
    size_t no = 0;
    int kind = run_kind(text, rs, wend);
    if (kind != KT__RUN_B64) {
        size_t step = kind == KT__RUN_HEX ? 2 * sizeof out : 8 * (sizeof out / 5);
        for (size_t i = rs; i < wend && produced < d->max_b64_decoded; i += step) {
            size_t e = KT_MIN(wend, i + step);
            no = decode_chunk(kind, text, i, e, (char *)out, sizeof out);
            no = KT_MIN(no, d->max_b64_decoded - produced);
            produced += no;
            kt__tok_feed(&sc.tok, (const char *)out, no);
        }
        kt__tok_finish(&sc.tok);
        c->b64 = 0;
        return;
    }
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = rs; i < wend && produced < d->max_b64_decoded; i++) {
        if (text[i] == '=') continue;
        acc = (acc << 6) | b64_val((unsigned char)text[i]);
        bits += 6;
        if (bits < 8) continue;
        bits -= 8;
        out[no++] = (unsigned char)(acc >> bits);
        acc &= (1u << bits) - 1;
        produced++;
        if (no == sizeof out) {
            kt__tok_feed(&sc.tok, (const char *)out, no);
            no = 0;
        }
    }
    kt__tok_feed(&sc.tok, (const char *)out, no);
    kt__tok_finish(&sc.tok);
    c->b64 = 0;
}

static void b64_pass(const kt_injection *d, const char *text, size_t len, size_t from, kt__ictx *c)
{
    size_t i = from, runs = 0;
    if (from > 0 && is_b64((unsigned char)text[from - 1]))
        while (i < len && is_b64((unsigned char)text[i])) i++;
    while (i < len && runs < d->max_b64_runs) {
        if (!is_b64((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && is_b64((unsigned char)text[j])) j++;
        if (j - i >= KT__INJ_B64_MIN) {
            runs++;
            decode_run(d, text, i, j, c);
        }
        i = j;
    }
}

static void run_scan(const kt_injection *d, const char *text, size_t len, size_t from, kt__ictx *c)
{
    kt__scan sc;
    scan_setup(d, &sc, on_hit, c, text, from, c->plain);
    kt__tok_feed(&sc.tok, text + from, len - from);
    kt__tok_finish(&sc.tok);
    if (d->decode_base64) b64_pass(d, text, len, from, c);
}

static int hit_cmp(const void *a, const void *b)
{
    const kt_injection_hit *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->rule - y->rule;
}

static size_t scan_hits(const kt_injection *d, const char *text, size_t len, size_t from,
                        kt_injection_hit *hits, size_t max, int *truncated, int plain)
{
    kt__ictx c = { .d = d, .hits = hits, .max = max, .plain = plain };
    if (d->phrases && from <= len) {
        run_scan(d, text, len, from, &c);
        if (c.n > 1) qsort(hits, c.n, sizeof *hits, hit_cmp);
    }
    if (truncated) *truncated = c.truncated;
    return c.n;
}

size_t kt_injection_scan_ctx(const kt_injection *d, const char *text, size_t len, size_t from,
                             kt_injection_hit *hits, size_t max, int *truncated)
{
    return scan_hits(d, text, len, from, hits, max, truncated, 0);
}

size_t kt__injection_scan_plain(const kt_injection *d, const char *text, size_t len, size_t from,
                                kt_injection_hit *hits, size_t max, int *truncated)
{
    return scan_hits(d, text, len, from, hits, max, truncated, 1);
}

size_t kt_injection_scan(const kt_injection *d, const char *text, size_t len,
                         kt_injection_hit *hits, size_t max, int *truncated)
{
    return kt_injection_scan_ctx(d, text, len, 0, hits, max, truncated);
}

int kt_injection_verdict(const kt_injection *d, const kt_injection_hit *hits, size_t n,
                         unsigned *score)
{
    unsigned long sc = 0;
    for (size_t i = 0; i < n; i++) {
        int inside = 0;
        for (size_t j = 0; j < n && !inside && !(hits[i].flags & KT_INJ_HIT_BASE64); j++)
            inside = hits[j].rule == hits[i].rule && !(hits[j].flags & KT_INJ_HIT_BASE64) &&
                     kt__contained(hits[i].start, hits[i].end, hits[j].start, hits[j].end);
        if (!inside) sc += hits[i].weight;
    }
    unsigned s = (unsigned)KT_MIN(sc, (unsigned long)UINT32_MAX);
    if (score) *score = s;
    return s >= d->threshold;
}

int kt_injection_eval(const kt_injection *d, const char *text, size_t len, unsigned *score)
{
    if (score) *score = 0;
    if (!d->phrases) return KT_EINVAL;
    kt__ictx c = { .d = d };
    c.tally = kt_calloc((size_t)kt_injection_rule_count(), sizeof *c.tally);
    if (!c.tally) return KT_ENOMEM;
    run_scan(d, text, len, 0, &c);
    unsigned long sc = c.score;
    for (int r = 0; r < kt_injection_rule_count(); r++) sc += c.tally[r].sum;
    free(c.tally);
    unsigned s = (unsigned)KT_MIN(sc, (unsigned long)UINT32_MAX);
    if (score) *score = s;
    return s >= d->threshold;
}

/* ---- decoded views and the learned scorer ------------------------------------------------ */

#define KT__INJ_VIEW_MIN_ESC 3

typedef struct kt__combo_ctx {
    kt_injection_assessment *a;
    uint32_t seen;        /* families counted (once each, over the text and its decodings) */
    int fixed;            /* a decoded text: matches span its encoded form [fs, fe) */
    size_t fs, fe;
} kt__combo_ctx;

static void on_combo(void *ud, const kt__cooc_rule *r, size_t start, size_t end)
{
    kt__combo_ctx *c = ud;
    if (c->seen & (1u << (r->tag & 31))) return;
    c->seen |= 1u << (r->tag & 31);
    if (c->fixed) {
        start = c->fs;
        end = c->fe > c->fs ? c->fe : c->fs + 1;
    }
    if (c->a->combo < 0) {
        c->a->combo = r->tag;
        c->a->combo_start = start;
        c->a->combo_end = end;
    }
    c->a->combo_score += r->weight;
}

typedef struct kt__vctx {
    const kt_injection *d;
    kt_injection_assessment *a;
    char *buf;              /* d->max_b64_decoded bytes (capped) */
    size_t cap;
    kt__combo_ctx *cc;
} kt__vctx;

/* The phrase families over a decoded text whose encoded form is [start, end). */
static void combos_on(kt__vctx *v, const char *s, size_t n, size_t start, size_t end)
{
    if (!v->d->combos) return;
    v->cc->fixed = 1;
    v->cc->fs = start;
    v->cc->fe = end;
    kt__cooc_scan(v->d->combos, v->d->tflags, s, n, on_combo, v->cc);
    v->cc->fixed = 0;
}

static void learned_of(kt__vctx *v, const kt__linres *r, size_t start, size_t end, int whole)
{
    float p = kt__lin_prob(r->logit[0]);
    if (p <= v->a->p) return;
    v->a->p = p;
    v->a->start = whole ? r->start[0] : start;
    v->a->end = whole ? r->end[0] : end;
}

static void learned_on(kt__vctx *v, const char *s, size_t n, size_t start, size_t end, int whole)
{
    if (!v->d->learned) return;
    kt__linres r;
    kt__lin_score(&kt__linmodel_injection, s, n, &r);
    learned_of(v, &r, start, end, whole);
}

/* The phrase families and the learned score of the whole text, in one pass over its words where
 * the text allows (kt__lin_score_cooc). */
static void whole_text(kt__vctx *v, const char *text, size_t len)
{
    const kt_injection *d = v->d;
    if (!d->combos || !d->learned) {
        if (d->combos) kt__cooc_scan(d->combos, d->tflags, text, len, on_combo, v->cc);
        learned_on(v, text, len, 0, len, 1);
        return;
    }
    kt__coocrun run;
    kt__cooc_begin(&run, d->combos, on_combo, v->cc);
    kt__linres r;
    kt__lin_score_cooc(&kt__linmodel_injection, text, len, &r, &run);
    learned_of(v, &r, 0, len, 1);
}

/* The phrase rules over a decoded view: each rule once. */
static void phrases_on(kt__vctx *v, const char *s, size_t n, size_t start)
{
    kt_injection_hit hits[32];
    int trunc = 0;
    size_t nh = kt_injection_scan_ctx(v->d, s, n, 0, hits, 32, &trunc);
    uint64_t seen = 0;
    for (size_t i = 0; i < nh; i++) {
        uint64_t bit = 1ull << (hits[i].rule & 63);
        if (seen & bit) continue;
        seen |= bit;
        if (v->a->view_rule < 0) {
            v->a->view_rule = hits[i].rule;
            v->a->view_start = start;
        }
        v->a->view_score += hits[i].weight;
    }
}

static void view(kt__vctx *v, size_t n, size_t start, size_t end)
{
    if (!n) return;
    if (v->d->decode_more) {
        phrases_on(v, v->buf, n, start);
        combos_on(v, v->buf, n, start, end);
    }
    learned_on(v, v->buf, n, start, end, 0);
}

/* The learned score and the phrase families of each decoded base64/hex/base32 run (the phrase
 * rules have seen them in the scan). */
static void decoded_runs(kt__vctx *v, const char *text, size_t len)
{
    const kt_injection *d = v->d;
    size_t i = 0, runs = 0;
    while (i < len && runs < d->max_b64_runs) {
        if (!is_b64((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && is_b64((unsigned char)text[j])) j++;
        if (j - i >= KT__INJ_B64_MIN) {
            runs++;
            size_t wend = i + KT_MIN(j - i, KT_MIN(b64_window(d), v->cap / 3 * 4));
            int kind = run_kind(text, i, wend);
            size_t n = 0;
            if (kind != KT__RUN_B64) {
                n = decode_chunk(kind, text, i, wend, v->buf, v->cap);
            } else {
                uint32_t acc = 0;
                unsigned bits = 0;
                for (size_t k = i; k < wend && n < v->cap; k++) {
                    if (text[k] == '=') continue;
                    acc = (acc << 6) | b64_val((unsigned char)text[k]);
                    bits += 6;
                    if (bits < 8) continue;
                    bits -= 8;
                    v->buf[n++] = (char)(acc >> bits);
                    acc &= (1u << bits) - 1;
                }
            }
            learned_on(v, v->buf, n, i, j, 0);
            combos_on(v, v->buf, n, i, j);
        }
        i = j;
    }
}

int kt_injection_combo_count(void) { return (int)kt__cooc_injection_nnames; }

const char *kt_injection_combo_name(int id)
{
    return id >= 0 && id < kt_injection_combo_count() ? kt__cooc_injection_names[id] : NULL;
}

int kt_injection_assess(const kt_injection *d, const char *text, size_t len,
                        kt_injection_assessment *a)
{
    memset(a, 0, sizeof *a);
    a->view_rule = -1;
    a->combo = -1;
    if (!d->phrases) return KT_EINVAL;
    kt__combo_ctx cc = { a, 0, 0, 0, 0 };
    kt__vctx v = { d, a, NULL, KT_MIN(d->max_b64_decoded, (size_t)65536), &cc };
    whole_text(&v, text, len);
    if (!d->decode_more && !d->decode_base64) return KT_OK;
    v.buf = kt_malloc(v.cap ? v.cap : 1);
    if (!v.buf) return KT_ENOMEM;
    if (d->decode_base64) decoded_runs(&v, text, len);
    if (d->decode_more) {
        if (kt__rot13_suspect(text, len)) view(&v, kt__dec_rot13(text, len, v.buf, v.cap), 0, len);
        if (kt__count_escapes(text, len, '%', KT__INJ_VIEW_MIN_ESC) >= KT__INJ_VIEW_MIN_ESC)
            view(&v, kt__dec_url(text, len, v.buf, v.cap), 0, len);
        if (kt__count_escapes(text, len, '=', KT__INJ_VIEW_MIN_ESC) >= KT__INJ_VIEW_MIN_ESC)
            view(&v, kt__dec_qp(text, len, v.buf, v.cap), 0, len);
        int plane14 = memmem(text, len, "\xf3\xa0", 2) != NULL;
        if (plane14) view(&v, kt__dec_tags(text, len, v.buf, v.cap), 0, len);
        if (plane14 || memmem(text, len, "\xef\xb8", 2))
            view(&v, kt__dec_vsel(text, len, v.buf, v.cap), 0, len);
    }
    free(v.buf);
    return KT_OK;
}

int kt_injection_judge(const kt_injection *d, const char *text, size_t len, unsigned *score,
                       float *p)
{
    unsigned sc = 0;
    int rc = kt_injection_eval(d, text, len, &sc);
    if (score) *score = sc;
    if (p) *p = 0;
    if (rc < 0) return rc;
    kt_injection_assessment a;
    int arc = kt_injection_assess(d, text, len, &a);
    if (arc) return arc;
    unsigned long total = (unsigned long)sc + a.view_score + a.combo_score;
    if (score) *score = (unsigned)KT_MIN(total, (unsigned long)UINT32_MAX);
    if (p) *p = a.p;
    return total >= d->threshold || (d->learned && a.p >= d->cutoff);
}

/* ---- streaming ---------------------------------------------------------------------------- */

static void ignore_hit(void *ud, int run, uint32_t tag, size_t start, size_t end)
{
    (void)ud, (void)run, (void)tag, (void)start, (void)end;
}

/* A base64 run that ends the text may still grow and decode to more: it is held whole while it is
 * shorter than its decode window (longer, its decoded part is final). */
static size_t b64_hold(const kt_injection *d, const char *text, size_t len, size_t from, size_t h)
{
    size_t win = b64_window(d), rs = len;
    while (rs > from && len - rs <= win && is_b64((unsigned char)text[rs - 1])) rs--;
    if (rs == len || len - rs > win) return h;
    if (rs == from && from > 0 && is_b64((unsigned char)text[from - 1])) return h;
    return KT_MIN(h, rs);
}

static size_t stable_prefix(const kt_injection *d, const char *text, size_t len, size_t from,
                            int plain)
{
    if (from > len) return len;
    if (!d->phrases) return from;
    kt__scan sc;
    scan_setup(d, &sc, ignore_hit, NULL, text, from, plain);
    kt__tok_feed(&sc.tok, text + from, len - from);
    size_t h = kt__scan_hold(&sc);
    if (h < from) h = from;
    if (d->decode_base64) h = b64_hold(d, text, len, from, h);
    return h;
}

size_t kt_injection_stable_prefix_ctx(const kt_injection *d, const char *text, size_t len,
                                      size_t from)
{
    return stable_prefix(d, text, len, from, 0);
}

size_t kt__injection_stable_prefix_plain(const kt_injection *d, const char *text, size_t len,
                                         size_t from)
{
    return stable_prefix(d, text, len, from, 1);
}

size_t kt_injection_stable_prefix(const kt_injection *d, const char *text, size_t len)
{
    return kt_injection_stable_prefix_ctx(d, text, len, 0);
}

size_t kt_injection_max_holdback(const kt_injection *d)
{
    unsigned depth = 1;
    if (d->phrases && d->phrases->maxdepth > depth) depth = d->phrases->maxdepth;
    if (d->markers && d->markers->maxdepth > depth) depth = d->markers->maxdepth;
    size_t t = kt__holdback_bound(depth, KT__SKIP_MAX);
    return d->decode_base64 ? KT_MAX(t, b64_window(d) + 1) : t;
}
