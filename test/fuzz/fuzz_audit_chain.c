/* The audit chain parser reads files anyone with disk access may have edited: it must never read
 * or write out of bounds, and it must never accept a line it did not seal: after any input is
 * checked, a line kt seals after the accepted chain verifies, and flipping one byte of a sealed
 * line is always caught. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kt/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kt_audit_link link;
    kt_audit_link_init(&link);
    kt_audit_report rep;
    memset(&rep, 0, sizeof rep);
    bool ok = kt_audit_verify_text("fuzz", (const char *)data, size, &link, &rep);
    if (!ok) return 0;
    /* the chain so far holds: one more sealed record must verify after it */
    kt_audit_link again = link;
    kt_buf b;
    kt_buf_init(&b, KT_AUDIT_LINE_MAX + 1);
    if (kt_audit_seal(&again, "\"kind\":\"request\"", 16, &b)) abort();
    kt_audit_link check = link;
    if (kt_audit_check_line(b.p, b.len - 1, &check) != KT_AUDIT_OK) abort();
    if (size) {   /* one flipped byte of the new line never verifies */
        size_t at = data[0] % (b.len - 1);
        b.p[at] ^= 0x20;
        check = link;
        if (kt_audit_check_line(b.p, b.len - 1, &check) == KT_AUDIT_OK) abort();
    }
    kt_buf_free(&b);
    return 0;
}
