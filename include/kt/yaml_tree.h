/* A small read-only YAML document tree (built with libyaml's event API) that keeps the line and
 * column of every node, so that validation errors can point at them. Scalars keep their text; no
 * type guessing is done here. Anchors/aliases, tags, non-scalar keys and multi-document streams
 * are rejected. Duplicate keys are kept in order (kt_ymap_get returns the first); the config
 * validator reports them. An empty stream parses to *out == NULL. */
#ifndef KT_YAML_TREE_H
#define KT_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum kt_ynode_type { KT_Y_SCALAR, KT_Y_MAP, KT_Y_SEQ } kt_ynode_type;

typedef struct kt_ynode kt_ynode;
struct kt_ynode {
    kt_ynode_type type;
    int line, col;          /* 1-based */
    char *str;              /* scalar text (NUL-terminated), or NULL */
    size_t len;
    bool quoted;            /* scalar was quoted or a block scalar (| >): never a null */
    bool expanded;          /* str was rewritten by ${VAR} expansion (set by the config loader) */
    /* MAP: keys[i] -> vals[i]; SEQ: vals[i] */
    kt_ynode **keys;
    kt_ynode **vals;
    size_t n;
};

/* Limits: depth 32, 10000 nodes, scalar 64 KiB. `err`/`line`/`col` describe the first error. */
int kt_yaml_parse(const char *buf, size_t len, kt_ynode **out, char *err, size_t errlen, int *line,
                  int *col);
void kt_yaml_free(kt_ynode *n);
const kt_ynode *kt_ymap_get(const kt_ynode *map, const char *key);
/* Deep equality of two trees (types, scalar text after expansion, keys in order). */
bool kt_ynode_equal(const kt_ynode *a, const kt_ynode *b);

#endif
