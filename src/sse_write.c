/* SSE writer: one event as `event:` and `data:` lines, data split on every line ending. */
#include <string.h>

#include "kt/sse.h"

static int write_data_lines(kt_buf *out, const char *data, size_t n)
{
    size_t i = 0;
    int rc = KT_OK;
    do {
        size_t j = i;
        while (j < n && data[j] != '\n' && data[j] != '\r') j++;
        /* "data: " + a line starting with a space still round-trips: one space is stripped. */
        rc = kt_buf_append(out, j > i ? "data: " : "data:", j > i ? 6 : 5);
        if (!rc && j > i) rc = kt_buf_append(out, data + i, j - i);
        if (!rc) rc = kt_buf_append(out, "\n", 1);
        if (j < n && data[j] == '\r' && j + 1 < n && data[j + 1] == '\n') j++;
        i = j + 1;
    } while (!rc && i <= n);
    return rc;
}

int kt_sse_write_event(kt_buf *out, const char *event, const char *data, size_t n)
{
    size_t mark = out->len;
    int rc = KT_OK;
    if (!data && n) return KT_EINVAL;
    if (event && *event) {
        if (strpbrk(event, "\r\n")) return KT_EINVAL;
        rc = kt_buf_puts(out, "event: ");
        if (!rc) rc = kt_buf_puts(out, event);
        if (!rc) rc = kt_buf_append(out, "\n", 1);
        if (rc) goto fail;
    }
    rc = write_data_lines(out, data ? data : "", n);
    if (!rc) rc = kt_buf_append(out, "\n", 1);
    if (rc) goto fail;
    return KT_OK;
fail:
    out->len = mark;
    if (out->p) out->p[mark] = '\0';
    return rc;
}
