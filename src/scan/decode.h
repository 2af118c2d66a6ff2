/* Internal to the prompt-injection classifier: bounded decoders for the encodings payloads hide
 * in (hex, base32, ROT13, quoted-printable, URL-encoding, Unicode tag characters, variation
 * selectors). Each reads in[0..n) once and writes at most `cap` bytes to out; each returns the
 * number of bytes written (0 when the input is not of its form). No allocation, no state. */
#ifndef KT_DECODE_H
#define KT_DECODE_H

#include <stddef.h>

/* A run of hex digits of even length -> bytes; 0 when a byte is not a hex digit or n is odd. */
size_t kt__dec_hex(const char *in, size_t n, char *out, size_t cap);
/* RFC 4648 base32 (upper or lower case, '=' padding) -> bytes; 0 on any other byte. */
size_t kt__dec_base32(const char *in, size_t n, char *out, size_t cap);
/* ROT13 of the ASCII letters; every other byte is copied. */
size_t kt__dec_rot13(const char *in, size_t n, char *out, size_t cap);
/* Quoted-printable: "=XX" -> the byte, "=" + line break removed, the rest copied. */
size_t kt__dec_qp(const char *in, size_t n, char *out, size_t cap);
/* URL-encoding: "%XX" -> the byte, '+' -> ' ', the rest copied. */
size_t kt__dec_url(const char *in, size_t n, char *out, size_t cap);
/* The UTF-8 tag characters U+E0020..U+E007E -> their ASCII letters; the rest is dropped. */
size_t kt__dec_tags(const char *in, size_t n, char *out, size_t cap);
/* Variation selectors as bytes ("emoji smuggling"): U+FE00..U+FE0F -> 0..15, U+E0100..U+E01EF ->
 * 16..255; the rest is dropped. */
size_t kt__dec_vsel(const char *in, size_t n, char *out, size_t cap);

/* How many "%XX" (pct) or "=XX" (qp: upper-case hex) escapes in[0..n) holds, counting up to
 * `enough`. */
size_t kt__count_escapes(const char *in, size_t n, char lead, size_t enough);
/* 1 when in[0..n) holds a word that is the ROT13 form of a word injections use ("ignore",
 * "instructions", "system", "prompt", ...). */
int kt__rot13_suspect(const char *in, size_t n);

#endif
