/* JSON-lines logger on stderr: {"ts":...,"level":...,"event":...,"msg":...}. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kt/buf.h"
#include "kt/log.h"

/* The only process-wide setting: written once by main() before the loop starts. */
static kt_log_level kt__min_level = KT_LOG_INFO;

void kt_log_set_level(kt_log_level lvl) { kt__min_level = lvl; }

kt_log_level kt_log_get_level(void) { return kt__min_level; }

void kt_log(kt_log_level lvl, const char *event, const char *fmt, ...)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    if (lvl < kt__min_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = sizeof msg - 1;

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000));

    char line[1600];
    kt_buf b = { line, 0, sizeof line, sizeof line - 1 };
    /* A stack buffer with a fixed capacity: kt_buf_reserve never reallocates below cap. */
    kt_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":", when, names[lvl]);
    kt_buf_json_str(&b, event, strlen(event));
    kt_buf_puts(&b, ",\"msg\":");
    kt_buf_json_str(&b, msg, (size_t)n);
    kt_buf_puts(&b, "}\n");
    fwrite(b.p, 1, b.len, stderr);
}
