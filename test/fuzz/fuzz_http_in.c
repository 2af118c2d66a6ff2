/* Fuzzes the ingress request parser: arbitrary bytes, fed whole and then in pieces chosen by the
 * input itself. Invariants: consumed never exceeds what was fed; an error always carries a 4xx
 * status and a code; the same input split differently gives the same verdict. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kt/http_in.h"

static int run(const uint8_t *data, size_t size, size_t step, int *status)
{
    kt_limits lim;
    kt_limits_defaults(&lim);
    lim.max_header_bytes = 2048;
    lim.max_headers = 16;
    lim.max_body_bytes = 4096;
    kt_http_in in;
    if (kt_http_in_init(&in, &lim)) abort();
    size_t off = 0;
    int rc = KT_HTTP_IN_MORE, messages = 0;
    while (off < size) {
        size_t n = step ? (size - off < step ? size - off : step) : size - off, used = 0;
        rc = kt_http_in_feed(&in, (const char *)data + off, n, &used);
        if (used > n) abort();
        off += used;
        if (rc == KT_HTTP_IN_ERROR) {
            if (in.err_status < 400 || in.err_status > 499 || !in.err_code) abort();
            break;
        }
        if (rc == KT_HTTP_IN_DONE) {
            if (!in.head_done || in.body.len > lim.max_body_bytes) abort();
            messages++;
            kt_http_in_next(&in);
        }
    }
    *status = rc == KT_HTTP_IN_ERROR ? in.err_status : 0;
    kt_http_in_free(&in);
    return messages;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int st_whole, st_split;
    int m_whole = run(data, size, 0, &st_whole);
    size_t step = size ? (size_t)(data[0] % 7) + 1 : 1;
    int m_split = run(data, size, step, &st_split);
    /* Splitting may only matter for where an error is noticed, never for whether it exists. */
    if ((st_whole != 0) != (st_split != 0) || (!st_whole && m_whole != m_split)) abort();
    return 0;
}
