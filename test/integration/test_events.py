"""Decision events and metrics: a stand-in control plane (HTTP and TLS) receives batched,
authenticated events with the right verdicts and no PII or key; outages lose nothing and do not
slow requests; a small ring drops the oldest with an exact count; the spool survives a restart and
a SIGKILL (every event delivered or counted), replays in order and stays within its bound; a slow
control plane sees duplicates it can de-duplicate by batch id and event id; SIGTERM flushes;
/metrics passes `promtool check metrics`."""
import json
import re
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import unittest

from control_plane import ControlPlane
from harness import (ALL_SECRETS, CLIENT_KEY, ROOT, Kt, closed_port, default_targets, kt_bin,
                     to_yaml, DEFAULT_GATEWAY)
from mock_upstream import MockUpstream
from pki import shared_pki

TOKEN = "kt-gw-token-4f1e9a7c2b6d"
EMAIL = "alice.smith@example.org"
KEYWORD = "project-bluebird"


def traceparent(i):
    return "00-%032x-%016x-01" % (0xabc0000 + i, 0x1000 + i), "%032x" % (0xabc0000 + i)


def events_config(mock, events=None, targets=None, policies=True, **gateway):
    gw = dict(DEFAULT_GATEWAY)
    gw.update(gateway)
    gw["events"] = events or {}
    doc = {"pack": {"name": "evtest", "version": "2.1.0"}, "gateway": gw,
           "providers": {"targets": targets or default_targets(mock.url)}}
    if policies:
        doc["policies"] = {"chain": ["pii-detector", "dlp-filter"]}
        doc["policy"] = {"pii-detector": {"action": "redact", "entities": ["email"]},
                         "dlp-filter": {"action": "block", "keywords": [KEYWORD]}}
    return to_yaml(doc) + "\n"


def chat_body(text, model="gpt-4o-mini", **extra):
    d = {"model": model, "messages": [{"role": "user", "content": text}]}
    d.update(extra)
    return json.dumps(d).encode()


def send(kt, i, text="hello there", headers=None, **kw):
    tp, tid = traceparent(i)
    h = {"Content-Type": "application/json", "traceparent": tp,
         "Authorization": "Bearer " + CLIENT_KEY}
    h.update(headers or {})
    t0 = time.monotonic()
    st, _, body = kt.request("POST", "/v1/chat/completions", body=chat_body(text, **kw), headers=h)
    return st, tid, time.monotonic() - t0, body


def by_trace(events):
    return {e["trace_id"]: e for e in events if e.get("trace_id")}


class _Base(unittest.TestCase):
    tls = False
    events = {}
    gateway = {}

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(kt_bin()):
            raise unittest.SkipTest("kt binary not found")
        cls.pki = shared_pki()
        cls.mock = MockUpstream(cls.pki.good_cert, cls.pki.good_key).start()
        cls.cp = ControlPlane(*((cls.pki.good_cert, cls.pki.good_key) if cls.tls else ())).start()
        cls.dir = tempfile.mkdtemp(prefix="kt-ev-")
        cls.kt = cls.start_kt()

    extra_env = {}

    @classmethod
    def start_kt(cls):
        env = {"KEEPTRUSTS_API_URL": cls.cp.url, "KEEPTRUSTS_GATEWAY_TOKEN": TOKEN}
        env.update(cls.extra_env)
        return Kt(events_config(cls.mock, events=cls.events_opts(), targets=cls.targets(),
                                **cls.gateway), env=env).start()

    @classmethod
    def events_opts(cls):
        return dict(cls.events)

    @classmethod
    def targets(cls):
        return None

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.kt:
                cls.kt.stop()
                assert TOKEN not in cls.kt.stderr(), "gateway token in kt's stderr"
                assert "loop_close" not in cls.kt.stderr(), "handles left open at exit"
        finally:
            cls.cp.stop()
            cls.mock.stop()
            shutil.rmtree(cls.dir, ignore_errors=True)

    def assert_clean_payloads(self):
        for raw in self.cp.raw_payloads():
            for s in ALL_SECRETS + (EMAIL, KEYWORD, TOKEN):
                self.assertNotIn(s.encode(), raw, "%s... in an event payload" % s[:8])


class TestEventsDelivery(_Base):
    tls = True
    events = {"batch_size": 5, "flush_interval": "200ms"}

    @classmethod
    def targets(cls):
        t = default_targets(cls.mock.url)
        t.append({"id": "dead", "provider": "openai", "model": "gpt-dead",
                  "base_url": "http://127.0.0.1:%d/v1" % closed_port(),
                  "secret_key_ref": {"env": "OPENAI_API_KEY"}})
        return t

    def test_1_verdicts_batched_authenticated_no_pii(self):
        sent = {}
        for i in range(10):
            st, tid, _, _ = send(self.kt, i)
            self.assertEqual(st, 200)
            sent[tid] = "allow"
        st, tid, _, _ = send(self.kt, 100, "mail me at %s or %s please" % (EMAIL, EMAIL))
        self.assertEqual(st, 200)
        sent[tid] = "redact"
        st, tid, _, body = send(self.kt, 101, "tell me about %s now" % KEYWORD)
        self.assertEqual(st, 409, body)
        sent[tid] = "block"
        st, tid, _, _ = send(self.kt, 102, "x", headers={"x-keeptrusts-target": "dead"})
        self.assertEqual(st, 502)
        sent[tid] = "error"
        got = by_trace(self.cp.wait_events(len(sent)))
        self.assertEqual(set(sent) - set(got), set(), "events missing")
        with self.cp.lock:
            batches = list(self.cp.batches)
        self.assertTrue(all(b["auth"] == "Bearer " + TOKEN for b in batches))
        self.assertTrue(any(len(b["doc"]["events"]) > 1 for b in batches), "never batched")
        self.assertTrue(all(len(b["doc"]["events"]) <= 5 for b in batches), "batch_size exceeded")
        for tid, want in sent.items():
            e = got[tid]
            self.assertEqual(e["event_type"], "decision")
            self.assertRegex(e["id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            self.assertRegex(e["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertEqual(e["config_version"], "evtest@2.1.0")
            self.assertTrue(e["config_hash"].startswith("sha256:"))
            self.assertIsInstance(e["latency_ms"], int)
            names = [p["name"] for p in e["policies_evaluated"]]
            self.assertEqual(names, ["pii-detector", "dlp-filter"])
            if want == "allow":
                self.assertEqual((e["verdict"], e["status"], e["reason_code"]), ("allow", 200, None))
                self.assertEqual((e["model"], e["provider"], e["target"]),
                                 ("gpt-4o-mini", "openai", "openai-main"))
            elif want == "redact":
                self.assertEqual((e["verdict"], e["status"]), ("redact", 200))
                pii = e["policies_evaluated"][0]
                self.assertEqual(pii["result"], "redact")
                self.assertEqual(pii["entities_found"], {"email": 2})
                self.assertEqual(e["model"], "gpt-4o-mini")   # noted by the input walk
            elif want == "block":
                self.assertEqual((e["verdict"], e["status"], e["reason_code"]),
                                 ("block", 409, "input_blocked"))
                self.assertEqual(e["block_policy"], "dlp-filter")
                self.assertEqual(e["model"], "gpt-4o-mini")   # the walk stopped: parsed again
            else:
                self.assertEqual((e["status"], e["reason_code"], e["target"]),
                                 (502, "upstream_connect", "dead"))
        self.assertEqual(len({e["id"] for e in self.cp.events()}), len(self.cp.events()))
        self.assert_clean_payloads()

    def test_2_tokens_cost_consumer(self):
        st, tid, _, _ = send(self.kt, 200, "hi", user=EMAIL)
        self.assertEqual(st, 200)
        tp, tid2 = traceparent(201)
        st, _, body = self.kt.request(
            "POST", "/v1/chat/completions",
            body=chat_body("hi", stream=True, stream_options={"include_usage": True}),
            headers={"Content-Type": "application/json", "traceparent": tp,
                     "x-keeptrusts-consumer": "team-alpha"})
        self.assertEqual(st, 200)
        got = by_trace(self.cp.wait_events(len(self.cp.events()) + 2))
        for t in (tid, tid2):
            self.assertIn(t, got)
            e = got[t]
            self.assertEqual((e["input_tokens"], e["output_tokens"]), (9, 5), e)
            self.assertAlmostEqual(e["cost_usd"], (9 * 0.15 + 5 * 0.60) / 1e6, places=9)
        self.assertTrue(got[tid]["consumer"].startswith("user-sha256:"))
        self.assertEqual(got[tid2]["consumer"], "team-alpha")
        # the key found however it is spaced; a message role "user" is not a user key
        tp3, tid3 = traceparent(202)
        tp4, tid4 = traceparent(203)
        spaced = (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],'
                  b'"user"\n\t :  "' + EMAIL.encode() + b'"}')
        n0 = len(self.cp.events())
        for tp_, body_ in ((tp3, spaced), (tp4, chat_body("hi"))):
            st, _, _ = self.kt.request("POST", "/v1/chat/completions", body=body_,
                                       headers={"Content-Type": "application/json",
                                                "traceparent": tp_})
            self.assertEqual(st, 200)
        got = by_trace(self.cp.wait_events(n0 + 2))
        self.assertEqual(got[tid3]["consumer"], got[tid]["consumer"])
        self.assertIsNone(got[tid4]["consumer"])
        self.assert_clean_payloads()

    def test_3_promtool_after_mixed_traffic(self):
        subprocess.run(["sh", os.path.join(ROOT, "mk", "test-deps.sh"), "promtool"], check=True)
        send(self.kt, 300)
        send(self.kt, 301, "reach %s" % EMAIL)
        send(self.kt, 302, KEYWORD)
        send(self.kt, 303, "x", headers={"x-keeptrusts-target": "dead"})
        st, _, _ = self.kt.request("POST", "/keeptrusts/config/reload")
        self.assertEqual(st, 200)
        st, hdrs, body = self.kt.request("GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/plain"))
        # The watcher or the poll may check the same file again: at least the POST's one.
        m = re.search(r'keeptrusts_config_reloads_total\{result="unchanged"\} (\d+)', body.decode())
        self.assertTrue(m and int(m.group(1)) >= 1, body.decode()[-400:])
        text = body.decode()
        r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        for want in ('keeptrusts_requests_total{target="openai-main",model="gpt-4o-mini",status="200"}',
                     'status="409"', 'status="502"',
                     'keeptrusts_redactions_total{entity="email"}',
                     'keeptrusts_blocks_total{reason="input_blocked",policy="dlp-filter"}',
                     'keeptrusts_policy_evaluations_total{policy="pii-detector",result="redact"}',
                     'keeptrusts_tokens_total{direction="input",model="gpt-4o-mini"}',
                     'keeptrusts_cost_usd_total{model="gpt-4o-mini"}',
                     'keeptrusts_request_duration_seconds_bucket{le="+Inf"}',
                     'keeptrusts_gateway_overhead_seconds_count',
                     'keeptrusts_upstream_latency_seconds_count{phase="tls"}',
                     'keeptrusts_events_sent_total', 'keeptrusts_events_dropped_total 0',
                     'keeptrusts_config_reloads_total{result="failure"} 0',
                     'keeptrusts_active_streams', 'keeptrusts_events_queued_bytes',
                     'keeptrusts_resident_memory_bytes', 'keeptrusts_active_connections',
                     'keeptrusts_policy_cache_hits_total', 'keeptrusts_policy_cache_misses_total'):
            self.assertIn(want, text)
        for s in ALL_SECRETS + (EMAIL, KEYWORD, TOKEN):
            self.assertNotIn(s, text)


def steady(kt, start, n, rate, out, text="steady"):
    """n requests at `rate` per second from one thread; appends (trace id, latency) to out."""
    for i in range(n):
        t = time.monotonic()
        st, tid, lat, _ = send(kt, start + i, text)
        if st == 200:
            out.append((tid, lat))
        time.sleep(max(0, 1.0 / rate - (time.monotonic() - t)))


class TestOutageLosesNothing(_Base):
    events = {"batch_size": 10, "flush_interval": "100ms", "max_backoff": "400ms", "timeout": "1s"}

    def test_outage(self):
        before, during, after = [], [], []
        steady(self.kt, 0, 60, 30, before)
        self.cp.wait_events(60)
        self.cp.set_mode("down")
        steady(self.kt, 1000, 120, 30, during)          # ~4 s of outage under traffic
        self.cp.set_mode("ok")
        steady(self.kt, 2000, 30, 30, after)
        sent = {t for t, _ in before + during + after}
        self.assertEqual(len(sent), 210)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not sent <= set(by_trace(self.cp.events())):
            time.sleep(0.1)
        got = self.cp.events()
        self.assertEqual(sent - set(by_trace(got)), set(), "events lost in the outage")
        self.assertEqual(len({e["id"] for e in got}), len(got), "duplicate ids")
        self.assertEqual(self.cp.dropped(), 0)
        p50_before = statistics.median(l for _, l in before)
        p50_during = statistics.median(l for _, l in during)
        self.assertLess(p50_during, p50_before * 2 + 0.010,
                        "p50 %.1f ms during the outage vs %.1f ms before"
                        % (p50_during * 1e3, p50_before * 1e3))


class TestRetryAfterAndTimeout(_Base):
    events = {"batch_size": 1, "flush_interval": "50ms", "max_backoff": "200ms", "timeout": "500ms"}

    def test_retry_after_honoured(self):
        self.cp.set_mode("down", retry_after=2)
        with self.cp.lock:
            a0 = self.cp.attempts
        self.assertEqual(send(self.kt, 1)[0], 200)
        time.sleep(1.5)
        with self.cp.lock:
            tries = self.cp.attempts - a0
        # Without Retry-After, a 200 ms backoff cap would mean ~8+ attempts in 1.5 s.
        self.assertEqual(tries, 1, "Retry-After: 2 not honoured (%d attempts)" % tries)
        self.cp.set_mode("ok")
        self.assertIn(traceparent(1)[1], by_trace(self.cp.wait_events(1, timeout=5)))

    def test_slow_control_plane_times_out_and_requests_stay_fast(self):
        n0 = len(self.cp.events())
        self.cp.hang_seconds = 3.0
        self.cp.set_mode("hang")
        lat = [send(self.kt, 50 + i)[2] for i in range(10)]
        self.assertLess(max(lat), 0.5, "a request waited on the control plane")
        time.sleep(1.2)
        with self.cp.lock:
            tries = self.cp.attempts
        self.cp.set_mode("ok")
        got = by_trace(self.cp.wait_events(n0 + 10, timeout=10))
        self.assertTrue({traceparent(50 + i)[1] for i in range(10)} <= set(got))
        self.assertGreaterEqual(tries, 2, "no retry after the per-attempt timeout")


class TestSmallRingDropsOldest(_Base):
    events = {"batch_size": 5, "flush_interval": "50ms", "ring_bytes": "8KiB",
              "max_backoff": "300ms", "timeout": "1s"}
    # RSS is the bound checked below; under ASan freed memory waits in a quarantine (256 MB by
    # default) and makes RSS follow the bytes allocated, not the bytes held: keep it small.
    extra_env = {"ASAN_OPTIONS": "detect_leaks=1:quarantine_size_mb=1"}

    def test_drop_oldest_exact_count(self):
        self.cp.set_mode("down")
        time.sleep(0.2)
        rss0 = self.kt.rss_kb()
        n = 400
        lat = []
        for i in range(n):
            st, _, l, _ = send(self.kt, i)
            self.assertEqual(st, 200)
            lat.append(l)
        rss1 = self.kt.rss_kb()
        st, _, body = self.kt.request("GET", "/metrics")
        m = {l.split(" ")[0]: float(l.split(" ")[1]) for l in body.decode().splitlines()
             if l and not l.startswith("#") and "{" not in l}
        self.assertLessEqual(m["keeptrusts_events_queued_bytes"], 8 * 1024 + 64 * 1024)
        self.cp.set_mode("ok")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(self.cp.events()) + self.cp.dropped() < n:
            time.sleep(0.1)
        time.sleep(0.5)
        got = by_trace(self.cp.events())
        dropped = self.cp.dropped()
        self.assertGreater(dropped, 300)
        self.assertEqual(len(got) + dropped, n, "received + reported drops != sent")
        # The newest survive; what was lost is older than everything kept after it.
        newest = traceparent(n - 1)[1]
        self.assertIn(newest, got)
        kept = sorted(int(t, 16) - 0xabc0000 for t in got)
        tail = kept[-(len(kept) - 5):]      # the first batch was already in flight
        self.assertEqual(tail, list(range(n - len(tail), n)), "not the oldest dropped")
        st, _, body = self.kt.request("GET", "/metrics")
        self.assertIn("keeptrusts_events_dropped_total %d" % dropped, body.decode())
        self.assertLess(rss1 - rss0, 16 * 1024, "RSS grew %d KiB during the outage" % (rss1 - rss0))


class TestSpoolSurvivesRestart(_Base):
    gateway = {"shutdown_deadline": "2s"}

    @classmethod
    def events_opts(cls):
        return {"batch_size": 10, "flush_interval": "100ms", "ring_bytes": "8KiB",
                "max_backoff": "300ms", "timeout": "1s", "spool_dir": os.path.join(cls.dir, "spool")}

    def test_spool_restart(self):
        self.cp.set_mode("down")
        n = 80
        for i in range(n):
            self.assertEqual(send(self.kt, i)[0], 200)
        self.kt.stop()          # SIGTERM mid-outage: what is queued goes to the spool
        self.assertNotIn("loop_close", self.kt.stderr())
        self.assertNotIn("events_lost", self.kt.stderr())
        spool = os.path.join(self.dir, "spool")
        segs = wal_files(spool)
        self.assertTrue(segs, "nothing spooled")
        on_disk = b""
        for f in segs:
            with open(os.path.join(spool, f), "rb") as fh:
                on_disk += fh.read()
        for s in ALL_SECRETS + (EMAIL, TOKEN):
            self.assertNotIn(s.encode(), on_disk)
        self.assertEqual(self.cp.events(), [])
        self.cp.set_mode("ok")
        type(self).kt = self.start_kt()
        got = self.cp.wait_events(n, timeout=10)
        ids = [e["id"] for e in got]
        self.assertEqual(len(ids), len(set(ids)), "duplicate ids after replay")
        self.assertEqual({traceparent(i)[1] for i in range(n)}, set(by_trace(got)))
        self.assertEqual(self.cp.dropped(), 0)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and wal_files(spool):
            time.sleep(0.1)
        self.assertEqual(wal_files(spool), [])


def wal_files(spool):
    return sorted(f for f in os.listdir(spool) if f.startswith("wal-") and f.endswith(".log"))


def trace_index(e):
    return int(e["trace_id"], 16) - 0xabc0000


def wait_accounted(cp, n, timeout=20):
    """Until delivered (by id) + reported drops (by batch id) reach n; then a moment more, so
    anything extra would show."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(cp.unique_events()) + cp.dropped_unique() < n:
        time.sleep(0.05)
    time.sleep(0.5)
    got, dropped = cp.unique_events(), cp.dropped_unique()
    if os.environ.get("KT_TEST_VERBOSE"):
        print("\n  produced %d: delivered %d (%d received with duplicates), dropped %d"
              % (n, len(got), len(cp.events()), dropped))
    return got, dropped


class _SpoolBase(_Base):
    spool = {}

    @classmethod
    def events_opts(cls):
        o = {"batch_size": 20, "flush_interval": "50ms", "max_backoff": "200ms", "timeout": "1s",
             "spool_dir": os.path.join(cls.dir, "spool")}
        o.update(cls.spool)
        return o

    def restart_after_sigkill(self):
        self.kt.proc.send_signal(signal.SIGKILL)
        self.kt.wait(5)
        self.kt.kill()   # closes its stderr file
        self.assertEqual(self.kt.returncode, -signal.SIGKILL)
        type(self).kt = self.start_kt()


class TestSigkillUnwrittenEventsCounted(_SpoolBase):
    def wait_queued(self, want, timeout=10):
        deadline = time.monotonic() + timeout
        queued = None
        while time.monotonic() < deadline:
            st, _, body = self.kt.request("GET", "/metrics")
            for line in body.decode().splitlines():
                if line.startswith("keeptrusts_events_queued "):
                    queued = float(line.split()[1])
            if queued is not None and queued >= want:
                return
            time.sleep(0.02)
        self.fail("events queued %s, want %d" % (queued, want))

    # A long commit interval: events accepted during the outage are still in memory at the kill.
    spool = {"spool_commit_interval": "10s"}

    def test_sigkill_delivered_plus_dropped_is_produced(self):
        n0, n = 60, 300
        for i in range(n0):
            self.assertEqual(send(self.kt, i)[0], 200)
        self.cp.wait_events(n0)
        self.cp.set_mode("down")
        for i in range(n0, n):
            self.assertEqual(send(self.kt, i)[0], 200)
        # An exchange's event is produced when it finishes, just after its last bytes were
        # written: wait until all are produced (queued), so the kill lands after every one.
        self.wait_queued(n - n0)
        self.restart_after_sigkill()
        self.cp.set_mode("ok")
        got, dropped = wait_accounted(self.cp, n)
        self.assertEqual(len(got) + dropped, n, "delivered %d + dropped %d != produced %d"
                         % (len(got), dropped, n))
        self.assertGreater(dropped, 0, "nothing was lost uncommitted: the test tests nothing")
        self.assertTrue({e["trace_id"] for e in got} <= {traceparent(i)[1] for i in range(n)})
        self.assertIn("events_recovered", self.kt.stderr())
        # in order: the batches before the kill, then the replay
        idx = [trace_index(e) for e in got]
        self.assertEqual(idx, sorted(idx), "not delivered in the order produced")
        self.assert_clean_payloads()


class TestSigkillWrittenEventsDelivered(_SpoolBase):
    def test_sigkill_after_commit_loses_nothing(self):
        self.cp.set_mode("down")
        n = 200
        for i in range(n):
            self.assertEqual(send(self.kt, i)[0], 200)
        time.sleep(0.6)   # > spool_commit_interval (200 ms): every event is written
        self.restart_after_sigkill()
        self.cp.set_mode("ok")
        got, dropped = wait_accounted(self.cp, n)
        self.assertEqual(dropped, 0)
        self.assertEqual([trace_index(e) for e in got], list(range(n)),
                         "not every event, or not in order")
        self.assertNotIn("events_recovered", self.kt.stderr())
        deadline = time.monotonic() + 5
        spool = os.path.join(self.dir, "spool")
        while time.monotonic() < deadline and wal_files(spool):
            time.sleep(0.1)
        self.assertEqual(wal_files(spool), [], "acknowledged segments not deleted")


class TestSpoolBoundDropsOldestCounted(_SpoolBase):
    spool = {"batch_size": 10, "spool_max_bytes": "64KiB"}

    def test_spool_cap(self):
        self.cp.set_mode("down")
        time.sleep(0.2)
        n = 400   # ~900 bytes each: far more than 64 KiB
        for i in range(n):
            self.assertEqual(send(self.kt, i)[0], 200)
        time.sleep(0.3)
        spool = os.path.join(self.dir, "spool")
        size = sum(os.path.getsize(os.path.join(spool, f)) for f in wal_files(spool))
        self.assertLessEqual(size, 64 * 1024)
        self.cp.set_mode("ok")
        got, dropped = wait_accounted(self.cp, n)
        self.assertEqual(len(got) + dropped, n, "delivered %d + dropped %d != produced %d"
                         % (len(got), dropped, n))
        self.assertGreater(dropped, 200)
        idx = [trace_index(e) for e in got]
        self.assertEqual(idx, sorted(idx))
        # the newest survive: after the batch that was in flight, a contiguous run up to the last
        tail = [i for i in idx if i >= 10]
        self.assertEqual(tail, list(range(n - len(tail), n)), "not the oldest dropped")
        self.assertIn("events_spool_full", self.kt.stderr())


class TestSlowControlPlaneDeduplicates(_Base):
    events = {"batch_size": 10, "flush_interval": "50ms", "max_backoff": "200ms",
              "timeout": "300ms"}

    def test_duplicates_share_batch_and_event_ids(self):
        self.cp.hang_seconds = 0.6   # it keeps every batch, but answers after kt gave up
        self.cp.set_mode("slow")
        n = 60
        for i in range(n):
            self.assertEqual(send(self.kt, i)[0], 200)
        time.sleep(2.0)
        self.cp.set_mode("ok")
        sent = {traceparent(i)[1] for i in range(n)}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not sent <= set(by_trace(self.cp.unique_events())):
            time.sleep(0.05)
        time.sleep(1.0)   # the slow answers still on their way
        with self.cp.lock:
            batches = list(self.cp.batches)
        self.assertGreater(sum(len(b["doc"]["events"]) for b in batches), n,
                           "the slow control plane received no duplicates")
        copies = {}
        for b in batches:
            doc = b["doc"]
            self.assertTrue("batch_id" in doc, "a batch without batch_id")
            self.assertRegex(doc["batch_id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                                              r"[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            self.assertEqual(b["key"], doc["batch_id"], "Idempotency-Key != batch_id")
            copies.setdefault(doc["batch_id"], []).append(
                ([e["id"] for e in doc["events"]], doc["dropped"], b["raw"]))
        self.assertTrue(any(len(c) > 1 for c in copies.values()))
        owner = {}
        for bid, cs in copies.items():
            for ids, dropped, raw in cs:   # a retry is the same batch, byte for byte
                self.assertEqual(raw, cs[0][2])
            for eid in cs[0][0]:
                self.assertNotIn(eid, owner, "one event in two batches")
                owner[eid] = bid
        got = self.cp.unique_events()
        if os.environ.get("KT_TEST_VERBOSE"):
            print("\n  produced %d: received %d in %d batches (%d batch ids), %d after de-duplication"
                  % (n, len(self.cp.events()), len(batches), len(copies), len(got)))
        self.assertEqual(len(got), n)
        self.assertEqual(set(by_trace(got)), sent)
        self.assertEqual(self.cp.dropped_unique(), 0)


class TestSigtermWithHangingControlPlane(_SpoolBase):
    def test_sigterm_exits_in_time_and_keeps_events(self):
        self.cp.hang_seconds = 60
        self.cp.set_mode("hang")
        n = 30
        for i in range(n):
            self.assertEqual(send(self.kt, i)[0], 200)
        t0 = time.monotonic()
        self.kt.stop()
        elapsed = time.monotonic() - t0
        # drain_period 1 s + shutdown_deadline 5 s (harness defaults)
        self.assertLess(elapsed, 6.5, "SIGTERM took %.1f s" % elapsed)
        self.assertNotIn("events_lost", self.kt.stderr())
        self.assertIn("events_spooled", self.kt.stderr())
        self.cp.set_mode("ok")
        type(self).kt = self.start_kt()
        got, dropped = wait_accounted(self.cp, n)
        self.assertEqual((len(got), dropped), (n, 0))


class TestSigtermFlushes(_Base):
    events = {"batch_size": 1000, "flush_interval": "60s"}

    def test_sigterm_flush(self):
        for i in range(7):
            self.assertEqual(send(self.kt, i)[0], 200)
        time.sleep(0.3)
        self.assertEqual(self.cp.events(), [], "sent before the batch or interval was reached")
        self.kt.stop()
        self.assertEqual(len(self.cp.events()), 7)
        self.assertNotIn("loop_close", self.kt.stderr())
        type(self).kt = None


class TestStandaloneStderr(unittest.TestCase):
    def test_stderr_and_disabled(self):
        pki = shared_pki()
        mock = MockUpstream(pki.good_cert, pki.good_key).start()
        try:
            kt = Kt(events_config(mock)).start()
            send(kt, 1, "write to %s" % EMAIL)
            kt.stop()
            evs = [l for l in kt.log_lines() if l.get("event_type") == "decision"]
            self.assertEqual(len(evs), 1)
            self.assertEqual(evs[0]["verdict"], "redact")
            self.assertNotIn(EMAIL, kt.stderr())
            kt = Kt(events_config(mock, events={"enabled": False}, metrics={"enabled": False})).start()
            send(kt, 2)
            self.assertEqual(kt.request("GET", "/metrics")[0], 404)
            kt.stop()
            self.assertEqual([l for l in kt.log_lines() if l.get("event_type")], [])
        finally:
            mock.stop()


if __name__ == "__main__":
    unittest.main()
