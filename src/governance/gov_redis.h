/* Private to governance/: one Redis connection (hiredis on its libuv adapter) for the shared
 * counters. The host name is resolved on the threadpool, the connection set up with AUTH,
 * SELECT and SCRIPT LOAD of the two scripts; only then is it up. Every call has a deadline (the
 * configured timeout): a call past it is answered "unavailable" at once and the connection is
 * dropped and made again with backoff (100 ms doubling to 5 s), so no request ever waits longer
 * than the timeout. Calls are EVALSHA of a loaded script; NOSCRIPT (a Redis restarted or
 * flushed under us) re-sends the same call as EVAL, which loads it again. Nothing blocks the
 * loop. The password is held only in this struct, wiped at close, and never logged. */
#ifndef KT_GOV_REDIS_H
#define KT_GOV_REDIS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "kt/buf.h"
#include "kt/config.h"

struct redisAsyncContext;
struct redisReply;

enum { KT_RDS_RESERVE = 0, KT_RDS_SETTLE = 1, KT_RDS_NSCRIPTS = 2 };
typedef enum { KT_RDS_DOWN = 0, KT_RDS_CONNECTING, KT_RDS_UP } kt_rds_state;

#define KT_RDS_MAX_ARGS 160       /* arguments of one call (16 holds, every key and value) */
#define KT_RDS_ARGS_BYTES 65536   /* their bytes */

/* The answer of one call: `reply` NULL when Redis could not answer in time (or at all). With
 * NULL, returning true keeps the op for kt__rds_send again later (a settle waiting for the
 * connection); otherwise the client frees it after cb. */
typedef bool (*kt_rds_cb)(void *arg, const struct redisReply *reply);

typedef struct kt_rds_op {
    struct kt_rds *owner;
    struct kt_rds_op *next;      /* the FIFO of calls in flight (oldest deadline first) */
    uint64_t deadline_ms;
    bool answered;               /* cb ran (a timeout); the reply, if it comes, is dropped */
    bool sent_eval;              /* re-sent as EVAL after NOSCRIPT */
    int script;                  /* KT_RDS_*, or -1: a set-up command */
    kt_rds_cb cb;
    void *arg;
    int argc, nkeys;
    uint32_t attempts;
    uint64_t born_ms;
    size_t off[KT_RDS_MAX_ARGS];
    size_t lens[KT_RDS_MAX_ARGS];
    kt_buf data;
} kt_rds_op;

typedef struct kt_rds_stats {
    uint64_t connects, disconnects, timeouts, errors, noscript;
} kt_rds_stats;

typedef struct kt_rds {
    uv_loop_t *loop;
    char host[KT_REDIS_HOST_MAX];
    char addr[64];               /* the resolved address connected to */
    uint16_t port;
    uint32_t db;
    uint32_t timeout_ms;
    char *password;              /* NULL: no AUTH; wiped at close */
    struct redisAsyncContext *ac;
    kt_rds_state state;
    bool closing, resolving, timers_closed;
    uint32_t backoff_ms;
    uv_timer_t retry_timer;      /* the next connect */
    uv_timer_t op_timer;         /* the oldest call's deadline */
    uv_getaddrinfo_t gai;
    kt_rds_op *head, *tail;      /* calls in flight */
    int setup_left;              /* set-up replies still awaited */
    char sha[KT_RDS_NSCRIPTS][41];
    uint64_t up_since_ms, down_since_ms;
    char last_error[128];        /* for /health: never holds the password */
    kt_rds_stats stats;
    void (*on_up)(void *arg);    /* the connection became usable (flush pending settles) */
    void *on_up_arg;             /* the kt_gov */
} kt_rds;

/* The two Lua scripts (gov_redis_scripts.c). */
extern const char *const kt__rds_scripts[KT_RDS_NSCRIPTS];

/* Starts connecting. `password` (may be NULL) is taken over. */
int kt__rds_init(kt_rds *r, uv_loop_t *loop, const kt_shared_state_opts *o, char *password);
/* Drops the connection (pending calls are answered NULL) and closes the timers. Idempotent. */
void kt__rds_close(kt_rds *r);
/* Frees what close left (after the loop closed the handles). */
void kt__rds_free(kt_rds *r);
static inline bool kt__rds_up(const kt_rds *r) { return r->state == KT_RDS_UP; }

/* A call builder: the arguments after EVALSHA sha numkeys (keys first, then the values). */
kt_rds_op *kt__rds_op_new(kt_rds *r, int script, kt_rds_cb cb, void *arg);
/* Appends one argument (copied). KT_ELIMIT when the op is full. */
int kt__rds_arg(kt_rds_op *op, const char *s, size_t n);
int kt__rds_argf(kt_rds_op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends the op as EVALSHA with `nkeys` keys among its arguments (nkeys < 0: a plain command
 * whose first argument is its name). The client owns the op from then on; cb runs exactly once,
 * at once with NULL when the connection is not up. */
void kt__rds_send(kt_rds_op *op, int nkeys);
void kt__rds_op_free(kt_rds_op *op);

#endif
