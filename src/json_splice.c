/* Splice editing: apply sorted, non-overlapping replacements to raw bytes, copying every
 * unchanged range through untouched. */
#include "kt/json_text.h"

static int edits_valid(size_t len, const kt_json_edit *edits, size_t n, size_t *out_len)
{
    size_t prev_end = 0, total = len;
    for (size_t k = 0; k < n; k++) {
        const kt_json_edit *e = &edits[k];
        if (e->start > e->end || e->end > len || e->start < prev_end) return KT_EINVAL;
        if (e->rep_len && !e->rep) return KT_EINVAL;
        size_t removed = e->end - e->start;
        if (e->rep_len > SIZE_MAX - total) return KT_ELIMIT;
        total = total - removed + e->rep_len;
        prev_end = e->end;
    }
    *out_len = total;
    return KT_OK;
}

int kt_json_splice(const char *buf, size_t len, const kt_json_edit *edits, size_t n_edits,
                   kt_buf *out)
{
    size_t total, pos = 0;
    if ((!buf && len) || (!edits && n_edits)) return KT_EINVAL;
    int rc = edits_valid(len, edits, n_edits, &total);
    if (rc) return rc;
    /* Reserving the exact size first makes the appends below infallible: out stays unchanged on
     * any error. */
    rc = kt_buf_reserve(out, total);
    if (rc) return rc;
    for (size_t k = 0; k < n_edits; k++) {
        const kt_json_edit *e = &edits[k];
        if (e->start > pos) kt_buf_append(out, buf + pos, e->start - pos);
        if (e->rep_len) kt_buf_append(out, e->rep, e->rep_len);
        pos = e->end;
    }
    if (len > pos) kt_buf_append(out, buf + pos, len - pos);
    return KT_OK;
}
