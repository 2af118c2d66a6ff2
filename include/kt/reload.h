/* Hot reload: a watcher that notices when the config (or a secret file it names) may have
 * changed, and the swap that loads a new snapshot aside and publishes it only when it is valid.
 *
 * The watcher watches DIRECTORIES with a raw inotify fd driven by a uv_poll_t, because a
 * Kubernetes ConfigMap is updated by renaming a `..data` symlink (a watch on the file itself dies at
 * the first update), and uv_fs_event hides IN_Q_OVERFLOW / IN_IGNORED. Events are debounced; an
 * atomic update (IN_MOVED_TO: the kubelet's `..data` rename, an editor's rename-over) is acted on
 * at once, anything else (in-place writes, creates, deletes) after ~200 ms of quiet. A lost watch
 * (the directory was deleted or moved away) is re-added by path once the directory exists again,
 * and an interval timer triggers a content-hash check anyway, so nothing is ever missed. The
 * watcher never reads the config: it only calls back "check now"; the check compares hashes. */
#ifndef KT_RELOAD_H
#define KT_RELOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "kt/buf.h"
#include "kt/config.h"

/* Why a check was asked for (bits). */
enum {
    KT_WATCH_EVENT = 1,      /* an inotify event in a watched directory */
    KT_WATCH_POLL = 2,       /* the interval timer */
    KT_WATCH_OVERFLOW = 4,   /* IN_Q_OVERFLOW: events were lost, so check everything */
    KT_WATCH_REWATCH = 8,    /* a lost directory watch was re-added */
};

#define KT_WATCH_MAX_DIRS 16
#define KT_WATCH_DEBOUNCE_MS 200
#define KT_WATCH_REWATCH_MS 500

typedef struct kt_watcher kt_watcher;
/* `first_event_ns` is the uv_hrtime() at which the first event of this batch was read (0 for the
 * interval timer). */
typedef void (*kt_watch_cb)(kt_watcher *w, unsigned why, uint64_t first_event_ns);

typedef struct kt_watch_dir {
    char *path;
    int wd;                  /* -1: not (or no longer) watched */
} kt_watch_dir;

struct kt_watcher {
    uv_loop_t *loop;
    int fd;                  /* inotify fd, -1 when watching is off */
    uv_poll_t poll;          /* readable inotify fd */
    uv_timer_t debounce;
    uv_timer_t interval;     /* content-hash check every interval_ms */
    uv_timer_t rewatch;      /* retries lost directory watches */
    bool handles_init;
    bool poll_active;
    bool closed;
    bool fast_pending;       /* the debounce timer runs with the short (atomic update) delay */
    kt_watch_dir dirs[KT_WATCH_MAX_DIRS];
    size_t ndirs;
    unsigned pending;        /* KT_WATCH_* bits gathered during the debounce */
    uint64_t first_event_ns;
    uint32_t debounce_ms;
    uint32_t interval_ms;
    kt_watch_cb cb;
    void *data;
    /* counters */
    uint64_t events, overflows, rewatches, checks;
};

/* Sets up the handles (nothing is watched yet). */
int kt_watcher_init(kt_watcher *w, uv_loop_t *loop, kt_watch_cb cb, void *data);
/* (Re)configures what is watched: the directories of `paths` (each path and, when it is a
 * symlink, the directory of what it resolves to), inotify on/off and the interval (0: none).
 * Called at start-up and after every successful reload (secret files may have changed). */
int kt_watcher_configure(kt_watcher *w, bool inotify_on, uint32_t interval_ms,
                         const char *const *paths, size_t npaths);
/* Closes every handle (idempotent); the memory is the owner's and may be freed once the loop has
 * run the close callbacks. */
void kt_watcher_close(kt_watcher *w);
/* Processes a buffer of raw `struct inotify_event` records as read from the fd. Exposed so tests
 * can feed records the kernel rarely produces (IN_Q_OVERFLOW). */
void kt_watcher_feed(kt_watcher *w, const char *buf, size_t len);

/* True when `mountinfo` (the text of /proc/self/mountinfo) has a mount point equal to `path`:
 * a file bind-mounted on its own (a Kubernetes subPath, a docker single-file mount) is never
 * updated in place, because the kubelet's rename happens elsewhere. */
bool kt_mountinfo_has_mountpoint(const char *mountinfo, const char *path);
/* Logs a warning for each of `paths` that is such a single-file mount. */
void kt_reload_warn_single_file_mounts(const char *const *paths, size_t npaths);

/* ---- the swap -------------------------------------------------------------------------------- */

typedef struct kt_reload_state {
    char status[16];         /* "none", "ok", "unchanged", "failed" */
    char trigger[16];        /* "startup", "watch", "poll", "sighup", "api" */
    int64_t at_ms;           /* Unix time in ms */
    uint64_t duration_us;    /* read + validate + swap */
    uint64_t since_event_us; /* first watch event -> swap (0 when not triggered by an event) */
    char error[512];         /* "file:line:col: message" of the first problem (+ count) */
    char failed_hash[65];    /* content hash of the last rejected file (not retried by the watch) */
    uint64_t ok, failed, unchanged;
} kt_reload_state;

struct kt_gateway;

/* Loads the config file aside, validates it fully and swaps it in (see reload_apply.c). `trigger`
 * names the cause; `event_ns` is the first watch event's time or 0. When `result` is given, the
 * outcome is appended as a JSON object. Returns 0 when the running config is the wanted one
 * (swapped or unchanged), KT_EINVAL when the file was rejected (the running config is untouched),
 * KT_ENOTFOUND when kt runs on the embedded default (nothing to reload). */
int kt_gateway_reload(struct kt_gateway *gw, const char *trigger, uint64_t event_ns,
                      kt_buf *result);
/* Start-up: records the initial load, warns about single-file mounts, starts the watcher (when a
 * config file is in use and gateway.config_reload is on) and the SIGHUP handler. */
int kt_reload_start(struct kt_gateway *gw);
/* Shutdown: closes the watcher's and the signal's handles (idempotent). */
void kt_reload_stop(struct kt_gateway *gw);
/* Appends the last_reload object as JSON. */
void kt_reload_state_json(const kt_reload_state *s, kt_buf *b);
/* The secret files named by `secret_key_ref: {file:}` plus the config path, for the watcher. */
size_t kt_reload_watch_paths(const kt_config *cfg, const char *config_path, const char **out,
                             size_t max);

#endif
