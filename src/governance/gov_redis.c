/* The Redis connection of the shared counters (gov_redis.h): resolve on the threadpool, connect
 * with hiredis' async API on its libuv adapter, set up (AUTH, SELECT, SCRIPT LOAD), then calls
 * as EVALSHA with a deadline each. A call past its deadline, a lost connection or a failed set-up
 * drops the connection (every call in flight is answered NULL at once) and a timer connects again
 * with backoff. hiredis 0.14 (Debian 12) connects with redisAsyncConnect, 1.x (Debian 13) with
 * redisAsyncConnectWithOptions and a connect timeout of its own; the rest is common to both. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libuv.h>
#pragma GCC diagnostic pop

#include "gov_redis.h"
#include "kt/log.h"

#define KT_RDS_BACKOFF_MIN_MS 100
#define KT_RDS_BACKOFF_MAX_MS 5000

static void connect_start(kt_rds *r);
static void issue(kt_rds_op *op);

static uint64_t setup_timeout(const kt_rds *r)
{
    return r->timeout_ms * 4 > 1000 ? r->timeout_ms * 4 : 1000;
}

/* ---- the ops in flight -------------------------------------------------------------------------- */

static void unlink_op(kt_rds *r, kt_rds_op *op)
{
    kt_rds_op **pp = &r->head, *prev = NULL;
    while (*pp && *pp != op) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp) return;
    *pp = op->next;
    if (r->tail == op) r->tail = prev;
    op->next = NULL;
}

static void on_op_timer(uv_timer_t *t);

static void arm(kt_rds *r)
{
    if (r->timers_closed) return;
    if (!r->head) {
        uv_timer_stop(&r->op_timer);
        return;
    }
    uint64_t now = uv_now(r->loop);
    uint64_t due = r->head->deadline_ms > now ? r->head->deadline_ms - now : 0;
    uv_timer_start(&r->op_timer, on_op_timer, due ? due : 1, 0);
}

/* Runs the op's callback and frees it, unless it was kept (NULL reply, cb returned true). */
static void finish(kt_rds_op *op, const redisReply *reply)
{
    bool keep = op->cb(op->arg, reply);
    if (reply || !keep) kt__rds_op_free(op);
}

/* ---- connection state ------------------------------------------------------------------------- */

static void on_retry(uv_timer_t *t) { connect_start(t->data); }

/* Closing: once the connection is gone, the timers go too (the loop can then end). */
static void close_timers(kt_rds *r)
{
    if (r->timers_closed || r->ac) return;
    r->timers_closed = true;
    uv_close((uv_handle_t *)&r->retry_timer, NULL);
    uv_close((uv_handle_t *)&r->op_timer, NULL);
}

static void set_down(kt_rds *r, const char *why)
{
    bool was_up = r->state == KT_RDS_UP;
    r->state = KT_RDS_DOWN;
    if (why) snprintf(r->last_error, sizeof r->last_error, "%s", why);
    if (was_up) {
        r->down_since_ms = uv_now(r->loop);
        KT_WARN("shared_state_down", "Redis %s:%u is unavailable: %s", r->host, r->port,
                r->last_error);
    }
    if (r->closing) {
        close_timers(r);
        return;
    }
    if (r->resolving || uv_is_active((uv_handle_t *)&r->retry_timer)) return;
    if (!r->backoff_ms) r->backoff_ms = KT_RDS_BACKOFF_MIN_MS;
    uv_timer_start(&r->retry_timer, on_retry, r->backoff_ms, 0);
    r->backoff_ms = r->backoff_ms * 2 > KT_RDS_BACKOFF_MAX_MS ? KT_RDS_BACKOFF_MAX_MS
                                                            : r->backoff_ms * 2;
}

/* Drops the connection: every call in flight is answered NULL (inside redisAsyncFree, or right
 * after the hiredis callback that is running now). */
static void kill_conn(kt_rds *r, const char *why)
{
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    if (ac) redisAsyncFree(ac);
    set_down(r, why);
}

static void on_op_timer(uv_timer_t *t)
{
    kt_rds *r = t->data;
    if (!r->head) return;
    if (r->head->deadline_ms > uv_now(r->loop)) {
        arm(r);
        return;
    }
    r->stats.timeouts++;
    char why[96];
    snprintf(why, sizeof why, "no answer within %u ms", r->head->script < 0
                                                            ? (unsigned)setup_timeout(r)
                                                            : r->timeout_ms);
    kill_conn(r, why);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    kt_rds *r = ac->data;
    if (status == REDIS_OK) return;   /* set-up replies decide when it is up */
    if (r->ac == ac) r->ac = NULL;    /* hiredis frees it after this callback */
    char why[128];
    snprintf(why, sizeof why, "cannot connect: %s", ac->errstr[0] ? ac->errstr : "error");
    r->stats.errors++;
    set_down(r, why);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    kt_rds *r = ac->data;
    (void)status;
    r->stats.disconnects++;
    if (r->ac != ac) return;   /* kill_conn already accounted for it */
    r->ac = NULL;
    set_down(r, "the connection was closed");
}

/* ---- set-up: AUTH, SELECT, SCRIPT LOAD ---------------------------------------------------------- */

static bool setup_step(kt_rds *r, const redisReply *reply, int script)
{
    if (!reply) return false;   /* the connection is gone: set_down ran */
    if (reply->type == REDIS_REPLY_ERROR) {
        char why[128];
        /* Redis' own message (WRONGPASS, NOAUTH, ...) names no secret */
        snprintf(why, sizeof why, "set-up refused: %.100s", reply->str ? reply->str : "error");
        r->stats.errors++;
        kill_conn(r, why);
        return false;
    }
    if (script >= 0) {
        if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
            r->stats.errors++;
            kill_conn(r, "SCRIPT LOAD answered no SHA-1");
            return false;
        }
        memcpy(r->sha[script], reply->str, 40);
        r->sha[script][40] = '\0';
    }
    if (--r->setup_left > 0 || r->state != KT_RDS_CONNECTING) return false;
    r->state = KT_RDS_UP;
    r->stats.connects++;
    r->backoff_ms = 0;
    r->up_since_ms = uv_now(r->loop);
    r->last_error[0] = '\0';
    KT_INFO("shared_state_up", "Redis %s:%u (%s) is up; limits are shared", r->host, r->port,
            r->addr);
    if (r->on_up) r->on_up(r->on_up_arg);
    return false;
}

static bool setup_plain(void *arg, const redisReply *reply) { return setup_step(arg, reply, -1); }
static bool setup_load0(void *arg, const redisReply *reply) { return setup_step(arg, reply, 0); }
static bool setup_load1(void *arg, const redisReply *reply) { return setup_step(arg, reply, 1); }

static void setup_send(kt_rds *r, kt_rds_cb cb, const char *a0, const char *a1, const char *a2)
{
    kt_rds_op *op = kt__rds_op_new(r, -1, cb, r);
    if (!op) {
        kill_conn(r, "out of memory");
        return;
    }
    int rc = kt__rds_arg(op, a0, strlen(a0));
    if (!rc && a1) rc = kt__rds_arg(op, a1, strlen(a1));
    if (!rc && a2) rc = kt__rds_arg(op, a2, strlen(a2));
    op->nkeys = -1;
    op->deadline_ms = uv_now(r->loop) + setup_timeout(r);
    r->setup_left++;
    if (rc) finish(op, NULL);
    else issue(op);
}

static void connect_addr(kt_rds *r)
{
#if HIREDIS_MAJOR >= 1
    redisOptions opt;
    memset(&opt, 0, sizeof opt);
    struct timeval tv = { (time_t)(setup_timeout(r) / 1000),
                          (suseconds_t)(setup_timeout(r) % 1000 * 1000) };
    REDIS_OPTIONS_SET_TCP(&opt, r->addr, r->port);
    opt.connect_timeout = &tv;
    redisAsyncContext *ac = redisAsyncConnectWithOptions(&opt);
#else
    redisAsyncContext *ac = redisAsyncConnect(r->addr, r->port);
#endif
    if (!ac) {
        set_down(r, "out of memory");
        return;
    }
    if (ac->err) {
        char why[128];
        snprintf(why, sizeof why, "cannot connect: %s", ac->errstr);
        redisAsyncFree(ac);
        r->stats.errors++;
        set_down(r, why);
        return;
    }
    ac->data = r;
    if (redisLibuvAttach(ac, r->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        set_down(r, "cannot watch the socket");
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    r->setup_left = 0;
    /* Queued before the connect completes; hiredis writes them once it does. */
    if (r->password) setup_send(r, setup_plain, "AUTH", r->password, NULL);
    char db[16];
    snprintf(db, sizeof db, "%u", r->db);
    if (r->ac && r->db) setup_send(r, setup_plain, "SELECT", db, NULL);
    if (r->ac) setup_send(r, setup_load0, "SCRIPT", "LOAD", kt__rds_scripts[0]);
    if (r->ac) setup_send(r, setup_load1, "SCRIPT", "LOAD", kt__rds_scripts[1]);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    kt_rds *r = req->data;
    r->resolving = false;
    if (r->closing) {
        uv_freeaddrinfo(res);
        return;
    }
    if (status || !res) {
        char why[128];
        snprintf(why, sizeof why, "cannot resolve %.64s: %s", r->host, uv_strerror(status));
        uv_freeaddrinfo(res);
        r->stats.errors++;
        set_down(r, why);
        return;
    }
    int rc = res->ai_family == AF_INET6
                 ? uv_ip6_name((const struct sockaddr_in6 *)res->ai_addr, r->addr, sizeof r->addr)
                 : uv_ip4_name((const struct sockaddr_in *)res->ai_addr, r->addr, sizeof r->addr);
    uv_freeaddrinfo(res);
    if (rc) {
        set_down(r, "cannot format the resolved address");
        return;
    }
    connect_addr(r);
}

/* Host names are resolved on the threadpool: hiredis would call getaddrinfo on the loop. */
static void connect_start(kt_rds *r)
{
    if (r->closing || r->ac || r->resolving) return;
    r->state = KT_RDS_CONNECTING;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    snprintf(port, sizeof port, "%u", r->port);
    r->gai.data = r;
    r->resolving = true;
    int rc = uv_getaddrinfo(r->loop, &r->gai, on_resolved, r->host, port, &hints);
    if (rc) {
        r->resolving = false;
        set_down(r, "cannot start resolving the host");
    }
}

int kt__rds_init(kt_rds *r, uv_loop_t *loop, const kt_shared_state_opts *o, char *password)
{
    memset(r, 0, sizeof *r);
    r->loop = loop;
    snprintf(r->host, sizeof r->host, "%s", o->host);
    r->port = o->port;
    r->db = o->db;
    r->timeout_ms = o->timeout_ms ? o->timeout_ms : 250;
    r->password = password;
    snprintf(r->last_error, sizeof r->last_error, "connecting");
    uv_timer_init(loop, &r->retry_timer);
    uv_timer_init(loop, &r->op_timer);
    r->retry_timer.data = r->op_timer.data = r;
    r->down_since_ms = uv_now(loop);
    connect_start(r);
    return KT_OK;
}

void kt__rds_close(kt_rds *r)
{
    if (r->closing) return;
    r->closing = true;
    uv_timer_stop(&r->retry_timer);
    if (r->resolving) uv_cancel((uv_req_t *)&r->gai);
    if (r->ac && r->state == KT_RDS_UP && r->head) {
        /* the last settles: hiredis sends what is queued, waits for the replies, then
         * disconnects (on_disconnect closes the timers); the calls' deadlines still hold */
        redisAsyncDisconnect(r->ac);
        return;
    }
    kill_conn(r, "shutting down");
}

void kt__rds_free(kt_rds *r)
{
    if (r->password) {
        volatile char *p = r->password;
        while (*p) *p++ = 0;
        free(r->password);
        r->password = NULL;
    }
}

/* ---- calls ------------------------------------------------------------------------------------ */

kt_rds_op *kt__rds_op_new(kt_rds *r, int script, kt_rds_cb cb, void *arg)
{
    kt_rds_op *op = kt_calloc(1, sizeof *op);
    if (!op) return NULL;
    op->owner = r;
    op->script = script;
    op->cb = cb;
    op->arg = arg;
    op->born_ms = uv_now(r->loop);
    kt_buf_init(&op->data, KT_RDS_ARGS_BYTES);
    return op;
}

void kt__rds_op_free(kt_rds_op *op)
{
    if (!op) return;
    kt_buf_free(&op->data);
    free(op);
}

int kt__rds_arg(kt_rds_op *op, const char *s, size_t n)
{
    if (op->argc >= KT_RDS_MAX_ARGS) return KT_ELIMIT;
    size_t at = op->data.len;
    if (kt_buf_append(&op->data, s, n)) return KT_ELIMIT;
    op->off[op->argc] = at;
    op->lens[op->argc] = n;
    op->argc++;
    return KT_OK;
}

int kt__rds_argf(kt_rds_op *op, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) return KT_ELIMIT;
    return kt__rds_arg(op, tmp, (size_t)n);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    kt_rds_op *op = privdata;
    kt_rds *r = op->owner;
    const redisReply *rep = reply;
    (void)ac;
    unlink_op(r, op);
    if (rep && rep->type == REDIS_REPLY_ERROR && op->script >= 0 && !op->sent_eval &&
        rep->str && strncmp(rep->str, "NOSCRIPT", 8) == 0 && r->ac) {
        /* Redis lost its scripts (restarted, SCRIPT FLUSH): EVAL sends the text and loads it */
        r->stats.noscript++;
        op->sent_eval = true;
        op->deadline_ms = uv_now(r->loop) + r->timeout_ms;
        issue(op);
        arm(r);
        return;
    }
    if (rep && rep->type == REDIS_REPLY_ERROR) r->stats.errors++;
    finish(op, rep);
    arm(r);
}

static void issue(kt_rds_op *op)
{
    kt_rds *r = op->owner;
    const char *argv[KT_RDS_MAX_ARGS + 3];
    size_t lens[KT_RDS_MAX_ARGS + 3];
    int argc = 0;
    char nk[16];
    if (op->script >= 0) {
        const char *text = kt__rds_scripts[op->script];
        argv[argc] = op->sent_eval ? "EVAL" : "EVALSHA";
        lens[argc] = strlen(argv[argc]);
        argc++;
        argv[argc] = op->sent_eval ? text : r->sha[op->script];
        lens[argc++] = op->sent_eval ? strlen(text) : 40;
        snprintf(nk, sizeof nk, "%d", op->nkeys);
        argv[argc] = nk;
        lens[argc++] = strlen(nk);
    }
    for (int i = 0; i < op->argc; i++) {
        argv[argc] = op->data.p + op->off[i];
        lens[argc++] = op->lens[i];
    }
    if (!r->ac ||
        redisAsyncCommandArgv(r->ac, on_reply, op, argc, argv, lens) != REDIS_OK) {
        finish(op, NULL);
        return;
    }
    op->next = NULL;
    if (r->tail) r->tail->next = op;
    else r->head = op;
    r->tail = op;
    if (!uv_is_active((uv_handle_t *)&r->op_timer)) arm(r);
}

void kt__rds_send(kt_rds_op *op, int nkeys)
{
    kt_rds *r = op->owner;
    op->nkeys = nkeys;
    op->sent_eval = false;
    op->attempts++;
    if (r->state != KT_RDS_UP || !r->ac) {
        finish(op, NULL);
        return;
    }
    op->deadline_ms = uv_now(r->loop) + r->timeout_ms;
    issue(op);
}
