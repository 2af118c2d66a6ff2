"""OpenTelemetry traces: kt exports OTLP/HTTP to a receiver that decodes every body with the
OpenTelemetry JavaScript project's generated protobuf code (test/compat/otlp_receiver.mjs; a
malformed export is answered 400 and fails these tests). Spans arrive with the right parent/child
ids and GenAI attributes; the caller's trace is continued from traceparent, b3 and X-B3-*, or a
new one is started; the upstream sees a traceparent whose parent is kt's attempt span; the
decision event's trace_id is the span's; ratio 0 exports nothing; with the collector down
requests are unaffected and drops are counted; no secret or prompt text is in any export."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from control_plane import ControlPlane
from harness import (ALL_SECRETS, CLIENT_KEY, DEFAULT_GATEWAY, ROOT, Kt, closed_port,
                     default_targets, kt_bin, to_yaml)
from mock_upstream import MockUpstream
from pki import shared_pki

COMPAT = os.path.join(ROOT, "test", "compat")
EMAIL = "carol.jones@example.org"
SECRET_WORD = "project-nightjar"
OTLP_TOKEN = "otlp-bearer-9d2c7a51e3"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def npm_ready():
    """The receiver needs test/compat's node_modules (the committed lockfile, as run_all.py)."""
    mod = os.path.join(COMPAT, "node_modules", "@opentelemetry", "otlp-transformer")
    if not os.path.isdir(mod):
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=COMPAT, capture_output=True, text=True)
        if r.returncode != 0:
            # e.g. the Debian 13 root of `make debian13`, where npm cannot reach its registry:
            # the receiver cannot run there, and the host's `make test` runs these tests
            raise unittest.SkipTest("the OTLP receiver needs test/compat's npm packages and npm "
                                    "ci failed: " + (r.stderr.strip().splitlines() or ["?"])[0])


class Receiver:
    """node otlp_receiver.mjs on a free loopback port; its JSON lines are collected."""

    def __init__(self, mode="ok"):
        self.proc = subprocess.Popen(["node", os.path.join(COMPAT, "otlp_receiver.mjs"), "0", mode],
                                     cwd=COMPAT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        first = json.loads(self.proc.stdout.readline())
        self.port = first["listening"]
        self.url = "http://127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(json.loads(line))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)
        self.reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def errors(self):
        with self.lock:
            return [l for l in self.lines if not l.get("ok")]

    def requests(self):
        with self.lock:
            return [l for l in self.lines if l.get("ok")]

    def spans(self):
        out = []
        for r in self.requests():
            for rs in r["request"].get("resourceSpans", []):
                for ss in rs.get("scopeSpans", []):
                    for s in ss.get("spans", []):
                        s = dict(s)
                        s["resource"] = attrs(rs.get("resource", {}))
                        s["attrs"] = attrs(s)
                        out.append(s)
        return out

    def wait_spans(self, pred, n, timeout=10.0):
        end = time.monotonic() + timeout
        while True:
            got = [s for s in self.spans() if pred(s)]
            if len(got) >= n or time.monotonic() > end:
                return got
            time.sleep(0.05)


def value(v):
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return v["doubleValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "arrayValue" in v:
        return [value(x) for x in v["arrayValue"].get("values", [])]
    return None


def attrs(o):
    return {a["key"]: value(a["value"]) for a in o.get("attributes", [])}


def config(mock, telemetry=None, **gateway):
    gw = dict(DEFAULT_GATEWAY)
    gw.update(gateway)
    if telemetry:
        gw["telemetry"] = telemetry
    doc = {"pack": {"name": "trtest", "version": "1.2.0"}, "gateway": gw,
           "providers": {"targets": default_targets(mock.url)},
           "policies": {"chain": ["pii-detector", "dlp-filter"]},
           "policy": {"pii-detector": {"action": "redact", "entities": ["email"]},
                      "dlp-filter": {"action": "block", "keywords": [SECRET_WORD]}}}
    return to_yaml(doc) + "\n"


def chat(kt, text="hello there", headers=None, model="gpt-4o-mini", **extra):
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    body.update(extra)
    h = {"Content-Type": "application/json", "Authorization": "Bearer " + CLIENT_KEY}
    h.update(headers or {})
    st, _, b = kt.request("POST", "/v1/chat/completions", body=json.dumps(body).encode(), headers=h)
    return st, b


class _Base(unittest.TestCase):
    receiver_mode = "ok"
    env = {}

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(kt_bin()):
            raise unittest.SkipTest("kt binary not found")
        npm_ready()
        cls.pki = shared_pki()
        cls.mock = MockUpstream(cls.pki.good_cert, cls.pki.good_key).start()
        cls.rcv = Receiver(cls.receiver_mode)
        cls.cp = ControlPlane().start()
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": cls.rcv.url + "/",
               "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20" + OTLP_TOKEN + ",x-tenant=t1",
               "OTEL_SERVICE_NAME": "kt-sidecar", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test,k8s.pod.name=p%2D1",
               "OTEL_BSP_SCHEDULE_DELAY": "100",
               "KEEPTRUSTS_API_URL": cls.cp.url, "KEEPTRUSTS_GATEWAY_TOKEN": "cp-token-1"}
        env.update(cls.env)
        cls.kt = Kt(config(cls.mock, events={"batch_size": 1, "flush_interval": "100ms"}),
                    env=env).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.kt.stop()
        finally:
            cls.rcv.stop()
            cls.cp.stop()
            cls.mock.stop()

    def setUp(self):
        self.mock.reset()

    def tearDown(self):
        self.assertEqual(self.rcv.errors(), [], "the receiver refused an export")

    def metric(self, name):
        st, _, body = self.kt.request("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def trace_of(self, tid, n):
        return self.rcv.wait_spans(lambda s: s["traceId"] == tid, n)


class TestSpans(_Base):
    def test_1_span_tree_and_attributes(self):
        st, _ = chat(self.kt, "mail me at " + EMAIL, headers={
            "traceparent": "00-%s-%s-01" % (TRACE, PARENT), "tracestate": "rojo=00f067aa0ba902b7"},
            max_tokens=64)
        self.assertEqual(st, 200)
        spans = self.trace_of(TRACE, 4)
        by_name = {s["name"]: s for s in spans}
        self.assertEqual(len(spans), 4, [s["name"] for s in spans])
        server = by_name["POST chat"]
        self.assertEqual(server["kind"], 2)
        self.assertEqual(server["parentSpanId"], PARENT)   # continues the caller's span
        attempt = by_name["chat gpt-4o-mini"]
        self.assertEqual(attempt["kind"], 3)
        for n in ("kt.input_policies", "kt.output_policies", "chat gpt-4o-mini"):
            self.assertEqual(by_name[n]["parentSpanId"], server["spanId"], n)
        a = server["attrs"]
        self.assertEqual(a["gen_ai.operation.name"], "chat")
        self.assertEqual(a["gen_ai.provider.name"], "openai")
        self.assertEqual(a["gen_ai.request.model"], "gpt-4o-mini")
        self.assertEqual(a["gen_ai.request.max_tokens"], 64)
        self.assertEqual(a["gen_ai.usage.input_tokens"], 9)
        self.assertEqual(a["gen_ai.usage.output_tokens"], 5)
        self.assertEqual(a["gen_ai.response.model"], "gpt-4o-mini")
        self.assertEqual(a["gen_ai.response.finish_reasons"], ["stop"])
        self.assertEqual(attempt["attrs"]["gen_ai.response.finish_reasons"], ["stop"])
        self.assertEqual(a["kt.verdict"], "redact")
        self.assertEqual(a["kt.target"], "openai-main")
        self.assertIn("pii-detector=redact", a["kt.policies"])
        self.assertEqual(a["http.response.status_code"], 200)
        self.assertEqual(attempt["attrs"]["http.response.status_code"], 200)
        self.assertEqual(attempt["attrs"]["kt.attempt"], 1)
        self.assertEqual(server["resource"]["service.name"], "kt-sidecar")
        self.assertEqual(server["resource"]["k8s.pod.name"], "p-1")
        self.assertLessEqual(int(server["startTimeUnixNano"]), int(attempt["startTimeUnixNano"]))
        self.assertLessEqual(int(attempt["endTimeUnixNano"]), int(server["endTimeUnixNano"]))
        # the upstream's parent is kt's attempt span, in the caller's trace; tracestate kept
        up = self.mock.wait_requests(1)[0]
        self.assertEqual(up.header_all("traceparent"), ["00-%s-%s-01" % (TRACE, attempt["spanId"])])
        self.assertEqual(up.header("tracestate"), "rojo=00f067aa0ba902b7")
        # the export carries the configured headers
        hdrs = self.rcv.requests()[0]["headers"]
        self.assertEqual(hdrs.get("authorization"), "Bearer " + OTLP_TOKEN)
        self.assertEqual(hdrs.get("x-tenant"), "t1")
        # the decision event has the span's trace id
        ev = [e for e in self.cp.wait_events(1, timeout=5) if e.get("trace_id") == TRACE]
        self.assertEqual(len(ev), 1)

    def test_2_b3_single_continued(self):
        tid, sid = "80f198ee56343ba864fe8b2a57d3eff7", "e457b5a2e4d86bd1"
        st, _ = chat(self.kt, headers={"b3": "%s-%s-1" % (tid, sid)})
        self.assertEqual(st, 200)
        server = [s for s in self.trace_of(tid, 4) if s["kind"] == 2]
        self.assertEqual(len(server), 1)
        self.assertEqual(server[0]["parentSpanId"], sid)
        up = self.mock.wait_requests(1)[0]
        self.assertTrue(up.header("traceparent").startswith("00-%s-" % tid))
        ev = [e for e in self.cp.wait_events(3, timeout=5) if e.get("trace_id") == tid]
        self.assertEqual(len(ev), 1, "the B3-only request's event has the trace id")

    def test_3_b3_multi_continued(self):
        tid, sid = "a1b2c3d4e5f60718293a4b5c6d7e8f90", "1122334455667788"
        st, _ = chat(self.kt, headers={"X-B3-TraceId": tid, "X-B3-SpanId": sid,
                                       "X-B3-Sampled": "1"})
        self.assertEqual(st, 200)
        server = [s for s in self.trace_of(tid, 4) if s["kind"] == 2]
        self.assertEqual(len(server), 1)
        self.assertEqual(server[0]["parentSpanId"], sid)
        # a 64-bit B3 trace id is left-padded to 128 bits
        st, _ = chat(self.kt, headers={"X-B3-TraceId": "463ac35c9f6413ad",
                                       "X-B3-SpanId": "0020000000000001"})
        self.assertEqual(st, 200)
        self.assertEqual(len(self.trace_of("0000000000000000463ac35c9f6413ad", 4)), 4)

    def test_4_new_trace_when_none(self):
        before = {s["traceId"] for s in self.rcv.spans()}
        st, _ = chat(self.kt)
        self.assertEqual(st, 200)
        up = self.mock.wait_requests(1)[0]
        tp = up.header("traceparent")
        self.assertRegex(tp, r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")
        tid, parent = tp.split("-")[1], tp.split("-")[2]
        self.assertNotIn(tid, before)
        spans = self.trace_of(tid, 4)
        server = [s for s in spans if s["kind"] == 2][0]
        self.assertNotIn("parentSpanId", server)   # a root span
        attempt = [s for s in spans if s["kind"] == 3][0]
        self.assertEqual(attempt["spanId"], parent)

    def test_5_blocked_request_and_upstream_error(self):
        tid = "5" * 32
        st, _ = chat(self.kt, "about " + SECRET_WORD,
                     headers={"traceparent": "00-%s-%s-01" % (tid, PARENT)})
        self.assertEqual(st, 409)
        spans = self.trace_of(tid, 2)
        names = sorted(s["name"] for s in spans)
        self.assertEqual(names, ["POST chat", "kt.input_policies"])   # no attempt: not sent
        server = [s for s in spans if s["kind"] == 2][0]
        self.assertEqual(server["attrs"]["kt.verdict"], "block")
        self.assertEqual(server["attrs"]["http.response.status_code"], 409)
        tid = "6" * 32
        st, _ = chat(self.kt, headers={"traceparent": "00-%s-%s-01" % (tid, PARENT),
                                       "x-mock-mode": "fail"})
        spans = self.trace_of(tid, 4)
        attempt = [s for s in spans if s["kind"] == 3]
        self.assertEqual(len(attempt), 1)
        self.assertEqual(attempt[0]["attrs"]["http.response.status_code"], 500)
        self.assertEqual(attempt[0]["status"]["code"], 2)

    def test_7_stream_response_facts(self):
        tid = "8" * 32
        st, _ = chat(self.kt, headers={"traceparent": "00-%s-%s-01" % (tid, PARENT)}, stream=True)
        self.assertEqual(st, 200)
        server = [s for s in self.trace_of(tid, 4) if s["kind"] == 2][0]
        self.assertEqual(server["attrs"]["gen_ai.response.finish_reasons"], ["stop"])
        self.assertEqual(server["attrs"]["gen_ai.response.model"], "gpt-4o-mini")

    def test_6_unsampled_parent_not_exported(self):
        tid = "7" * 32
        st, _ = chat(self.kt, headers={"traceparent": "00-%s-%s-00" % (tid, PARENT)})
        self.assertEqual(st, 200)
        up = self.mock.wait_requests(1)[0]
        self.assertTrue(up.header("traceparent").endswith("-00"))
        time.sleep(0.5)
        self.assertEqual(self.trace_of(tid, 1), [])

    def test_9_no_secrets_or_text_in_exports(self):
        chat(self.kt, "secret " + EMAIL + " and " + SECRET_WORD)
        time.sleep(0.4)
        raw = "".join(r["raw"] for r in self.rcv.requests())
        self.assertTrue(raw)
        for s in ALL_SECRETS + (EMAIL, SECRET_WORD, "cp-token-1", "hello there", "mail me"):
            self.assertNotIn(s, raw, "%s... in a span export" % s[:8])
        self.assertNotIn(OTLP_TOKEN, self.kt.stderr())
        self.assertGreater(self.metric("keeptrusts_spans_sent_total"), 0)
        self.assertEqual(self.metric("keeptrusts_spans_dropped_total"), 0)


class TestRatioZero(_Base):
    env = {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}

    def test_ratio_zero_exports_nothing(self):
        for i in range(5):
            st, _ = chat(self.kt, headers={"traceparent": "00-%s-%s-01" % ("%032x" % (i + 1), PARENT)})
            self.assertEqual(st, 200)
        st, _ = chat(self.kt)
        self.assertEqual(st, 200)
        time.sleep(0.6)
        self.assertEqual(self.rcv.spans(), [])
        # kt records nothing: the caller's traceparent goes on unchanged; a new trace is marked
        # not sampled
        reqs = self.mock.wait_requests(6)
        self.assertEqual(reqs[0].header("traceparent"), "00-%032x-%s-01" % (1, PARENT))
        self.assertTrue(reqs[5].header("traceparent").endswith("-00"))


class TestCollectorDown(_Base):
    receiver_mode = "down"
    env = {"OTEL_BSP_MAX_QUEUE_SIZE": "2", "OTEL_EXPORTER_OTLP_TIMEOUT": "500"}

    def test_requests_unaffected_drops_counted(self):
        t0 = time.monotonic()
        for _ in range(20):
            st, _ = chat(self.kt)
            self.assertEqual(st, 200)
        self.assertLess(time.monotonic() - t0, 10)
        end = time.monotonic() + 5
        while self.metric("keeptrusts_spans_retries_total") == 0 and time.monotonic() < end:
            time.sleep(0.1)
        self.assertGreater(self.metric("keeptrusts_spans_dropped_total"), 0)
        self.assertGreater(self.metric("keeptrusts_spans_retries_total"), 0)
        self.assertIn("not delivered", self.kt.stderr())
        self.assertEqual(self.metric("keeptrusts_spans_sent_total"), 0)


class TestConfigWins(unittest.TestCase):
    """gateway.telemetry sets the same keys; a key set there wins over its variable."""

    def test_config_keys_win_over_env(self):
        npm_ready()
        pki = shared_pki()
        mock = MockUpstream(pki.good_cert, pki.good_key).start()
        rcv = Receiver()
        try:
            tel = {"exporter_otlp_endpoint": rcv.url, "service_name": "from-config",
                   "bsp_schedule_delay": "100"}
            kt = Kt(config(mock, telemetry=tel),
                    env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:%d" % closed_port(),
                         "OTEL_SERVICE_NAME": "from-env"}).start()
            try:
                st, _ = chat(kt, headers={"traceparent": "00-%s-%s-01" % (TRACE, PARENT)})
                self.assertEqual(st, 200)
                spans = rcv.wait_spans(lambda s: s["traceId"] == TRACE, 4)
                self.assertEqual(len(spans), 4)
                self.assertEqual(spans[0]["resource"]["service.name"], "from-config")
                self.assertEqual(rcv.errors(), [])
            finally:
                kt.stop()
        finally:
            rcv.stop()
            mock.stop()

    def test_bad_telemetry_config_rejected(self):
        d = tempfile.mkdtemp(prefix="kt-telcfg-")
        try:
            p = os.path.join(d, "c.yaml")
            with open(p, "w") as f:
                f.write("pack: {name: a, version: 1.0.0}\ngateway:\n  telemetry:\n"
                        "    traces_sampler: sometimes\n    no_such_key: 1\n")
            r = subprocess.run([kt_bin(), "policy", "validate", p], capture_output=True, text=True)
            out = r.stdout + r.stderr
            self.assertEqual(r.returncode, 1, out)
            self.assertIn("unknown sampler", out)
            self.assertIn("no_such_key", out)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class TestNoCollector(unittest.TestCase):
    """Nothing configured: no export, but the trace context still works (event and upstream)."""

    def test_off_without_endpoint(self):
        pki = shared_pki()
        mock = MockUpstream(pki.good_cert, pki.good_key).start()
        try:
            kt = Kt(config(mock), unset=("OTEL_EXPORTER_OTLP_ENDPOINT",
                                         "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")).start()
            try:
                tp = "00-%s-%s-01" % (TRACE, PARENT)
                st, _ = chat(kt, headers={"traceparent": tp})
                self.assertEqual(st, 200)
                # kt records nothing: the caller's traceparent goes on unchanged
                self.assertEqual(mock.wait_requests(1)[0].header_all("traceparent"), [tp])
                self.assertNotIn("OTLP", kt.stderr())
            finally:
                kt.stop()
        finally:
            mock.stop()


if __name__ == "__main__":
    unittest.main()
