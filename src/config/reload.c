/* The config watcher: inotify on directories (driven by a uv_poll_t), a debounce, re-watching
 * of lost directories and an interval timer. See include/kt/reload.h for why it is built so. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "kt/log.h"
#include "kt/reload.h"

#define KT_WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE | \
                       IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR)

static void noop_close(uv_handle_t *h) { (void)h; }

static void schedule(kt_watcher *w, unsigned why, bool fast);

/* ---- checks ----------------------------------------------------------------------------------- */

static void fire(kt_watcher *w, unsigned why)
{
    uint64_t t = w->first_event_ns;
    w->pending = 0;
    w->first_event_ns = 0;
    w->fast_pending = false;
    w->checks++;
    if (w->cb) w->cb(w, why, t);
}

static void on_debounce(uv_timer_t *t)
{
    kt_watcher *w = t->data;
    fire(w, w->pending);
}

static void on_interval(uv_timer_t *t)
{
    kt_watcher *w = t->data;
    if (uv_is_active((uv_handle_t *)&w->debounce)) return;   /* a check is coming anyway */
    fire(w, KT_WATCH_POLL);
}

static void schedule(kt_watcher *w, unsigned why, bool fast)
{
    if (w->closed) return;
    if (!w->pending) w->first_event_ns = uv_hrtime();
    w->pending |= why;
    if (fast) {
        w->fast_pending = true;
        uv_timer_start(&w->debounce, on_debounce, 0, 0);
    } else if (!w->fast_pending) {
        uv_timer_start(&w->debounce, on_debounce, w->debounce_ms, 0);
    }
}

/* ---- directory watches ----------------------------------------------------------------------- */

static bool wd_shared(const kt_watcher *w, size_t skip, int wd)
{
    for (size_t i = 0; i < w->ndirs; i++)
        if (i != skip && w->dirs[i].wd == wd) return true;
    return false;
}

static void unwatch(kt_watcher *w, size_t i)
{
    if (w->dirs[i].wd >= 0 && w->fd >= 0 && !wd_shared(w, i, w->dirs[i].wd))
        inotify_rm_watch(w->fd, w->dirs[i].wd);
    w->dirs[i].wd = -1;
}

static void on_rewatch(uv_timer_t *t);

/* Adds every missing watch; returns how many were added. Keeps the retry timer running while a
 * directory is missing. */
static int watch_missing(kt_watcher *w)
{
    int added = 0;
    bool missing = false;
    for (size_t i = 0; w->fd >= 0 && i < w->ndirs; i++) {
        if (w->dirs[i].wd >= 0) continue;
        int wd = inotify_add_watch(w->fd, w->dirs[i].path, KT_WATCH_MASK);
        if (wd < 0) {
            missing = true;
            continue;
        }
        w->dirs[i].wd = wd;
        added++;
    }
    if (missing && !w->closed)
        uv_timer_start(&w->rewatch, on_rewatch, KT_WATCH_REWATCH_MS, 0);
    return added;
}

static void on_rewatch(uv_timer_t *t)
{
    kt_watcher *w = t->data;
    if (watch_missing(w) > 0) {
        w->rewatches++;
        KT_INFO("config_rewatch", "a watched directory is back; checking the config");
        schedule(w, KT_WATCH_REWATCH, true);
    }
}

static void lost(kt_watcher *w, int wd, bool still_attached)
{
    for (size_t i = 0; i < w->ndirs; i++) {
        if (w->dirs[i].wd != wd) continue;
        /* A directory moved away keeps its watch (on the inode, now elsewhere): drop it. */
        if (still_attached) unwatch(w, i);
        w->dirs[i].wd = -1;
        KT_WARN("config_watch_lost", "directory %s was replaced; watching it again by path",
                w->dirs[i].path);
    }
    if (!w->closed) uv_timer_start(&w->rewatch, on_rewatch, 0, 0);
}

/* ---- inotify ---------------------------------------------------------------------------------- */

void kt_watcher_feed(kt_watcher *w, const char *buf, size_t len)
{
    size_t off = 0;
    while (off + sizeof(struct inotify_event) <= len) {
        struct inotify_event ev;
        memcpy(&ev, buf + off, sizeof ev);
        const char *name = ev.len ? buf + off + sizeof ev : "";
        off += sizeof ev + ev.len;
        if (off > len) break;
        w->events++;
        if (ev.mask & IN_Q_OVERFLOW) {
            w->overflows++;
            KT_WARN("config_watch_overflow", "inotify queue overflowed; checking the config hash");
            schedule(w, KT_WATCH_OVERFLOW, false);
            continue;
        }
        if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) lost(w, ev.wd, (ev.mask & IN_MOVE_SELF) != 0);
        else if (ev.mask & IN_IGNORED) lost(w, ev.wd, false);
        /* An atomic replacement is complete when it is visible: act at once. */
        bool fast = (ev.mask & IN_MOVED_TO) != 0;
        (void)name;
        schedule(w, KT_WATCH_EVENT, fast);
    }
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    kt_watcher *w = p->data;
    (void)events;
    if (status < 0) return;
    /* Aligned for struct inotify_event, as inotify(7) asks. */
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        kt_watcher_feed(w, buf, (size_t)n);
    }
}

/* ---- set-up ----------------------------------------------------------------------------------- */

int kt_watcher_init(kt_watcher *w, uv_loop_t *loop, kt_watch_cb cb, void *data)
{
    memset(w, 0, sizeof *w);
    w->loop = loop;
    w->fd = -1;
    w->cb = cb;
    w->data = data;
    w->debounce_ms = KT_WATCH_DEBOUNCE_MS;
    uv_timer_init(loop, &w->debounce);
    uv_timer_init(loop, &w->interval);
    uv_timer_init(loop, &w->rewatch);
    w->debounce.data = w->interval.data = w->rewatch.data = w;
    w->handles_init = true;
    return KT_OK;
}

static void dirname_of(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, outlen, ".");
    else if (slash == path) snprintf(out, outlen, "/");
    else snprintf(out, outlen, "%.*s", (int)(slash - path), path);
}

static bool has_dir(const char (*dirs)[PATH_MAX], size_t n, const char *d)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(dirs[i], d) == 0) return true;
    return false;
}

/* The wanted directory set: each path's directory, and the resolved file's directory. */
static size_t wanted_dirs(const char *const *paths, size_t npaths, char (*dirs)[PATH_MAX])
{
    size_t n = 0;
    char real[PATH_MAX];
    for (size_t i = 0; i < npaths && n < KT_WATCH_MAX_DIRS; i++) {
        char d[PATH_MAX];
        dirname_of(paths[i], d, sizeof d);
        if (!has_dir(dirs, n, d)) snprintf(dirs[n++], PATH_MAX, "%s", d);
        /* A symlink elsewhere: watch the target's directory too, except inside our own directory
         * (a ConfigMap's `..<timestamp>` directory is replaced at every update). */
        char rd[PATH_MAX];
        if (n < KT_WATCH_MAX_DIRS && realpath(paths[i], real) && realpath(d, rd)) {
            dirname_of(real, d, sizeof d);
            size_t l = strlen(rd);
            bool inside = strncmp(d, rd, l) == 0 && (d[l] == '/' || d[l] == '\0');
            if (!inside && !has_dir(dirs, n, d)) snprintf(dirs[n++], PATH_MAX, "%s", d);
        }
    }
    return n;
}

static int set_dirs(kt_watcher *w, const char *const *paths, size_t npaths)
{
    char (*want)[PATH_MAX] = kt_calloc(KT_WATCH_MAX_DIRS, PATH_MAX);
    if (!want) return KT_ENOMEM;
    size_t n = wanted_dirs(paths, npaths, want);
    /* Drop watches no longer wanted (keeping the order of those that stay does not matter). */
    for (size_t i = 0; i < w->ndirs;) {
        if (has_dir((const char (*)[PATH_MAX])want, n, w->dirs[i].path)) {
            i++;
            continue;
        }
        unwatch(w, i);
        free(w->dirs[i].path);
        w->dirs[i] = w->dirs[--w->ndirs];
    }
    int rc = KT_OK;
    for (size_t i = 0; i < n; i++) {
        bool have = false;
        for (size_t j = 0; j < w->ndirs; j++) have |= strcmp(w->dirs[j].path, want[i]) == 0;
        if (have || w->ndirs >= KT_WATCH_MAX_DIRS) continue;
        char *p = kt_strdup(want[i]);
        if (!p) {
            rc = KT_ENOMEM;
            break;
        }
        w->dirs[w->ndirs++] = (kt_watch_dir){ p, -1 };
    }
    free(want);
    return rc;
}

static void inotify_off(kt_watcher *w)
{
    for (size_t i = 0; i < w->ndirs; i++) w->dirs[i].wd = -1;
    if (w->poll_active) {
        uv_close((uv_handle_t *)&w->poll, noop_close);
        w->poll_active = false;
    }
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    uv_timer_stop(&w->rewatch);
}

static int inotify_on(kt_watcher *w)
{
    if (w->fd >= 0) return KT_OK;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0) return KT_EIO;
    if (uv_poll_init(w->loop, &w->poll, w->fd) != 0) {
        close(w->fd);
        w->fd = -1;
        return KT_EIO;
    }
    w->poll.data = w;
    w->poll_active = true;
    uv_poll_start(&w->poll, UV_READABLE, on_readable);
    return KT_OK;
}

int kt_watcher_configure(kt_watcher *w, bool want_inotify, uint32_t interval_ms,
                         const char *const *paths, size_t npaths)
{
    if (w->closed) return KT_EINVAL;
    int rc = set_dirs(w, paths, npaths);
    if (rc) return rc;
    if (!want_inotify) {
        inotify_off(w);
    } else if (inotify_on(w) != KT_OK) {
        KT_WARN("config_watch", "inotify unavailable (%s); relying on the %u ms poll",
                strerror(errno), interval_ms);
    } else {
        watch_missing(w);
    }
    if (interval_ms != w->interval_ms || !uv_is_active((uv_handle_t *)&w->interval)) {
        w->interval_ms = interval_ms;
        uv_timer_stop(&w->interval);
        if (interval_ms) uv_timer_start(&w->interval, on_interval, interval_ms, interval_ms);
    }
    return KT_OK;
}

void kt_watcher_close(kt_watcher *w)
{
    if (w->closed || !w->handles_init) return;
    w->closed = true;
    inotify_off(w);
    uv_close((uv_handle_t *)&w->debounce, noop_close);
    uv_close((uv_handle_t *)&w->interval, noop_close);
    uv_close((uv_handle_t *)&w->rewatch, noop_close);
    for (size_t i = 0; i < w->ndirs; i++) free(w->dirs[i].path);
    w->ndirs = 0;
}
