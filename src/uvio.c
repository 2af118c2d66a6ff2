/* libuv helpers shared by the client and upstream sides. */
#include "kt/common.h"
#include "kt/uvio.h"

int kt_try_write2(uv_stream_t *s, const char **a, size_t *alen, const char **b, size_t *blen)
{
    uv_buf_t bufs[2] = { uv_buf_init((char *)*a, (unsigned)*alen),
                         uv_buf_init((char *)*b, (unsigned)*blen) };
    int n = uv_try_write(s, bufs, *blen ? 2 : 1);
    if (n < 0) return n == UV_EAGAIN ? 0 : n;
    size_t done = (size_t)n, skip_a = KT_MIN(done, *alen);
    *a += skip_a;
    *alen -= skip_a;
    if (*blen) {
        *b += done - skip_a;
        *blen -= done - skip_a;
    }
    return 0;
}
