"""SIGTERM lifecycle: /readyz turns 503 at once, requests are still served during drain_period,
then new connections are refused, in-flight streams complete (up to shutdown_deadline), exit 0."""
import json
import signal
import socket
import threading
import time
import unittest
import os

from harness import Kt, MockUpstream, config_yaml, shared_pki, kt_bin


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class DrainTest(unittest.TestCase):
    def setUp(self):
        pki = shared_pki()
        self.mock = MockUpstream(pki.good_cert, pki.good_key).start()
        self.kt = None

    def tearDown(self):
        try:
            if self.kt and self.kt.proc.poll() is None:
                self.kt.kill()
        finally:
            self.mock.stop()

    def start_kt(self, **gw):
        self.kt = Kt(config_yaml(self.mock, **gw)).start()
        return self.kt

    def stream_in_background(self, events, interval):
        out = {"events": [], "error": None, "status": None}

        def run():
            c = self.kt.conn(timeout=30)
            try:
                c.request("POST", "/v1/chat/completions",
                          body=json.dumps({"model": "gpt-4o-mini", "stream": True, "messages": []}),
                          headers={"x-mock-events": str(events), "x-mock-interval": str(interval)})
                r = c.getresponse()
                out["status"] = r.status
                while True:
                    line = r.readline()
                    if not line:
                        break
                    if line.startswith(b"data: "):
                        out["events"].append(line.strip())
            except Exception as e:
                out["error"] = e
            finally:
                c.close()
        t = threading.Thread(target=run)
        t.start()
        return t, out

    def connect_refused(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.kt.port), timeout=1)
        except ConnectionRefusedError:
            return True
        s.close()
        return False

    def test_sigterm_drain(self):
        kt = self.start_kt(drain_period="1s", shutdown_deadline="6s")
        t, out = self.stream_in_background(events=12, interval=0.25)  # ~3 s stream
        self.mock.wait_requests(1)
        time.sleep(0.2)
        t_term = time.monotonic()
        kt.signal(signal.SIGTERM)
        time.sleep(0.1)
        st, _, body = kt.request("GET", "/readyz")
        self.assertEqual(st, 503, "readyz still ready while draining")
        if b'"error"' in body:
            self.assertEqual(json.loads(body)["error"]["code"], "draining")
        # still serving during the drain period
        st, _, _ = kt.chat()
        self.assertEqual(st, 200, "request refused during the drain period")
        self.assertLess(time.monotonic() - t_term, 1.0)
        # after the drain period: no longer accepting
        time.sleep(max(0, t_term + 1.6 - time.monotonic()))
        self.assertIsNone(kt.proc.poll(), "kt exited before the in-flight stream finished")
        self.assertTrue(self.connect_refused(), "kt still accepts connections after drain_period")
        # the in-flight stream completes
        t.join(10)
        self.assertIsNone(out["error"], out)
        self.assertEqual(out["status"], 200)
        self.assertEqual(out["events"][-1], b"data: [DONE]")
        self.assertEqual(len(out["events"]), 12 + 3)
        rc = kt.wait(5)
        self.assertEqual(rc, 0)
        kt.stop()  # checks sanitizer output and secrets
        self.assertLess(time.monotonic() - t_term, 6)

    def test_idle_exit_after_drain(self):
        kt = self.start_kt(drain_period="500ms", shutdown_deadline="5s")
        t0 = time.monotonic()
        kt.signal(signal.SIGTERM)
        rc = kt.wait(5)
        el = time.monotonic() - t0
        self.assertEqual(rc, 0)
        self.assertGreater(el, 0.4, "kt did not keep serving for drain_period")
        self.assertLess(el, 2.5)
        kt.stop()

    def test_shutdown_deadline_cuts_long_streams(self):
        kt = self.start_kt(drain_period="500ms", shutdown_deadline="2s")
        t, out = self.stream_in_background(events=200, interval=0.1)  # ~20 s stream
        self.mock.wait_requests(1)
        t0 = time.monotonic()
        kt.signal(signal.SIGTERM)
        rc = kt.wait(8)
        el = time.monotonic() - t0
        self.assertEqual(rc, 0)
        self.assertLess(el, 4.0, "kt overran shutdown_deadline")
        self.assertGreater(el, 1.5, "kt cut the stream before shutdown_deadline")
        t.join(5)
        self.assertNotIn(b"data: [DONE]", out["events"])
        kt.stop()

    def test_idle_keepalive_connection_does_not_block_exit(self):
        kt = self.start_kt(drain_period="500ms", shutdown_deadline="5s")
        c = kt.conn()
        c.request("GET", "/healthz")
        c.getresponse().read()
        t0 = time.monotonic()
        kt.signal(signal.SIGTERM)
        rc = kt.wait(8)
        c.close()
        self.assertEqual(rc, 0)
        self.assertLess(time.monotonic() - t0, 3.0, "an idle keep-alive connection held up shutdown")
        kt.stop()
