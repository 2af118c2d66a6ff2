/* Positioned diagnostics: a bounded list of "line:col: message" items, all problems of one
 * parse rather than only the first, and the reader's report function and message quoting. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kt/yaml_read.h"

void kt_diag_init(kt_diag *d, const char *file)
{
    memset(d, 0, sizeof *d);
    d->file = file;
}

static void diag_vadd(kt_diag *d, int line, int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void diag_vadd(kt_diag *d, int line, int col, const char *fmt, va_list ap)
{
    if (d->count < 0) d->count = 0;
    if (d->count < KT_DIAG_MAX) {
        kt_diag_item *it = &d->items[d->count];
        it->line = line;
        it->col = col;
        vsnprintf(it->msg, sizeof it->msg, fmt, ap);
    }
    if (d->count < 1000000) d->count++;
}

void kt_diag_add(kt_diag *d, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, line, col, fmt, ap);
    va_end(ap);
}

void kt_diag_format(const kt_diag *d, int i, char *out, size_t outlen)
{
    const char *file = d->file ? d->file : "<config>";
    const kt_diag_item *it = &d->items[i];
    if (it->line == 0 && it->col == 0) snprintf(out, outlen, "%s: %s", file, it->msg);
    else snprintf(out, outlen, "%s:%d:%d: %s", file, it->line, it->col, it->msg);
}

void kt_diag_print(const kt_diag *d, void *stdio_file)
{
    FILE *f = stdio_file;
    const char *file = d->file ? d->file : "<config>";
    int shown = d->count < KT_DIAG_MAX ? d->count : KT_DIAG_MAX;
    for (int i = 0; i < shown; i++) {
        char line[1100];
        kt_diag_format(d, i, line, sizeof line);
        fprintf(f, "%s\n", line);
    }
    if (d->count > shown)
        fprintf(f, "%s: %d more problems not shown\n", file, d->count - shown);
}

void kt_yr_init(kt_yread *r, kt_diag *diag)
{
    memset(r, 0, sizeof *r);
    r->diag = diag;
}

void kt_yr_quiet(kt_yread *r, const kt_ynode *n)
{
    if (r->nquiet < KT_DIAG_MAX) r->quiet[r->nquiet++] = n;
}

void kt_yr_err(kt_yread *r, const kt_ynode *at, const char *fmt, ...)
{
    assert(r->diag);
    for (int i = 0; at && i < r->nquiet; i++)
        if (r->quiet[i] == at) return;
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(r->diag, at ? at->line : 0, at ? at->col : 0, fmt, ap);
    va_end(ap);
}

void kt_yr_warn(kt_yread *r, const kt_ynode *at, const char *fmt, ...)
{
    if (!r->warn) return;
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(r->warn, at ? at->line : 0, at ? at->col : 0, fmt, ap);
    va_end(ap);
}

const char *kt_yquote_node(const kt_ynode *n, char *out, size_t outlen)
{
    if (!n || n->type != KT_Y_SCALAR) return "(not a string)";
    if (n->expanded) return "(a value from ${...}, not shown)";
    char tmp[64];
    snprintf(out, outlen, "'%s'", kt_yquote(n->str, tmp, sizeof tmp));
    return out;
}

const char *kt_yquote(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (; s && *s && n + 1 < outlen; s++) {
        unsigned char c = (unsigned char)*s;
        out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (s && *s && outlen > 4 && n >= 3) memcpy(out + n - 3, "...", 3);
    out[n] = '\0';
    return out;
}
