/* A YAML document tree built from libyaml's event stream. Every node keeps the line and column of
 * its first character so that validation can point at it. Only the plain data model is accepted:
 * one document, scalar keys, no anchors, aliases or tags. Duplicate keys are kept (in order);
 * the config validator reports them all. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "kt/common.h"
#include "kt/yaml_tree.h"

#define KT__Y_MAX_DEPTH 32
#define KT__Y_MAX_NODES 10000
#define KT__Y_MAX_SCALAR (64 * 1024)

typedef struct kt__ybuild {
    kt_ynode *stack[KT__Y_MAX_DEPTH + 1];
    int depth;
    size_t nodes;
    int docs;
    kt_ynode *root;
    char *err;
    size_t errlen;
    int line, col;
    int failed;
} kt__ybuild;

static int ferr(kt__ybuild *b, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int ferr(kt__ybuild *b, int line, int col, const char *fmt, ...)
{
    if (!b->failed) {
        va_list ap;
        va_start(ap, fmt);
        if (b->err && b->errlen) vsnprintf(b->err, b->errlen, fmt, ap);
        va_end(ap);
        b->line = line;
        b->col = col;
        b->failed = 1;
    }
    return KT_EPARSE;
}

void kt_yaml_free(kt_ynode *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys) kt_yaml_free(n->keys[i]);
        if (n->vals) kt_yaml_free(n->vals[i]);
    }
    if (n->keys) kt_yaml_free(n->keys[n->n]);   /* a key whose value never came */
    free(n->keys);
    free(n->vals);
    free(n->str);
    free(n);
}

const kt_ynode *kt_ymap_get(const kt_ynode *map, const char *key)
{
    if (!map || map->type != KT_Y_MAP || !key) return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < map->n; i++) {
        const kt_ynode *k = map->keys[i];
        if (k->len == kl && memcmp(k->str, key, kl) == 0) return map->vals[i];
    }
    return NULL;
}

/* Appends `child` to the container on top of the stack (or makes it the root). A mapping keeps
 * the invariant that keys[n] is its pending key (a key still waiting for its value) or NULL. */
static int attach(kt__ybuild *b, kt_ynode *child)
{
    if (b->depth == 0) {
        b->root = child;   /* one document, so at most one root */
        return KT_OK;
    }
    kt_ynode *p = b->stack[b->depth - 1];
    int is_map = p->type == KT_Y_MAP;
    int want_key = is_map && !p->keys[p->n];
    if (want_key && child->type != KT_Y_SCALAR) {
        int l = child->line, c = child->col;
        kt_yaml_free(child);
        return ferr(b, l, c, "mapping keys must be scalars");
    }
    if (want_key) {
        p->keys[p->n] = child;
        return KT_OK;
    }
    size_t need = p->n + 2;   /* one more entry plus the pending-key slot */
    kt_ynode **nv = realloc(p->vals, need * sizeof *nv);
    if (!nv) goto oom;
    p->vals = nv;
    if (is_map) {
        kt_ynode **nk = realloc(p->keys, need * sizeof *nk);
        if (!nk) goto oom;
        p->keys = nk;
    }
    p->vals[p->n++] = child;
    p->vals[p->n] = NULL;
    if (is_map) p->keys[p->n] = NULL;
    return KT_OK;
oom:
    kt_yaml_free(child);
    return ferr(b, 0, 0, "out of memory");
}

static kt_ynode *new_node(kt__ybuild *b, kt_ynode_type t, yaml_mark_t m)
{
    if (++b->nodes > KT__Y_MAX_NODES) {
        ferr(b, (int)m.line + 1, (int)m.column + 1, "too many YAML nodes (limit %d)",
             KT__Y_MAX_NODES);
        return NULL;
    }
    kt_ynode *n = calloc(1, sizeof *n);
    if (!n) {
        ferr(b, 0, 0, "out of memory");
        return NULL;
    }
    n->type = t;
    n->line = (int)m.line + 1;
    n->col = (int)m.column + 1;
    if (t == KT_Y_MAP) {
        /* The map invariant keys[n] == NULL (no pending key) needs the arrays to exist. */
        n->keys = calloc(2, sizeof *n->keys);
        n->vals = calloc(2, sizeof *n->vals);
        if (!n->keys || !n->vals) {
            kt_yaml_free(n);
            ferr(b, 0, 0, "out of memory");
            return NULL;
        }
    }
    return n;
}

static int check_props(kt__ybuild *b, yaml_mark_t m, const yaml_char_t *anchor,
                       const yaml_char_t *tag)
{
    if (anchor) return ferr(b, (int)m.line + 1, (int)m.column + 1, "YAML anchors are not supported");
    if (tag) return ferr(b, (int)m.line + 1, (int)m.column + 1, "YAML tags are not supported");
    return KT_OK;
}

static int on_scalar(kt__ybuild *b, const yaml_event_t *ev)
{
    yaml_mark_t m = ev->start_mark;
    int rc = check_props(b, m, ev->data.scalar.anchor, ev->data.scalar.tag);
    if (rc) return rc;
    if (ev->data.scalar.length > KT__Y_MAX_SCALAR)
        return ferr(b, (int)m.line + 1, (int)m.column + 1, "scalar longer than %d bytes",
                    KT__Y_MAX_SCALAR);
    kt_ynode *n = new_node(b, KT_Y_SCALAR, m);
    if (!n) return KT_EPARSE;
    n->str = kt_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (!n->str) {
        kt_yaml_free(n);
        return ferr(b, 0, 0, "out of memory");
    }
    n->len = ev->data.scalar.length;
    n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    /* Block scalars (| and >) are not plain either: they can never mean null. */
    if (ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
        ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE)
        n->quoted = true;
    return attach(b, n);
}

static int on_start(kt__ybuild *b, kt_ynode_type t, yaml_mark_t m, const yaml_char_t *anchor,
                    const yaml_char_t *tag)
{
    int rc = check_props(b, m, anchor, tag);
    if (rc) return rc;
    if (b->depth >= KT__Y_MAX_DEPTH)
        return ferr(b, (int)m.line + 1, (int)m.column + 1, "YAML nested deeper than %d levels",
                    KT__Y_MAX_DEPTH);
    kt_ynode *n = new_node(b, t, m);
    if (!n) return KT_EPARSE;
    rc = attach(b, n);
    if (rc) return rc;
    b->stack[b->depth++] = n;
    return KT_OK;
}

static int on_event(kt__ybuild *b, const yaml_event_t *ev)
{
    yaml_mark_t m = ev->start_mark;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->docs > 1)
            return ferr(b, (int)m.line + 1, (int)m.column + 1,
                        "multiple YAML documents are not supported");
        return KT_OK;
    case YAML_ALIAS_EVENT:
        return ferr(b, (int)m.line + 1, (int)m.column + 1, "YAML aliases are not supported");
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, KT_Y_SEQ, m, ev->data.sequence_start.anchor,
                        ev->data.sequence_start.tag);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, KT_Y_MAP, m, ev->data.mapping_start.anchor,
                        ev->data.mapping_start.tag);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0) b->depth--;
        return KT_OK;
    default:
        return KT_OK;
    }
}

/* libyaml reports reader errors (bad UTF-8, control characters) by byte offset only. */
static void offset_to_linecol(const char *buf, size_t len, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (buf[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static void syntax_error(kt__ybuild *b, const yaml_parser_t *p, const char *buf, size_t len)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) {
        int l, c;
        offset_to_linecol(buf, len, p->problem_offset, &l, &c);
        ferr(b, l, c, "invalid YAML input: %s", problem);
    } else if (p->error == YAML_MEMORY_ERROR) {
        ferr(b, 0, 0, "out of memory");
    } else if (p->context) {
        ferr(b, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
             "YAML syntax error: %s %s", problem, p->context);
    } else {
        ferr(b, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
             "YAML syntax error: %s", problem);
    }
}

int kt_yaml_parse(const char *buf, size_t len, kt_ynode **out, char *err, size_t errlen, int *line,
                  int *col)
{
    kt__ybuild b;
    memset(&b, 0, sizeof b);
    b.err = err;
    b.errlen = errlen;
    if (err && errlen) err[0] = '\0';
    *out = NULL;

    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        ferr(&b, 0, 0, "out of memory");
        goto fail;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            syntax_error(&b, &p, buf, len);
            break;
        }
        int rc = on_event(&b, &ev);
        int done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (rc || done) break;
    }
    yaml_parser_delete(&p);
    if (b.failed) goto fail;
    *out = b.root;
    return KT_OK;
fail:
    kt_yaml_free(b.root);
    if (line) *line = b.line;
    if (col) *col = b.col;
    return KT_EPARSE;
}

bool kt_ynode_equal(const kt_ynode *a, const kt_ynode *b)
{
    if (a == b) return true;
    if (!a || !b || a->type != b->type || a->n != b->n) return false;
    if (a->type == KT_Y_SCALAR)
        return a->len == b->len && (a->len == 0 || memcmp(a->str, b->str, a->len) == 0);
    for (size_t i = 0; i < a->n; i++) {
        if (a->type == KT_Y_MAP && !kt_ynode_equal(a->keys[i], b->keys[i])) return false;
        if (!kt_ynode_equal(a->vals[i], b->vals[i])) return false;
    }
    return true;
}
