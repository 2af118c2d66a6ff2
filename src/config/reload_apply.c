/* The swap: read the config file, compare its hash, load and fully validate it aside, and only
 * then publish it. A rejected file changes nothing but last_reload, a counter and log lines.
 * Requests hold their own snapshot reference (taken at dispatch), so the old snapshot lives until
 * its last request (streams included) ends; new requests get the new one. Upstream pools are
 * keyed by origin, not by snapshot, so they survive. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "kt/gateway.h"
#include "kt/log.h"
#include "kt/reload.h"

#define KT_RELOAD_MAX_BYTES (1u << 20)

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads at most KT_RELOAD_MAX_BYTES; symlinks are followed. err gets why not. */
static int read_config(const char *path, kt_buf *out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    int rc = KT_EIO;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: cannot read config: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: config is not a regular file", path);
        goto fail;
    }
    for (;;) {   /* straight into `out`, 16 KiB at a time; one byte past the cap is too large */
        size_t room = KT_MIN(out->max - out->len, (size_t)16384);
        char probe;
        if (room && kt_buf_reserve(out, room)) {
            snprintf(err, errlen, "%s: cannot read config: out of memory", path);
            rc = KT_ENOMEM;
            goto fail;
        }
        ssize_t n = read(fd, room ? out->p + out->len : &probe, room ? room : 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: cannot read config: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0) break;
        if (!room) {
            snprintf(err, errlen, "%s: config file is larger than %u bytes", path,
                     KT_RELOAD_MAX_BYTES);
            rc = KT_ELIMIT;
            goto fail;
        }
        out->len += (size_t)n;
        out->p[out->len] = '\0';
    }
    close(fd);
    return KT_OK;
fail:
    if (fd >= 0) close(fd);
    return rc;
}

/* ---- result ----------------------------------------------------------------------------------- */

void kt_reload_state_json(const kt_reload_state *s, kt_buf *b)
{
    kt_buf_puts(b, "{\"status\":");
    kt_buf_json_str(b, s->status, strlen(s->status));
    kt_buf_puts(b, ",\"trigger\":");
    kt_buf_json_str(b, s->trigger, strlen(s->trigger));
    kt_buf_printf(b, ",\"at_ms\":%lld,\"duration_us\":%llu,\"since_event_us\":%llu,\"error\":",
                  (long long)s->at_ms, (unsigned long long)s->duration_us,
                  (unsigned long long)s->since_event_us);
    if (s->error[0]) kt_buf_json_str(b, s->error, strlen(s->error));
    else kt_buf_puts(b, "null");
    kt_buf_printf(b, ",\"ok\":%llu,\"failed\":%llu,\"unchanged\":%llu}",
                  (unsigned long long)s->ok, (unsigned long long)s->failed,
                  (unsigned long long)s->unchanged);
}

static void record(kt_gateway *gw, const char *status, const char *trigger, uint64_t t0,
                   uint64_t event_ns, const char *error)
{
    kt_reload_state *s = &gw->last_reload;
    uint64_t now = uv_hrtime();
    snprintf(s->status, sizeof s->status, "%s", status);
    snprintf(s->trigger, sizeof s->trigger, "%s", trigger);
    s->at_ms = unix_ms();
    s->duration_us = (now - t0) / 1000;
    s->since_event_us = event_ns ? (now - event_ns) / 1000 : 0;
    snprintf(s->error, sizeof s->error, "%s", error ? error : "");
}

static void answer(kt_gateway *gw, kt_buf *out, const char *previous, const kt_diag *diag)
{
    if (!out) return;
    const kt_config *c = gw->cfg;
    char ver[200];
    kt_buf_puts(out, "{\"result\":");
    kt_buf_json_str(out, gw->last_reload.status, strlen(gw->last_reload.status));
    snprintf(ver, sizeof ver, "%s@%s", c->pack_name, c->pack_version);
    kt_buf_puts(out, ",\"config_version\":");
    kt_buf_json_str(out, ver, strlen(ver));
    kt_buf_printf(out, ",\"config_hash\":\"sha256:%s\",\"previous_version\":", c->hash);
    if (previous) kt_buf_json_str(out, previous, strlen(previous));
    else kt_buf_puts(out, "null");
    kt_buf_puts(out, ",\"errors\":[");
    for (int i = 0; diag && i < diag->count && i < KT_DIAG_MAX; i++) {
        char line[400];
        const kt_diag_item *d = &diag->items[i];
        snprintf(line, sizeof line, "%s:%d:%d: %.300s", diag->file, d->line, d->col, d->msg);
        if (i) kt_buf_puts(out, ",");
        kt_buf_json_str(out, line, strlen(line));
    }
    kt_buf_puts(out, "],\"last_reload\":");
    kt_reload_state_json(&gw->last_reload, out);
    kt_buf_puts(out, "}");
}

/* ---- validation beyond the loader ------------------------------------------------------------ */

static const kt_ynode *target_key_node(const kt_config *c, const char *id)
{
    const kt_ynode *p = c->tree ? kt_ymap_get(c->tree, "providers") : NULL;
    const kt_ynode *ts = p ? kt_ymap_get(p, "targets") : NULL;
    for (size_t i = 0; ts && ts->type == KT_Y_SEQ && i < ts->n; i++) {
        const kt_ynode *tid = kt_ymap_get(ts->vals[i], "id");
        if (tid && tid->str && strcmp(tid->str, id) == 0) {
            const kt_ynode *k = kt_ymap_get(ts->vals[i], "secret_key_ref");
            return k ? k : ts->vals[i];
        }
    }
    return NULL;
}

/* A reload must not take a working key away: a target whose key resolved in the running config
 * and does not in the new one (unset variable, missing secret file) rejects the new file. */
static void check_keys(const kt_config *old, const kt_config *nw, kt_diag *diag)
{
    for (size_t i = 0; i < nw->ntargets; i++) {
        const kt_target *t = &nw->targets[i];
        if (t->key || !t->id) continue;
        const kt_target *o = kt_config_target_by_id(old, t->id, strlen(t->id));
        if (o && !o->key) continue;
        const kt_ynode *n = target_key_node(nw, t->id);
        kt_diag_add(diag, n ? n->line : 0, n ? n->col : 0, "target %s: %s", t->id, t->key_error);
    }
}

/* ---- the reload ------------------------------------------------------------------------------- */

size_t kt_reload_watch_paths(const kt_config *cfg, const char *config_path, const char **out,
                             size_t max)
{
    size_t n = 0;
    if (config_path && n < max) out[n++] = config_path;
    for (size_t i = 0; cfg && i < cfg->ntargets && n < max; i++)
        if (cfg->targets[i].key_source == KT_KEY_FILE && cfg->targets[i].key_ref)
            out[n++] = cfg->targets[i].key_ref;
    for (size_t i = 0; cfg && i < cfg->nconsumers; i++)
        for (size_t k = 0; k < cfg->consumers[i].nkeys && n < max; k++)
            if (cfg->consumers[i].keys[k].source == KT_KEY_FILE)
                out[n++] = cfg->consumers[i].keys[k].ref;
    return n;
}

static void rewatch(kt_gateway *gw)
{
    const char *paths[KT_WATCH_MAX_DIRS];
    if (!gw->config_path || !gw->watcher.handles_init || gw->watcher.closed) return;
    size_t n = kt_reload_watch_paths(gw->cfg, gw->config_path, paths, KT_ARRAY_LEN(paths));
    bool on = gw->cfg->gateway.config_reload;
    kt_watcher_configure(&gw->watcher, on, on ? gw->cfg->gateway.config_poll_interval_ms : 0,
                         paths, n);
}

static void refresh_keys(kt_gateway *gw)
{
    int rc = kt_config_refresh_keys(gw->cfg, gw->env);
    if (rc == KT_KEYS_CHANGED) KT_INFO("provider_keys_refreshed", "a provider key changed on disk; new requests use it");
}

static bool is_auto(const char *trigger)
{
    return strcmp(trigger, "watch") == 0 || strcmp(trigger, "poll") == 0;
}

static void log_failure(const kt_diag *diag, const char *trigger)
{
    for (int i = 0; i < diag->count && i < 8; i++) {
        const kt_diag_item *d = &diag->items[i];
        KT_ERROR("config_reload_failed", "%s:%d:%d: %s (trigger %s; the running config is kept)",
                 diag->file, d->line, d->col, d->msg, trigger);
    }
    if (diag->count > 8) KT_ERROR("config_reload_failed", "... and %d more problems", diag->count - 8);
}

static void swap_in(kt_gateway *gw, kt_config *nw, const char *trigger, uint64_t t0,
                    uint64_t t_loaded, uint64_t event_ns)
{
    kt_config *old = gw->cfg;
    char before[200];
    snprintf(before, sizeof before, "%s@%s (sha256:%.12s)", old->pack_name, old->pack_version,
             old->hash);
    if ((nw->gateway.listen == NULL) != (old->gateway.listen == NULL) ||
        (nw->gateway.listen && strcmp(nw->gateway.listen, old->gateway.listen) != 0))
        KT_WARN("config_reload_listen", "gateway.listen changed; it applies at the next restart");
    if ((nw->gateway.ops_listen == NULL) != (old->gateway.ops_listen == NULL) ||
        (nw->gateway.ops_listen && strcmp(nw->gateway.ops_listen, old->gateway.ops_listen) != 0))
        KT_WARN("config_reload_listen", "gateway.ops_listen changed; it applies at the next restart");
    gw->cfg = nw;
    gw->limits = nw->gateway.limits;
    uint64_t t_swap = uv_hrtime();
    kt_config_release(&old);   /* freed now, or by the last request still holding it */
    malloc_trim(0);            /* the new snapshot's build and what the old one held, if freed */
    KT_INFO("config_reloaded", "trigger=%s %s -> %s@%s (sha256:%.12s) policies=%zu targets=%zu "
            "load_us=%llu swap_us=%llu since_event_us=%llu", trigger, before, nw->pack_name,
            nw->pack_version, nw->hash, nw->nchain, nw->ntargets,
            (unsigned long long)((t_loaded - t0) / 1000), (unsigned long long)((t_swap - t0) / 1000),
            (unsigned long long)(event_ns ? (t_swap - event_ns) / 1000 : 0));
    kt_config_log_warnings(nw);
}

static int reload(kt_gateway *gw, const char *trigger, uint64_t event_ns, kt_buf *result,
                  kt_diag *diag)
{
    uint64_t t0 = uv_hrtime();
    char err[512] = "";
    char previous[200];
    kt_config *nw = NULL;
    kt_buf text;
    kt_buf_init(&text, KT_RELOAD_MAX_BYTES);
    snprintf(previous, sizeof previous, "%s@%s", gw->cfg->pack_name, gw->cfg->pack_version);
    int rc = KT_OK;
    if (!gw->config_path) {
        if (result)
            kt_buf_puts(result, "{\"result\":\"unsupported\",\"error\":\"kt runs on the embedded "
                                "default config (no file): there is nothing to reload; start kt "
                                "with --policy-config PATH\"}");
        return KT_ENOTFOUND;
    }
    if (read_config(gw->config_path, &text, err, sizeof err)) {
        kt_diag_add(diag, 0, 0, "%s", strchr(err, ':') ? strchr(err, ':') + 2 : err);
        goto rejected;
    }
    char hash[65];
    kt_sha256_hex(text.p ? text.p : "", text.len, hash);
    if (strcmp(hash, gw->cfg->hash) == 0) {
        refresh_keys(gw);
        gw->last_reload.unchanged++;
        if (!is_auto(trigger) || strcmp(gw->last_reload.status, "failed") == 0) {
            record(gw, "unchanged", trigger, t0, event_ns, NULL);
            KT_INFO("config_unchanged", "trigger=%s: %s is unchanged (sha256:%.12s)", trigger,
                    gw->config_path, hash);
        }
        goto done;
    }
    if (is_auto(trigger) && strcmp(hash, gw->last_reload.failed_hash) == 0) {
        refresh_keys(gw);   /* the same rejected file again: already reported */
        rc = KT_EINVAL;
        goto done;
    }
    rc = kt_config_parse_reuse(gw->config_path, text.p ? text.p : "", text.len, gw->env, gw->cfg,
                               &nw, diag);
    if (rc == KT_OK) check_keys(gw->cfg, nw, diag);
    if (rc || diag->count) {
        memcpy(gw->last_reload.failed_hash, hash, sizeof hash);
        goto rejected;
    }
    uint64_t t_loaded = uv_hrtime();
    swap_in(gw, nw, trigger, t0, t_loaded, event_ns);
    nw = NULL;
    gw->last_reload.ok++;
    gw->last_reload.failed_hash[0] = '\0';
    record(gw, "ok", trigger, t0, event_ns, NULL);
    goto done;
rejected:
    rc = KT_EINVAL;
    refresh_keys(gw);
    gw->last_reload.failed++;
    log_failure(diag, trigger);
    if (diag->count > 0) {
        const kt_diag_item *d = &diag->items[0];
        snprintf(err, sizeof err, "%s:%d:%d: %.400s%s", gw->config_path, d->line, d->col, d->msg,
                 diag->count > 1 ? " (and more)" : "");
    }
    record(gw, "failed", trigger, t0, event_ns, err);
done:
    kt_config_release(&nw);
    kt_buf_free(&text);
    rewatch(gw);
    answer(gw, result, previous, rc == KT_EINVAL ? diag : NULL);
    return rc;
}

int kt_gateway_reload(kt_gateway *gw, const char *trigger, uint64_t event_ns, kt_buf *result)
{
    kt_diag *diag = kt_calloc(1, sizeof *diag);   /* 24 KiB: on the heap while a reload runs */
    if (!diag) {
        KT_ERROR("config_reload_failed", "out of memory (trigger %s; the running config is kept)",
                 trigger);
        if (result) kt_buf_puts(result, "{\"result\":\"failed\",\"error\":\"out of memory\"}");
        return KT_ENOMEM;
    }
    kt_diag_init(diag, gw->config_path);
    int rc = reload(gw, trigger, event_ns, result, diag);
    free(diag);
    return rc;
}

/* ---- start and stop --------------------------------------------------------------------------- */

static void on_watch(kt_watcher *w, unsigned why, uint64_t first_event_ns)
{
    kt_gateway *gw = w->data;
    bool event = (why & (KT_WATCH_EVENT | KT_WATCH_OVERFLOW | KT_WATCH_REWATCH)) != 0;
    kt_gateway_reload(gw, event ? "watch" : "poll", event ? first_event_ns : 0, NULL);
}

static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    kt_gateway *gw = s->data;
    KT_INFO("sighup", "SIGHUP: reloading %s", gw->config_path ? gw->config_path : "(embedded default)");
    if (kt_gateway_reload(gw, "sighup", 0, NULL) == KT_ENOTFOUND)
        KT_WARN("config_reload_unsupported", "kt runs on the embedded default config: nothing to reload");
}

int kt_reload_start(kt_gateway *gw)
{
    snprintf(gw->last_reload.status, sizeof gw->last_reload.status, "ok");
    snprintf(gw->last_reload.trigger, sizeof gw->last_reload.trigger, "startup");
    gw->last_reload.at_ms = unix_ms();
    uv_signal_init(&gw->loop, &gw->sig_hup);
    gw->sig_hup.data = gw;
    uv_signal_start(&gw->sig_hup, on_sighup, SIGHUP);
    if (!gw->config_path) return KT_OK;
    const char *paths[KT_WATCH_MAX_DIRS];
    size_t n = kt_reload_watch_paths(gw->cfg, gw->config_path, paths, KT_ARRAY_LEN(paths));
    kt_reload_warn_single_file_mounts(paths, n);
    kt_watcher_init(&gw->watcher, &gw->loop, on_watch, gw);
    rewatch(gw);
    if (!gw->cfg->gateway.config_reload)
        KT_INFO("config_watch", "gateway.config_reload is false: not watching %s (SIGHUP and POST "
                "/keeptrusts/config/reload still reload)", gw->config_path);
    else
        KT_INFO("config_watch", "watching %s (%zu directories, poll every %u ms)", gw->config_path,
                gw->watcher.ndirs, gw->cfg->gateway.config_poll_interval_ms);
    return KT_OK;
}

static void noop_close(uv_handle_t *h) { (void)h; }

void kt_reload_stop(kt_gateway *gw)
{
    kt_watcher_close(&gw->watcher);
    if (gw->sig_hup.data && !uv_is_closing((uv_handle_t *)&gw->sig_hup))
        uv_close((uv_handle_t *)&gw->sig_hup, noop_close);
}
