/* Fuzzes the event spool's write-ahead log reader (event_wal.c), the parser of what a crash left
 * on disk. Arbitrary bytes: the reader always makes progress, every record it returns lies in the
 * input and is exactly what the encoder writes for its seq and payload (nothing else is ever
 * taken for an event). And records encoded from the input, cut at any point (a crash mid-append):
 * exactly the records wholly before the cut come back, in order, and no damaged ones. */
#include <stdlib.h>
#include <string.h>

#include "../../src/telemetry/event_priv.h"

static void check_arbitrary(const unsigned char *in, size_t n)
{
    kt_buf b;
    kt_buf_init(&b, KT_WAL_REC_MAX + 64);
    size_t off = 0, prev = 0;
    bool first = true;
    kt_wal_rec r;
    kt_wal_res res;
    while ((res = kt__wal_next(in, n, &off, &r)) == KT_WAL_REC || res == KT_WAL_BAD) {
        if (!first && off <= prev) abort();   /* no progress */
        first = false;
        if (off > n) abort();
        if (res == KT_WAL_REC) {
            size_t at = off - KT_WAL_HDR - r.len;
            if ((const unsigned char *)r.data != in + at + KT_WAL_HDR) abort();
            if (r.len < 2 || r.data[0] != '{' || r.data[r.len - 1] != '}') abort();
            kt_buf_reset(&b);
            if (kt__wal_encode(&b, r.seq, r.data, r.len)) abort();
            if (b.len != KT_WAL_HDR + r.len || memcmp(b.p, in + at, b.len) != 0) abort();
        }
        prev = off;
    }
    if (res == KT_WAL_END && off < n) abort();
    kt_buf_free(&b);
}

/* The input as payloads ("{" piece "}", pieces split at 0xff), the first two bytes a cut. */
static void check_cut(const unsigned char *in, size_t n)
{
    if (n < 2) return;
    size_t cut_sel = (size_t)in[0] << 8 | in[1];
    in += 2;
    n -= 2;
    kt_buf b, pay;
    kt_buf_init(&b, 1 << 22);
    kt_buf_init(&pay, 1 << 20);
    size_t ends[512];
    size_t starts[512];
    size_t nrec = 0, i = 0;
    while (i <= n && nrec < 512) {
        size_t j = i;
        while (j < n && in[j] != 0xff) j++;
        kt_buf_reset(&pay);
        kt_buf_append(&pay, "{", 1);
        kt_buf_append(&pay, in + i, j - i);
        kt_buf_append(&pay, "}", 1);
        starts[nrec] = pay.len;   /* payload length, for the check below */
        if (kt__wal_encode(&b, 1000 + nrec, pay.p, pay.len)) abort();
        ends[nrec++] = b.len;
        i = j + 1;
    }
    size_t cut = cut_sel % (b.len + 1), whole = 0;
    while (whole < nrec && ends[whole] <= cut) whole++;
    size_t off = 0, got = 0;
    kt_wal_rec r;
    kt_wal_res res;
    while ((res = kt__wal_next((const unsigned char *)b.p, cut, &off, &r)) == KT_WAL_REC) {
        if (got >= whole || r.seq != 1000 + got || r.len != starts[got]) abort();
        if (off != ends[got]) abort();
        got++;
    }
    if (res == KT_WAL_BAD || got != whole) abort();
    if (res == KT_WAL_END && cut != (whole ? ends[whole - 1] : 0)) abort();
    kt_buf_free(&b);
    kt_buf_free(&pay);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size > (1u << 20)) return 0;
    check_arbitrary(data, size);
    check_cut(data, size);
    return 0;
}
