/* Bounded decoders for the encodings prompt-injection payloads hide in (see decode.h). */
#include <stdint.h>
#include <string.h>

#include "decode.h"

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t kt__dec_hex(const char *in, size_t n, char *out, size_t cap)
{
    if (n % 2) return 0;
    size_t o = 0;
    for (size_t i = 0; i + 1 < n && o < cap; i += 2) {
        int a = hexval((unsigned char)in[i]), b = hexval((unsigned char)in[i + 1]);
        if (a < 0 || b < 0) return 0;
        out[o++] = (char)(a << 4 | b);
    }
    return o;
}

static int b32val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}

size_t kt__dec_base32(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    uint_fast32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        if (in[i] == '=') continue;
        int v = b32val((unsigned char)in[i]);
        if (v < 0) return 0;
        acc = (acc << 5 | (unsigned)v) & 0xFFFu;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)(acc >> bits);
        }
    }
    return o;
}

size_t kt__dec_rot13(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 'a' && c <= 'z') c = (unsigned char)('a' + (c - 'a' + 13) % 26);
        else if (c >= 'A' && c <= 'Z') c = (unsigned char)('A' + (c - 'A' + 13) % 26);
        out[o++] = (char)c;
    }
    return o;
}

size_t kt__dec_qp(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        if (in[i] == '=' && i + 2 < n && hexval((unsigned char)in[i + 1]) >= 0 &&
            hexval((unsigned char)in[i + 2]) >= 0) {
            out[o++] = (char)(hexval((unsigned char)in[i + 1]) << 4 |
                              hexval((unsigned char)in[i + 2]));
            i += 2;
        } else if (in[i] == '=' && i + 1 < n && in[i + 1] == '\n') {
            i += 1;
        } else if (in[i] == '=' && i + 2 < n && in[i + 1] == '\r' && in[i + 2] == '\n') {
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    return o;
}

size_t kt__dec_url(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        if (in[i] == '%' && i + 2 < n && hexval((unsigned char)in[i + 1]) >= 0 &&
            hexval((unsigned char)in[i + 2]) >= 0) {
            out[o++] = (char)(hexval((unsigned char)in[i + 1]) << 4 |
                              hexval((unsigned char)in[i + 2]));
            i += 2;
        } else {
            out[o++] = in[i] == '+' ? ' ' : in[i];
        }
    }
    return o;
}

/* The code point of the 4-byte UTF-8 sequence at p (n >= 4 available), or 0. */
static unsigned long cp4(const unsigned char *p)
{
    if ((p[0] & 0xF8) != 0xF0 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
        (p[3] & 0xC0) != 0x80)
        return 0;
    return (unsigned long)(p[0] & 7) << 18 | (unsigned long)(p[1] & 0x3F) << 12 |
           (unsigned long)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
}

size_t kt__dec_tags(const char *in, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i + 3 < n && o < cap; i++) {
        if (p[i] != 0xF3) continue;
        unsigned long cp = cp4(p + i);
        if (cp >= 0xE0020 && cp <= 0xE007E) {
            out[o++] = (char)(cp - 0xE0000);
            i += 3;
        }
    }
    return o;
}

size_t kt__dec_vsel(const char *in, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i + 2 < n && o < cap; i++) {
        if (p[i] == 0xEF && p[i + 1] == 0xB8 && p[i + 2] >= 0x80 && p[i + 2] <= 0x8F) {
            out[o++] = (char)(p[i + 2] - 0x80);   /* U+FE00..U+FE0F */
            i += 2;
        } else if (p[i] == 0xF3 && i + 3 < n) {
            unsigned long cp = cp4(p + i);
            if (cp >= 0xE0100 && cp <= 0xE01EF) {
                out[o++] = (char)(cp - 0xE0100 + 16);
                i += 3;
            }
        }
    }
    return o;
}

size_t kt__count_escapes(const char *in, size_t n, char lead, size_t enough)
{
    size_t k = 0;
    const char *p = in, *end = in + n;
    while (k < enough && p + 2 < end && (p = memchr(p, lead, (size_t)(end - p - 2)))) {
        int a = hexval((unsigned char)p[1]), b = hexval((unsigned char)p[2]);
        int upper = lead != '=' || ((p[1] < 'a' || p[1] > 'f') && (p[2] < 'a' || p[2] > 'f'));
        if (a >= 0 && b >= 0 && upper) {
            k++;
            p += 3;
        } else {
            p++;
        }
    }
    return k;
}

/* ROT13 forms of words injections use. */
static const char *const kt__rot13_words[] = { "vtaber", "qvfertneq", "sbetrg", "bireevqr",
                                               "cerivbhf", "cevbe", "vafgehpgvbaf", "vafgehpgvba",
                                               "ehyrf", "flfgrz", "cebzcg", "wnvyoernx",
                                               "thvqryvarf", "olcnff" };

int kt__rot13_suspect(const char *in, size_t n)
{
    char w[16];
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)in[i];
        if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) {
            i++;
            continue;
        }
        size_t k = 0;
        for (; i < n && ((unsigned char)in[i] | 0x20) >= 'a' && ((unsigned char)in[i] | 0x20) <= 'z';
             i++, k++)
            if (k < sizeof w - 1) w[k] = (char)(in[i] | 0x20);
        if (k < 5 || k >= sizeof w || !strchr("vqsbcefwto", w[0])) continue;
        w[k] = '\0';
        for (size_t j = 0; j < sizeof kt__rot13_words / sizeof *kt__rot13_words; j++)
            if (!strcmp(w, kt__rot13_words[j])) return 1;
    }
    return 0;
}
