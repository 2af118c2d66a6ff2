/* The audit hash chain: sealed lines verify; an edited byte, a deleted, reordered or inserted
 * record and a torn last line are each the first broken link; a chain continued from its last
 * link verifies across files; verify starts at whatever record retention left first. */
#include <stdio.h>
#include <string.h>

#include "kt/audit.h"
#include "kt_test.h"

static void chain(kt_buf *out, int n)
{
    kt_audit_link l;
    kt_audit_link_init(&l);
    for (int i = 0; i < n; i++) {
        char f[64];
        int k = snprintf(f, sizeof f, "\"kind\":\"request\",\"status\":%d", 200 + i);
        KT_ASSERT_EQ_INT(kt_audit_seal(&l, f, (size_t)k, out), 0);
    }
    KT_ASSERT_EQ_INT(l.seq, n);
}

static kt_audit_report check(const char *p, size_t n, bool *ok)
{
    kt_audit_link l;
    kt_audit_link_init(&l);
    kt_audit_report r;
    memset(&r, 0, sizeof r);
    *ok = kt_audit_verify_text("t", p, n, &l, &r);
    return r;
}

/* The byte range of line i (0-based, with its '\n'). */
static void line_at(const kt_buf *b, int i, size_t *s, size_t *e)
{
    size_t off = 0;
    for (int k = 0; k < i; k++) off = (size_t)((const char *)memchr(b->p + off, '\n', b->len - off) - b->p) + 1;
    *s = off;
    *e = (size_t)((const char *)memchr(b->p + off, '\n', b->len - off) - b->p) + 1;
}

KT_TEST(sealed_chain_verifies)
{
    kt_buf b;
    kt_buf_init(&b, 1 << 20);
    chain(&b, 5);
    bool ok;
    kt_audit_report r = check(b.p, b.len, &ok);
    KT_ASSERT(ok);
    KT_ASSERT_EQ_INT(r.records, 5);
    KT_ASSERT_EQ_INT(r.first_seq, 1);
    KT_ASSERT(strncmp(b.p, "{\"seq\":1,\"prev\":\"0000", 21) == 0);
    kt_buf_free(&b);
}

KT_TEST(edit_detected)
{
    kt_buf b;
    kt_buf_init(&b, 1 << 20);
    chain(&b, 5);
    char *p = strstr(b.p, "\"status\":202");
    KT_ASSERT(p != NULL);
    p[11] = '9';
    bool ok;
    kt_audit_report r = check(b.p, b.len, &ok);
    KT_ASSERT(!ok);
    KT_ASSERT_EQ_INT(r.verdict, KT_AUDIT_BAD_HASH);
    KT_ASSERT_EQ_INT(r.line, 3);
    KT_ASSERT_EQ_INT(r.records, 2);
    kt_buf_free(&b);
}

KT_TEST(delete_reorder_insert_detected)
{
    kt_buf b, t;
    kt_buf_init(&b, 1 << 20);
    kt_buf_init(&t, 1 << 20);
    chain(&b, 5);
    size_t s1, e1, s2, e2;
    line_at(&b, 1, &s1, &e1);
    line_at(&b, 2, &s2, &e2);
    bool ok;
    /* deleted: line 2 */
    kt_buf_append(&t, b.p, s1);
    kt_buf_append(&t, b.p + e1, b.len - e1);
    kt_audit_report r = check(t.p, t.len, &ok);
    KT_ASSERT(!ok && r.verdict == KT_AUDIT_BAD_PREV && r.line == 2);
    /* reordered: 1, 3, 2, ... */
    kt_buf_reset(&t);
    kt_buf_append(&t, b.p, s1);
    kt_buf_append(&t, b.p + s2, e2 - s2);
    kt_buf_append(&t, b.p + s1, e1 - s1);
    kt_buf_append(&t, b.p + e2, b.len - e2);
    r = check(t.p, t.len, &ok);
    KT_ASSERT(!ok && r.verdict == KT_AUDIT_BAD_PREV && r.line == 2);
    /* a record repeated (a replay) */
    kt_buf_reset(&t);
    kt_buf_append(&t, b.p, e1);
    kt_buf_append(&t, b.p + s1, b.len - s1);
    r = check(t.p, t.len, &ok);
    KT_ASSERT(!ok && r.verdict == KT_AUDIT_BAD_PREV && r.line == 3);
    /* torn last line */
    r = check(b.p, b.len - 5, &ok);
    KT_ASSERT(!ok && r.verdict == KT_AUDIT_MALFORMED && r.line == 5);
    /* not a record */
    r = check("{\"seq\":01,\"prev\":\"x\"}\n", 22, &ok);
    KT_ASSERT(!ok && r.verdict == KT_AUDIT_MALFORMED);
    kt_buf_free(&b);
    kt_buf_free(&t);
}

KT_TEST(chain_continues_and_retention_start)
{
    kt_buf a, b;
    kt_buf_init(&a, 1 << 20);
    kt_buf_init(&b, 1 << 20);
    kt_audit_link l;
    kt_audit_link_init(&l);
    KT_ASSERT_EQ_INT(kt_audit_seal(&l, "\"x\":1", 5, &a), 0);
    KT_ASSERT_EQ_INT(kt_audit_seal(&l, "\"x\":2", 5, &a), 0);
    /* a restart: the link read back from the last line */
    kt_audit_link back;
    kt_audit_link_init(&back);
    size_t s, e;
    line_at(&a, 1, &s, &e);
    KT_ASSERT_EQ_INT(kt_audit_check_line(a.p + s, e - s - 1, &back), KT_AUDIT_OK);
    KT_ASSERT_EQ_INT(back.seq, 2);
    KT_ASSERT_EQ_STR(back.hash, l.hash);
    KT_ASSERT_EQ_INT(kt_audit_seal(&back, "\"x\":3", 5, &b), 0);
    kt_audit_link v;
    kt_audit_link_init(&v);
    kt_audit_report r;
    memset(&r, 0, sizeof r);
    KT_ASSERT(kt_audit_verify_text("a", a.p, a.len, &v, &r));
    KT_ASSERT(kt_audit_verify_text("b", b.p, b.len, &v, &r));
    KT_ASSERT_EQ_INT(r.records, 3);
    /* retention deleted the first file: the second alone verifies from its first record */
    kt_audit_link_init(&v);
    memset(&r, 0, sizeof r);
    KT_ASSERT(kt_audit_verify_text("b", b.p, b.len, &v, &r));
    KT_ASSERT_EQ_INT(r.first_seq, 3);
    kt_buf_free(&a);
    kt_buf_free(&b);
}

int main(void)
{
    KT_RUN(sealed_chain_verifies);
    KT_RUN(edit_detected);
    KT_RUN(delete_reorder_insert_detected);
    KT_RUN(chain_continues_and_retention_start);
    return KT_DONE();
}
