/* JSON scanner, decoder, path patterns, field lookups and splice editing. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kt/json_text.h"
#include "kt_test.h"

#define S(lit) (lit), (sizeof(lit) - 1)

typedef struct jcase {
    const char *s;
    size_t n; /* 0: strlen */
} jcase;

static size_t jlen(const jcase *c) { return c->n ? c->n : strlen(c->s); }

static const jcase valid_cases[] = {
    { "0", 0 }, { "-0", 0 }, { "1", 0 }, { "-1", 0 }, { "12345678901234567890", 0 },
    { "1.0e+10", 0 }, { "1E5", 0 }, { "1e-5", 0 }, { "0.5", 0 }, { "-0.0e0", 0 },
    { "true", 0 }, { "false", 0 }, { "null", 0 }, { "\"\"", 0 }, { "\"abc\"", 0 },
    { "[]", 0 }, { "{}", 0 }, { " [ ] ", 0 }, { "\t\r\n{}\n", 0 }, { "[1,2,3]", 0 },
    { "[[[]]]", 0 }, { "{\"a\":{\"b\":[{\"c\":null}]}}", 0 }, { "{\"a\":1,\"a\":2}", 0 },
    { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 0 }, { "\"\\u0041\\u00e9\\u20AC\"", 0 },
    { "\"\\ud83d\\ude00\"", 0 }, { "\"\\ud800\"", 0 }, { "\"\\udc00\\ud800\"", 0 },
    { "\"\xc3\xa9\"", 0 }, { "\"\xe2\x82\xac\"", 0 }, { "\"\xf0\x9f\x98\x80\"", 0 },
    { "\"\xef\xbf\xbf\"", 0 }, { "\"\xf4\x8f\xbf\xbf\"", 0 }, { "\"\x7f\"", 0 },
    { "{ \"k\" : \"v\" , \"n\" : [ true , false , null ] }", 0 }, { "[\"a\",\"b\"]", 0 },
    { "{\"\":\"\"}", 0 }, { "\"\\u0000\"", 0 }, { "[-1.5e-300,1e400]", 0 },
    { "{\"model\":\"gpt-4o\",\"stream\":true,\"seed\":18446744073709551615}", 0 },
    { "\"a\\u0040b\"", 0 }, { "[0]", 0 }, { "[ 0 , -0 ]", 0 },
};

static const jcase invalid_cases[] = {
    { "", 0 }, { " ", 0 }, { "01", 0 }, { "-01", 0 }, { "+1", 0 }, { ".5", 0 },
    { "1.", 0 }, { "1.e5", 0 }, { "1e", 0 }, { "1e+", 0 }, { "-", 0 }, { "0x10", 0 },
    { "NaN", 0 }, { "Infinity", 0 }, { "tru", 0 }, { "truex", 0 }, { "nul", 0 },
    { "True", 0 }, { "[1,]", 0 }, { "[,1]", 0 }, { "[1 2]", 0 }, { "{\"a\":1,}", 0 },
    { "{\"a\" 1}", 0 }, { "{a:1}", 0 }, { "{'a':1}", 0 }, { "{\"a\":}", 0 }, { "{1:2}", 0 },
    { "[", 0 }, { "]", 0 }, { "{", 0 }, { "[}", 0 }, { "{]", 0 }, { "\"abc", 0 },
    { "\"a\nb\"", 0 }, { "\"a\tb\"", 0 }, { "\"\\x41\"", 0 }, { "\"\\u12\"", 0 },
    { "\"\\u12g4\"", 0 }, { "\"\\\"", 0 }, { "\"\\'\"", 0 }, { "\"\\U0041\"", 0 },
    { "[] []", 0 }, { "{} x", 0 }, { "1 2", 0 }, { "\"a\"\"b\"", 0 },
    { "\xef\xbb\xbf{}", 0 }, { "\"\xc0\xaf\"", 0 }, { "\"\xed\xa0\x80\"", 0 },
    { "\"\xf5\x80\x80\x80\"", 0 }, { "\"\x80\"", 0 }, { "\"\xc3\"", 0 },
    { "\"\xe2\x82\"", 0 }, { "\"\xf0\x8f\xbf\xbf\"", 0 }, { "\"\xf4\x90\x80\x80\"", 0 },
    { "\"a\0b\"", 5 }, { "[1]\0", 4 }, { "/* c */ 1", 0 }, { "[1]//", 0 }, { "{\"a\":1", 0 },
    { "\"\x1f\"", 0 }, { "[\"a\":1]", 0 }, { "{\"a\",1}", 0 }, { "- 1", 0 }, { "1e5.0", 0 },
};

KT_TEST(valid_table)
{
    KT_ASSERT(KT_ARRAY_LEN(valid_cases) >= 40);
    for (size_t k = 0; k < KT_ARRAY_LEN(valid_cases); k++) {
        int rc = kt_json_validate(valid_cases[k].s, jlen(&valid_cases[k]));
        if (rc != 0) KT_FAILF("valid case %zu rejected: rc=%d", k, rc);
    }
}

KT_TEST(invalid_table)
{
    KT_ASSERT(KT_ARRAY_LEN(invalid_cases) >= 40);
    for (size_t k = 0; k < KT_ARRAY_LEN(invalid_cases); k++) {
        int rc = kt_json_validate(invalid_cases[k].s, jlen(&invalid_cases[k]));
        if (rc != KT_EPARSE) KT_FAILF("invalid case %zu: rc=%d, want KT_EPARSE", k, rc);
    }
}

/* Every proper prefix of a valid document that is not itself a number is invalid. */
KT_TEST(truncations_invalid)
{
    const char *doc = "{\"a\":[1,\"x\\u0041\",{\"b\":null}],\"c\":true}";
    size_t n = strlen(doc);
    for (size_t k = 0; k < n; k++) KT_ASSERT_EQ_INT(kt_json_validate(doc, k), KT_EPARSE);
    KT_ASSERT_EQ_INT(kt_json_validate(doc, n), 0);
}

static char *nested(int depth, char open, char close)
{
    char *s = malloc((size_t)depth * 2 + 1);
    for (int i = 0; i < depth; i++) {
        s[i] = open;
        s[depth * 2 - 1 - i] = close;
    }
    s[depth * 2] = '\0';
    return s;
}

KT_TEST(depth_cap)
{
    char *ok = nested(64, '[', ']');
    char *deep = nested(65, '[', ']');
    char *huge = nested(100000, '[', ']');
    KT_ASSERT_EQ_INT(kt_json_validate(ok, strlen(ok)), 0);
    KT_ASSERT_EQ_INT(kt_json_validate(deep, strlen(deep)), KT_ELIMIT);
    KT_ASSERT_EQ_INT(kt_json_validate(huge, strlen(huge)), KT_ELIMIT);
    kt_json_limits lim = { 3 };
    KT_ASSERT_EQ_INT(kt_json_walk_ex(S("[[[1]]]"), &lim, NULL, NULL), 0);
    KT_ASSERT_EQ_INT(kt_json_walk_ex(S("[[[[1]]]]"), &lim, NULL, NULL), KT_ELIMIT);
    KT_ASSERT_EQ_INT(kt_json_walk_ex(S("{\"a\":{\"b\":{\"c\":{}}}}"), &lim, NULL, NULL),
                     KT_ELIMIT);
    lim.max_depth = KT_JSON_MAX_DEPTH + 1;
    KT_ASSERT_EQ_INT(kt_json_walk_ex(S("1"), &lim, NULL, NULL), KT_EINVAL);
    free(ok);
    free(deep);
    free(huge);
}

/* Collects "path=value" lines, path rendered as a.b[1].c with raw keys. */
typedef struct collect {
    kt_buf out;
    int stop_after;
    int seen;
} collect;

static void render_path(kt_buf *b, const kt_json_path *p)
{
    for (int d = 0; d < p->depth; d++) {
        const kt_json_path_elem *e = &p->el[d];
        if (e->is_index) {
            kt_buf_printf(b, "[%zu]", e->index);
        } else {
            if (d) kt_buf_append(b, ".", 1);
            kt_buf_append(b, p->buf + e->key_start, e->key_len);
        }
    }
}

static int collect_fn(void *ud, const kt_json_path *p, size_t start, size_t end)
{
    collect *c = ud;
    render_path(&c->out, p);
    kt_buf_append(&c->out, "=", 1);
    kt_buf_append(&c->out, p->buf + start, end - start);
    kt_buf_append(&c->out, ";", 1);
    c->seen++;
    return c->stop_after && c->seen >= c->stop_after ? 7 : 0;
}

KT_TEST(walk_reports_string_values_with_paths)
{
    const char *doc =
        "{\"model\":\"gpt\",\"messages\":[{\"role\":\"user\",\"content\":\"hi \\u0040 x\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"part\"}]}],"
        "\"n\":2,\"stop\":[\"a\",\"b\"],\"k\\\"q\":\"v\"}";
    collect c;
    memset(&c, 0, sizeof c);
    kt_buf_init(&c.out, 4096);
    KT_ASSERT_EQ_INT(kt_json_walk(doc, strlen(doc), collect_fn, &c), 0);
    KT_ASSERT_EQ_STR(c.out.p, "model=gpt;messages[0].role=user;messages[0].content=hi \\u0040 x;"
                              "messages[1].role=user;messages[1].content[0].type=text;"
                              "messages[1].content[0].text=part;stop[0]=a;stop[1]=b;"
                              "k\\\"q=v;");
    kt_buf_free(&c.out);
}

KT_TEST(walk_top_level_string_and_stop)
{
    collect c;
    memset(&c, 0, sizeof c);
    kt_buf_init(&c.out, 4096);
    KT_ASSERT_EQ_INT(kt_json_walk(S(" \"top\" "), collect_fn, &c), 0);
    KT_ASSERT_EQ_STR(c.out.p, "=top;");
    kt_buf_reset(&c.out);
    c.seen = 0;
    c.stop_after = 2;
    /* The callback's value comes back unchanged; the garbage after the stop is never seen. */
    KT_ASSERT_EQ_INT(kt_json_walk(S("[\"a\",\"b\",\"c\"] garbage"), collect_fn, &c), 7);
    KT_ASSERT_EQ_STR(c.out.p, "[0]=a;[1]=b;");
    /* Invalid before any string: no callback. */
    kt_buf_reset(&c.out);
    c.seen = 0;
    KT_ASSERT_EQ_INT(kt_json_walk(S("[01,\"a\"]"), collect_fn, &c), KT_EPARSE);
    KT_ASSERT_EQ_INT(c.seen, 0);
    kt_buf_free(&c.out);
}

typedef struct types_ctx {
    char seq[64];
    size_t n;
} types_ctx;

static int types_fn(void *ud, const kt_json_path *p, const kt_json_value *v)
{
    types_ctx *t = ud;
    (void)p;
    if (t->n < sizeof t->seq - 1) t->seq[t->n++] = "nftNsAO"[v->type];
    return 0;
}

KT_TEST(scan_reports_all_types_post_order)
{
    types_ctx t;
    memset(&t, 0, sizeof t);
    KT_ASSERT_EQ_INT(kt_json_scan(S("{\"a\":[null,false,true,1.5,\"s\",{}],\"b\":[]}"), NULL,
                                  types_fn, &t),
                     0);
    KT_ASSERT_EQ_STR(t.seq, "nftNsOAAO");
}

static int plain_fn(void *ud, const kt_json_path *p, const kt_json_value *v)
{
    types_ctx *t = ud;
    (void)p;
    if (t->n < sizeof t->seq - 1) t->seq[t->n++] = (char)('0' + v->plain);
    return 0;
}

KT_TEST(scan_says_which_strings_are_their_own_decoding)
{
    types_ctx t;
    memset(&t, 0, sizeof t);
    /* plain ASCII, empty, an escape, UTF-8, an escape late in the string; a number, the array and
     * the object (post-order) are not strings */
    KT_ASSERT_EQ_INT(kt_json_scan(S("{\"a b\":[\"plain text\",\"\",\"x\\ny\",\"caf\xc3\xa9\","
                                    "\"abcdefghijklmnop\\u0041\",7]}"), NULL, plain_fn, &t),
                     0);
    KT_ASSERT_EQ_STR(t.seq, "11000000");
}

typedef struct match_ctx {
    const char *pattern;
    kt_buf hits;
} match_ctx;

static int match_fn(void *ud, const kt_json_path *p, size_t start, size_t end)
{
    match_ctx *m = ud;
    if (kt_json_path_match(p, m->pattern)) {
        kt_buf_append(&m->hits, p->buf + start, end - start);
        kt_buf_append(&m->hits, "|", 1);
    }
    return 0;
}

static const char *hits(const char *doc, const char *pattern, kt_buf *b)
{
    match_ctx m;
    m.pattern = pattern;
    m.hits = *b;
    kt_buf_reset(&m.hits);
    kt_json_walk(doc, strlen(doc), match_fn, &m);
    *b = m.hits;
    return b->p ? b->p : "";
}

/* The eight-bytes-at-a-time plain run: every byte value at every offset of a string longer
 * than two words is classified as the byte-by-byte rule does. */
KT_TEST(plain_runs_every_byte_every_offset)
{
    char doc[24], raw[21];
    uint32_t map[22];
    kt_buf t;
    kt_buf_init(&t, 1 << 10);
    for (int b = 0; b < 256; b++) {
        bool plain = b >= 0x20 && b < 0x80 && b != '"' && b != '\\';
        for (size_t at = 0; at < 21; at++) {
            memset(raw, 'a', sizeof raw);
            raw[at] = (char)b;
            doc[0] = doc[22] = '"';
            memcpy(doc + 1, raw, sizeof raw);
            int rc = kt_json_validate(doc, 23);
            if ((rc == 0) != plain) KT_FAILF("byte %02x at %zu: validate %d", b, at, rc);
            if (!plain) continue;
            if (kt_json_str_decode(raw, sizeof raw, &t, map, 22) || t.len != sizeof raw ||
                memcmp(t.p, raw, sizeof raw) != 0 || map[at] != at || map[21] != 21)
                KT_FAILF("byte %02x at %zu: decode", b, at);
        }
    }
    kt_buf_free(&t);
}

/* kt_json_pathset against what it replaces (signature + kt_json_sig_match, kt_json_path_match
 * when a key is escaped or the signature too long), for every string of every document, including
 * the odd cases: keys with '.', '[' or "**" in them, ".**" patterns, empty keys and patterns. */
typedef struct pathset_cmp {
    kt_json_pathset set;
    const kt_json_pat *pats;
    size_t n;
    int strings, hits, diffs;
} pathset_cmp;

static int pathset_oracle(const kt_json_path *p, const kt_json_pat *pats, size_t n)
{
    char sig[KT_JSON_SIG_CAP];
    int len = kt_json_path_sig(p, sig, sizeof sig);
    for (size_t i = 0; i < n; i++)
        if (len >= 0 ? kt_json_sig_match(sig, (size_t)len, pats[i].s) : kt_json_path_match(p, pats[i].s))
            return 1;
    return 0;
}

static int pathset_visit(void *ud, const kt_json_path *p, size_t start, size_t end)
{
    pathset_cmp *c = ud;
    (void)start;
    (void)end;
    int want = pathset_oracle(p, c->pats, c->n), got = kt_json_pathset_match(&c->set, p);
    c->strings++;
    c->hits += want;
    if (want != got) {
        c->diffs++;
        KT_FAILF("string %d at depth %d: pathset %d, signature %d", c->strings, p->depth, got, want);
    }
    return 0;
}

KT_TEST(pathset_matches_like_signatures)
{
    static const char *const pats[] = {
        "messages[*].content", "messages[*].content[*].text", "messages[*].content[*].input.**",
        "prompt", "prompt[*]", "a.**", "a.b", "a[*].b.**", "", ".**", "**", "*", "a[0]", "a.b.c",
        "x.y[*][*]", "k.**",
        /* neighbours sharing more than the signature before a level but not all of it: a level
         * may reuse the answer for the pattern before only when they agree on the whole piece */
        "q.bc", "q.bd", "q.bd[*].e",
    };
    kt_json_pat ps[KT_ARRAY_LEN(pats)];
    for (size_t i = 0; i < KT_ARRAY_LEN(pats); i++) ps[i] = kt_json_pat_of(pats[i]);
    KT_ASSERT_EQ_INT((int)ps[2].lim, (int)strlen(pats[2]) - 3);
    KT_ASSERT_EQ_INT((int)ps[9].lim, 0);
    static char longkey[700];
    memset(longkey, 0, sizeof longkey);
    strcpy(longkey, "{\"messages\":[{\"");
    memset(longkey + strlen(longkey), 'k', 300);
    strcat(longkey, "\":\"v\",\"content\":\"c\"}],\"a\":{\"b\":\"x\"}}");
    const char *docs[] = {
        "\"top\"",
        "[\"a\",[\"b\"]]",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"one\"},{\"content\":[{\"text\":"
        "\"t\",\"input\":{\"q\":[\"deep\",{\"r\":\"s\"}]},\"inputx\":\"no\"}]}],\"prompt\":[\"p\"]}",
        "{\"messages\":[{\"con\\u0074ent\":\"esc\",\"content\":\"plain\"}],\"a\\u002eb\":\"k\"}",
        "{\"a.b\":\"dot\",\"a\":{\"b\":\"ab\",\"c\":\"ac\",\"b.c\":\"x\"},\"a[*]\":\"br\",\"**\":\"s\"}",
        "{\"a\":[{\"b\":\"1\",\"c\":{\"b\":\"2\"}},[\"3\"]],\"\":\"empty\",\"k\":\"k\",\"kk\":\"kk\"}",
        "{\"a\":{\"**\":\"lit\",\".\":\"dot\",\"[\":\"br\"},\"x\":{\"y\":[[\"z\"],\"w\"]},\"*\":\"st\"}",
        "{\"prompt\":\"a\",\"prompt\":[\"b\",[\"c\"]],\"promptx\":\"d\",\"prompt[*]\":\"e\"}",
        "{\"q\":{\"bd\":\"x\",\"bc\":\"y\",\"be\":\"z\",\"b\":\"w\"},\"q.bd\":[{\"e\":\"v\"}]}",
        "{\"q\":{\"bd\":[{\"e\":\"v\"},{\"f\":\"u\"}],\"bc\":[{\"e\":\"t\"}]}}",
        longkey,
    };
    int hits = 0;
    for (size_t d = 0; d < KT_ARRAY_LEN(docs); d++) {
        pathset_cmp c;
        memset(&c, 0, sizeof c);
        c.pats = ps;
        c.n = KT_ARRAY_LEN(ps);
        KT_ASSERT_EQ_INT(kt_json_pathset_init(&c.set, ps, c.n), 0);
        KT_ASSERT_EQ_INT(kt_json_walk(docs[d], strlen(docs[d]), pathset_visit, &c), 0);
        KT_ASSERT(c.strings > 0);
        if (c.diffs) KT_FAILF("document %zu differs", d);
        hits += c.hits;
        /* one pattern at a time too: every answer, not just their union */
        for (size_t i = 0; i < KT_ARRAY_LEN(ps); i++) {
            pathset_cmp one;
            memset(&one, 0, sizeof one);
            one.pats = &ps[i];
            one.n = 1;
            kt_json_pathset_init(&one.set, &ps[i], 1);
            kt_json_walk(docs[d], strlen(docs[d]), pathset_visit, &one);
            if (one.diffs) KT_FAILF("document %zu, pattern '%s' differs", d, pats[i]);
        }
    }
    KT_ASSERT(hits >= 20);
    kt_json_pathset set;
    KT_ASSERT_EQ_INT(kt_json_pathset_init(&set, ps, KT_JSON_PATHSET_MAX + 1), KT_EINVAL);
}

/* 64 long patterns that differ early: their byte cells overflow KT_JSON_PATSET_CELLS after a
 * few positions, and the rest of each level is compared pattern by pattern. Documents built from
 * the same keys (and near misses) must get the signatures' answers. */
KT_TEST(pathset_past_its_cells)
{
    static char text[KT_JSON_PATHSET_MAX][64], key[KT_JSON_PATHSET_MAX][3][12];
    bool arr[KT_JSON_PATHSET_MAX][2];
    kt_json_pat ps[KT_JSON_PATHSET_MAX];
    uint32_t seed = 99;
    for (size_t i = 0; i < KT_JSON_PATHSET_MAX; i++) {
        for (int k = 0; k < 3; k++) {
            for (int j = 0; j < 9; j++) {
                seed = seed * 1103515245u + 12345u;
                key[i][k][j] = (char)('a' + (seed >> 16) % 26);
            }
            key[i][k][9] = 0;
        }
        arr[i][0] = (seed >> 8) & 1;
        arr[i][1] = (seed >> 9) & 1;
        snprintf(text[i], sizeof text[i], "%.9s%s.%.9s%s.%.9s%s", key[i][0], arr[i][0] ? "[*]" : "",
                 key[i][1], arr[i][1] ? "[*]" : "", key[i][2], i % 5 == 0 ? ".**" : "");
        ps[i] = kt_json_pat_of(text[i]);
    }
    pathset_cmp c;
    memset(&c, 0, sizeof c);
    c.pats = ps;
    c.n = KT_JSON_PATHSET_MAX;
    KT_ASSERT_EQ_INT(kt_json_pathset_init(&c.set, ps, c.n), 0);
    KT_ASSERT(c.set.own.cov < 20);   /* the cells ran out: the slow path is exercised */
    /* A document per pattern: the pattern's own path, one a byte off at the end, one deeper. */
    for (size_t i = 0; i < KT_JSON_PATHSET_MAX; i++)
        for (int variant = 0; variant < 3; variant++) {
            char doc[256];
            int len = snprintf(doc, sizeof doc, "{\"%.9s\":%s{\"%.9s\":%s{\"%.9s%s\":%s}%s}%s}",
                               key[i][0], arr[i][0] ? "[" : "", key[i][1], arr[i][1] ? "[" : "",
                               key[i][2], variant == 1 ? "x" : "",
                               variant == 2 ? "{\"deep\":\"v\"}" : "\"v\"",
                               arr[i][1] ? "]" : "", arr[i][0] ? "]" : "");
            kt_json_pathset_start(&c.set, &c.set.own);   /* a new walk over the same buffer */
            KT_ASSERT_EQ_INT(kt_json_walk(doc, (size_t)len, pathset_visit, &c), 0);
        }
    KT_ASSERT_EQ_INT(c.diffs, 0);
    /* the own paths (64) and the ".**" patterns' deeper ones (13) */
    KT_ASSERT_EQ_INT(c.hits, KT_JSON_PATHSET_MAX + 13);
}

KT_TEST(path_patterns)
{
    const char *chat =
        "{\"model\":\"m\",\"system\":[{\"type\":\"text\",\"text\":\"sys\"}],"
        "\"messages\":[{\"role\":\"user\",\"content\":\"one\"},"
        "{\"role\":\"user\",\"con\\u0074ent\":[{\"type\":\"text\",\"text\":\"two\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"u\"}}]}],"
        "\"tools\":[{\"function\":{\"name\":\"f\",\"description\":\"d\"}}],"
        "\"input\":[\"e1\",\"e2\"],\"prompt\":\"p\"}";
    kt_buf b;
    kt_buf_init(&b, 4096);
    KT_ASSERT_EQ_STR(hits(chat, "messages[*].content", &b), "one|");
    KT_ASSERT_EQ_STR(hits(chat, "messages[*].content[*].text", &b), "two|");
    KT_ASSERT_EQ_STR(hits(chat, "messages[1].content[0].text", &b), "two|");
    KT_ASSERT_EQ_STR(hits(chat, "messages[0].content[0].text", &b), "");
    KT_ASSERT_EQ_STR(hits(chat, "system[*].text", &b), "sys|");
    KT_ASSERT_EQ_STR(hits(chat, "input[*]", &b), "e1|e2|");
    KT_ASSERT_EQ_STR(hits(chat, "input", &b), "");
    KT_ASSERT_EQ_STR(hits(chat, "prompt", &b), "p|");
    KT_ASSERT_EQ_STR(hits(chat, "tools.**", &b), "f|d|");
    KT_ASSERT_EQ_STR(hits(chat, "tools", &b), "");
    KT_ASSERT_EQ_STR(hits(chat, "messages[*].*", &b), "user|one|user|");
    KT_ASSERT_EQ_STR(hits(chat, "*", &b), "m|p|");
    KT_ASSERT_EQ_STR(hits(chat, "**", &b),
                     "m|text|sys|user|one|user|text|two|image_url|u|f|d|e1|e2|p|");
    KT_ASSERT_EQ_STR(hits("{\"choices\":[{\"delta\":{\"content\":\"tok\"}}]}",
                          "choices[*].delta.content", &b),
                     "tok|");
    KT_ASSERT_EQ_STR(hits("\"top\"", "", &b), "top|");
    KT_ASSERT_EQ_STR(hits("[\"a\",[\"b\"]]", "[*]", &b), "a|");
    KT_ASSERT_EQ_STR(hits("[\"a\",[\"b\"]]", "[1][0]", &b), "b|");
    kt_buf_free(&b);
}

KT_TEST(pattern_validity)
{
    const char *good[] = { "", "a", "a.b", "a[*]", "a[0]", "a[12].b[*].c", "[*]", "[3]",
                           "*", "a.*", "**", "a.**", "a[*].**", "a-b_c", "\xc3\xa9" };
    const char *bad[] = { ".", "a.", ".a", "a..b", "a[", "a[]", "a[x]", "a[01]", "a[*",
                          "a]", "a[0]b", "**.a", "a.**.b", "a[-1]", "[*]a",
                          "a[99999999999999999999999]" };
    for (size_t k = 0; k < KT_ARRAY_LEN(good); k++)
        if (!kt_json_path_pattern_valid(good[k])) KT_FAILF("good pattern %zu rejected", k);
    for (size_t k = 0; k < KT_ARRAY_LEN(bad); k++)
        if (kt_json_path_pattern_valid(bad[k])) KT_FAILF("bad pattern %zu accepted", k);
    KT_ASSERT(!kt_json_path_pattern_valid(NULL));
    kt_buf b;
    kt_buf_init(&b, 256);
    KT_ASSERT_EQ_STR(hits("{\"a\":[\"x\"]}", "a[", &b), "");
    kt_buf_free(&b);
}

KT_TEST(key_eq_decodes)
{
    KT_ASSERT(kt_json_key_eq(S("content"), S("content")));
    KT_ASSERT(kt_json_key_eq(S("\\u0063ontent"), S("content")));
    KT_ASSERT(kt_json_key_eq(S("a\\/b"), S("a/b")));
    KT_ASSERT(kt_json_key_eq(S("\\ud83d\\ude00"), S("\xf0\x9f\x98\x80")));
    KT_ASSERT(!kt_json_key_eq(S("content"), S("conten")));
    KT_ASSERT(!kt_json_key_eq(S("conten"), S("content")));
    KT_ASSERT(!kt_json_key_eq(S("\\u0063"), S("C")));
    KT_ASSERT(!kt_json_key_eq(S("\\x"), S("x")));
    KT_ASSERT(kt_json_key_eq(S(""), S("")));
}

static int decode(const char *raw, size_t n, kt_buf *t, uint32_t *map)
{
    return kt_json_str_decode(raw, n, t, map, n + 1);
}

KT_TEST(decode_every_escape)
{
    kt_buf t;
    uint32_t map[64];
    kt_buf_init(&t, 1024);
    const char *raw = "\\\"\\\\\\/\\b\\f\\n\\r\\t";
    KT_ASSERT_EQ_INT(decode(raw, strlen(raw), &t, map), 0);
    KT_ASSERT_EQ_MEM(t.p, t.len, "\"\\/\b\f\n\r\t", 8);
    for (size_t i = 0; i < 8; i++) KT_ASSERT_EQ_INT(map[i], i * 2);
    KT_ASSERT_EQ_INT(map[8], 16);

    KT_ASSERT_EQ_INT(decode(S("\\u0041\\u00e9\\u20AC\\uffff"), &t, map), 0);
    KT_ASSERT_EQ_MEM(t.p, t.len, "A\xc3\xa9\xe2\x82\xac\xef\xbf\xbf", 9);
    const uint32_t want[] = { 0, 6, 6, 12, 12, 12, 18, 18, 18, 24 };
    for (size_t i = 0; i < KT_ARRAY_LEN(want); i++) KT_ASSERT_EQ_INT(map[i], want[i]);

    KT_ASSERT_EQ_INT(decode(S("\\u0000"), &t, map), 0);
    KT_ASSERT_EQ_MEM(t.p, t.len, "\0", 1);

    /* Surrogate pair -> one 4-byte character; all four bytes map to the first escape. */
    KT_ASSERT_EQ_INT(decode(S("x\\uD83D\\uDE00y"), &t, map), 0);
    KT_ASSERT_EQ_MEM(t.p, t.len, "x\xf0\x9f\x98\x80y", 6);
    const uint32_t want2[] = { 0, 1, 1, 1, 1, 13, 14 };
    for (size_t i = 0; i < KT_ARRAY_LEN(want2); i++) KT_ASSERT_EQ_INT(map[i], want2[i]);

    /* Lone surrogates decode to U+FFFD. */
    KT_ASSERT_EQ_INT(decode(S("\\ud800"), &t, map), 0);
    KT_ASSERT_EQ_MEM(t.p, t.len, "\xef\xbf\xbd", 3);
    KT_ASSERT_EQ_INT(decode(S("\\udc00a"), &t, map), 0);
    KT_ASSERT_EQ_MEM(t.p, t.len, "\xef\xbf\xbd" "a", 4);
    KT_ASSERT_EQ_INT(decode(S("\\ud800\\u0041"), &t, map), 0);
    KT_ASSERT_EQ_MEM(t.p, t.len, "\xef\xbf\xbd" "A", 4);
    KT_ASSERT_EQ_INT(map[3], 6);
    KT_ASSERT_EQ_INT(decode(S("\\ud800\\ud800\\udc00"), &t, map), 0);
    KT_ASSERT_EQ_MEM(t.p, t.len, "\xef\xbf\xbd\xf0\x90\x80\x80", 7);

    /* Raw UTF-8 is copied; continuation bytes map to the lead byte. */
    KT_ASSERT_EQ_INT(decode(S("a\xe2\x82\xac" "b"), &t, map), 0);
    KT_ASSERT_EQ_MEM(t.p, t.len, "a\xe2\x82\xac" "b", 5);
    const uint32_t want3[] = { 0, 1, 1, 1, 4, 5 };
    for (size_t i = 0; i < KT_ARRAY_LEN(want3); i++) KT_ASSERT_EQ_INT(map[i], want3[i]);

    KT_ASSERT_EQ_INT(decode(S(""), &t, map), 0);
    KT_ASSERT_EQ_INT(t.len, 0);
    KT_ASSERT_EQ_INT(map[0], 0);
    kt_buf_free(&t);
}

KT_TEST(decode_errors_and_caps)
{
    kt_buf t;
    uint32_t map[64];
    kt_buf_init(&t, 1024);
    const char *bad[] = { "\\", "\\x", "\\u12", "\\u12G4", "a\"b", "a\nb", "\\U0041", "\\'" };
    for (size_t k = 0; k < KT_ARRAY_LEN(bad); k++) {
        int rc = decode(bad[k], strlen(bad[k]), &t, map);
        if (rc != KT_EPARSE) KT_FAILF("bad escape %zu: rc=%d", k, rc);
        KT_ASSERT_EQ_INT(t.len, 0);
    }
    /* map too small */
    KT_ASSERT_EQ_INT(kt_json_str_decode(S("abcd"), &t, map, 4), KT_ELIMIT);
    KT_ASSERT_EQ_INT(kt_json_str_decode(S("abcd"), &t, map, 5), 0);
    /* escapes shrink the text, so decoded length + 1 entries are enough */
    KT_ASSERT_EQ_INT(kt_json_str_decode(S("\\u0041\\u0042"), &t, map, 3), 0);
    KT_ASSERT_EQ_INT(map[2], 12);
    /* no map */
    KT_ASSERT_EQ_INT(kt_json_str_decode(S("\\u0041"), &t, NULL, 0), 0);
    KT_ASSERT_EQ_STR(t.p, "A");
    kt_buf_free(&t);
    /* text max */
    kt_buf small;
    kt_buf_init(&small, 3);
    KT_ASSERT_EQ_INT(kt_json_str_decode(S("abcd"), &small, NULL, 0), KT_ELIMIT);
    KT_ASSERT_EQ_INT(kt_json_str_decode(S("\\u0061\\u0062\\u0063"), &small, NULL, 0), 0);
    KT_ASSERT_EQ_STR(small.p, "abc");
    KT_ASSERT_EQ_INT(kt_json_str_decode(S("ab\\u20ac"), &small, NULL, 0), KT_ELIMIT);
    kt_buf_free(&small);
}

KT_TEST(escape_hidden_at_sign_is_found)
{
    const char *raw = "mail jane.doe\\u0040example.com now";
    kt_buf t;
    uint32_t map[64];
    kt_buf_init(&t, 1024);
    KT_ASSERT_EQ_INT(decode(raw, strlen(raw), &t, map), 0);
    KT_ASSERT_EQ_STR(t.p, "mail jane.doe@example.com now");
    const char *at = strstr(t.p, "jane.doe@example.com");
    KT_ASSERT(at != NULL);
    size_t a = (size_t)(at - t.p), b = a + strlen("jane.doe@example.com");
    KT_ASSERT_EQ_MEM(raw + map[a], map[b] - map[a], "jane.doe\\u0040example.com", 25);
    kt_buf_free(&t);
}

KT_TEST(top_fields_in_one_pass)
{
    static const char *const keys[] = { "model", "stream", "stream_options.include_usage",
                                        "max_tokens", "user" };
    const char *doc = "{\"mo\\u0064el\":\"a\",\"stream\":true,\"nested\":{\"model\":\"inner\"},"
                      "\"stream_options\":{\"include_usage\":false},\"max_tokens\":[1],"
                      "\"model\":\"last\",\"list\":[{\"user\":\"x\"}]}";
    kt_json_top t;
    KT_ASSERT_EQ_INT(kt_json_top_begin(&t, keys, KT_ARRAY_LEN(keys)), 0);
    KT_ASSERT_EQ_INT(kt_json_top_scan(&t, doc, strlen(doc)), 0);
    KT_ASSERT(t.complete);
    const kt_json_value *m = kt_json_top_get(&t, 0);
    KT_ASSERT(m && m->type == KT_JSON_STRING);
    KT_ASSERT(m->end - m->start == 4 && memcmp(doc + m->start, "last", 4) == 0);   /* last wins */
    KT_ASSERT(kt_json_top_get(&t, 1)->type == KT_JSON_TRUE);
    KT_ASSERT(kt_json_top_get(&t, 2)->type == KT_JSON_FALSE);                     /* depth 2 */
    KT_ASSERT(kt_json_top_get(&t, 3)->type == KT_JSON_ARRAY);
    KT_ASSERT(kt_json_top_get(&t, 4) == NULL);   /* only inside an array: not top-level */
    /* not an object at the root: nothing is found; invalid JSON: not complete */
    KT_ASSERT_EQ_INT(kt_json_top_begin(&t, keys, 1), 0);
    KT_ASSERT_EQ_INT(kt_json_top_scan(&t, "[{\"model\":\"a\"}]", 15), 0);
    KT_ASSERT(kt_json_top_get(&t, 0) == NULL);
    KT_ASSERT_EQ_INT(kt_json_top_begin(&t, keys, 1), 0);
    KT_ASSERT_EQ_INT(kt_json_top_scan(&t, "{\"model\":\"a\"", 12), KT_EPARSE);
    KT_ASSERT(!t.complete);
    static const char *const bad[] = { "a.b.c" };
    KT_ASSERT_EQ_INT(kt_json_top_begin(&t, bad, 1), KT_EINVAL);
}

KT_TEST(top_fields)
{
    const char *doc = "{\"stream\":false,\"mo\\u0064el\":\"gpt-\\u0034o\",\"n\":1,"
                      "\"nested\":{\"model\":\"inner\",\"stream\":true},\"stream\":true}";
    kt_buf t;
    int on = -1;
    kt_json_value v;
    kt_buf_init(&t, 64);
    KT_ASSERT_EQ_INT(kt_json_top_string(doc, strlen(doc), "model", &t), 0);
    KT_ASSERT_EQ_STR(t.p, "gpt-4o");
    KT_ASSERT_EQ_INT(kt_json_top_bool(doc, strlen(doc), "stream", &on), 0);
    KT_ASSERT_EQ_INT(on, 1); /* last occurrence wins */
    KT_ASSERT_EQ_INT(kt_json_top_field(doc, strlen(doc), "n", &v), 0);
    KT_ASSERT_EQ_INT(v.type, KT_JSON_NUMBER);
    KT_ASSERT_EQ_MEM(doc + v.start, v.end - v.start, "1", 1);
    KT_ASSERT_EQ_INT(kt_json_top_field(doc, strlen(doc), "nested", &v), 0);
    KT_ASSERT_EQ_INT(v.type, KT_JSON_OBJECT);
    KT_ASSERT_EQ_INT(doc[v.start], '{');
    KT_ASSERT_EQ_INT(doc[v.end - 1], '}');
    KT_ASSERT_EQ_INT(kt_json_top_string(doc, strlen(doc), "missing", &t), KT_ENOTFOUND);
    KT_ASSERT_EQ_INT(kt_json_top_string(doc, strlen(doc), "stream", &t), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_json_top_bool(doc, strlen(doc), "model", &on), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_json_top_bool(S("{\"stream\":false}"), "stream", &on), 0);
    KT_ASSERT_EQ_INT(on, 0);
    KT_ASSERT_EQ_INT(kt_json_top_bool(S("{\"stream\":\"true\"}"), "stream", &on), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_json_top_string(S("{\"model\":\"x\",}"), "model", &t), KT_EPARSE);
    KT_ASSERT_EQ_INT(kt_json_top_string(S("[{\"model\":\"x\"}]"), "model", &t), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_json_top_string(S("{\"model\":\"0123456789012345678901234567890123456789"
                                          "01234567890123456789012345\"}"),
                                        "model", &t),
                     KT_ELIMIT);
    kt_buf_free(&t);
}

KT_TEST(escape_into)
{
    kt_buf b;
    kt_buf t;
    kt_buf_init(&b, 1024);
    kt_buf_init(&t, 1024);
    KT_ASSERT_EQ_INT(kt_json_escape_into(&b, S("a\"b\\c\n\r\t\b\f\x01\x1f\x7f/")), 0);
    KT_ASSERT_EQ_STR(b.p, "a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\x7f/");
    kt_buf_reset(&b);
    KT_ASSERT_EQ_INT(kt_json_escape_into(&b, S("\xc3\xa9\xf0\x9f\x98\x80[REDACTED:EMAIL]")), 0);
    KT_ASSERT_EQ_STR(b.p, "\xc3\xa9\xf0\x9f\x98\x80[REDACTED:EMAIL]");
    kt_buf_reset(&b);
    /* Invalid UTF-8 never reaches the document. */
    KT_ASSERT_EQ_INT(kt_json_escape_into(&b, S("a\xff" "b\xc3\xed\xa0\x80")), 0);
    KT_ASSERT_EQ_STR(b.p, "a\\ufffdb\\ufffd\\ufffd\\ufffd\\ufffd");
    kt_buf_reset(&b);
    KT_ASSERT_EQ_INT(kt_json_escape_into(&b, S("a\0b")), 0);
    KT_ASSERT_EQ_STR(b.p, "a\\u0000b");
    /* Round trip through the decoder for every byte value that is valid UTF-8 on its own. */
    char all[128];
    for (int i = 0; i < 128; i++) all[i] = (char)i;
    kt_buf_reset(&b);
    KT_ASSERT_EQ_INT(kt_json_escape_into(&b, all, sizeof all), 0);
    KT_ASSERT_EQ_INT(kt_json_str_decode(b.p, b.len, &t, NULL, 0), 0);
    KT_ASSERT_EQ_MEM(t.p, t.len, all, sizeof all);
    /* The result is valid as string content. */
    kt_buf q;
    kt_buf_init(&q, 4096);
    kt_buf_append(&q, "\"", 1);
    kt_buf_append(&q, b.p, b.len);
    kt_buf_append(&q, "\"", 1);
    KT_ASSERT_EQ_INT(kt_json_validate(q.p, q.len), 0);
    kt_buf_free(&q);
    /* On a cap, out is unchanged. */
    kt_buf small;
    kt_buf_init(&small, 8);
    kt_buf_puts(&small, "xy");
    KT_ASSERT_EQ_INT(kt_json_escape_into(&small, S("\"\"\"\"")), KT_ELIMIT);
    KT_ASSERT_EQ_STR(small.p, "xy");
    kt_buf_free(&small);
    kt_buf_free(&b);
    kt_buf_free(&t);
}

KT_TEST(splice_basic_and_errors)
{
    const char *src = "0123456789";
    kt_buf out;
    kt_buf_init(&out, 64);
    kt_json_edit e[] = { { 0, 0, "<", 1 }, { 2, 4, "AB", 2 }, { 4, 4, "+", 1 },
                         { 4, 5, NULL, 0 }, { 10, 10, ">", 1 } };
    KT_ASSERT_EQ_INT(kt_json_splice(src, 10, e, KT_ARRAY_LEN(e), &out), 0);
    KT_ASSERT_EQ_STR(out.p, "<01AB+56789>");
    kt_buf_reset(&out);
    KT_ASSERT_EQ_INT(kt_json_splice(src, 10, NULL, 0, &out), 0);
    KT_ASSERT_EQ_STR(out.p, src);
    kt_buf_puts(&out, "|");
    kt_json_edit overlap[] = { { 1, 4, "x", 1 }, { 3, 5, "y", 1 } };
    kt_json_edit unsorted[] = { { 5, 6, "x", 1 }, { 1, 2, "y", 1 } };
    kt_json_edit oob[] = { { 5, 11, "x", 1 } };
    kt_json_edit inverted[] = { { 5, 4, "x", 1 } };
    kt_json_edit nullrep[] = { { 1, 2, NULL, 3 } };
    KT_ASSERT_EQ_INT(kt_json_splice(src, 10, overlap, 2, &out), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_json_splice(src, 10, unsorted, 2, &out), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_json_splice(src, 10, oob, 1, &out), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_json_splice(src, 10, inverted, 1, &out), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_json_splice(src, 10, nullrep, 1, &out), KT_EINVAL);
    kt_buf small;
    kt_buf_init(&small, 12);
    kt_buf_puts(&small, "ab");
    kt_json_edit grow[] = { { 0, 1, "xyz", 3 } };
    KT_ASSERT_EQ_INT(kt_json_splice(src, 10, grow, 1, &small), KT_ELIMIT);
    KT_ASSERT_EQ_STR(small.p, "ab");
    KT_ASSERT_EQ_STR(out.p, "0123456789|"); /* appends; unchanged by the failures */
    kt_buf_free(&small);
    kt_buf_free(&out);
}

/* The whole engine flow: walk, decode, find, map back, escape, splice; everything else stays. */
typedef struct redact_ctx {
    kt_json_edit edits[16];
    size_t n;
    kt_buf reps[16];
    kt_buf text;
    uint32_t map[512];
} redact_ctx;

static int redact_fn(void *ud, const kt_json_path *p, size_t start, size_t end)
{
    redact_ctx *r = ud;
    if (!kt_json_path_match(p, "messages[*].content")) return 0;
    if (kt_json_str_decode(p->buf + start, end - start, &r->text, r->map, 512)) return 1;
    const char *at = memchr(r->text.p, '@', r->text.len);
    if (!at) return 0;
    size_t a = (size_t)(at - r->text.p), b = a + 1;
    while (a > 0 && r->text.p[a - 1] != ' ') a--;
    while (b < r->text.len && r->text.p[b] != ' ') b++;
    kt_buf *rep = &r->reps[r->n];
    kt_buf_init(rep, 256);
    if (kt_json_escape_into(rep, S("[REDACTED:\"EMAIL\"]"))) return 1;
    r->edits[r->n] = (kt_json_edit){ start + r->map[a], start + r->map[b], rep->p, rep->len };
    r->n++;
    return 0;
}

KT_TEST(splice_preserves_everything_else)
{
    const char *doc =
        "{ \"seed\" : 12345678901234567890,\"temperature\":1.0e+10, \"z\":-0.0,\n"
        "  \"messages\":[{\"role\":\"user\",\"content\":\"write to jane.doe\\u0040example.com "
        "please\"},\n {\"content\":\"\\u00e9t\\u00e9 x@y.io\",\"role\":\"user\"}],"
        "\"model\":\"m\",  \"a\":[1,2e-3,  true]  }";
    redact_ctx r;
    memset(&r, 0, sizeof r);
    kt_buf_init(&r.text, 4096);
    KT_ASSERT_EQ_INT(kt_json_walk(doc, strlen(doc), redact_fn, &r), 0);
    KT_ASSERT_EQ_INT(r.n, 2);
    kt_buf out;
    kt_buf_init(&out, 1 << 16);
    KT_ASSERT_EQ_INT(kt_json_splice(doc, strlen(doc), r.edits, r.n, &out), 0);
    KT_ASSERT_EQ_STR(out.p,
        "{ \"seed\" : 12345678901234567890,\"temperature\":1.0e+10, \"z\":-0.0,\n"
        "  \"messages\":[{\"role\":\"user\",\"content\":\"write to [REDACTED:\\\"EMAIL\\\"] "
        "please\"},\n {\"content\":\"\\u00e9t\\u00e9 [REDACTED:\\\"EMAIL\\\"]\","
        "\"role\":\"user\"}],"
        "\"model\":\"m\",  \"a\":[1,2e-3,  true]  }");
    KT_ASSERT_EQ_INT(kt_json_validate(out.p, out.len), 0);
    for (size_t k = 0; k < r.n; k++) kt_buf_free(&r.reps[k]);
    kt_buf_free(&r.text);
    kt_buf_free(&out);
}

/* Any decoded span maps to a raw span on character boundaries: splicing an escaped replacement
 * there always leaves a valid document that decodes to the expected text. */
KT_TEST(any_span_splice_stays_valid)
{
    const char *content = "a\\u00e9\\ud83d\\ude00\xe2\x82\xac\\n\\\"b\\ud800z";
    kt_buf doc, t, out, t2, rep, want;
    uint32_t map[128];
    kt_buf_init(&doc, 1024);
    kt_buf_init(&t, 1024);
    kt_buf_init(&out, 1024);
    kt_buf_init(&t2, 1024);
    kt_buf_init(&rep, 1024);
    kt_buf_init(&want, 1024);
    kt_buf_printf(&doc, "[\"%s\"]", content);
    size_t cs = 2, ce = doc.len - 2;
    KT_ASSERT_EQ_INT(kt_json_str_decode(doc.p + cs, ce - cs, &t, map, 128), 0);
    int bad = 0;
    for (size_t a = 0; a <= t.len; a++) {
        for (size_t b = a; b <= t.len; b++) {
            kt_buf_reset(&out);
            kt_buf_reset(&rep);
            kt_json_escape_into(&rep, S("<\">"));
            kt_json_edit e = { cs + map[a], cs + map[b], rep.p, rep.len };
            if (kt_json_splice(doc.p, doc.len, &e, 1, &out) || kt_json_validate(out.p, out.len)) {
                bad++;
                continue;
            }
            /* Expected text: the characters wholly before a, the marker, from b's char on. */
            size_t a0 = a, b0 = b;
            while (a0 > 0 && map[a0 - 1] == map[a0]) a0--;
            while (b0 > 0 && b0 < t.len && map[b0 - 1] == map[b0]) b0--;
            kt_buf_reset(&want);
            kt_buf_append(&want, t.p, a0);
            kt_buf_append(&want, "<\">", 3);
            kt_buf_append(&want, t.p + b0, t.len - b0);
            if (kt_json_str_decode(out.p + 2, out.len - 4, &t2, NULL, 0) || t2.len != want.len ||
                memcmp(t2.p, want.p, want.len) != 0)
                bad++;
        }
    }
    KT_ASSERT_EQ_INT(bad, 0);
    kt_buf_free(&doc);
    kt_buf_free(&t);
    kt_buf_free(&out);
    kt_buf_free(&t2);
    kt_buf_free(&rep);
    kt_buf_free(&want);
}

int main(void)
{
    KT_RUN(valid_table);
    KT_RUN(invalid_table);
    KT_RUN(truncations_invalid);
    KT_RUN(depth_cap);
    KT_RUN(walk_reports_string_values_with_paths);
    KT_RUN(walk_top_level_string_and_stop);
    KT_RUN(scan_reports_all_types_post_order);
    KT_RUN(scan_says_which_strings_are_their_own_decoding);
    KT_RUN(plain_runs_every_byte_every_offset);
    KT_RUN(pathset_matches_like_signatures);
    KT_RUN(pathset_past_its_cells);
    KT_RUN(path_patterns);
    KT_RUN(pattern_validity);
    KT_RUN(key_eq_decodes);
    KT_RUN(decode_every_escape);
    KT_RUN(decode_errors_and_caps);
    KT_RUN(escape_hidden_at_sign_is_found);
    KT_RUN(top_fields_in_one_pass);
    KT_RUN(top_fields);
    KT_RUN(escape_into);
    KT_RUN(splice_basic_and_errors);
    KT_RUN(splice_preserves_everything_else);
    KT_RUN(any_span_splice_stays_valid);
    return KT_DONE();
}
