/* Decision events: the byte-bounded ring (drop oldest, exact counts), event JSON (contract
 * fields, entity counts, never the matched text), usage sniffing across read splits, the spool,
 * metrics exposition and cardinality, and gateway.events / gateway.metrics validation. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../src/telemetry/event_priv.h"
#include "kt/config.h"
#include "kt/events.h"
#include "kt/metrics.h"
#include "kt/policy.h"
#include "kt_test.h"

static const char *no_env(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "OPENAI_API_KEY") == 0 ? "sk-test-unit-key-123456" : NULL;
}

static kt_config *load(const char *src, kt_diag *d)
{
    kt_config *c = NULL;
    kt_env env = { no_env, NULL };
    kt_diag_init(d, "t.yaml");
    if (kt_config_parse("t.yaml", src, strlen(src), env, &c, d)) return NULL;
    return c;
}

/* ---- ring ---------------------------------------------------------------------------------- */

KT_TEST(ring_bounded_in_bytes_drops_oldest)
{
    kt_event_ring r;
    size_t per = 100 + KT_EVENT_REC_OVERHEAD;
    kt_event_ring_init(&r, per * 10);
    char ev[101];
    for (int i = 0; i < 25; i++) {
        memset(ev, 'a', 100);
        snprintf(ev, sizeof ev, "%03d", i);
        ev[3] = 'x';
        KT_ASSERT_EQ_INT(kt_event_ring_push(&r, ev, 100), KT_OK);
        KT_ASSERT(r.bytes <= r.max_bytes);
    }
    KT_ASSERT_EQ_INT(r.count, 10);
    KT_ASSERT_EQ_INT(r.bytes, per * 10);
    KT_ASSERT_EQ_INT(r.dropped, 15);
    KT_ASSERT_EQ_INT(r.dropped_unreported, 15);
    kt_event_rec *e = kt_event_ring_pop(&r);   /* the oldest kept is #15 */
    KT_ASSERT(e && memcmp(e->data, "015", 3) == 0 && e->len == 100);
    free(e);
    KT_ASSERT_EQ_INT(r.count, 9);
    KT_ASSERT_EQ_INT(r.bytes, per * 9);
    /* variable sizes: a big one pushes out as many small ones as needed, exactly counted */
    char big[500];
    memset(big, 'b', sizeof big);
    KT_ASSERT_EQ_INT(kt_event_ring_push(&r, big, sizeof big), KT_OK);
    KT_ASSERT(r.bytes <= r.max_bytes);
    KT_ASSERT_EQ_INT(r.dropped, 15 + (9 - (r.count - 1)));
    /* one event alone bigger than the ring: refused and counted */
    char *huge = calloc(1, per * 11);
    uint64_t d0 = r.dropped;
    KT_ASSERT_EQ_INT(kt_event_ring_push(&r, huge, per * 11), KT_ELIMIT);
    KT_ASSERT_EQ_INT(r.dropped, d0 + 1);
    free(huge);
    kt_event_ring_free(&r);
    KT_ASSERT_EQ_INT(r.count, 0);
    KT_ASSERT_EQ_INT(r.bytes, 0);
}

KT_TEST(ring_fifo_and_unshift)
{
    kt_event_ring r;
    kt_event_ring_init(&r, 1 << 20);
    kt_event_ring_push(&r, "a", 1);
    kt_event_ring_push(&r, "b", 1);
    kt_event_ring_push(&r, "c", 1);
    kt_event_rec *a = kt_event_ring_pop(&r), *b = kt_event_ring_pop(&r);
    KT_ASSERT(a && b && a->data[0] == 'a' && b->data[0] == 'b');
    a->next = b;
    kt_event_ring_unshift(&r, a);
    KT_ASSERT_EQ_INT(r.count, 3);
    const char want[] = "abc";
    for (int i = 0; i < 3; i++) {
        kt_event_rec *e = kt_event_ring_pop(&r);
        KT_ASSERT(e && e->data[0] == want[i]);
        free(e);
    }
    KT_ASSERT(kt_event_ring_pop(&r) == NULL);
    KT_ASSERT(!kt_event_ring_drop_oldest(&r));
    KT_ASSERT_EQ_INT(r.bytes, 0);
    kt_event_ring_free(&r);
}

/* ---- event JSON -------------------------------------------------------------------------- */

static const char *policy_cfg =
    "pack: {name: unit, version: 3.0.1}\n"
    "policies: {chain: [pii-detector, dlp-filter]}\n"
    "policy:\n"
    "  pii-detector: {action: redact, entities: [email, ssn]}\n"
    "  dlp-filter: {action: block, keywords: [bluebird]}\n"
    "providers:\n"
    "  targets:\n"
    "    - {id: main, provider: openai, model: gpt-4o-mini, base_url: 'https://api.example.com',\n"
    "       secret_key_ref: {env: OPENAI_API_KEY}}\n";

static void event_for(kt_config *c, const char *body, kt_buf *json, kt_decision *d)
{
    kt_buf out;
    kt_buf_init(&out, 1 << 20);
    bool changed = false;
    kt_decision_init(d, c);
    KT_ASSERT_EQ_INT(kt_policy_json(c, KT_DIR_INPUT, body, strlen(body), &out, &changed, d), 0);
    kt_buf_free(&out);
    kt_event_info ev = { .decision = d, .model = "gpt-4o-mini", .provider = "openai",
                         .target = "main", .api = "chat", .cfg = c, .input_tokens = 12,
                         .output_tokens = -1, .cost_usd = -1, .status = 200, .latency_ms = 42,
                         .unix_ms = 1700000000123ull, .trace_id = NULL };
    KT_ASSERT_EQ_INT(kt_uuid4(NULL, ev.id), 0);
    KT_ASSERT_EQ_INT(kt_event_json(&ev, json), 0);
}

KT_TEST(event_json_redact_counts_no_pii)
{
    kt_diag d;
    kt_config *c = load(policy_cfg, &d);
    KT_ASSERT(c);
    if (!c) return;
    const char *body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
                       "\"mail bob.jones@example.com and bob.jones@example.com, ssn 123-45-6789,"
                       " ok\"}]}";
    kt_buf json;
    kt_buf_init(&json, 1 << 16);
    kt_decision dec;
    event_for(c, body, &json, &dec);
    KT_ASSERT(strstr(json.p, "bob.jones") == NULL);
    KT_ASSERT(strstr(json.p, "example.com") == NULL);
    KT_ASSERT(strstr(json.p, "123-45-6789") == NULL);
    KT_ASSERT(strstr(json.p, "sk-test-unit-key") == NULL);
    cJSON *o = cJSON_Parse(json.p);
    KT_ASSERT(o != NULL);
    if (o) {
        KT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "event_type")->valuestring, "decision");
        KT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "verdict")->valuestring, "redact");
        KT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "reason_code")));
        KT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "timestamp")->valuestring, "2023-11-14T22:13:20.123Z");
        KT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "config_version")->valuestring, "unit@3.0.1");
        KT_ASSERT_EQ_INT(cJSON_GetObjectItem(o, "input_tokens")->valueint, 12);
        KT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "output_tokens")));
        KT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "cost_usd")));
        KT_ASSERT_EQ_INT(cJSON_GetObjectItem(o, "status")->valueint, 200);
        KT_ASSERT_EQ_INT(strlen(cJSON_GetObjectItem(o, "id")->valuestring), 36);
        cJSON *pe = cJSON_GetObjectItem(o, "policies_evaluated");
        KT_ASSERT_EQ_INT(cJSON_GetArraySize(pe), 2);
        cJSON *p0 = cJSON_GetArrayItem(pe, 0);
        KT_ASSERT_EQ_STR(cJSON_GetObjectItem(p0, "name")->valuestring, "pii-detector");
        KT_ASSERT_EQ_STR(cJSON_GetObjectItem(p0, "result")->valuestring, "redact");
        KT_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(p0, "latency_us")));
        cJSON *ent = cJSON_GetObjectItem(p0, "entities_found");
        KT_ASSERT_EQ_INT(cJSON_GetObjectItem(ent, "email")->valueint, 2);
        KT_ASSERT_EQ_INT(cJSON_GetObjectItem(ent, "ssn")->valueint, 1);
        cJSON_Delete(o);
    }
    kt_decision_free(&dec);
    kt_buf_free(&json);
    kt_config_release(&c);
}

KT_TEST(event_json_block_reason)
{
    kt_diag d;
    kt_config *c = load(policy_cfg, &d);
    if (!c) return;
    kt_buf json;
    kt_buf_init(&json, 1 << 16);
    kt_decision dec;
    event_for(c, "{\"messages\":[{\"role\":\"user\",\"content\":\"about bluebird, key "
                 "sk-test-unit-key-123456\"}]}", &json, &dec);
    KT_ASSERT(strstr(json.p, "sk-test-unit-key") == NULL);
    cJSON *o = cJSON_Parse(json.p);
    KT_ASSERT(o != NULL);
    if (o) {
        KT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "verdict")->valuestring, "block");
        KT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "reason_code")->valuestring, "input_blocked");
        KT_ASSERT_EQ_STR(cJSON_GetObjectItem(o, "block_policy")->valuestring, "dlp-filter");
        cJSON_Delete(o);
    }
    KT_ASSERT(strstr(json.p, "bluebird") == NULL);
    kt_decision_free(&dec);
    kt_buf_free(&json);
    kt_config_release(&c);
}

KT_TEST(event_helpers)
{
    char id[37], id2[37], t[33];
    KT_ASSERT_EQ_INT(kt_uuid4(NULL, id), 0);
    KT_ASSERT_EQ_INT(kt_uuid4(NULL, id2), 0);
    KT_ASSERT(strcmp(id, id2) != 0);
    KT_ASSERT(id[8] == '-' && id[14] == '4' && strchr("89ab", id[19]));
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    KT_ASSERT(kt_traceparent_id(tp, strlen(tp), t));
    KT_ASSERT_EQ_STR(t, "4bf92f3577b34da6a3ce929d0e0e4736");
    const char *bad = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
    KT_ASSERT(!kt_traceparent_id(bad, strlen(bad), t));
    KT_ASSERT(!kt_traceparent_id("00-abc", 6, t));
    KT_ASSERT(kt_price_usd(NULL, "gpt-4o-mini-2024-07-18", 1000000, 1000000) == 0.15 + 0.60);
    KT_ASSERT(kt_price_usd(NULL, "gpt-4o", 1000000, 0) == 2.50);
    KT_ASSERT(kt_price_usd(NULL, "mystery-model", 10, 10) < 0);
    KT_ASSERT(kt_price_usd(NULL, "gpt-4o", -1, -1) < 0);
    KT_ASSERT(kt_price_usd(NULL, "o1-mini-2024-09-12", 1000000, 0) == 1.10);   /* longest */
    KT_ASSERT(kt_price_usd(NULL, "o1-preview", 1000000, 0) == 15.00);
    KT_ASSERT(kt_price_usd(NULL, "claude-opus-4-1", 0, 1000000) == 75.00);
    KT_ASSERT(kt_price_usd(NULL, "", 10, 10) < 0);
    KT_ASSERT(kt_price_usd(NULL, "o", 10, 10) < 0);
    KT_ASSERT_EQ_STR(kt_event_verdict(NULL), "allow");
}

/* ---- event JSON, byte for byte ---------------------------------------------------------- */

/* The exact bytes of a few representative events, pinned so that faster formatting can be shown
 * to change nothing. Latencies are set by hand (they are measured); the id is fixed. */

static void set_latencies(kt_decision *d)
{
    for (size_t i = 0; i < d->npolicies; i++)
        d->evals[i].ns = d->evals[i].ran ? 1234567 * (uint64_t)(i + 1) + 999 : 0;
}

static void expect_event_bytes(const kt_event_info *ev, const char *want)
{
    kt_buf b;   /* a heap buffer that must grow, after existing content */
    kt_buf_init(&b, 1 << 16);
    KT_ASSERT_EQ_INT(kt_buf_puts(&b, "prefix\n"), 0);
    KT_ASSERT_EQ_INT(kt_event_json(ev, &b), 0);
    KT_ASSERT(b.len >= 7 && memcmp(b.p, "prefix\n", 7) == 0);
    if (b.len >= 7) KT_ASSERT_EQ_STR(b.p + 7, want);
    size_t full = b.len;
    kt_buf_free(&b);
    char mem[4096];   /* a caller's stack buffer, as the request-end hook uses */
    kt_buf s = { mem, 0, sizeof mem, sizeof mem - 1 };
    mem[0] = '\0';
    KT_ASSERT_EQ_INT(kt_event_json(ev, &s), 0);
    KT_ASSERT_EQ_STR(s.p, want);
    for (size_t max = full - 7 - 3; max < full - 7; max++) {   /* one byte short: refused, intact */
        kt_buf t;
        kt_buf_init(&t, max);
        KT_ASSERT_EQ_INT(kt_buf_puts(&t, "x"), 0);
        KT_ASSERT_EQ_INT(kt_event_json(ev, &t), KT_ELIMIT);
        KT_ASSERT(t.len == 1 && strcmp(t.p, "x") == 0);
        kt_buf_free(&t);
    }
}

/* Both with the parts kt_event_prerender made and with a snapshot that has none. */
static void expect_event(const kt_event_info *ev, const char *want)
{
    kt_config *c = (kt_config *)ev->cfg;
    KT_ASSERT(!c || (c->event_config && (!c->nchain || c->chain[0].event_head)));
    expect_event_bytes(ev, want);
    if (!c) return;
    char *saved[8], *cfg_part = c->event_config;
    KT_ASSERT(c->nchain <= KT_ARRAY_LEN(saved));
    c->event_config = NULL;
    for (size_t i = 0; i < c->nchain && i < KT_ARRAY_LEN(saved); i++) {
        saved[i] = c->chain[i].event_head;
        c->chain[i].event_head = NULL;
    }
    expect_event_bytes(ev, want);
    c->event_config = cfg_part;
    for (size_t i = 0; i < c->nchain && i < KT_ARRAY_LEN(saved); i++)
        c->chain[i].event_head = saved[i];
}

static void decide(kt_config *c, kt_dir dir, const char *body, kt_decision *d)
{
    kt_buf out;
    kt_buf_init(&out, 1 << 20);
    bool changed = false;
    KT_ASSERT_EQ_INT(kt_decision_init(d, c), 0);
    KT_ASSERT_EQ_INT(kt_policy_json(c, dir, body, strlen(body), &out, &changed, d), 0);
    kt_buf_free(&out);
    set_latencies(d);
}

KT_TEST(event_json_exact_no_decision)
{
    kt_event_info ev = { .id = "00000000-0000-4000-8000-000000000000", .unix_ms = 0,
                         .reason_code = "client_closed", .input_tokens = -1, .output_tokens = -1,
                         .cost_usd = -1, .status = 0, .latency_ms = 0 };
    expect_event(&ev, "{\"id\":\"00000000-0000-4000-8000-000000000000\",\"event_type\":"
                      "\"decision\",\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"verdict\":"
                      "\"allow\",\"reason_code\":\"client_closed\",\"model\":null,\"provider\":"
                      "null,\"target\":null,\"api\":null,\"config_version\":null,\"config_hash\":"
                      "null,\"policies_evaluated\":[],\"input_tokens\":null,\"output_tokens\":"
                      "null,\"cost_usd\":null,\"status\":0,\"latency_ms\":0,\"trace_id\":null,"
                      "\"consumer\":null}");
    ev.reason_code = "";
    ev.model = ev.provider = ev.target = ev.api = ev.trace_id = ev.consumer = "";
    ev.input_tokens = ev.output_tokens = 0;
    ev.cost_usd = 0;
    ev.status = -5;
    ev.unix_ms = 253402300799999ull;   /* the last millisecond of year 9999 */
    ev.latency_ms = UINT64_MAX;
    expect_event(&ev, "{\"id\":\"00000000-0000-4000-8000-000000000000\",\"event_type\":"
                      "\"decision\",\"timestamp\":\"9999-12-31T23:59:59.999Z\",\"verdict\":"
                      "\"allow\",\"reason_code\":null,\"model\":null,\"provider\":null,\"target\":"
                      "null,\"api\":null,\"config_version\":null,\"config_hash\":null,"
                      "\"policies_evaluated\":[],\"input_tokens\":0,\"output_tokens\":0,"
                      "\"cost_usd\":0.00000000,\"status\":0,\"latency_ms\":18446744073709551615,"
                      "\"trace_id\":null,\"consumer\":null}");
    ev.unix_ms = 253402300800000ull;   /* year 10000: no event */
    kt_buf b;
    kt_buf_init(&b, 1 << 16);
    KT_ASSERT_EQ_INT(kt_event_json(&ev, &b), KT_EINVAL);
    KT_ASSERT_EQ_INT(b.len, 0);
    kt_buf_free(&b);
}

KT_TEST(event_json_exact_redact)
{
    kt_diag d;
    kt_config *c = load(policy_cfg, &d);
    KT_ASSERT(c);
    if (!c) return;
    kt_decision dec;
    decide(c, KT_DIR_INPUT, "{\"messages\":[{\"role\":\"user\",\"content\":\"mail a@example.com,"
                            " b@example.org, ssn 123-45-6789\"}]}", &dec);
    kt_event_info ev = { .id = "3f2b8c1e-9a4d-4e6f-b0a1-c2d3e4f5a6b7", .decision = &dec,
                         .model = "gpt-4o-mini-2024-07-18", .provider = "openai",
                         .target = "main", .api = "chat", .cfg = c, .input_tokens = 51,
                         .output_tokens = 7,
                         .cost_usd = kt_price_usd(NULL, "gpt-4o-mini", 51, 7), .status = 200,
                         .latency_ms = 42, .unix_ms = 1700000000123ull,
                         .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
                         .consumer = "user-sha256:0123456789abcdef" };
    char want[2048];
    snprintf(want, sizeof want,
             "{\"id\":\"3f2b8c1e-9a4d-4e6f-b0a1-c2d3e4f5a6b7\",\"event_type\":\"decision\","
             "\"timestamp\":\"2023-11-14T22:13:20.123Z\",\"verdict\":\"redact\",\"reason_code\":"
             "null,\"model\":\"gpt-4o-mini-2024-07-18\",\"provider\":\"openai\",\"target\":"
             "\"main\",\"api\":\"chat\",\"config_version\":\"unit@3.0.1\",\"config_hash\":"
             "\"sha256:%s\",\"policies_evaluated\":[{\"name\":\"pii-detector\",\"kind\":"
             "\"pii-detector\",\"result\":\"redact\",\"latency_us\":1235,\"entities_found\":"
             "{\"email\":2,\"ssn\":1}},{\"name\":\"dlp-filter\",\"kind\":\"dlp-filter\","
             "\"result\":\"allow\",\"latency_us\":2470,\"entities_found\":{}}],"
             "\"input_tokens\":51,\"output_tokens\":7,\"cost_usd\":0.00001185,\"status\":200,"
             "\"latency_ms\":42,\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"consumer\":"
             "\"user-sha256:0123456789abcdef\"}", c->hash);
    expect_event(&ev, want);
    kt_decision_free(&dec);
    kt_config_release(&c);
}

KT_TEST(event_json_exact_block)
{
    kt_diag d;
    kt_config *c = load(policy_cfg, &d);
    KT_ASSERT(c);
    if (!c) return;
    kt_decision dec;
    decide(c, KT_DIR_OUTPUT, "{\"choices\":[{\"message\":{\"content\":\"a bluebird, x@y.io\"}}]}",
           &dec);
    kt_event_info ev = { .id = "3f2b8c1e-9a4d-4e6f-b0a1-c2d3e4f5a6b7", .decision = &dec,
                         .reason_code = "upstream_error", .model = "claude-3-opus",
                         .provider = "anthropic", .target = "t", .api = "messages", .cfg = c,
                         .input_tokens = 1000000, .output_tokens = 123456789,
                         .cost_usd = kt_price_usd(NULL, "claude-3-opus", 1000000, 123456789),
                         .status = 403, .latency_ms = 7, .unix_ms = 951782400000ull };
    char want[2048];
    snprintf(want, sizeof want,
             "{\"id\":\"3f2b8c1e-9a4d-4e6f-b0a1-c2d3e4f5a6b7\",\"event_type\":\"decision\","
             "\"timestamp\":\"2000-02-29T00:00:00.000Z\",\"verdict\":\"block\",\"reason_code\":"
             "\"output_blocked\",\"block_policy\":\"dlp-filter\",\"block_label\":\"keyword\","
             "\"model\":\"claude-3-opus\",\"provider\":\"anthropic\",\"target\":\"t\",\"api\":"
             "\"messages\",\"config_version\":\"unit@3.0.1\",\"config_hash\":\"sha256:%s\","
             "\"policies_evaluated\":[{\"name\":\"pii-detector\",\"kind\":\"pii-detector\","
             "\"result\":\"redact\",\"latency_us\":1235,\"entities_found\":{\"email\":1}},"
             "{\"name\":\"dlp-filter\",\"kind\":\"dlp-filter\",\"result\":\"block\","
             "\"latency_us\":2470,\"entities_found\":{\"keyword\":1}}],\"input_tokens\":1000000,"
             "\"output_tokens\":123456789,\"cost_usd\":9274.25917500,\"status\":403,"
             "\"latency_ms\":7,\"trace_id\":null,\"consumer\":null}", c->hash);
    expect_event(&ev, want);
    kt_decision_free(&dec);
    kt_config_release(&c);
}

/* Names that need escaping, invalid UTF-8 from the client, a skipped policy and a flag. */
KT_TEST(event_json_exact_escapes)
{
    kt_diag d;
    kt_config *c = load("pack: {name: \"p\\\"k\\\\\\t\\u00e9\\x01\", version: \"1.0\\n\"}\n"
                        "policies:\n"
                        "  - {name: 'we\"ird\\in', type: input_filter, patterns: [email]}\n"
                        "  - {name: out-only, type: output_filter, patterns: [ssn]}\n"
                        "  - {name: s\\af\\e, type: content_filter, categories: [violence]}\n",
                        &d);
    KT_ASSERT(c);
    if (!c) return;
    kt_decision dec;
    decide(c, KT_DIR_INPUT, "{\"messages\":[{\"role\":\"user\",\"content\":\"mail a@b.io\"}]}",
           &dec);
    dec.evals[2].result = KT_ACT_FLAG;
    kt_event_info ev = { .id = "3f2b8c1e-9a4d-4e6f-b0a1-c2d3e4f5a6b7", .decision = &dec,
                         .reason_code = "bad\"code", .model = "m\"o\\d\x01\xff\xc3\xa9l\n",
                         .provider = "openai", .target = "tar\tget", .api = "chat", .cfg = c,
                         .input_tokens = 3, .output_tokens = -1, .cost_usd = 0.000000005,
                         .status = 99, .latency_ms = 1, .unix_ms = 1700000000999ull,
                         .consumer = "team\\a\"b" };
    char want[2048];
    snprintf(want, sizeof want,
             "{\"id\":\"3f2b8c1e-9a4d-4e6f-b0a1-c2d3e4f5a6b7\",\"event_type\":\"decision\","
             "\"timestamp\":\"2023-11-14T22:13:20.999Z\",\"verdict\":\"redact\",\"reason_code\":"
             "\"bad\\\"code\",\"model\":\"m\\\"o\\\\d\\u0001\\ufffd\xc3\xa9l\\n\",\"provider\":"
             "\"openai\",\"target\":\"tar\\tget\",\"api\":\"chat\",\"config_version\":"
             "\"p\\\"k\\\\\\t\xc3\xa9\\u0001@1.0\\n\",\"config_hash\":\"sha256:%s\","
             "\"policies_evaluated\":[{\"name\":\"we\\\"ird\\\\in\",\"kind\":\"pii-detector\","
             "\"result\":\"redact\",\"latency_us\":1235,\"entities_found\":{\"email\":1}},"
             "{\"name\":\"out-only\",\"kind\":\"pii-detector\",\"result\":\"skipped\","
             "\"latency_us\":0,\"entities_found\":{}},{\"name\":\"s\\\\af\\\\e\",\"kind\":"
             "\"safety-filter\",\"result\":\"flag\",\"latency_us\":3704,\"entities_found\":{}}],"
             "\"input_tokens\":3,\"output_tokens\":null,\"cost_usd\":0.00000001,\"status\":99,"
             "\"latency_ms\":1,\"trace_id\":null,\"consumer\":\"team\\\\a\\\"b\"}", c->hash);
    expect_event(&ev, want);
    kt_decision_free(&dec);
    kt_config_release(&c);
}

/* The timestamp and cost_usd fields are formatted without gmtime_r and printf: they must agree
 * with them for any value, ties of the 8-decimal rounding included. */
static uint64_t xorshift(uint64_t *r)
{
    *r ^= *r << 13;
    *r ^= *r >> 7;
    *r ^= *r << 17;
    return *r;
}

static bool field_is(const kt_event_info *ev, const char *key, const char *want)
{
    char mem[2048];
    kt_buf b = { mem, 0, sizeof mem, sizeof mem - 1 };
    mem[0] = '\0';
    if (kt_event_json(ev, &b)) return false;
    const char *at = strstr(b.p, key);
    size_t n = strlen(want);
    if (at && strncmp(at + strlen(key), want, n) == 0 && strchr(",}", at[strlen(key) + n]))
        return true;
    KT_FAILF("%s%s in %s", key, want, b.p);
    return false;
}

KT_TEST(event_json_numbers_match_libc)
{
    kt_event_info ev = { .id = "x", .input_tokens = -1, .output_tokens = -1 };
    uint64_t r = 88172645463325252ull;
    char want[64];
    const double fixed[] = { 0, 1e-9, 5e-9, 4.9999999e-9, 0.001953125, 0.005859375, 0.125,
                             0.5, 1.5, 2.5, 0.000000015, 0.000000025, 1.00000000500000008,
                             9999999999.999998, 123456.78901234567, 4.9406564584124654e-324,
                             2.2250738585072014e-308, 1e-300, 0.1, 0.7, 1e9, 3e9 + 0.5 };
    for (size_t i = 0; i < KT_ARRAY_LEN(fixed) + 60000; i++) {
        double v;
        uint64_t x = xorshift(&r);
        if (i < KT_ARRAY_LEN(fixed)) v = fixed[i];
        else if (i % 4 == 0) v = (double)(x % 100000000000ull) / 1e8;   /* costs: 8 decimals */
        else if (i % 4 == 1) v = (double)(x >> 20) / (double)(1ull << (x % 60));   /* ties */
        else if (i % 4 == 2) v = (double)(x % 5000000) * 2.5 / 1e6 + (double)(x >> 40) * 1e-7;
        else v = (double)(x >> 11) * 0x1p-53 * (double)(1ull << (x % 34));
        ev.cost_usd = v;
        snprintf(want, sizeof want, "%.8f", v);
        if (!field_is(&ev, "\"cost_usd\":", want)) break;
    }
    for (int i = 0; i < 20000; i++) {
        uint64_t ms = xorshift(&r) % 253402300800000ull;
        if (i < 3) ms = i == 0 ? 0 : i == 1 ? 951782399999ull : 253402300799999ull;
        time_t s = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        snprintf(want, sizeof want, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
        ev.unix_ms = ms;
        if (!field_is(&ev, "\"timestamp\":", want)) break;
    }
}

/* ---- usage sniffing ---------------------------------------------------------------------- */

static void sniff_all_splits(const char *body, int64_t in, int64_t out)
{
    size_t n = strlen(body);
    for (size_t cut = 0; cut <= n; cut++) {
        kt_usage_sniff u;
        kt_usage_init(&u);
        kt_usage_feed(&u, body, cut);
        kt_usage_feed(&u, body + cut, n - cut);
        if (u.input != in || u.output != out) {
            KT_FAILF("split at %zu: %lld/%lld, want %lld/%lld", cut, (long long)u.input,
                     (long long)u.output, (long long)in, (long long)out);
            return;
        }
    }
    kt_usage_sniff u;   /* byte by byte */
    kt_usage_init(&u);
    for (size_t i = 0; i < n; i++) kt_usage_feed(&u, body + i, 1);
    KT_ASSERT_EQ_INT(u.input, in);
    KT_ASSERT_EQ_INT(u.output, out);
}

KT_TEST(usage_openai_anthropic_responses_streams)
{
    sniff_all_splits("{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"usage is {}\"}}],"
                     "\"usage\": {\"prompt_tokens\": 9, \"completion_tokens\": 5, "
                     "\"total_tokens\": 14, \"prompt_tokens_details\": {\"cached_tokens\": 0}}}",
                     9, 5);
    sniff_all_splits("{\"type\":\"message\",\"usage\":{\"input_tokens\":12,\"output_tokens\":7}}",
                     12, 7);
    /* OpenAI stream: usage null in every chunk, then the final usage chunk */
    sniff_all_splits("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n"
                     "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":8}}\n\n"
                     "data: [DONE]\n\n", 3, 8);
    /* Anthropic stream: message_start then message_delta (last wins) */
    sniff_all_splits("event: message_start\ndata: {\"message\":{\"usage\":{\"input_tokens\":9,"
                     "\"output_tokens\":1}}}\n\nevent: message_delta\ndata: {\"delta\":{},"
                     "\"usage\":{\"output_tokens\":15}}\n\n", 9, 15);
    /* responses API */
    sniff_all_splits("data: {\"type\":\"response.completed\",\"response\":{\"usage\":"
                     "{\"input_tokens\":4,\"output_tokens\":6,\"total_tokens\":10}}}\n\n", 4, 6);
    sniff_all_splits("{\"no\":\"usage here\"}", -1, -1);
}

/* ---- the spool's write-ahead log ------------------------------------------------------------ */

static size_t segs_in(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "wal-", 4) == 0) n++;
    if (d) closedir(d);
    return n;
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

static int ev_json(char *out, size_t n, int i, int pad)
{
    return snprintf(out, n, "{\"id\":\"e%d\",\"pad\":\"%*s\"}", i, pad, "");
}

/* Records of seqs [from, to) as the loop encodes them. */
static void encode_range(kt_buf *b, int from, int to, int pad)
{
    char ev[2048];
    for (int i = from; i < to; i++) {
        int n = ev_json(ev, sizeof ev, i, pad);
        KT_ASSERT_EQ_INT(kt__wal_encode(b, (uint64_t)i, ev, (size_t)n), KT_OK);
    }
}

/* Every whole record comes back; anything shorter is never one. */
static int read_all(const char *p, size_t n, uint64_t *seqs, int max, int *bad)
{
    size_t off = 0;
    int got = 0;
    kt_wal_rec r;
    kt_wal_res res;
    *bad = 0;
    while ((res = kt__wal_next((const unsigned char *)p, n, &off, &r)) != KT_WAL_END &&
           res != KT_WAL_TORN) {
        if (res == KT_WAL_BAD) {
            (*bad)++;
            continue;
        }
        if (got < max) seqs[got] = r.seq;
        got++;
    }
    return got;
}

KT_TEST(wal_record_format_torn_and_damaged)
{
    KT_ASSERT_EQ_INT(kt__crc32c(0, "123456789", 9), 0xe3069283u);   /* RFC 3720 check value */
    kt_buf b;
    kt_buf_init(&b, 1 << 20);
    encode_range(&b, 1, 4, 10);
    size_t whole = b.len, rec = whole / 3;
    uint64_t seqs[8];
    int bad;
    KT_ASSERT_EQ_INT(read_all(b.p, whole, seqs, 8, &bad), 3);
    KT_ASSERT(seqs[0] == 1 && seqs[1] == 2 && seqs[2] == 3 && bad == 0);
    size_t off = 0;
    kt_wal_rec r;
    KT_ASSERT_EQ_INT(kt__wal_next((const unsigned char *)b.p, whole, &off, &r), KT_WAL_REC);
    char want[128];
    int wn = ev_json(want, sizeof want, 1, 10);
    KT_ASSERT_EQ_MEM(r.data, r.len, want, (size_t)wn);
    /* a crash at any byte: only the records wholly before the cut, never a partial one */
    int wrong = 0;
    for (size_t cut = 0; cut <= whole; cut++) {
        int n = read_all(b.p, cut, seqs, 8, &bad);
        if (n != (int)(cut / rec) || bad) wrong++;
    }
    KT_ASSERT_EQ_INT(wrong, 0);
    /* a damaged byte anywhere in record 2: that record is skipped, 1 and 3 still read */
    wrong = 0;
    for (size_t i = rec; i < 2 * rec; i++) {
        b.p[i] ^= 0x20;
        int n = read_all(b.p, whole, seqs, 8, &bad);
        if (n != 2 || seqs[0] != 1 || seqs[1] != 3 || bad < 1) wrong++;
        b.p[i] ^= 0x20;
    }
    KT_ASSERT_EQ_INT(wrong, 0);
    /* zeros after the last record (what a file system can leave after a crash) */
    kt_buf_reserve(&b, 64);
    memset(b.p + whole, 0, 64);
    KT_ASSERT_EQ_INT(read_all(b.p, whole + 64, seqs, 8, &bad), 3);
    /* the encoder's bounds */
    KT_ASSERT_EQ_INT(kt__wal_encode(&b, 9, "{", 1), KT_ELIMIT);
    KT_ASSERT_EQ_INT(kt__wal_encode(&b, 9, b.p, KT_WAL_REC_MAX + 1), KT_ELIMIT);
    kt_buf_free(&b);
}

static void spool_dir(char *dir, size_t n)
{
    snprintf(dir, n, "/tmp/kt-wal-XXXXXX");
    KT_ASSERT(mkdtemp(dir) != NULL);
}

/* What the loop does per event: take a seq, encode. */
static void produce(kt_spool *s, kt_buf *b, int count, int pad)
{
    int from = (int)s->st->produced;
    encode_range(b, from, from + count, pad);
    s->st->produced += (uint64_t)count;
}

KT_TEST(spool_append_read_ack_reopen)
{
    char dir[64];
    spool_dir(dir, sizeof dir);
    kt_spool s;
    kt_spool_recovery rec;
    char err[200];
    KT_ASSERT_EQ_INT(kt_spool_open(&s, dir, 1 << 20, &rec, err, sizeof err), KT_OK);
    KT_ASSERT(rec.lost == 0 && rec.unread == 0 && !rec.state_reset);
    kt_buf b, out;
    kt_buf_init(&b, 1 << 20);
    kt_buf_init(&out, 1 << 20);
    produce(&s, &b, 7, 1);
    kt_spool_out o;
    kt_spool_append(&s, b.p, b.len, s.st->acked, &o);
    KT_ASSERT(o.written == 7 && o.failed == 0 && o.last_written == 7 && o.err == 0);
    s.st->settled = 7;
    uint32_t count;
    uint64_t first, last;
    KT_ASSERT_EQ_INT(kt_spool_read(&s, 0, 4, 1 << 20, &out, &count, &first, &last), KT_OK);
    KT_ASSERT(count == 4 && first == 1 && last == 4);
    KT_ASSERT_EQ_STR(out.p, "{\"id\":\"e1\",\"pad\":\" \"},{\"id\":\"e2\",\"pad\":\" \"},"
                            "{\"id\":\"e3\",\"pad\":\" \"},{\"id\":\"e4\",\"pad\":\" \"}");
    s.st->acked = 4;   /* delivered */
    kt_spool_trim(&s, 4);
    KT_ASSERT_EQ_INT(segs_in(dir), 1);   /* 5..7 are in it still */
    kt_spool_close(&s);
    /* a restart: the acknowledged ones are not sent again */
    KT_ASSERT_EQ_INT(kt_spool_open(&s, dir, 1 << 20, &rec, err, sizeof err), KT_OK);
    KT_ASSERT(rec.lost == 0 && rec.unread == 3 && s.st->dropped == 0);
    kt_buf_reset(&out);
    KT_ASSERT_EQ_INT(kt_spool_read(&s, s.st->acked, 100, 1 << 20, &out, &count, &first, &last),
                     KT_OK);
    KT_ASSERT(count == 3 && first == 5 && last == 7);
    KT_ASSERT(strncmp(out.p, "{\"id\":\"e5\"", 10) == 0);
    /* nothing more until more is appended; then it follows in order */
    kt_buf_reset(&out);
    KT_ASSERT_EQ_INT(kt_spool_read(&s, 4, 100, 1 << 20, &out, &count, &first, &last), KT_OK);
    KT_ASSERT_EQ_INT(count, 0);
    kt_buf_reset(&b);
    produce(&s, &b, 2, 1);
    kt_spool_append(&s, b.p, b.len, 4, &o);
    KT_ASSERT(o.written == 2 && o.last_written == 9);
    KT_ASSERT_EQ_INT(kt_spool_read(&s, 4, 100, 1 << 20, &out, &count, &first, &last), KT_OK);
    KT_ASSERT(count == 2 && first == 8 && last == 9);
    s.st->acked = 9;
    kt_spool_trim(&s, 9);
    KT_ASSERT_EQ_INT(segs_in(dir), 0);
    kt_spool_close(&s);
    kt_buf_free(&b);
    kt_buf_free(&out);
    rm_tree(dir);
}

KT_TEST(spool_crash_counts_what_was_never_written)
{
    char dir[64], path[128];
    spool_dir(dir, sizeof dir);
    kt_spool s;
    kt_spool_recovery rec;
    char err[200];
    KT_ASSERT_EQ_INT(kt_spool_open(&s, dir, 1 << 20, &rec, err, sizeof err), KT_OK);
    kt_buf b, out;
    kt_buf_init(&b, 1 << 20);
    kt_buf_init(&out, 1 << 20);
    produce(&s, &b, 5, 20);
    kt_spool_out o;
    kt_spool_append(&s, b.p, b.len, 0, &o);
    KT_ASSERT_EQ_INT(o.written, 5);
    /* then: seq 6 half-written (torn), 7 and 8 accepted in memory only, and a SIGKILL */
    kt_buf_reset(&b);
    produce(&s, &b, 3, 20);
    snprintf(path, sizeof path, "%s/wal-%016d.log", dir, 1);
    FILE *f = fopen(path, "ab");
    KT_ASSERT(f != NULL);
    fwrite(b.p, 1, b.len / 3 - 7, f);
    fclose(f);
    s.st->dropped = 2;   /* two counted drops the batch in flight had not carried yet */
    s.st->dropped_inflight = 1;
    munmap(s.st, 4096);   /* what a kill leaves: the page as it was, no close */
    s.st = NULL;
    close(s.fd);
    s.fd = -1;
    kt_spool_close(&s);
    KT_ASSERT_EQ_INT(kt_spool_open(&s, dir, 1 << 20, &rec, err, sizeof err), KT_OK);
    KT_ASSERT_EQ_INT(rec.lost, 3);         /* 6 (torn), 7 and 8 */
    KT_ASSERT_EQ_INT(rec.unread, 5);
    KT_ASSERT_EQ_INT(s.st->dropped, 2 + 1 + 3);
    KT_ASSERT_EQ_INT(s.st->produced, 9);   /* seqs are never reused */
    uint32_t count;
    uint64_t first, last;
    KT_ASSERT_EQ_INT(kt_spool_read(&s, 0, 100, 1 << 20, &out, &count, &first, &last), KT_OK);
    KT_ASSERT(count == 5 && first == 1 && last == 5);
    KT_ASSERT(out.p[out.len - 1] == '}' && !strstr(out.p, "e6"));
    kt_spool_close(&s);
    kt_buf_free(&b);
    kt_buf_free(&out);
    rm_tree(dir);
}

KT_TEST(spool_imports_the_previous_format)
{
    char dir[64], path[160];
    spool_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/seg-%016d.jsonl", dir, 7);
    FILE *f = fopen(path, "wb");
    KT_ASSERT(f != NULL);
    fputs("{\"id\":\"old1\"}\n{\"id\":\"old2\"}\n{\"id\":\"ha\n{\"id\":\"old3\"}\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/seg-%016d.jsonl.tmp", dir, 8);
    f = fopen(path, "wb");
    KT_ASSERT(f != NULL);
    fputs("{\"id\":\"never\"}\n", f);
    fclose(f);
    kt_spool s;
    kt_spool_recovery rec;
    char err[200];
    KT_ASSERT_EQ_INT(kt_spool_open(&s, dir, 1 << 20, &rec, err, sizeof err), KT_OK);
    KT_ASSERT(rec.unread == 3 && rec.lost == 0 && s.st->dropped == 0);
    KT_ASSERT_EQ_INT(s.st->produced, 4);
    kt_buf out;
    kt_buf_init(&out, 1 << 20);
    uint32_t count;
    uint64_t first, last;
    KT_ASSERT_EQ_INT(kt_spool_read(&s, 0, 100, 1 << 20, &out, &count, &first, &last), KT_OK);
    KT_ASSERT_EQ_INT(count, 3);
    KT_ASSERT_EQ_STR(out.p, "{\"id\":\"old1\"},{\"id\":\"old2\"},{\"id\":\"old3\"}");
    KT_ASSERT_EQ_INT(segs_in(dir), 1);
    KT_ASSERT(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/seg-%016d.jsonl", dir, 7);
    KT_ASSERT(access(path, F_OK) != 0);
    kt_spool_close(&s);
    kt_buf_free(&out);
    rm_tree(dir);
}

KT_TEST(spool_bound_drops_oldest_counted)
{
    char dir[64];
    spool_dir(dir, sizeof dir);
    kt_spool s;
    kt_spool_recovery rec;
    char err[200];
    KT_ASSERT_EQ_INT(kt_spool_open(&s, dir, 64 * 1024, &rec, err, sizeof err), KT_OK);
    kt_buf b, out;
    kt_buf_init(&b, 1 << 20);
    kt_buf_init(&out, 1 << 20);
    uint64_t written = 0, evicted = 0;
    for (int round = 0; round < 40; round++) {   /* 400 events of ~520 bytes: 200 KiB */
        kt_buf_reset(&b);
        produce(&s, &b, 10, 480);
        kt_spool_out o;
        kt_spool_append(&s, b.p, b.len, 0, &o);
        written += o.written;
        evicted += o.evicted;
        KT_ASSERT(s.bytes <= 64 * 1024);
    }
    KT_ASSERT_EQ_INT(written, 400);
    KT_ASSERT_EQ_INT(s.st->evicted, evicted);
    KT_ASSERT(evicted > 200);
    uint64_t kept = 0, prev = 0;
    int order = 1;
    for (;;) {
        uint32_t count;
        uint64_t first, last;
        kt_buf_reset(&out);
        KT_ASSERT_EQ_INT(kt_spool_read(&s, 0, 50, 1 << 20, &out, &count, &first, &last), KT_OK);
        if (!count) break;
        if (first != prev + 1 && prev) order = 0;
        prev = last;
        kept += count;
    }
    KT_ASSERT_EQ_INT(order, 1);
    KT_ASSERT_EQ_INT(kept + evicted, 400);   /* every event read back or counted */
    KT_ASSERT_EQ_INT(prev, 400);             /* the newest are the ones kept */
    kt_spool_close(&s);
    kt_buf_free(&b);
    kt_buf_free(&out);
    rm_tree(dir);
}

KT_TEST(metrics_cardinality_and_render)
{
    kt_metrics m;
    kt_metrics_init(&m);
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "model-%d", i);
        const char *v = kt_metrics_bound(&m.models, name);
        if (i < KT_METRIC_LABEL_VALUES) KT_ASSERT_EQ_STR(v, name);
        else KT_ASSERT_EQ_STR(v, "other");
        const char *n[] = { "model" }, *vv[] = { v };
        kt_metrics_add(&m, &m.cost, n, vv, 1, 0.5);
    }
    KT_ASSERT_EQ_INT(m.cost.n, KT_METRIC_LABEL_VALUES + 1);
    const char *n[] = { "entity" }, *v[] = { "we\"ird\\\nname" };
    kt_metrics_add(&m, &m.redactions, n, v, 1, 3);
    kt_hist_observe(&m.duration, 0.003);
    kt_hist_observe(&m.duration, 100);
    kt_metrics_gauges g = { .connections = 2, .version = "t", .rss_bytes = kt_metrics_rss_bytes(),
                            .reloads_failed = 1 };
    KT_ASSERT(g.rss_bytes > 0);
    kt_buf b;
    kt_buf_init(&b, 1 << 20);
    KT_ASSERT_EQ_INT(kt_metrics_render(&m, &g, &b), 0);
    KT_ASSERT(strstr(b.p, "keeptrusts_cost_usd_total{model=\"other\"} 18") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_redactions_total{entity=\"we\\\"ird\\\\_name\"} 3") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_request_duration_seconds_bucket{le=\"0.005\"} 1\n") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_request_duration_seconds_bucket{le=\"60\"} 1\n") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_request_duration_seconds_bucket{le=\"+Inf\"} 2\n") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_request_duration_seconds_count 2\n") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_config_reloads_total{result=\"failure\"} 1\n") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_active_connections 2\n") != NULL);
    kt_buf_free(&b);
    kt_metrics_free(&m);
}

/* The series text of every family, byte for byte, after the updates one request makes (labels
 * from interned values, literals and a stack buffer), escapes, and the series cap. */
static void render_families(const kt_metrics *m, kt_buf *out)
{
    kt_metrics_gauges g = { .version = "t" };
    kt_buf b;
    kt_buf_init(&b, 1 << 22);
    KT_ASSERT_EQ_INT(kt_metrics_render(m, &g, &b), 0);
    const char *from = strstr(b.p, "# HELP keeptrusts_requests_total");
    const char *to = strstr(b.p, "# HELP keeptrusts_request_duration_seconds");
    KT_ASSERT(from && to && from < to);
    kt_buf_reset(out);
    if (from && to) kt_buf_append(out, from, (size_t)(to - from));
    kt_buf_free(&b);
}

KT_TEST(metrics_exact_series)
{
    kt_metrics m;
    kt_metrics_init(&m);
    for (int i = 0; i < 3; i++) {
        char status[4] = "200";
        if (i == 2) memcpy(status, "502", 4);
        const char *odd = "gpt-\"4o\"\n\\x\x01\xc3\xa9";
        const char *model = kt_metrics_bound(&m.models, i ? "gpt-4o-mini" : odd);
        const char *target = kt_metrics_bound(&m.targets, i == 1 ? NULL : "main");
        const char *rn[] = { "target", "model", "status" }, *rv[] = { target, model, status };
        kt_metrics_add(&m, &m.requests, rn, rv, 3, 1);
        const char *pn[] = { "policy", "result" };
        const char *pv[] = { kt_metrics_bound(&m.policies, "pii-detector"), "redact" };
        kt_metrics_add(&m, &m.policy_evals, pn, pv, 2, 1);
        const char *pv2[] = { kt_metrics_bound(&m.policies, "we\"ird"), i ? "allow" : "block" };
        kt_metrics_add(&m, &m.policy_evals, pn, pv2, 2, 1);
        const char *en[] = { "entity" }, *ev[] = { kt_metrics_bound(&m.entities, "email") };
        kt_metrics_add(&m, &m.redactions, en, ev, 1, 2 + i);
        if (!i) {
            const char *bn[] = { "reason", "policy" }, *bv[] = { "input_blocked", pv2[0] };
            kt_metrics_add(&m, &m.blocks, bn, bv, 2, 1);
        }
        const char *tn[] = { "direction", "model" }, *ti[] = { "input", model },
                   *to[] = { "output", model };
        kt_metrics_add(&m, &m.tokens, tn, ti, 2, 51 * (i + 1));
        kt_metrics_add(&m, &m.tokens, tn, to, 2, 7);
        const char *cn[] = { "model" }, *cv[] = { model };
        kt_metrics_add(&m, &m.cost, cn, cv, 1, kt_price_usd(NULL, "gpt-4o-mini", 51, 7 + i));
    }
    kt_buf b;
    kt_buf_init(&b, 1 << 22);
    render_families(&m, &b);
    KT_ASSERT_EQ_STR(b.p,
        "# HELP keeptrusts_requests_total Requests by target, model and status.\n"
        "# TYPE keeptrusts_requests_total counter\n"
        "keeptrusts_requests_total{target=\"main\",model=\"gpt-\\\"4o\\\"_\\\\x___\","
        "status=\"200\"} 1\n"
        "keeptrusts_requests_total{target=\"none\",model=\"gpt-4o-mini\",status=\"200\"} 1\n"
        "keeptrusts_requests_total{target=\"main\",model=\"gpt-4o-mini\",status=\"502\"} 1\n"
        "# HELP keeptrusts_policy_evaluations_total Policy evaluations by policy and result.\n"
        "# TYPE keeptrusts_policy_evaluations_total counter\n"
        "keeptrusts_policy_evaluations_total{policy=\"pii-detector\",result=\"redact\"} 3\n"
        "keeptrusts_policy_evaluations_total{policy=\"we\\\"ird\",result=\"block\"} 1\n"
        "keeptrusts_policy_evaluations_total{policy=\"we\\\"ird\",result=\"allow\"} 2\n"
        "# HELP keeptrusts_redactions_total Redacted entities by entity type.\n"
        "# TYPE keeptrusts_redactions_total counter\n"
        "keeptrusts_redactions_total{entity=\"email\"} 9\n"
        "# HELP keeptrusts_blocks_total Blocked requests and responses by reason and policy.\n"
        "# TYPE keeptrusts_blocks_total counter\n"
        "keeptrusts_blocks_total{reason=\"input_blocked\",policy=\"we\\\"ird\"} 1\n"
        "# HELP keeptrusts_tokens_total Tokens by direction and model, from provider usage.\n"
        "# TYPE keeptrusts_tokens_total counter\n"
        "keeptrusts_tokens_total{direction=\"input\",model=\"gpt-\\\"4o\\\"_\\\\x___\"} 51\n"
        "keeptrusts_tokens_total{direction=\"output\",model=\"gpt-\\\"4o\\\"_\\\\x___\"} 7\n"
        "keeptrusts_tokens_total{direction=\"input\",model=\"gpt-4o-mini\"} 255\n"
        "keeptrusts_tokens_total{direction=\"output\",model=\"gpt-4o-mini\"} 14\n"
        "# HELP keeptrusts_cost_usd_total Estimated cost in US dollars by model.\n"
        "# TYPE keeptrusts_cost_usd_total counter\n"
        "keeptrusts_cost_usd_total{model=\"gpt-\\\"4o\\\"_\\\\x___\"} 1.185e-05\n"
        "keeptrusts_cost_usd_total{model=\"gpt-4o-mini\"} 2.55e-05\n"
        "# HELP keeptrusts_policy_decisions_total Requests by the policy chain's decision "
        "(allow, redact, block, unscanned).\n"
        "# TYPE keeptrusts_policy_decisions_total counter\n"
        "# HELP keeptrusts_governance_refusals_total Requests refused by governance by reason "
        "(authentication, model_not_allowed, budget_exceeded, rate_limit).\n"
        "# TYPE keeptrusts_governance_refusals_total counter\n");
    /* past KT_METRIC_SERIES_MAX every update folds into one all-"other" series, even for
     * label values that had a series of their own */
    char name[32];
    for (int i = 0; i < KT_METRIC_SERIES_MAX + 5; i++) {
        snprintf(name, sizeof name, "e%d", i);
        const char *en[] = { "entity" }, *ev[] = { name };
        kt_metrics_add(&m, &m.redactions, en, ev, 1, 1);
    }
    const char *en[] = { "entity" }, *ev[] = { kt_metrics_bound(&m.entities, "email") };
    kt_metrics_add(&m, &m.redactions, en, ev, 1, 100);
    KT_ASSERT_EQ_INT(m.redactions.n, KT_METRIC_SERIES_MAX + 1);
    render_families(&m, &b);
    KT_ASSERT(strstr(b.p, "keeptrusts_redactions_total{entity=\"email\"} 9\n") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_redactions_total{entity=\"other\"} 106\n") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_redactions_total{entity=\"e2046\"} 1\n") != NULL);
    KT_ASSERT(strstr(b.p, "keeptrusts_redactions_total{entity=\"e2047\"}") == NULL);
    kt_buf_free(&b);
    kt_metrics_free(&m);
}

/* The request-end hook's metric updates for a few requests, byte for byte. */
KT_TEST(metrics_observe_exact)
{
    kt_diag d;
    kt_config *c = load(policy_cfg, &d);
    KT_ASSERT(c);
    if (!c) return;
    kt_decision red, blk;
    decide(c, KT_DIR_INPUT, "{\"messages\":[{\"role\":\"user\",\"content\":\"mail a@example.com,"
                            " b@example.org, ssn 123-45-6789\"}]}", &red);
    decide(c, KT_DIR_OUTPUT, "{\"choices\":[{\"message\":{\"content\":\"a bluebird\"}}]}", &blk);
    kt_metrics m;
    kt_metrics_init(&m);
    kt_req_obs o;
    memset(&o, 0, sizeof o);
    o.t0_ns = 1000;
    const kt_decision *decs[] = { &red, &blk, NULL };
    const char *models[] = { "gpt-4o-mini", NULL, "m\"x" };
    const int statuses[] = { 200, 403, 99, 1000, 502, 200 };
    for (int i = 0; i < 12; i++) {
        kt_event_info ev = { .decision = decs[i % 3], .model = models[i % 3],
                             .target = i % 4 ? "main" : NULL, .input_tokens = i % 5 ? 40 + i : -1,
                             .output_tokens = i % 2 ? 7 * i : 0, .status = statuses[i % 6] };
        ev.cost_usd = kt_price_usd(NULL, ev.model, ev.input_tokens, ev.output_tokens);
        kt_events_observe(&m, &ev, &o, 2000000 + (uint64_t)i * 1000000);
    }
    kt_buf b;
    kt_buf_init(&b, 1 << 22);
    render_families(&m, &b);
    KT_ASSERT_EQ_STR(b.p,
        "# HELP keeptrusts_requests_total Requests by target, model and status.\n"
        "# TYPE keeptrusts_requests_total counter\n"
        "keeptrusts_requests_total{target=\"none\",model=\"gpt-4o-mini\",status=\"200\"} 1\n"
        "keeptrusts_requests_total{target=\"main\",model=\"none\",status=\"403\"} 2\n"
        "keeptrusts_requests_total{target=\"main\",model=\"m\\\"x\",status=\"000\"} 1\n"
        "keeptrusts_requests_total{target=\"main\",model=\"gpt-4o-mini\",status=\"000\"} 2\n"
        "keeptrusts_requests_total{target=\"none\",model=\"none\",status=\"502\"} 1\n"
        "keeptrusts_requests_total{target=\"main\",model=\"m\\\"x\",status=\"200\"} 2\n"
        "keeptrusts_requests_total{target=\"main\",model=\"gpt-4o-mini\",status=\"200\"} 1\n"
        "keeptrusts_requests_total{target=\"none\",model=\"m\\\"x\",status=\"000\"} 1\n"
        "keeptrusts_requests_total{target=\"main\",model=\"none\",status=\"502\"} 1\n"
        "# HELP keeptrusts_policy_evaluations_total Policy evaluations by policy and result.\n"
        "# TYPE keeptrusts_policy_evaluations_total counter\n"
        "keeptrusts_policy_evaluations_total{policy=\"pii-detector\",result=\"redact\"} 4\n"
        "keeptrusts_policy_evaluations_total{policy=\"dlp-filter\",result=\"allow\"} 4\n"
        "keeptrusts_policy_evaluations_total{policy=\"pii-detector\",result=\"allow\"} 4\n"
        "keeptrusts_policy_evaluations_total{policy=\"dlp-filter\",result=\"block\"} 4\n"
        "# HELP keeptrusts_redactions_total Redacted entities by entity type.\n"
        "# TYPE keeptrusts_redactions_total counter\n"
        "keeptrusts_redactions_total{entity=\"email\"} 8\n"
        "keeptrusts_redactions_total{entity=\"ssn\"} 4\n"
        "# HELP keeptrusts_blocks_total Blocked requests and responses by reason and policy.\n"
        "# TYPE keeptrusts_blocks_total counter\n"
        "keeptrusts_blocks_total{reason=\"output_blocked\",policy=\"dlp-filter\"} 4\n"
        "# HELP keeptrusts_tokens_total Tokens by direction and model, from provider usage.\n"
        "# TYPE keeptrusts_tokens_total counter\n"
        "keeptrusts_tokens_total{direction=\"input\",model=\"none\"} 132\n"
        "keeptrusts_tokens_total{direction=\"output\",model=\"none\"} 56\n"
        "keeptrusts_tokens_total{direction=\"input\",model=\"m\\\"x\"} 141\n"
        "keeptrusts_tokens_total{direction=\"input\",model=\"gpt-4o-mini\"} 138\n"
        "keeptrusts_tokens_total{direction=\"output\",model=\"gpt-4o-mini\"} 84\n"
        "keeptrusts_tokens_total{direction=\"output\",model=\"m\\\"x\"} 112\n"
        "# HELP keeptrusts_cost_usd_total Estimated cost in US dollars by model.\n"
        "# TYPE keeptrusts_cost_usd_total counter\n"
        "keeptrusts_cost_usd_total{model=\"gpt-4o-mini\"} 7.11e-05\n"
        "# HELP keeptrusts_policy_decisions_total Requests by the policy chain's decision "
        "(allow, redact, block, unscanned).\n"
        "# TYPE keeptrusts_policy_decisions_total counter\n"
        "keeptrusts_policy_decisions_total{decision=\"redact\"} 4\n"
        "keeptrusts_policy_decisions_total{decision=\"block\"} 4\n"
        "# HELP keeptrusts_governance_refusals_total Requests refused by governance by reason "
        "(authentication, model_not_allowed, budget_exceeded, rate_limit).\n"
        "# TYPE keeptrusts_governance_refusals_total counter\n");
    kt_buf_free(&b);
    kt_metrics_free(&m);
    kt_decision_free(&red);
    kt_decision_free(&blk);
    kt_config_release(&c);
}

/* kt_metrics_add_fixed finds series by pointer: the same updates through it and through
 * kt_metrics_add give the same text, across cache collisions and past the series cap. */
KT_TEST(metrics_add_fixed_same_as_add)
{
    kt_metrics a, f;
    kt_metrics_init(&a);
    kt_metrics_init(&f);
    static const char *const names[] = { "entity", "model", "direction" };
    static const char *const other_names[] = { "policy", "model", "result" };
    const char *va[KT_METRIC_LABEL_VALUES + 8], *vf[KT_METRIC_LABEL_VALUES + 8];
    char name[32];
    for (int i = 0; i < KT_METRIC_LABEL_VALUES + 8; i++) {
        snprintf(name, sizeof name, i % 7 ? "v%d" : "v\"%d\\", i);
        va[i] = kt_metrics_bound(&a.entities, name);
        vf[i] = kt_metrics_bound(&f.entities, name);
    }
    uint64_t r = 2463534242ull;
    for (int i = 0; i < 40000; i++) {
        uint64_t x = xorshift(&r);
        size_t n = 1 + x % 3, k = (x >> 8) % 24;
        const char *pa[3], *pf[3];
        for (size_t j = 0; j < n; j++) {
            size_t idx = (x >> (16 + 8 * j)) % (i < 20000 ? 10 : KT_METRIC_LABEL_VALUES + 8);
            pa[j] = va[idx];
            pf[j] = vf[idx];
        }
        if (k == 0) pa[0] = pf[0] = "none";
        const char *const *nm = k % 2 ? other_names : names;
        kt_mfamily *fa = k < 12 ? &a.redactions : &a.tokens;
        kt_mfamily *ff = k < 12 ? &f.redactions : &f.tokens;
        kt_metrics_add(&a, fa, nm, pa, n, (double)(x % 1000) / 8);
        kt_metrics_add_fixed(&f, ff, nm, pf, n, (double)(x % 1000) / 8);
    }
    KT_ASSERT(a.redactions.n > KT_METRIC_SERIES_MAX);
    kt_buf ba, bf;
    kt_buf_init(&ba, 1 << 24);
    kt_buf_init(&bf, 1 << 24);
    render_families(&a, &ba);
    render_families(&f, &bf);
    KT_ASSERT(ba.len > 1000);
    KT_ASSERT_EQ_INT(ba.len, bf.len);
    KT_ASSERT(ba.len == bf.len && memcmp(ba.p, bf.p, ba.len) == 0);
    kt_buf_free(&ba);
    kt_buf_free(&bf);
    kt_metrics_free(&a);
    kt_metrics_free(&f);
}

/* ---- config ------------------------------------------------------------------------------ */

KT_TEST(config_events_and_metrics)
{
    kt_diag d;
    kt_config *c = load("gateway:\n  events:\n    enabled: false\n    batch_size: 7\n"
                        "    flush_interval: 250ms\n    ring_bytes: 64KiB\n    spool_dir: /tmp/x\n"
                        "    spool_max_bytes: 1MiB\n    spool_commit_interval: 50ms\n"
                        "    timeout: 3s\n    max_backoff: 2s\n"
                        "    prices:\n      my-llm: {input: 1.5, output: 4}\n"
                        "      gpt-4o-mini: {input: '9', output: 0}\n"
                        "  metrics: {enabled: false}\n", &d);
    KT_ASSERT(c != NULL);
    if (c) {
        const kt_events_opts *o = &c->gateway.events;
        KT_ASSERT(!o->enabled);
        KT_ASSERT_EQ_INT(o->batch_size, 7);
        KT_ASSERT_EQ_INT(o->flush_interval_ms, 250);
        KT_ASSERT_EQ_INT(o->ring_bytes, 64 * 1024);
        KT_ASSERT_EQ_STR(o->spool_dir, "/tmp/x");
        KT_ASSERT_EQ_INT(o->spool_max_bytes, 1 << 20);
        KT_ASSERT_EQ_INT(o->spool_commit_ms, 50);
        KT_ASSERT_EQ_INT(o->timeout_ms, 3000);
        KT_ASSERT_EQ_INT(o->max_backoff_ms, 2000);
        KT_ASSERT(!c->gateway.metrics_enabled);
        KT_ASSERT_EQ_INT(o->nprices, 2);
        KT_ASSERT(kt_price_usd(o, "my-llm-v2", 1000000, 2000000) == 1.5 + 2 * 4);
        KT_ASSERT(kt_price_usd(o, "gpt-4o-mini", 1000000, 0) == 9);   /* config overrides */
        KT_ASSERT(kt_price_usd(o, "gpt-4o", 1000000, 0) == 2.5);       /* built-in */
        kt_config_release(&c);
    }
    c = load("gateway: {}\n", &d);
    KT_ASSERT(c != NULL);
    if (c) {
        KT_ASSERT(c->gateway.events.enabled && c->gateway.metrics_enabled);
        KT_ASSERT_EQ_INT(c->gateway.events.batch_size, 100);
        KT_ASSERT_EQ_INT(c->gateway.events.flush_interval_ms, 1000);
        KT_ASSERT_EQ_INT(c->gateway.events.ring_bytes, 2 * 1024 * 1024);
        KT_ASSERT(c->gateway.events.spool_dir == NULL);
        KT_ASSERT_EQ_INT(c->gateway.events.spool_commit_ms, 200);
        kt_config_release(&c);
    }
    c = load("gateway:\n  events:\n    url: http://x\n    batch_size: 0\n  metrics:\n    path: /m\n",
             &d);
    KT_ASSERT(c == NULL);
    KT_ASSERT_EQ_INT(d.count, 3);
    KT_ASSERT_EQ_INT(d.items[0].line, 3);
    KT_ASSERT_EQ_INT(d.items[0].col, 5);
    KT_ASSERT(strstr(d.items[0].msg, "url") != NULL);
    KT_ASSERT(strstr(d.items[0].msg, "spool_commit_interval") != NULL);   /* valid keys listed */
    KT_ASSERT_EQ_INT(d.items[1].line, 4);
    KT_ASSERT(strstr(d.items[1].msg, "batch_size") != NULL);
    KT_ASSERT_EQ_INT(d.items[2].line, 6);
    KT_ASSERT(strstr(d.items[2].msg, "path") != NULL);
    c = load("gateway:\n  events:\n    prices:\n      m: {input: x, output: 1, extra: 2}\n", &d);
    KT_ASSERT(c == NULL);
    KT_ASSERT_EQ_INT(d.count, 2);
    KT_ASSERT_EQ_INT(d.items[0].line, 4);
    c = load("gateway:\n  events: [1]\n", &d);
    KT_ASSERT(c == NULL);
    KT_ASSERT_EQ_INT(d.items[0].line, 2);
}

KT_TEST(usage_window_one_pass_matches_searches)
{
    static const char *const parts[] = {
        "\"prompt_tokens\"", "\"input_tokens\"", "\"completion_tokens\"", "\"output_tokens\"",
        ":", " ", "\n", "12", "7", "\"", "x", "{", "}", ",", "\"cache_creation_input_tokens\"",
        "\"prompt_tokens", "input_tokens\"", "\\\"", "null",
    };
    uint32_t seed = 99;
    int mismatches = 0;
    for (int round = 0; round < 30000; round++) {
        char w[200];
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        int pieces = 1 + (int)((seed >> 8) % 14);
        for (int i = 0; i < pieces; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *q = parts[(seed >> 12) % KT_ARRAY_LEN(parts)];
            size_t l = strlen(q);
            if (n + l > sizeof w) break;
            memcpy(w + n, q, l);
            n += l;
        }
        int64_t a[4], b[4];
        kt__usage_window(w, n, a);
        kt__usage_window_plain(w, n, b);
        if (memcmp(a, b, sizeof a) != 0) mismatches++;
    }
    KT_ASSERT_EQ_INT(mismatches, 0);
    int64_t v[4];
    const char *real = "{\"prompt_tokens\":42,\"completion_tokens\":12,\"total_tokens\":54,"
                       "\"prompt_tokens_details\":{\"cached_tokens\":0}}";
    kt__usage_window(real, strlen(real), v);
    KT_ASSERT(v[0] == 42 && v[1] == -1 && v[2] == 12 && v[3] == -1);
}

int main(void)
{
    KT_RUN(ring_bounded_in_bytes_drops_oldest);
    KT_RUN(usage_window_one_pass_matches_searches);
    KT_RUN(ring_fifo_and_unshift);
    KT_RUN(event_json_redact_counts_no_pii);
    KT_RUN(event_json_block_reason);
    KT_RUN(event_helpers);
    KT_RUN(event_json_exact_no_decision);
    KT_RUN(event_json_exact_redact);
    KT_RUN(event_json_exact_block);
    KT_RUN(event_json_exact_escapes);
    KT_RUN(event_json_numbers_match_libc);
    KT_RUN(usage_openai_anthropic_responses_streams);
    KT_RUN(wal_record_format_torn_and_damaged);
    KT_RUN(spool_append_read_ack_reopen);
    KT_RUN(spool_crash_counts_what_was_never_written);
    KT_RUN(spool_bound_drops_oldest_counted);
    KT_RUN(spool_imports_the_previous_format);
    KT_RUN(metrics_cardinality_and_render);
    KT_RUN(metrics_exact_series);
    KT_RUN(metrics_observe_exact);
    KT_RUN(metrics_add_fixed_same_as_add);
    KT_RUN(config_events_and_metrics);
    return KT_DONE();
}
