/* Hot reload: the watcher's reaction to inotify records (overflow, a kubelet ..data swap, a
 * replaced directory), single-file mount detection, the loopback check of the reload endpoint, and
 * the config document never showing a key. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/ops/ops_priv.h"
#include "kt/reload.h"
#include "kt_test.h"

typedef struct seen {
    int calls;
    unsigned why;
    uint64_t first_ns;
    uint64_t at_ns;
} seen;

static void on_check(kt_watcher *w, unsigned why, uint64_t first_ns)
{
    seen *s = w->data;
    s->calls++;
    s->why |= why;
    s->first_ns = first_ns;
    s->at_ns = uv_hrtime();
    uv_stop(w->loop);
}

static void on_guard(uv_timer_t *t) { uv_stop(t->loop); }

/* Runs the loop until the watcher calls back or `ms` pass. */
static void run_until_check(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, on_guard, ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static int finish(uv_loop_t *loop, kt_watcher *w)
{
    kt_watcher_close(w);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

KT_TEST(overflow_asks_for_a_hash_check)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    kt_watcher w;
    seen s = { 0 };
    kt_watcher_init(&w, &loop, on_check, &s);
    w.debounce_ms = 5;
    KT_ASSERT_EQ_INT(kt_watcher_configure(&w, false, 0, NULL, 0), 0);
    struct inotify_event ev = { .wd = -1, .mask = IN_Q_OVERFLOW, .cookie = 0, .len = 0 };
    kt_watcher_feed(&w, (const char *)&ev, sizeof ev);
    KT_ASSERT_EQ_INT(w.overflows, 1);
    run_until_check(&loop, 2000);
    KT_ASSERT_EQ_INT(s.calls, 1);
    KT_ASSERT(s.why & KT_WATCH_OVERFLOW);
    KT_ASSERT(s.first_ns != 0);
    /* A truncated record is ignored, not read past. */
    kt_watcher_feed(&w, (const char *)&ev, sizeof ev - 1);
    KT_ASSERT_EQ_INT(w.events, 1);
    KT_ASSERT_EQ_INT(finish(&loop, &w), 0);
}

/* The kubelet's ConfigMap update: new ..<ts> dir, ..data_tmp -> it, rename over ..data, rm old. */
KT_TEST(kubelet_swap_is_seen_at_once)
{
    char dir[] = "/tmp/kt-reload-XXXXXX";
    KT_ASSERT(mkdtemp(dir) != NULL);
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/..2026_01_01_00_00_00.1", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/..2026_01_01_00_00_00.1/policy-config.yaml", dir);
    write_file(p, "pack: {name: a, version: '1'}\n");
    snprintf(p, sizeof p, "%s/..data", dir);
    KT_ASSERT_EQ_INT(symlink("..2026_01_01_00_00_00.1", p), 0);
    snprintf(p, sizeof p, "%s/policy-config.yaml", dir);
    KT_ASSERT_EQ_INT(symlink("..data/policy-config.yaml", p), 0);

    uv_loop_t loop;
    uv_loop_init(&loop);
    kt_watcher w;
    seen s = { 0 };
    kt_watcher_init(&w, &loop, on_check, &s);
    const char *paths[] = { p };
    KT_ASSERT_EQ_INT(kt_watcher_configure(&w, true, 0, paths, 1), 0);
    KT_ASSERT_EQ_INT(w.ndirs, 1);   /* the ..<ts> directory is not watched: it is replaced */
    KT_ASSERT(w.dirs[0].wd >= 0);

    snprintf(q, sizeof q, "%s/..2026_01_01_00_00_01.2", dir);
    mkdir(q, 0755);
    snprintf(q, sizeof q, "%s/..2026_01_01_00_00_01.2/policy-config.yaml", dir);
    write_file(q, "pack: {name: a, version: '2'}\n");
    snprintf(q, sizeof q, "%s/..data_tmp", dir);
    KT_ASSERT_EQ_INT(symlink("..2026_01_01_00_00_01.2", q), 0);
    snprintf(p, sizeof p, "%s/..data", dir);
    KT_ASSERT_EQ_INT(rename(q, p), 0);
    uint64_t t0 = uv_hrtime();
    run_until_check(&loop, 3000);
    KT_ASSERT_EQ_INT(s.calls, 1);
    KT_ASSERT(s.why & KT_WATCH_EVENT);
    /* The rename is an atomic update: no 200 ms debounce. */
    KT_ASSERT((s.at_ns - t0) < 100u * 1000 * 1000);
    KT_ASSERT_EQ_INT(finish(&loop, &w), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    KT_ASSERT_EQ_INT(system(cmd), 0);
}

KT_TEST(replaced_directory_is_watched_again)
{
    char root[] = "/tmp/kt-reload-XXXXXX";
    KT_ASSERT(mkdtemp(root) != NULL);
    char d[512], old[512], f[600];
    snprintf(d, sizeof d, "%s/conf", root);
    snprintf(old, sizeof old, "%s/conf.old", root);
    snprintf(f, sizeof f, "%s/policy-config.yaml", d);
    mkdir(d, 0755);
    write_file(f, "pack: {name: a}\n");
    uv_loop_t loop;
    uv_loop_init(&loop);
    kt_watcher w;
    seen s = { 0 };
    kt_watcher_init(&w, &loop, on_check, &s);
    w.debounce_ms = 5;
    const char *paths[] = { f };
    KT_ASSERT_EQ_INT(kt_watcher_configure(&w, true, 0, paths, 1), 0);
    int wd0 = w.dirs[0].wd;
    KT_ASSERT(wd0 >= 0);
    KT_ASSERT_EQ_INT(rename(d, old), 0);
    run_until_check(&loop, 3000);    /* IN_MOVE_SELF: the watch is dropped, a check comes */
    KT_ASSERT(s.calls >= 1);
    KT_ASSERT_EQ_INT(w.dirs[0].wd, -1);
    mkdir(d, 0755);
    write_file(f, "pack: {name: b}\n");
    s.calls = 0;
    s.why = 0;
    run_until_check(&loop, 3000);    /* re-added within KT_WATCH_REWATCH_MS, then a check */
    KT_ASSERT_EQ_INT(s.calls, 1);
    KT_ASSERT(s.why & KT_WATCH_REWATCH);
    KT_ASSERT(w.dirs[0].wd >= 0 && w.dirs[0].wd != wd0);
    KT_ASSERT_EQ_INT(w.rewatches, 1);
    /* ... and events in the new directory are seen. */
    s.calls = 0;
    write_file(f, "pack: {name: c}\n");
    run_until_check(&loop, 3000);
    KT_ASSERT_EQ_INT(s.calls, 1);
    KT_ASSERT(s.why & KT_WATCH_EVENT);
    KT_ASSERT_EQ_INT(finish(&loop, &w), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    KT_ASSERT_EQ_INT(system(cmd), 0);
}

KT_TEST(poll_timer_checks_without_events)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    kt_watcher w;
    seen s = { 0 };
    kt_watcher_init(&w, &loop, on_check, &s);
    KT_ASSERT_EQ_INT(kt_watcher_configure(&w, false, 20, NULL, 0), 0);
    run_until_check(&loop, 2000);
    KT_ASSERT_EQ_INT(s.calls, 1);
    KT_ASSERT_EQ_INT(s.why, KT_WATCH_POLL);
    KT_ASSERT_EQ_INT(s.first_ns, 0);
    KT_ASSERT_EQ_INT(finish(&loop, &w), 0);
}

KT_TEST(single_file_mount_detected)
{
    static const char mi[] =
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        "30 22 8:1 /var/lib/kubelet/pods/x/volumes/kubernetes.io~configmap/cfg/..2026/policy-config.yaml "
        "/etc/keeptrusts/policy-config.yaml ro,relatime - ext4 /dev/sda1 rw\n"
        "31 22 8:1 /data /etc/with\\040space/key ro - ext4 /dev/sda1 rw\n"
        "32 22 0:5 / /etc/keeptrusts-dir rw - tmpfs tmpfs rw";
    KT_ASSERT(kt_mountinfo_has_mountpoint(mi, "/etc/keeptrusts/policy-config.yaml"));
    KT_ASSERT(kt_mountinfo_has_mountpoint(mi, "/etc/with space/key"));
    KT_ASSERT(kt_mountinfo_has_mountpoint(mi, "/etc/keeptrusts-dir"));
    KT_ASSERT(!kt_mountinfo_has_mountpoint(mi, "/etc/keeptrusts"));
    KT_ASSERT(!kt_mountinfo_has_mountpoint(mi, "/etc/with\\040space/key"));
    KT_ASSERT(!kt_mountinfo_has_mountpoint("", "/"));
    KT_ASSERT(!kt_mountinfo_has_mountpoint("garbage without fields\n", "/"));
}

static bool loopback4(const char *a)
{
    struct sockaddr_in in = { .sin_family = AF_INET };
    inet_pton(AF_INET, a, &in.sin_addr);
    return kt_addr_is_loopback((struct sockaddr *)&in);
}

static bool loopback6(const char *a)
{
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
    inet_pton(AF_INET6, a, &in6.sin6_addr);
    return kt_addr_is_loopback((struct sockaddr *)&in6);
}

KT_TEST(reload_endpoint_is_loopback_only)
{
    KT_ASSERT(loopback4("127.0.0.1"));
    KT_ASSERT(loopback4("127.9.8.7"));
    KT_ASSERT(!loopback4("10.0.0.1"));
    KT_ASSERT(!loopback4("128.0.0.1"));
    KT_ASSERT(!loopback4("0.0.0.0"));
    KT_ASSERT(loopback6("::1"));
    KT_ASSERT(loopback6("::ffff:127.0.0.1"));
    KT_ASSERT(!loopback6("::ffff:10.1.2.3"));
    KT_ASSERT(!loopback6("2001:db8::1"));
    KT_ASSERT(!loopback6("::"));
    struct sockaddr un = { .sa_family = AF_UNIX };
    KT_ASSERT(!kt_addr_is_loopback(&un));
}

static const char *fake_env(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "K") == 0 ? "sk-unit-secret-value-123" : NULL;
}

KT_TEST(config_document_never_shows_a_key)
{
    static const char y[] =
        "pack: {name: shop, version: 3.1.0}\n"
        "policies:\n  chain: [pii-detector]\n"
        "policy:\n  pii-detector: {action: redact}\n"
        "providers:\n  targets:\n"
        "    - id: main\n      provider: openai\n      model: gpt-4o\n"
        "      base_url: https://api.example.com:8443/v1\n      secret_key_ref: {env: K}\n";
    kt_env env = { fake_env, NULL };
    kt_config *c = NULL;
    kt_diag d;
    kt_diag_init(&d, "t.yaml");
    KT_ASSERT_EQ_INT(kt_config_parse("t.yaml", y, sizeof y - 1, env, &c, &d), 0);
    if (!c) return;
    kt_reload_state st = { .status = "ok", .trigger = "startup" };
    kt_buf b;
    kt_buf_init(&b, 65536);
    kt_ops_config_json(c, &st, &b);
    KT_ASSERT(b.p && strstr(b.p, "sk-unit-secret") == NULL);
    KT_ASSERT(strstr(b.p, "\"version\":\"3.1.0\"") != NULL);
    KT_ASSERT(strstr(b.p, "\"host\":\"api.example.com\",\"port\":8443") != NULL);
    KT_ASSERT(strstr(b.p, "\"key_present\":true") != NULL);
    KT_ASSERT(strstr(b.p, "\"name\":\"pii-detector\",\"kind\":\"pii-detector\"") != NULL);
    KT_ASSERT(strstr(b.p, "\"last_reload\":{\"status\":\"ok\"") != NULL);
    kt_buf_free(&b);
    kt_config_release(&c);
}

int main(void)
{
    KT_RUN(overflow_asks_for_a_hash_check);
    KT_RUN(kubelet_swap_is_seen_at_once);
    KT_RUN(replaced_directory_is_watched_again);
    KT_RUN(poll_timer_checks_without_events);
    KT_RUN(single_file_mount_detected);
    KT_RUN(reload_endpoint_is_loopback_only);
    KT_RUN(config_document_never_shows_a_key);
    return KT_DONE();
}
