/* Trace context and spans: traceparent (versions, zero ids, case, lengths), b3 single and multi
 * (64-bit ids padded, sampling flags), header precedence, the samplers (parent-based, ratio on
 * the trace id), OTEL_* options (endpoint, headers, resource, sampler), and span JSON. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "kt/trace.h"
#include "kt_test.h"

static const char TP[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

static bool tp(const char *s, kt_trace_ctx *t) { return kt_trace_parse_traceparent(s, strlen(s), t); }
static bool b3(const char *s, kt_trace_ctx *t) { return kt_trace_parse_b3(s, strlen(s), t); }

KT_TEST(traceparent_valid_and_invalid)
{
    kt_trace_ctx t;
    char hex[33];
    KT_ASSERT(tp(TP, &t));
    kt_trace_hex(t.trace_id, 16, hex);
    KT_ASSERT_EQ_STR(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
    KT_ASSERT_EQ_INT(t.sampled, 1);
    KT_ASSERT_EQ_INT(t.src, KT_TRACE_W3C);
    KT_ASSERT(!tp("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", &t));   /* upper */
    KT_ASSERT(!tp("00-00000000000000000000000000000000-00f067aa0ba902b7-01", &t));
    KT_ASSERT(!tp("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", &t));
    KT_ASSERT(!tp("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &t));
    KT_ASSERT(!tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", &t));   /* v00 + */
    KT_ASSERT(tp("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-later", &t));
    KT_ASSERT_EQ_INT(t.sampled, 0);
    KT_ASSERT(!tp("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00later", &t));
    KT_ASSERT(!tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", &t));
    char out[56];
    uint8_t span[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    KT_ASSERT(tp(TP, &t));
    kt_trace_format_traceparent(t.trace_id, span, true, out);
    KT_ASSERT_EQ_STR(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-0102030405060708-01");
}

KT_TEST(b3_single_and_multi)
{
    kt_trace_ctx t;
    char hex[33];
    KT_ASSERT(b3("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90", &t));
    KT_ASSERT_EQ_INT(t.sampled, 1);
    KT_ASSERT_EQ_INT(t.src, KT_TRACE_B3);
    KT_ASSERT(b3("463ac35c9f6413ad-0020000000000001", &t));   /* 64-bit id, no decision */
    kt_trace_hex(t.trace_id, 16, hex);
    KT_ASSERT_EQ_STR(hex, "0000000000000000463ac35c9f6413ad");
    KT_ASSERT_EQ_INT(t.sampled, -1);
    KT_ASSERT(b3("463ac35c9f6413ad-0020000000000001-d", &t) && t.sampled == 1);
    KT_ASSERT(b3("463ac35c9f6413ad-0020000000000001-0", &t) && t.sampled == 0);
    KT_ASSERT(!b3("0", &t));
    KT_ASSERT(!b3("463ac35c9f6413ad-0020000000000001-true", &t));
    KT_ASSERT(!b3("463ac35c9f6413ad-002000000000001", &t));
    KT_ASSERT(!b3("463ac35c9f6413ad-0020000000000001-1-bad", &t));
    KT_ASSERT(!b3("-0020000000000001", &t));
    kt_str none = { NULL, 0 };
    KT_ASSERT(kt_trace_parse_b3_multi(KT_STR("a1b2c3d4e5f60718293a4b5c6d7e8f90"),
                                      KT_STR("1122334455667788"), KT_STR("0"), none, &t));
    KT_ASSERT_EQ_INT(t.sampled, 0);
    KT_ASSERT(kt_trace_parse_b3_multi(KT_STR("a1b2c3d4e5f60718293a4b5c6d7e8f90"),
                                      KT_STR("1122334455667788"), none, KT_STR("1"), &t));
    KT_ASSERT_EQ_INT(t.sampled, 1);
    KT_ASSERT(!kt_trace_parse_b3_multi(KT_STR("a1b2c3d4e5f60718293a4b5c6d7e8f90"), none, none,
                                       none, &t));
}

static void add(kt_headers *hs, const char *n, const char *v)
{
    kt_headers_add_name(hs, n, strlen(n));
    kt_headers_add_value(hs, v, strlen(v));
    kt_headers_value_done(hs);
}

KT_TEST(headers_precedence)
{
    kt_headers hs;
    kt_trace_ctx t;
    char hex[33];
    kt_headers_init(&hs, 20, 4096);
    KT_ASSERT_EQ_INT(kt_trace_from_headers(&hs, &t), KT_TRACE_NONE);
    add(&hs, "X-B3-TraceId", "a1b2c3d4e5f60718293a4b5c6d7e8f90");
    add(&hs, "X-B3-SpanId", "1122334455667788");
    KT_ASSERT_EQ_INT(kt_trace_from_headers(&hs, &t), KT_TRACE_B3_MULTI);
    add(&hs, "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1");
    KT_ASSERT_EQ_INT(kt_trace_from_headers(&hs, &t), KT_TRACE_B3);
    add(&hs, "traceparent", "garbage");   /* unusable: the next form is read */
    KT_ASSERT_EQ_INT(kt_trace_from_headers(&hs, &t), KT_TRACE_B3);
    kt_headers_free(&hs);
    kt_headers_init(&hs, 20, 4096);
    add(&hs, "traceparent", TP);
    add(&hs, "tracestate", "rojo=00f067aa0ba902b7");
    add(&hs, "b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1");
    KT_ASSERT_EQ_INT(kt_trace_from_headers(&hs, &t), KT_TRACE_W3C);
    kt_trace_hex(t.trace_id, 16, hex);
    KT_ASSERT_EQ_STR(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
    KT_ASSERT_EQ_STR(t.tracestate, "rojo=00f067aa0ba902b7");
    kt_headers_free(&hs);
    kt_headers_init(&hs, 20, 4096);   /* two traceparents: neither is believed */
    add(&hs, "traceparent", TP);
    add(&hs, "traceparent", "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    KT_ASSERT_EQ_INT(kt_trace_from_headers(&hs, &t), KT_TRACE_NONE);
    kt_headers_free(&hs);
}

KT_TEST(samplers)
{
    kt_sampler s;
    char err[200];
    uint8_t lo[16] = { 0 }, hi[16];
    memset(hi, 0xff, sizeof hi);
    lo[15] = 1;
    kt_trace_ctx parent_on = { .src = KT_TRACE_W3C, .sampled = 1 };
    kt_trace_ctx parent_off = { .src = KT_TRACE_W3C, .sampled = 0 };
    KT_ASSERT(kt_sampler_parse(NULL, NULL, &s, err, sizeof err));
    KT_ASSERT_EQ_INT(s.kind, KT_SAMPLER_PARENT_ON);
    KT_ASSERT(kt_sampler_decide(&s, NULL, hi));
    KT_ASSERT(!kt_sampler_decide(&s, &parent_off, hi));
    KT_ASSERT(kt_sampler_parse("parentbased_traceidratio", "0.5", &s, err, sizeof err));
    KT_ASSERT(kt_sampler_decide(&s, NULL, lo));
    KT_ASSERT(!kt_sampler_decide(&s, NULL, hi));
    KT_ASSERT(kt_sampler_decide(&s, &parent_on, hi));   /* the parent decides */
    KT_ASSERT(kt_sampler_parse("traceidratio", "0", &s, err, sizeof err));
    KT_ASSERT(!kt_sampler_decide(&s, &parent_on, lo));   /* not parent-based */
    KT_ASSERT(kt_sampler_parse("always_off", NULL, &s, err, sizeof err));
    KT_ASSERT(!kt_sampler_decide(&s, &parent_on, lo));
    KT_ASSERT(!kt_sampler_parse("sometimes", NULL, &s, err, sizeof err));
    KT_ASSERT(!kt_sampler_parse("traceidratio", "1.5", &s, err, sizeof err));
    KT_ASSERT(!kt_sampler_parse("traceidratio", "x", &s, err, sizeof err));
    /* about half of random trace ids at 0.5 */
    KT_ASSERT(kt_sampler_parse("traceidratio", "0.5", &s, err, sizeof err));
    int kept = 0;
    uint8_t id[16];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 2000; i++) {
        for (int k = 0; k < 16; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;   /* test data only */
            id[k] = (uint8_t)x;
        }
        kept += kt_sampler_decide(&s, NULL, id);
    }
    KT_ASSERT(kept > 850 && kept < 1150);
}

typedef struct fake_env {
    const char *const *kv;
} fake_env;

static const char *get(void *ud, const char *name)
{
    const fake_env *e = ud;
    for (size_t i = 0; e->kv[i]; i += 2)
        if (strcmp(e->kv[i], name) == 0) return e->kv[i + 1];
    return NULL;
}

KT_TEST(options_from_env)
{
    char err[200];
    kt_tracer_opts o;
    const char *none[] = { NULL };
    fake_env e0 = { none };
    KT_ASSERT(kt_tracer_opts_from_env((kt_env){ get, &e0 }, &o, err, sizeof err));
    KT_ASSERT(o.endpoint == NULL);   /* off */
    kt_tracer_opts_free(&o);
    const char *kv[] = { "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/",
                         "OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b, x-t=1",
                         "OTEL_RESOURCE_ATTRIBUTES", "service.name=svc,env=prod%2C1",
                         "OTEL_TRACES_SAMPLER", "parentbased_traceidratio",
                         "OTEL_TRACES_SAMPLER_ARG", "0.25", NULL };
    fake_env e1 = { kv };
    KT_ASSERT(kt_tracer_opts_from_env((kt_env){ get, &e1 }, &o, err, sizeof err));
    KT_ASSERT_EQ_STR(o.endpoint, "http://c:4318/v1/traces");
    KT_ASSERT_EQ_STR(o.headers, "api-key: a b\r\nx-t: 1\r\n");
    KT_ASSERT_EQ_STR(o.service_name, "svc");
    KT_ASSERT(o.resource_json && strstr(o.resource_json, "\"prod,1\"") != NULL);
    KT_ASSERT(strstr(o.resource_json, "service.name") == NULL);
    KT_ASSERT_EQ_INT(o.sampler.kind, KT_SAMPLER_PARENT_RATIO);
    KT_ASSERT(o.sampler.ratio == 0.25);
    kt_tracer_opts_free(&o);
    const char *kv2[] = { "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318",
                          "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom",
                          "OTEL_SERVICE_NAME", "named", NULL };
    fake_env e2 = { kv2 };
    KT_ASSERT(kt_tracer_opts_from_env((kt_env){ get, &e2 }, &o, err, sizeof err));
    KT_ASSERT_EQ_STR(o.endpoint, "http://t:1/custom");
    KT_ASSERT_EQ_STR(o.service_name, "named");
    kt_tracer_opts_free(&o);
    const char *bad[] = { "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318",
                          "OTEL_EXPORTER_OTLP_HEADERS", "x=a%0d%0aInjected: 1", NULL };
    fake_env e3 = { bad };
    KT_ASSERT(!kt_tracer_opts_from_env((kt_env){ get, &e3 }, &o, err, sizeof err));
    const char *off[] = { "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318",
                          "OTEL_TRACES_EXPORTER", "none", NULL };
    fake_env e4 = { off };
    KT_ASSERT(kt_tracer_opts_from_env((kt_env){ get, &e4 }, &o, err, sizeof err));
    KT_ASSERT(o.endpoint == NULL);
    kt_tracer_opts_free(&o);
}

KT_TEST(span_json_is_otlp)
{
    kt_span s;
    kt_span_init(&s, "chat \"m\"", KT_SPAN_CLIENT);
    memset(s.trace_id, 0xab, 16);
    memset(s.span_id, 0x01, 8);
    memset(s.parent_id, 0x02, 8);
    s.has_parent = true;
    s.start_ns = 1700000000123456789ull;
    s.end_ns = 1700000000223456789ull;
    s.status = KT_SPAN_ERROR;
    s.status_msg = "upstream_error";
    const char *pol[] = { "pii=redact", "dlp=allow" };
    KT_ASSERT_EQ_INT(kt_span_attr_str(&s, "gen_ai.request.model", "gpt-4o"), 0);
    KT_ASSERT_EQ_INT(kt_span_attr_str(&s, "empty", ""), 0);
    KT_ASSERT_EQ_INT(kt_span_attr_int(&s, "gen_ai.usage.input_tokens", 9), 0);
    KT_ASSERT_EQ_INT(kt_span_attr_double(&s, "kt.cost_usd", 0.5), 0);
    KT_ASSERT_EQ_INT(kt_span_attr_strs(&s, "kt.policies", pol, 2), 0);
    kt_buf b;
    kt_buf_init(&b, 1 << 16);
    KT_ASSERT_EQ_INT(kt_span_json(&s, &b), 0);
    cJSON *j = cJSON_Parse(b.p);
    KT_ASSERT(j != NULL);
    KT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "traceId")->valuestring, "abababababababababababababababab");
    KT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "parentSpanId")->valuestring, "0202020202020202");
    KT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "name")->valuestring, "chat \"m\"");
    KT_ASSERT_EQ_INT(cJSON_GetObjectItem(j, "kind")->valueint, 3);
    KT_ASSERT_EQ_STR(cJSON_GetObjectItem(j, "startTimeUnixNano")->valuestring, "1700000000123456789");
    cJSON *attrs = cJSON_GetObjectItem(j, "attributes");
    KT_ASSERT_EQ_INT(cJSON_GetArraySize(attrs), 4);
    cJSON *tok = cJSON_GetArrayItem(attrs, 1);
    KT_ASSERT_EQ_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(tok, "value"), "intValue")->valuestring, "9");
    KT_ASSERT_EQ_INT(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "status"), "code")->valueint, 2);
    cJSON_Delete(j);
    /* the attribute buffer is capped: an attribute is added whole or not at all */
    char big[KT_SPAN_ATTRS_MAX];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    size_t before = s.attrs.len;
    KT_ASSERT(kt_span_attr_str(&s, "big", big) != 0);
    KT_ASSERT_EQ_INT(s.attrs.len, before);
    kt_buf_free(&b);
    kt_span_free(&s);
}

KT_TEST(response_facts_any_split)
{
    static const char body[] =
        "data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"delta\":"
        "{\"content\":\"say \\\"model\\\":\\\"fake\\\"\"},\"finish_reason\":null}]}\n\n"
        "data: {\"model\": \"other\",\"choices\":[{\"finish_reason\" : \"length\"},"
        "{\"finish_reason\":\"stop\"},{\"finish_reason\":\"stop\"}]}\n\n"
        "event: message_delta\ndata: {\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n";
    size_t n = sizeof body - 1;
    for (size_t step = 1; step <= n; step += (step < 8 ? 1 : 37)) {
        kt_resp_sniff s;
        memset(&s, 0, sizeof s);
        for (size_t off = 0; off < n; off += step)
            kt_resp_sniff_feed(&s, body + off, off + step > n ? n - off : step);
        KT_ASSERT_EQ_STR(s.model, "gpt-4o-mini-2024-07-18");
        KT_ASSERT_EQ_INT(s.nreasons, 3);
        KT_ASSERT_EQ_STR(s.reasons[0], "length");
        KT_ASSERT_EQ_STR(s.reasons[1], "stop");
        KT_ASSERT_EQ_STR(s.reasons[2], "end_turn");
    }
}

int main(void)
{
    KT_RUN(traceparent_valid_and_invalid);
    KT_RUN(b3_single_and_multi);
    KT_RUN(headers_precedence);
    KT_RUN(samplers);
    KT_RUN(options_from_env);
    KT_RUN(span_json_is_otlp);
    KT_RUN(response_facts_any_split);
    return KT_DONE();
}
