/* The write-ahead log's record format: what one decision event looks like in a spool segment.
 *
 *   magic "KTE1" | len u32 | seq u64 | crc u32 | hcrc u32 | len bytes of event JSON
 *
 * (little-endian). `crc` is the CRC-32C of the payload, `hcrc` that of len, seq and crc, so a
 * header is trusted before its length is used: a record cut short by a crash (a torn append, or
 * the zeros a file system can leave past the last complete write) is recognised and never
 * delivered as an event, and a damaged length is not mistaken for a torn tail. A damaged record
 * in the middle is skipped by looking for the next magic.
 * Pure functions on memory: the spool (event_spool.c) reads files into buffers and calls these;
 * fuzz_event_wal drives them with arbitrary bytes. */
#include <string.h>

#include "event_priv.h"

/* CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), four bits at a time: 16 constants
 * instead of a 1 KiB table, ~1 ns per byte, fast enough for events of a few hundred bytes. This
 * is an error-detecting code, not cryptography: nothing here needs to resist an attacker who
 * can write the spool directory. */
static const uint32_t kt__crc32c_nibble[16] = {
    0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
    0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9, 0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

uint32_t kt__crc32c(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ kt__crc32c_nibble[crc & 15];
        crc = (crc >> 4) ^ kt__crc32c_nibble[crc & 15];
    }
    return ~crc;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* The header's own CRC: over len, seq and the payload CRC (bytes 4..20). */
static uint32_t hdr_crc(const unsigned char *hdr) { return kt__crc32c(0, hdr + 4, 16); }

int kt__wal_encode(kt_buf *b, uint64_t seq, const char *data, size_t len)
{
    if (len < 2 || len > KT_WAL_REC_MAX) return KT_ELIMIT;
    unsigned char h[KT_WAL_HDR];
    put32(h, KT_WAL_MAGIC);
    put32(h + 4, (uint32_t)len);
    put64(h + 8, seq);
    put32(h + 16, kt__crc32c(0, data, len));
    put32(h + 20, hdr_crc(h));
    size_t start = b->len;
    int rc = kt_buf_append(b, h, sizeof h);
    if (!rc) rc = kt_buf_append(b, data, len);
    if (rc) b->len = start;
    if (b->p) b->p[b->len] = '\0';
    return rc;
}

/* The next offset after `from` where the magic starts, or n. */
static size_t resync(const unsigned char *p, size_t n, size_t from)
{
    for (size_t i = from; i + 4 <= n; i++)
        if (get32(p + i) == KT_WAL_MAGIC) return i;
    return n;
}

kt_wal_res kt__wal_next(const unsigned char *p, size_t n, size_t *off, kt_wal_rec *r)
{
    size_t o = *off;
    if (o >= n) return KT_WAL_END;
    size_t left = n - o;
    if (left < KT_WAL_HDR) {
        /* A header cut short, or a tail of something else (zeros): the end either way. */
        return KT_WAL_TORN;
    }
    const unsigned char *h = p + o;
    uint32_t len = get32(h + 4);
    if (get32(h) != KT_WAL_MAGIC || get32(h + 20) != hdr_crc(h) || len < 2 ||
        len > KT_WAL_REC_MAX) {
        *off = resync(p, n, o + 1);
        return KT_WAL_BAD;
    }
    if (left - KT_WAL_HDR < len) return KT_WAL_TORN;
    const unsigned char *d = h + KT_WAL_HDR;
    if (get32(h + 16) != kt__crc32c(0, d, len) || d[0] != '{' || d[len - 1] != '}') {
        *off = resync(p, n, o + 1);
        return KT_WAL_BAD;
    }
    r->seq = get64(h + 8);
    r->data = (const char *)d;
    r->len = len;
    *off = o + KT_WAL_HDR + len;
    return KT_WAL_REC;
}
