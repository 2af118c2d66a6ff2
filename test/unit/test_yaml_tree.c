/* The YAML document tree: structure, positions, and the constructs it refuses. */
#include <stdlib.h>
#include <string.h>

#include "kt/common.h"
#include "kt/yaml_tree.h"
#include "kt_test.h"

typedef struct res {
    int rc, line, col;
    char err[200];
    kt_ynode *root;
} res;

static res parse(const char *s)
{
    res r;
    memset(&r, 0, sizeof r);
    r.rc = kt_yaml_parse(s, strlen(s), &r.root, r.err, sizeof r.err, &r.line, &r.col);
    return r;
}

KT_TEST(structure_and_positions)
{
    res r = parse("a: 1\nb:\n  - x\n  - 'y'\nc: {d: e}\n");
    KT_ASSERT_EQ_INT(r.rc, 0);
    kt_ynode *n = r.root;
    KT_ASSERT(n && n->type == KT_Y_MAP);
    KT_ASSERT_EQ_INT(n->n, 3);
    KT_ASSERT_EQ_STR(n->keys[0]->str, "a");
    KT_ASSERT_EQ_STR(n->vals[0]->str, "1");
    KT_ASSERT_EQ_INT(n->vals[0]->line, 1);
    KT_ASSERT_EQ_INT(n->vals[0]->col, 4);
    const kt_ynode *b = kt_ymap_get(n, "b");
    KT_ASSERT(b && b->type == KT_Y_SEQ);
    KT_ASSERT_EQ_INT(b->n, 2);
    KT_ASSERT_EQ_STR(b->vals[1]->str, "y");
    KT_ASSERT_EQ_INT(b->vals[1]->line, 4);
    KT_ASSERT_EQ_INT(b->vals[1]->col, 5);
    KT_ASSERT(b->vals[1]->quoted);
    KT_ASSERT(!b->vals[0]->quoted);
    const kt_ynode *c = kt_ymap_get(n, "c");
    KT_ASSERT(c && c->type == KT_Y_MAP);
    KT_ASSERT_EQ_STR(kt_ymap_get(c, "d")->str, "e");
    KT_ASSERT_EQ_INT(kt_ymap_get(c, "d")->col, 8);
    kt_yaml_free(r.root);
}

KT_TEST(empty_values_and_block_scalars)
{
    res r = parse("a:\nb: ~\nc: |\n  text\n  more\n");
    KT_ASSERT_EQ_INT(r.rc, 0);
    const kt_ynode *a = kt_ymap_get(r.root, "a");
    KT_ASSERT(a && a->type == KT_Y_SCALAR && a->len == 0 && !a->quoted);
    KT_ASSERT_EQ_STR(kt_ymap_get(r.root, "b")->str, "~");
    const kt_ynode *c = kt_ymap_get(r.root, "c");
    KT_ASSERT_EQ_STR(c->str, "text\nmore\n");
    KT_ASSERT(c->quoted);
    kt_yaml_free(r.root);
}

KT_TEST(empty_stream_has_no_root)
{
    res r = parse("# only a comment\n");
    KT_ASSERT_EQ_INT(r.rc, 0);
    KT_ASSERT(r.root == NULL);
    r = parse("");
    KT_ASSERT_EQ_INT(r.rc, 0);
    KT_ASSERT(r.root == NULL);
}

KT_TEST(anchor_rejected_with_position)
{
    res r = parse("a: 1\nb: &x 2\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(r.root == NULL);
    KT_ASSERT(strstr(r.err, "anchors") != NULL);
    KT_ASSERT_EQ_INT(r.line, 2);
    KT_ASSERT_EQ_INT(r.col, 4);
}

KT_TEST(alias_rejected)
{
    res r = parse("a: x\nb: *x\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "alias") != NULL);
    KT_ASSERT_EQ_INT(r.line, 2);
    KT_ASSERT_EQ_INT(r.col, 4);
}

KT_TEST(tag_rejected)
{
    res r = parse("a: !!str 5\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "tags") != NULL);
    KT_ASSERT_EQ_INT(r.line, 1);
    KT_ASSERT_EQ_INT(r.col, 4);
    r = parse("a: !custom\n  b: 1\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "tags") != NULL);
}

KT_TEST(multiple_documents_rejected)
{
    res r = parse("a: 1\n---\nb: 2\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "multiple") != NULL);
    KT_ASSERT_EQ_INT(r.line, 2);
    KT_ASSERT_EQ_INT(r.col, 1);
    r = parse("---\na: 1\n...\n");   /* one explicit document is fine */
    KT_ASSERT_EQ_INT(r.rc, 0);
    kt_yaml_free(r.root);
}

KT_TEST(non_scalar_keys_rejected)
{
    res r = parse("a: 1\n? [x, y]\n: 2\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "keys must be scalars") != NULL);
    KT_ASSERT_EQ_INT(r.line, 2);
    KT_ASSERT_EQ_INT(r.col, 3);
    r = parse("{ {a: 1}: 2 }\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "keys must be scalars") != NULL);
}

KT_TEST(duplicate_keys_kept_in_order)
{
    res r = parse("a: 1\na: 2\n");
    KT_ASSERT_EQ_INT(r.rc, 0);
    KT_ASSERT_EQ_INT(r.root->n, 2);
    KT_ASSERT_EQ_STR(kt_ymap_get(r.root, "a")->str, "1");   /* the first wins in lookups */
    KT_ASSERT_EQ_INT(r.root->keys[1]->line, 2);
    kt_yaml_free(r.root);
}

KT_TEST(depth_limit)
{
    char buf[200];
    memset(buf, '[', 33);
    memset(buf + 33, ']', 33);
    buf[66] = '\0';
    res r = parse(buf);
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "deeper") != NULL);
    KT_ASSERT_EQ_INT(r.line, 1);
    KT_ASSERT_EQ_INT(r.col, 33);
    buf[32] = '\0';
    memset(buf, '[', 32);
    memset(buf + 32, ']', 32);
    buf[64] = '\0';
    r = parse(buf);
    KT_ASSERT_EQ_INT(r.rc, 0);
    kt_yaml_free(r.root);
}

KT_TEST(node_limit)
{
    size_t n = 10001;
    char *buf = malloc(n * 3 + 4);
    size_t len = 0;
    buf[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        buf[len++] = '1';
        buf[len++] = ',';
    }
    buf[len - 1] = ']';
    buf[len] = '\0';
    res r = parse(buf);
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "too many") != NULL);
    KT_ASSERT(r.root == NULL);
    free(buf);
}

KT_TEST(scalar_limit)
{
    size_t n = 64 * 1024 + 1;
    char *buf = malloc(n + 8);
    memcpy(buf, "a: ", 3);
    memset(buf + 3, 'x', n);
    buf[3 + n] = '\0';
    res r = parse(buf);
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "longer than") != NULL);
    KT_ASSERT_EQ_INT(r.line, 1);
    KT_ASSERT_EQ_INT(r.col, 4);
    buf[3 + n - 1] = '\0';
    r = parse(buf);
    KT_ASSERT_EQ_INT(r.rc, 0);
    KT_ASSERT_EQ_INT(kt_ymap_get(r.root, "a")->len, 64 * 1024);
    kt_yaml_free(r.root);
    free(buf);
}

KT_TEST(syntax_error_position)
{
    res r = parse("a: 1\nb: [1, 2\nc: 3\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "YAML syntax error") != NULL);
    KT_ASSERT(r.line >= 2);
    r = parse("a:\n  b: 1\n c: 2\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT_EQ_INT(r.line, 3);
    KT_ASSERT_EQ_INT(r.col, 2);
}

KT_TEST(invalid_utf8_position)
{
    res r = parse("a: 1\nb: \xff\xfe\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT(strstr(r.err, "invalid YAML input") != NULL);
    KT_ASSERT_EQ_INT(r.line, 2);
    KT_ASSERT_EQ_INT(r.col, 4);
}

KT_TEST(error_mid_mapping_frees_partial_tree)
{
    /* a pending key (no value yet) must be freed too; ASan reports leaks */
    res r = parse("a:\n  b: 1\n  c: &anchor 2\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT_EQ_INT(r.line, 3);
    r = parse("a:\n  b:\n    - x\n    - *y\n");
    KT_ASSERT_EQ_INT(r.rc, KT_EPARSE);
    KT_ASSERT_EQ_INT(r.line, 4);
    KT_ASSERT_EQ_INT(r.col, 7);
}

KT_TEST(ymap_get_edge_cases)
{
    res r = parse("- a\n- b\n");
    KT_ASSERT_EQ_INT(r.rc, 0);
    KT_ASSERT(kt_ymap_get(r.root, "a") == NULL);   /* not a mapping */
    KT_ASSERT(kt_ymap_get(NULL, "a") == NULL);
    kt_yaml_free(r.root);
    r = parse("ab: 1\n");
    KT_ASSERT(kt_ymap_get(r.root, "a") == NULL);
    KT_ASSERT(kt_ymap_get(r.root, "abc") == NULL);
    KT_ASSERT(kt_ymap_get(r.root, NULL) == NULL);
    kt_yaml_free(r.root);
    kt_yaml_free(NULL);
}

int main(void)
{
    KT_RUN(structure_and_positions);
    KT_RUN(empty_values_and_block_scalars);
    KT_RUN(empty_stream_has_no_root);
    KT_RUN(anchor_rejected_with_position);
    KT_RUN(alias_rejected);
    KT_RUN(tag_rejected);
    KT_RUN(multiple_documents_rejected);
    KT_RUN(non_scalar_keys_rejected);
    KT_RUN(duplicate_keys_kept_in_order);
    KT_RUN(depth_limit);
    KT_RUN(node_limit);
    KT_RUN(scalar_limit);
    KT_RUN(syntax_error_position);
    KT_RUN(invalid_utf8_position);
    KT_RUN(error_mid_mapping_frees_partial_tree);
    KT_RUN(ymap_get_edge_cases);
    return KT_DONE();
}
