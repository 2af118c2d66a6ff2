"""Health that tells the truth, safe defaults said out loud, the ops listener on loopback, and the
shutdown bound (issue 15, second half).

- /health: status healthy|degraded|unhealthy with reasons (reload failed, a target without key, no
  target can serve, events rejected or dropped, policies off, embedded default); 503 only when
  unhealthy. /readyz 503 while no target has a key. /healthz stays 200 (liveness).
- No config file: the embedded default redacts PII, warns naming the path it looked for, and says
  source "embedded-default" in /health and /keeptrusts/config. pack.enabled: false warns.
- --ops-listen / gateway.ops_listen answers only /healthz, /readyz, /health and /metrics.
- SIGTERM exits 0 within drain_period + shutdown_deadline with a control plane that hangs or is
  down, even when an in-flight request uses the whole deadline.
"""
import json
import os
import shutil
import socket
import threading
import time
import unittest

from control_plane import ControlPlane
from harness import (Kt, MockUpstream, config_yaml, default_targets, free_port, closed_port,
                     shared_pki, kt_bin, to_yaml, DEFAULT_GATEWAY)

EMAIL = "jane.roe@example.com"


class KtArgs(Kt):
    """Kt with extra command-line arguments."""

    def __init__(self, config_text, extra=(), **kw):
        super().__init__(config_text, **kw)
        self.extra = list(extra)

    def argv(self):
        return super().argv() + self.extra


def get_json(kt, path, port=None):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port or kt.port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        c.close()


def codes(health):
    return [r["code"] for r in health["reasons"]]


def pack_config(mock, gateway=None, targets=None, pack=None, chain=None, policy=None):
    gw = dict(DEFAULT_GATEWAY)
    gw.update(gateway or {})
    doc = {"pack": pack or {"name": "test", "version": "1.0.0"}, "gateway": gw,
           "providers": {"targets": targets if targets is not None else default_targets(mock.url)}}
    if chain is not None:
        doc["policies"] = {"chain": chain}
    if policy is not None:
        doc["policy"] = policy
    return to_yaml(doc) + "\n"


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class _Base(unittest.TestCase):
    def setUp(self):
        self.mock = MockUpstream(shared_pki().good_cert, shared_pki().good_key).start()
        self.kts = []

    def start(self, kt):
        self.kts.append(kt)
        return kt.start()

    def tearDown(self):
        try:
            for kt in self.kts:
                kt.stop()
        finally:
            self.mock.stop()


class HealthStatesTest(_Base):
    def test_healthy_has_no_reasons(self):
        kt = self.start(Kt(config_yaml(self.mock)))
        st, h = get_json(kt, "/health")
        self.assertEqual((st, h["status"], h["reasons"]), (200, "healthy", []))
        self.assertEqual(h["source"], kt.config_path)
        self.assertTrue(h["ready"])
        self.assertTrue(h["policies_enabled"])

    def test_target_without_key_is_degraded(self):
        targets = default_targets(self.mock.url)
        targets[1]["secret_key_ref"] = {"env": "KT_TEST_NO_SUCH_KEY"}
        kt = self.start(Kt(config_yaml(self.mock, targets=targets)))
        st, h = get_json(kt, "/health")
        self.assertEqual((st, h["status"]), (200, "degraded"), h)
        self.assertEqual(codes(h), ["target_without_key"])
        self.assertIn("claude", h["reasons"][0]["message"])
        self.assertEqual(get_json(kt, "/readyz")[0], 200)   # another target serves

    def test_no_target_can_serve_is_unhealthy_and_not_ready(self):
        kt = self.start(Kt(config_yaml(self.mock), unset=("OPENAI_API_KEY", "ANTHROPIC_API_KEY",
                                                          "AZURE_OPENAI_KEY")))
        st, h = get_json(kt, "/health")
        self.assertEqual((st, h["status"]), (503, "unhealthy"), h)
        self.assertIn("no_target_can_serve", codes(h))
        self.assertFalse(h["ready"])
        st, r = get_json(kt, "/readyz")
        self.assertEqual((st, r.get("reason")), (503, "no_target_can_serve"))
        self.assertEqual(get_json(kt, "/healthz"), (200, {"status": "ok"}))   # alive: no restart

    def test_failed_reload_is_degraded_until_a_good_one(self):
        kt = self.start(Kt(config_yaml(self.mock, config_poll_interval="200ms")))
        good = open(kt.config_path).read()
        with open(kt.config_path, "w") as f:
            f.write(good + "bogus_top_level_key: 1\n")
        deadline = time.monotonic() + 10
        h = None
        while time.monotonic() < deadline:
            st, h = get_json(kt, "/health")
            if "reload_failed" in codes(h):
                break
            time.sleep(0.1)
        self.assertEqual((st, h["status"]), (200, "degraded"), h)
        self.assertIn("bogus_top_level_key", h["reasons"][0]["message"])
        with open(kt.config_path, "w") as f:
            f.write(good.replace("1.0.0", "1.0.1"))
        while time.monotonic() < deadline + 10:
            st, h = get_json(kt, "/health")
            if h["status"] == "healthy":
                break
            time.sleep(0.1)
        self.assertEqual(h["status"], "healthy", h)

    def test_pack_disabled_warns_and_says_policies_are_off(self):
        text = pack_config(self.mock, pack={"name": "off", "version": "1", "enabled": False},
                           chain=["pii-detector"])
        kt = self.start(Kt(text))
        st, h = get_json(kt, "/health")
        self.assertEqual((st, h["status"]), (200, "degraded"), h)
        self.assertEqual(codes(h), ["policies_off"])
        self.assertFalse(h["policies_enabled"])
        warns = [l for l in kt.log_lines() if l.get("event") == "config_warning"]
        self.assertEqual(len(warns), 1, kt.stderr())
        self.assertEqual(warns[0]["level"], "warn")
        self.assertIn("pack.enabled is false", warns[0]["msg"])

    def test_policy_outside_the_chain_is_a_warning_not_a_refusal(self):
        text = pack_config(self.mock, chain=["pii-detector"],
                           policy={"pii-detector": {"action": "redact"},
                                   "dlp-filter": {"action": "block"}})
        kt = self.start(Kt(text))
        self.assertEqual(get_json(kt, "/health")[1]["status"], "healthy")
        warns = [l["msg"] for l in kt.log_lines() if l.get("event") == "config_warning"]
        self.assertTrue(any("'dlp-filter' is configured but not in policies.chain" in w
                            for w in warns), kt.stderr())


class EventsHealthTest(_Base):
    def start_with_cp(self, cp, **events):
        ev = {"batch_size": 1, "flush_interval": "50ms", "timeout": "1s", "max_backoff": "200ms"}
        ev.update(events)
        return self.start(Kt(config_yaml(self.mock, events=ev),
                             env={"KEEPTRUSTS_API_URL": cp.url}))

    def wait_reason(self, kt, code, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            kt.chat()
            st, h = get_json(kt, "/health")
            if code in codes(h):
                return st, h
            time.sleep(0.2)
        self.fail("no %s reason in /health: %s" % (code, h))

    def test_rejected_batches_are_degraded(self):
        cp = _RejectingControlPlane().start()
        try:
            kt = self.start_with_cp(cp)
            st, h = self.wait_reason(kt, "events_rejected")
            self.assertEqual((st, h["status"]), (200, "degraded"))
        finally:
            cp.stop()

    def test_dropped_events_are_degraded(self):
        cp = ControlPlane().start()
        cp.set_mode("down")
        try:
            kt = self.start_with_cp(cp, ring_bytes="1KiB")
            st, h = self.wait_reason(kt, "events_dropped")
            self.assertEqual((st, h["status"]), (200, "degraded"))
        finally:
            cp.stop()


class _RejectingControlPlane:
    """Answers every batch 400 (the control plane refuses the batch itself)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.stopped = False

    def start(self):
        threading.Thread(target=self._loop, daemon=True).start()
        return self

    def _loop(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = b""
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                buf += data
                while b"\r\n\r\n" in buf:
                    head, _, rest = buf.partition(b"\r\n\r\n")
                    n = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            n = int(line.split(b":")[1])
                    if len(rest) < n:
                        break
                    buf = rest[n:]
                    body = b'{"error":"bad batch"}'
                    c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s"
                              % (len(body), body))
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.stopped = True
        self.sock.close()


@unittest.skipIf(os.path.exists("/etc/keeptrusts/policy-config.yaml"),
                 "a real /etc/keeptrusts/policy-config.yaml exists on this machine")
class EmbeddedDefaultTest(_Base):
    def test_runs_a_real_chain_and_says_so(self):
        kt = self.start(Kt(None, env={"OPENAI_BASE_URL": self.mock.url + "/v1"}))
        warn = [l for l in kt.log_lines() if l.get("event") == "config_missing"]
        self.assertEqual(len(warn), 1, kt.stderr())
        self.assertEqual(warn[0]["level"], "warn")
        self.assertIn("/etc/keeptrusts/policy-config.yaml", warn[0]["msg"])
        st, h = get_json(kt, "/health")
        self.assertEqual((st, h["status"], h["source"]), (200, "degraded", "embedded-default"))
        self.assertIn("embedded_default", codes(h))
        self.assertEqual(h["policies_loaded"], 2)
        st, c = get_json(kt, "/keeptrusts/config")
        self.assertEqual(c["source"], "embedded-default")
        self.assertEqual([p["kind"] for p in c["chain"]], ["pii-detector", "dlp-filter"])
        # PII and secrets leave redacted
        secret = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
        st, _, body = kt.chat(messages=[{"role": "user",
                                         "content": "mail %s key %s" % (EMAIL, secret)}])
        self.assertEqual(st, 200, body)
        sent = self.mock.wait_requests(1)[0].body.decode()
        self.assertNotIn(EMAIL, sent)
        self.assertNotIn(secret, sent)


class OpsListenerTest(_Base):
    def test_ops_port_answers_only_the_probes(self):
        ops = free_port()
        kt = self.start(KtArgs(config_yaml(self.mock), extra=["--ops-listen", "127.0.0.1:%d" % ops]))
        self.assertEqual(get_json(kt, "/healthz", ops), (200, {"status": "ok"}))
        self.assertEqual(get_json(kt, "/readyz", ops)[0], 200)
        st, h = get_json(kt, "/health", ops)
        self.assertEqual((st, h["status"]), (200, "healthy"))
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", ops, timeout=10)
        c.request("GET", "/metrics")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertIn(b"keeptrusts_build_info", r.read())
        for method, path in (("POST", "/v1/chat/completions"), ("GET", "/v1/models"),
                             ("GET", "/keeptrusts/config"), ("POST", "/keeptrusts/config/reload"),
                             ("GET", "/")):
            c.request(method, path, body=b"{}" if method == "POST" else None,
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            body = r.read()
            self.assertEqual(r.status, 404, (method, path, body))
            self.assertEqual(json.loads(body)["error"]["code"], "not_found")
        c.close()
        self.assertEqual([r.target for r in self.mock.requests], [])
        self.assertEqual(kt.chat()[0], 200)   # the proxy port is unchanged

    def test_probes_answer_until_exit(self):
        ops = free_port()
        kt = self.start(KtArgs(config_yaml(self.mock, drain_period="500ms", shutdown_deadline="3s"),
                               extra=["--ops-listen", "127.0.0.1:%d" % ops]))
        t = threading.Thread(target=lambda: ShutdownBoundTest._quiet(
            kt.chat, headers={"x-mock-mode": "hang"}, timeout=30), daemon=True)
        t.start()
        self.mock.wait_requests(1)
        kt.signal()
        time.sleep(1.2)   # past the drain period: the API port no longer accepts
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", kt.port), timeout=2).close()
        self.assertEqual(get_json(kt, "/readyz", ops)[0], 503)
        self.assertEqual(get_json(kt, "/healthz", ops)[0], 200)
        st, h = get_json(kt, "/health", ops)
        self.assertEqual((st, h["status"], h["draining"]), (503, "unhealthy", True))
        self.assertIn("draining", codes(h))
        kt.wait(10)

    def test_config_key_and_readiness_follow_the_gateway(self):
        ops = free_port()
        text = config_yaml(self.mock, ops_listen="127.0.0.1:%d" % ops)
        kt = self.start(Kt(text, unset=("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_KEY")))
        self.assertEqual(get_json(kt, "/readyz", ops)[0], 503)
        self.assertEqual(get_json(kt, "/health", ops)[0], 503)
        self.assertEqual(get_json(kt, "/healthz", ops)[0], 200)


class _HangingControlPlane:
    """Accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def stop(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class ShutdownBoundTest(_Base):
    DRAIN, DEADLINE = 1.0, 2.0

    def run_bound(self, cp_url):
        text = config_yaml(self.mock, drain_period="1s", shutdown_deadline="2s",
                           upstream_first_byte_timeout="60s",
                           events={"batch_size": 1000, "flush_interval": "60s", "timeout": "30s"})
        kt = self.start(Kt(text, env={"KEEPTRUSTS_API_URL": cp_url}))
        for _ in range(5):
            self.assertEqual(kt.chat()[0], 200)
        # one request the upstream never answers: it holds the whole shutdown deadline
        t = threading.Thread(target=lambda: self._quiet(kt.chat, headers={"x-mock-mode": "hang"},
                                                        timeout=30), daemon=True)
        t.start()
        self.mock.wait_requests(6)
        t0 = time.monotonic()
        kt.stop(timeout=15)
        elapsed = time.monotonic() - t0
        self.assertEqual(kt.returncode, 0)
        self.assertLess(elapsed, self.DRAIN + self.DEADLINE + 0.6,
                        "SIGTERM -> exit took %.2f s" % elapsed)
        self.assertGreater(elapsed, self.DRAIN + self.DEADLINE - 0.3)
        lost = [l for l in kt.log_lines() if l.get("event") == "events_lost"]
        self.assertEqual(len(lost), 1, kt.stderr()[-3000:])
        self.assertIn("could not be delivered", lost[0]["msg"])
        return elapsed

    @staticmethod
    def _quiet(fn, **kw):
        try:
            fn(**kw)
        except OSError:
            pass

    def test_control_plane_hangs(self):
        cp = _HangingControlPlane()
        try:
            self.run_bound(cp.url)
        finally:
            cp.stop()

    def test_control_plane_down(self):
        self.run_bound("http://127.0.0.1:%d" % closed_port())


if __name__ == "__main__":
    unittest.main()
