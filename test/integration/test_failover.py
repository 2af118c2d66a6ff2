"""Failover between targets, circuit breaking and the retry budget (issue 15).

Every trigger moves a request to the target's fallback while nothing reached the client: a
refused connection, a TLS failure, no first byte before the timeout, a 429 or 5xx. A 400, or a
failure after the response began, is not retried. Circuits open after consecutive failures, skip
the target, probe it once when half-open and close on success. The retry budget holds the
upstream attempts of an outage under parallel load to a bounded share above the requests. Several
scripted mocks play the targets; each counts the attempts it received."""
import json
import sys
import threading
import time
import unittest
import urllib.request

from harness import Kt, KtCase, OPENAI_KEY, closed_port, config_yaml, kt_bin, shared_pki
from mock_upstream import MockUpstream


def target(tid, url, **kw):
    t = {"id": tid, "provider": "openai", "base_url": url + "/v1",
         "secret_key_ref": {"env": "OPENAI_API_KEY"}}
    t.update(kw)
    return t


def events(kt):
    time.sleep(0.2)   # without a control plane, decision events are JSON lines on stderr
    return [o for o in kt.log_lines() if o.get("event_type") == "decision"]


def get_json(kt, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (kt.port, path), timeout=5) as r:
        return json.loads(r.read())


def get_text(kt, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (kt.port, path), timeout=5) as r:
        return r.read().decode()


class MultiMockCase(KtCase):
    """One kt and several mocks: cls.mocks[name] (cls.mock is the `good` one)."""
    mock_modes = {}

    @classmethod
    def targets(cls, mocks):
        raise NotImplementedError

    @classmethod
    def gateway(cls):
        return {}

    @classmethod
    def setUpClass(cls):
        import os
        if not os.path.exists(kt_bin()):
            raise unittest.SkipTest("kt binary not found at %s (set KT_BIN)" % kt_bin())
        cls.pki = shared_pki()
        cls.mocks = {}
        for name, mode in dict(cls.mock_modes, good="normal").items():
            cert, key = ((cls.pki.untrusted_cert, cls.pki.untrusted_key) if mode == "untrusted"
                         else (cls.pki.good_cert, cls.pki.good_key))
            m = MockUpstream(cert, key).start()
            cls.mocks[name] = m
        cls.modes = {n: ("normal" if md == "untrusted" else md)
                     for n, md in dict(cls.mock_modes, good="normal").items()}
        cls.mock = cls.mocks["good"]
        try:
            cls.kt = Kt(config_yaml(targets=cls.targets(cls.mocks), **cls.gateway())).start()
        except BaseException:
            for m in cls.mocks.values():
                m.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.kt:
                cls.kt.stop()
        finally:
            for m in cls.mocks.values():
                m.stop()

    def setUp(self):
        for name, m in self.mocks.items():
            m.reset()   # also sets the mode back to normal
            m.mode = self.modes[name]

    def count(self, name):
        return len(self.mocks[name].requests)


class TriggersTest(MultiMockCase):
    mock_modes = {"hang": "hang", "status": "status", "mid": "midclose", "tls": "untrusted"}

    @classmethod
    def targets(cls, m):
        good = m["good"].url
        fb = {"fallbacks": ["good"]}
        return [
            target("good", good),
            target("t-refused", "http://127.0.0.1:%d" % closed_port(), **fb),
            target("t-tls", m["tls"].url, **fb),
            target("t-hang", m["hang"].url, **fb),
            target("t-status", m["status"].url, **fb),
            target("t-mid", m["mid"].url, **fb),
            target("t-status2", m["status"].url, fallbacks=["t-status"]),
        ]

    @classmethod
    def gateway(cls):
        return {"upstream_first_byte_timeout": "1s",
                "failover": {"deadline": "8s", "retry_burst": 1000, "circuit": {"failures": 0}}}

    def via(self, tid, headers=None, **fields):
        h = {"x-keeptrusts-target": tid}
        h.update(headers or {})
        return self.kt.chat(headers=h, **fields)

    def last_attempts(self):
        ev = events(self.kt)
        self.assertTrue(ev)
        return ev[-1].get("attempts")

    def assertFailedOver(self, tid, outcome, status=None):
        st, h, body = self.via(tid, headers={"x-mock-status": str(status or 503)})
        self.assertEqual(st, 200, body)
        self.assertEqual(json.loads(body)["object"], "chat.completion")
        self.assertEqual(self.count("good"), 1)
        self.assertEqual(self.mock.requests[0].header("authorization"), "Bearer " + OPENAI_KEY)
        att = self.last_attempts()
        self.assertEqual([(a["target"], a["outcome"]) for a in att],
                         [(tid, outcome), ("good", "ok")])
        self.assertEqual(att[1]["status"], 200)
        self.assertTrue(all(isinstance(a["latency_ms"], int) for a in att))
        return att, h

    def test_connection_refused(self):
        self.assertFailedOver("t-refused", "connect")

    def test_tls_failure(self):
        self.assertFailedOver("t-tls", "tls")

    def test_first_byte_timeout(self):
        t0 = time.monotonic()
        att, _ = self.assertFailedOver("t-hang", "timeout")
        self.assertEqual(self.count("hang"), 1)
        self.assertGreaterEqual(att[0]["latency_ms"], 900)
        self.assertLess(time.monotonic() - t0, 5)

    def test_statuses(self):
        for status in (429, 500, 502, 503, 504):
            with self.subTest(status=status):
                self.setUp()
                att, _ = self.assertFailedOver("t-status", "status", status)
                self.assertEqual(att[0]["status"], status)
                self.assertEqual(self.count("status"), 1)

    def test_400_is_not_retried(self):
        st, h, body = self.via("t-status", headers={"x-mock-status": "400"})
        self.assertEqual(st, 400, body)
        self.assertEqual(json.loads(body)["error"]["code"], "mock_status")
        self.assertEqual(self.count("good"), 0)
        self.assertNotIn("x-should-retry", h)
        att = self.last_attempts()
        self.assertEqual([(a["target"], a["outcome"], a["status"]) for a in att],
                         [("t-status", "ok", 400)])

    def test_failure_after_bytes_reached_the_client_is_not_retried(self):
        c = self.kt.conn()
        body = json.dumps({"model": "gpt-4o-mini", "stream": True,
                           "messages": [{"role": "user", "content": "hi"}]})
        c.request("POST", "/v1/chat/completions", body=body,
                  headers={"Content-Type": "application/json", "x-keeptrusts-target": "t-mid"})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        got = b""
        try:
            while True:
                d = r.read1(65536)
                if not d:
                    break
                got += d
        except Exception:
            pass
        c.close()
        self.assertNotIn(b"[DONE]", got)   # cut mid-stream, never completed elsewhere
        time.sleep(0.3)
        self.assertEqual(self.count("mid"), 1)
        self.assertEqual(self.count("good"), 0)

    def test_all_fail_last_answer_goes_out_marked_no_retry(self):
        # t-status2 -> t-status: both answer 503; the client sees the last one, and the SDKs
        # are told not to retry on top of kt
        st, h, body = self.via("t-status2", headers={"x-mock-status": "503"})
        self.assertEqual(st, 503, body)
        self.assertEqual(h.get("x-should-retry"), "false")
        self.assertEqual(self.count("status"), 2)
        att = self.last_attempts()
        self.assertEqual([(a["target"], a["outcome"]) for a in att],
                         [("t-status2", "status"), ("t-status", "status")])

    def test_the_providers_retry_hint_is_replaced_not_doubled(self):
        c = self.kt.conn()
        c.request("POST", "/v1/chat/completions", body=json.dumps(
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
            headers={"Content-Type": "application/json", "x-keeptrusts-target": "t-status2",
                     "x-mock-status": "503", "x-mock-should-retry": "true"})
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 503)
        self.assertEqual(r.msg.get_all("x-should-retry"), ["false"])

    def test_kt_generated_failure_says_no_retry(self):
        # fallbacks of fallbacks are not followed: t-refused -> good only; here good is down too
        self.mock.mode = "close"
        try:
            st, h, body = self.via("t-refused")
        finally:
            self.mock.mode = "normal"
        self.assertEqual(st, 502, body)
        self.assertEqual(h.get("x-should-retry"), "false")
        self.assertEqual(json.loads(body)["error"]["code"], "upstream_closed")

    def test_config_endpoint_lists_fallbacks(self):
        ts = {t["id"]: t for t in get_json(self.kt, "/keeptrusts/config")["targets"]}
        self.assertEqual(ts["t-status2"]["fallbacks"], ["t-status"])
        self.assertEqual(ts["good"]["fallbacks"], [])

    def test_single_attempt_leaves_sdk_retries_alone(self):
        st, h, body = self.via("good", headers={"x-mock-mode": "fail"})
        self.assertEqual(st, 500)
        self.assertNotIn("x-should-retry", h)


class DeadlineTest(MultiMockCase):
    mock_modes = {"hang1": "hang", "hang2": "hang"}

    @classmethod
    def targets(cls, m):
        return [target("h1", m["hang1"].url, fallbacks=["h2"]), target("h2", m["hang2"].url),
                target("good", m["good"].url)]

    @classmethod
    def gateway(cls):
        return {"upstream_first_byte_timeout": "1s",
                "failover": {"deadline": "1500ms", "circuit": {"failures": 0}}}

    def test_the_second_attempt_gets_what_is_left(self):
        t0 = time.monotonic()
        st, h, body = self.kt.chat()
        elapsed = time.monotonic() - t0
        self.assertEqual(st, 502, body)
        self.assertEqual(json.loads(body)["error"]["code"], "upstream_timeout")
        self.assertEqual(h.get("x-should-retry"), "false")
        self.assertEqual((self.count("hang1"), self.count("hang2")), (1, 1))
        att = events(self.kt)[-1]["attempts"]
        self.assertEqual([(a["target"], a["outcome"]) for a in att],
                         [("h1", "timeout"), ("h2", "timeout")])
        self.assertLess(att[1]["latency_ms"], 800)   # capped at what the deadline left (~0.5 s)
        self.assertLess(elapsed, 1.9)                 # two full first-byte timeouts: 2 s
        self.assertGreaterEqual(elapsed, 1.4)


class CircuitTest(MultiMockCase):
    mock_modes = {"flaky": "status"}

    @classmethod
    def targets(cls, m):
        return [target("flaky", m["flaky"].url, fallbacks=["good"]), target("good", m["good"].url)]

    @classmethod
    def gateway(cls):
        return {"failover": {"retry_burst": 1000,
                             "circuit": {"failures": 2, "base_ejection": "2s",
                                         "max_ejection": "4s"}}}

    def chat(self):
        st, _, body = self.kt.chat(headers={"x-mock-status": "503"})
        self.assertEqual(st, 200, body)

    def state(self):
        return get_json(self.kt, "/health")["circuits"]["flaky"]["state"]

    def test_open_half_open_close(self):
        self.chat()
        self.chat()
        self.assertEqual(self.count("flaky"), 2)
        self.assertEqual(self.state(), "open")
        self.assertIn('keeptrusts_circuit_state{target="flaky"} 1', get_text(self.kt, "/metrics"))
        health = get_json(self.kt, "/health")
        self.assertEqual(health["status"], "degraded")   # kt serves; the target needs attention
        self.assertIn("circuit_open", [r["code"] for r in health["reasons"]])
        for _ in range(4):   # ejected: skipped, served by the fallback
            self.chat()
        self.assertEqual(self.count("flaky"), 2)
        self.assertEqual(self.count("good"), 6)
        ev = events(self.kt)[-1]
        self.assertEqual([a["target"] for a in ev["attempts"]], ["good"])
        time.sleep(2.2)   # half-open: one probe, which fails -> open again for 4 s
        self.assertEqual(self.state(), "half_open")
        self.chat()
        self.assertEqual(self.count("flaky"), 3)
        self.assertEqual(self.state(), "open")
        time.sleep(2.2)
        self.chat()
        self.assertEqual(self.count("flaky"), 3, "the back-off grew to 4 s")
        time.sleep(2.0)
        self.mocks["flaky"].mode = "normal"   # recovered: the probe succeeds and closes it
        self.chat()
        self.assertEqual(self.count("flaky"), 4)
        self.assertEqual(self.state(), "closed")
        self.assertNotIn("circuit_open", [r["code"] for r in get_json(self.kt, "/health")["reasons"]])
        self.chat()
        self.assertEqual(self.count("flaky"), 5)
        m = get_text(self.kt, "/metrics")
        self.assertIn('keeptrusts_circuit_state{target="flaky"} 0', m)
        self.assertIn('keeptrusts_failover_attempts_total{target="flaky",outcome="status"} 3', m)
        self.assertIn('keeptrusts_failover_attempts_total{target="good",outcome="ok"}', m)


class RetryBudgetTest(MultiMockCase):
    mock_modes = {"down1": "status", "down2": "status", "down3": "status"}
    N = 60

    @classmethod
    def targets(cls, m):
        return [target("down1", m["down1"].url, fallbacks=["down2", "down3"]),
                target("down2", m["down2"].url), target("down3", m["down3"].url),
                target("good", m["good"].url)]

    @classmethod
    def gateway(cls):
        return {"failover": {"max_attempts": 3, "retry_budget": 0.2, "retry_burst": 5,
                             "circuit": {"failures": 0}}}

    def test_outage_under_parallel_load(self):
        results = []
        lock = threading.Lock()

        def worker(n):
            for _ in range(n):
                st, h, _ = self.kt.chat(headers={"x-mock-status": "503"})
                with lock:
                    results.append((st, h.get("x-should-retry")))

        threads = [threading.Thread(target=worker, args=(self.N // 6,)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), self.N)
        self.assertTrue(all(st == 503 for st, _ in results))
        attempts = self.count("down1") + self.count("down2") + self.count("down3")
        self.assertEqual(self.count("down1"), self.N)
        # without a budget: 3 attempts per request (180); with it: the requests, the burst and
        # 0.2 per request
        self.assertLessEqual(attempts, self.N + 5 + int(0.2 * self.N) + 1)
        self.assertGreater(attempts, self.N)
        sys.stderr.write("# outage: %d requests, %d upstream attempts\n" % (self.N, attempts))
        self.assertTrue(all(r == "false" for _, r in results if r is not None))
        self.assertGreater(sum(1 for _, r in results if r == "false"), self.N // 2)
        m = get_text(self.kt, "/metrics")
        denied = [l for l in m.splitlines() if l.startswith("keeptrusts_retry_budget_exhausted_total ")]
        self.assertTrue(denied and float(denied[0].split()[1]) > 0, denied)


if __name__ == "__main__":
    unittest.main()
