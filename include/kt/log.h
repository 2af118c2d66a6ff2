/* JSON-lines logging on stderr. One printf-checked macro family; callers never pass secrets,
 * keys, or request/response content (only sizes, ids, codes and names). */
#ifndef KT_LOG_H
#define KT_LOG_H

typedef enum { KT_LOG_DEBUG, KT_LOG_INFO, KT_LOG_WARN, KT_LOG_ERROR } kt_log_level;

/* The minimum level comes from KT_LOG_LEVEL (debug|info|warn|error) read once at start-up by
 * main() and passed here; there is no other logging state. */
void kt_log_set_level(kt_log_level lvl);
kt_log_level kt_log_get_level(void);

/* `event` is a short stable name ("listening", "upstream_error"); `fmt` formats the "msg". */
void kt_log(kt_log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define KT_DEBUG(ev, ...) kt_log(KT_LOG_DEBUG, ev, __VA_ARGS__)
#define KT_INFO(ev, ...) kt_log(KT_LOG_INFO, ev, __VA_ARGS__)
#define KT_WARN(ev, ...) kt_log(KT_LOG_WARN, ev, __VA_ARGS__)
#define KT_ERROR(ev, ...) kt_log(KT_LOG_ERROR, ev, __VA_ARGS__)

#endif
