/* The kt command line: gateway run, policy validate/test/eval, version, help. */
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "kt/audit.h"
#include "kt/buf.h"
#include "kt/config.h"
#include "kt/gateway.h"
#include "kt/log.h"
#include "kt/policy.h"

#define KT__GATEWAY_RUN_USAGE                                                                    \
    "  kt gateway run [--listen HOST:PORT] [--ops-listen HOST:PORT|off] [--policy-config PATH]\n" \
    "      Serve the API on HOST:PORT (--listen, else gateway.listen, else 127.0.0.1:41002).\n" \
    "      --ops-listen (else gateway.ops_listen; default off) adds a listener that answers only\n" \
    "      /healthz, /readyz, /health and /metrics, for kubelet probes and Prometheus on the pod\n" \
    "      IP while the API stays on loopback (the image uses 0.0.0.0:41003).\n"                 \
    "      The config is PATH, else /etc/keeptrusts/policy-config.yaml, else (with a warning)\n"  \
    "      an embedded default: pii-detector and dlp-filter redacting, one OpenAI target at\n"   \
    "      $OPENAI_BASE_URL (default https://api.openai.com/v1) with $OPENAI_API_KEY.\n"         \
    "      Listening on a non-loopback address requires gateway keys (`consumers:`) unless the\n" \
    "      config sets gateway.auth: none.\n"                                                    \
    "      SIGTERM: /readyz fails at once, requests are served for the drain period\n"           \
    "      (gateway.drain_period, default 5s), then kt stops accepting, lets in-flight\n"        \
    "      requests and queued decision events finish (gateway.shutdown_deadline, default\n"     \
    "      20s) and exits 0: within drain_period + shutdown_deadline whatever the control\n"     \
    "      plane does.\n"

static const char kt__gateway_usage[] = "Usage:\n" KT__GATEWAY_RUN_USAGE;

static const char kt__usage[] =
    "kt - AI governance sidecar: an OpenAI/Anthropic-compatible proxy that enforces policy\n"
    "\n"
    "Usage:\n"
    KT__GATEWAY_RUN_USAGE
    "  kt audit verify PATH\n"
    "      Check an audit-logger hash chain (a file, or gateway.audit_dir with its daily\n"
    "      files): prints OK and the record count, or BROKEN and the first broken link\n"
    "      (file:line, seq, what is wrong) with exit 1; exit 2 when PATH cannot be read.\n"
    "  kt policy validate PATH...\n"
    "      Check config files offline; prints file:line:col: message per problem (exit 1) and\n"
    "      file:line:col: warning: message for what loads but deserves a look (exit 0).\n"
    "  kt policy test --policy-config PATH [--direction input|output] < text\n"
    "      Run the chain over the text on stdin as a policy author would: prints the text as\n"
    "      it would leave kt (redacted), then the decision as one JSON line. Exit 0 when the\n"
    "      text is allowed (possibly redacted or flagged), 1 when a policy blocks it.\n"
    "  kt policy eval --policy-config PATH --labels FILE.jsonl [--direction input|output]\n"
    "                 [--no-text] [--json] [--max-list N]\n"
    "      Run the chain in-process over a labelled corpus, one JSON object per line:\n"
    "      {\"text\": .., \"direction\": \"input|output\", \"labels\": {\"categories\": [..],\n"
    "      \"entities\": [{\"type\": .., \"start\": .., \"end\": ..}]}} (byte offsets into the UTF-8\n"
    "      text). Prints precision, recall and F1 per category (per item) and per entity type\n"
    "      (per span: a prediction overlapping a labelled span of its type is a hit), a\n"
    "      threshold sweep for each policy with a threshold, and up to N (default 20) false\n"
    "      positives and misses per name (--no-text: offsets only). --json: one summary object.\n"
    "  kt version\n"
    "  kt --help\n"
    "\n"
    "Endpoints: /v1/* (proxied), GET /health (status healthy|degraded|unhealthy with reasons;\n"
    "503 when unhealthy), /healthz (liveness), /readyz (503 while draining or while no target\n"
    "has a key), /metrics, GET /keeptrusts/config, POST /keeptrusts/config/reload (loopback\n"
    "only). The config file is reloaded when it changes (gateway.config_reload, default true),\n"
    "on SIGHUP and on that POST.\n"
    "Environment: OPENAI_API_KEY, OPENAI_BASE_URL, SSL_CERT_FILE (trust store; default the\n"
    "system bundle), KEEPTRUSTS_API_URL and KEEPTRUSTS_GATEWAY_TOKEN (decision events; without\n"
    "the URL they are JSON lines on stderr), KT_OPS_LISTEN (the ops listener when neither\n"
    "--ops-listen nor gateway.ops_listen is given), KT_LOG_LEVEL (debug|info|warn|error;\n"
    "default info). Logs are JSON lines on stderr.\n";

static const char kt__policy_usage[] =
    "Usage:\n"
    "  kt policy validate PATH...\n"
    "  kt policy test --policy-config PATH [--direction input|output] < text\n"
    "  kt policy eval --policy-config PATH --labels FILE.jsonl [--direction input|output]\n"
    "                 [--no-text] [--json] [--max-list N]\n"
    "Run 'kt --help' for what each does.\n";

static bool is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "help");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kt: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun 'kt --help' for usage.\n");
    va_end(ap);
    return 2;
}

static void set_log_level(void)
{
    const char *lvl = getenv("KT_LOG_LEVEL");
    if (!lvl) return;
    if (strcmp(lvl, "debug") == 0) kt_log_set_level(KT_LOG_DEBUG);
    else if (strcmp(lvl, "warn") == 0) kt_log_set_level(KT_LOG_WARN);
    else if (strcmp(lvl, "error") == 0) kt_log_set_level(KT_LOG_ERROR);
}

static int cmd_gateway_run(int argc, char **argv)
{
    kt_run_opts opts = { 0 };
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(kt__gateway_usage, stdout);
            return 0;
        }
        if ((strcmp(a, "--listen") == 0 || strcmp(a, "--policy-config") == 0 ||
             strcmp(a, "--ops-listen") == 0) && i + 1 >= argc)
            return usage_error("%s needs a value", a);
        if (strcmp(a, "--listen") == 0) opts.listen = argv[++i];
        else if (strcmp(a, "--ops-listen") == 0) opts.ops_listen = argv[++i];
        else if (strncmp(a, "--ops-listen=", 13) == 0) opts.ops_listen = a + 13;
        else if (strncmp(a, "--listen=", 9) == 0) opts.listen = a + 9;
        else if (strcmp(a, "--policy-config") == 0) opts.config_path = argv[++i];
        else if (strncmp(a, "--policy-config=", 16) == 0) opts.config_path = a + 16;
        else return usage_error("unknown argument '%s' for 'gateway run'", a);
    }
    return kt_gateway_run(&opts);
}

static int cmd_policy_validate(int argc, char **argv)
{
    if (argc == 0) return usage_error("%s", "policy validate needs at least one PATH");
    int bad = 0;
    kt_env env = kt_env_process();
    for (int i = 0; i < argc; i++) {
        kt_diag diag = { .file = argv[i] };
        kt_config *cfg = NULL;
        if (kt_config_load_file(argv[i], env, &cfg, &diag)) {
            kt_diag_print(&diag, stderr);
            bad = 1;
            continue;
        }
        for (int w = 0; cfg->warnings && w < cfg->warnings->count && w < KT_DIAG_MAX; w++) {
            char line[1100];
            cfg->warnings->file = argv[i];
            kt_diag_format(cfg->warnings, w, line, sizeof line);
            char *msg = strstr(line, ": ");   /* "file:l:c: warning: message" */
            if (msg) fprintf(stderr, "%.*s: warning: %s\n", (int)(msg - line), line, msg + 2);
        }
        printf("%s: ok (pack %s@%s, %zu targets, %zu policies)\n", argv[i], cfg->pack_name,
               cfg->pack_version, cfg->ntargets, cfg->nchain);
        kt_config_release(&cfg);
    }
    return bad;
}

#define KT_POLICY_TEST_MAX (8u << 20)

static int read_stdin(kt_buf *in)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (kt_buf_append(in, chunk, n)) return KT_ELIMIT;
    return ferror(stdin) ? KT_EIO : KT_OK;
}

static int run_policy_test(kt_config *cfg, kt_dir dir, const kt_buf *in)
{
    kt_decision d;
    kt_findings f = { 0 };
    kt_buf out;
    kt_buf_init(&out, KT_POLICY_TEST_MAX * 4);
    int rc = kt_decision_init(&d, cfg);
    const char *text = in->p ? in->p : "";
    if (!rc) rc = kt_chain_scan(cfg, dir, text, in->len, 0, &f, &d);
    if (!rc) kt_chain_note(&d, &f, in->len, dir);
    if (!rc && d.verdict != KT_ACT_BLOCK) rc = kt_chain_render(cfg, text, 0, in->len, &f, false, &out);
    if (!rc) {
        fwrite(out.p ? out.p : "", 1, out.len, stdout);
        if (!out.len || out.p[out.len - 1] != '\n') fputc('\n', stdout);
        kt_buf_reset(&out);
        rc = kt_decision_json(&d, &out);
        if (!rc) printf("%s\n", out.p);
    }
    int code = rc ? 2 : d.verdict == KT_ACT_BLOCK ? 1 : 0;
    if (rc) fprintf(stderr, "kt: policy test failed (%d)\n", rc);
    kt_buf_free(&out);
    kt_findings_free(&f);
    kt_decision_free(&d);
    return code;
}

static int cmd_policy_test(int argc, char **argv)
{
    const char *path = NULL;
    kt_dir dir = KT_DIR_INPUT;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "--policy-config") || !strcmp(argv[i], "--direction")) && i + 1 >= argc)
            return usage_error("%s needs a value", argv[i]);
        if (!strcmp(argv[i], "--policy-config")) path = argv[++i];
        else if (!strcmp(argv[i], "--direction")) {
            const char *d = argv[++i];
            if (!strcmp(d, "input")) dir = KT_DIR_INPUT;
            else if (!strcmp(d, "output")) dir = KT_DIR_OUTPUT;
            else return usage_error("--direction is input or output, not '%s'", d);
        } else return usage_error("unknown argument '%s' for 'policy test'", argv[i]);
    }
    if (!path) return usage_error("%s", "policy test needs --policy-config PATH");
    kt_diag diag = { .file = path };
    kt_config *cfg = NULL;
    if (kt_config_load_file(path, kt_env_process(), &cfg, &diag)) {
        kt_diag_print(&diag, stderr);
        return 2;
    }
    kt_buf in;
    kt_buf_init(&in, KT_POLICY_TEST_MAX);
    int code;
    if (read_stdin(&in)) {
        fprintf(stderr, "kt: cannot read stdin (at most %u bytes)\n", KT_POLICY_TEST_MAX);
        code = 2;
    } else {
        code = run_policy_test(cfg, dir, &in);
    }
    kt_buf_free(&in);
    kt_config_release(&cfg);
    return code;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    set_log_level();
    if (argc < 2) {
        fputs(kt__usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (is_help(cmd)) {
        fputs(kt__usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("kt %s (%s)\n", KT_VERSION, KT_GIT_REV);
        return 0;
    }
    if (!strcmp(cmd, "gateway") && argc >= 3 && !strcmp(argv[2], "run"))
        return cmd_gateway_run(argc - 3, argv + 3);
    if (!strcmp(cmd, "policy") && argc >= 3 && !strcmp(argv[2], "validate"))
        return cmd_policy_validate(argc - 3, argv + 3);
    if (!strcmp(cmd, "policy") && argc >= 3 && !strcmp(argv[2], "test"))
        return cmd_policy_test(argc - 3, argv + 3);
    if (!strcmp(cmd, "policy") && argc >= 3 && !strcmp(argv[2], "eval"))
        return kt_eval_main(argc - 3, argv + 3);
    if (!strcmp(cmd, "audit") && argc == 4 && !strcmp(argv[2], "verify"))
        return kt_audit_verify_path(argv[3], stdout, stderr);
    if (!strcmp(cmd, "audit")) return usage_error("usage: kt audit verify PATH");
    /* A command group without (or with an unknown) subcommand: its usage, not "unknown". */
    bool gw = !strcmp(cmd, "gateway"), pol = !strcmp(cmd, "policy");
    if (gw || pol) {
        const char *u = gw ? kt__gateway_usage : kt__policy_usage;
        if (argc >= 3 && is_help(argv[2])) {
            fputs(u, stdout);
            return 0;
        }
        if (argc >= 3) fprintf(stderr, "kt: unknown subcommand '%s' for '%s'\n", argv[2], cmd);
        else fprintf(stderr, "kt: '%s' needs a subcommand\n", cmd);
        fputs(u, stderr);
        return 2;
    }
    return usage_error("unknown command '%s'", cmd);
}
