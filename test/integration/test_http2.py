"""HTTP/2 to the provider: kt offers h2 by ALPN and multiplexes client requests as streams over one
TLS connection. Against mock_h2.py (python3-h2, scripted): concurrency on one connection, SSE
byte for byte and unbuffered, flow control with large bodies, GOAWAY (refused streams retried on
a new connection), RST_STREAM -> 502, SETTINGS_MAX_CONCURRENT_STREAMS -> more connections, a
client that stops reading stalls only its own stream; and the HTTP/1.1 fallback when the provider
does not pick h2 (`http2: on` then fails with upstream_protocol)."""
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

from harness import Kt, KtCase, config_yaml, error_of, kt_bin
from mock_upstream import MockUpstream
from pki import shared_pki

HERE = os.path.dirname(os.path.abspath(__file__))
DEB_PY = "/usr/bin/python3"


def have_h2():
    try:
        return subprocess.run([DEB_PY, "-c", "import h2"], capture_output=True).returncode == 0
    except OSError:
        return False


class MockH2:
    def __init__(self, pki, **opts):
        argv = [DEB_PY, os.path.join(HERE, "mock_h2.py"), "--cert", pki.good_cert, "--key", pki.good_key]
        for k, v in opts.items():
            argv += ["--" + k.replace("_", "-"), str(v)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        info = json.loads(self.proc.stdout.readline())
        self.port, self.ctl = info["port"], info["ctl"]
        self.url = "https://localhost:%d" % self.port

    def stats(self):
        c = http.client.HTTPConnection("127.0.0.1", self.ctl, timeout=5)
        c.request("GET", "/stats")
        out = json.loads(c.getresponse().read())
        c.close()
        return out

    def reset(self):
        c = http.client.HTTPConnection("127.0.0.1", self.ctl, timeout=5)
        c.request("POST", "/reset")
        c.getresponse().read()
        c.close()

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def target(url, **extra):
    t = {"id": "openai-main", "provider": "openai", "model": "gpt-4o-mini", "base_url": url + "/v1",
         "secret_key_ref": {"env": "OPENAI_API_KEY"}}
    t.update(extra)
    return [t]


def chat(port, headers=None, body=None, timeout=15):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    b = body or json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode()
    h = {"content-type": "application/json"}
    h.update(headers or {})
    c.request("POST", "/v1/chat/completions", body=b, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def parallel(n, fn):
    out = [None] * n

    def run(i):
        try:
            out[i] = fn(i)
        except Exception as e:   # reported by the caller's assertions
            out[i] = e
    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return out


@unittest.skipUnless(have_h2(), "python3-h2 not installed (mk/test-deps.sh installs it)")
class H2Case(unittest.TestCase):
    mock_opts = {}
    gateway = {}
    target_extra = {}

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(kt_bin()):
            raise unittest.SkipTest("kt binary not found")
        cls.pki = shared_pki()
        cls.mock = MockH2(cls.pki, **cls.mock_opts)
        gw = {"max_connections": 600, "upstream_first_byte_timeout": "5s"}
        gw.update(cls.gateway)
        try:
            cls.kt = Kt(config_yaml(targets=target(cls.mock.url, **cls.target_extra), **gw)).start()
        except BaseException:
            cls.mock.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.kt.stop()
        finally:
            cls.mock.stop()

    def setUp(self):
        self.mock.reset()

    def tearDown(self):
        self.kt.check_clean()


class TestH2Basics(H2Case):
    def test_request_and_response_over_h2(self):
        st, h, body = chat(self.kt.port)
        self.assertEqual(st, 200, body)
        o = json.loads(body)
        self.assertEqual(o["choices"][0]["message"]["content"], "hello over h2")
        self.assertEqual(o["echo_path"], "/v1/chat/completions")
        self.assertEqual(int(h["content-length"]), len(body))
        s = self.mock.stats()
        self.assertEqual(s["requests"], 1)
        hdrs = dict((k, v) for k, v in s["headers"][0])
        self.assertEqual(hdrs[":method"], "POST")
        self.assertEqual(hdrs[":scheme"], "https")
        self.assertEqual(hdrs[":authority"], "localhost:%d" % self.mock.port)
        self.assertTrue(hdrs["authorization"].startswith("Bearer "))
        for k in hdrs:
            self.assertEqual(k, k.lower())
            self.assertNotIn(k, ("connection", "host", "keep-alive", "transfer-encoding"))

    def test_fifty_concurrent_requests_share_one_connection(self):
        chat(self.kt.port)   # the first connection learns that the origin speaks h2
        self.mock.reset()
        res = parallel(50, lambda i: chat(self.kt.port, {"x-mock-mode": "slow", "x-mock-delay-ms": "300"}))
        for r in res:
            self.assertNotIsInstance(r, Exception)
            self.assertEqual(r[0], 200, r)
        s = self.mock.stats()
        self.assertEqual(s["requests"], 50)
        self.assertEqual(s["connections"], 0, "a new upstream connection was opened")
        self.assertGreater(s["peak_streams"], 10, "requests were not concurrent on the connection")

    def test_stream_is_byte_exact_and_unbuffered(self):
        c = socket.create_connection(("127.0.0.1", self.kt.port), timeout=10)
        body = json.dumps({"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        c.sendall(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "x-mock-mode: stream\r\nx-mock-pieces: 6\r\nx-mock-gap-ms: 250\r\n"
                   "Content-Length: %d\r\n\r\n%s" % (len(body), body)).encode())
        got, stamps = b"", []
        t0 = time.monotonic()
        while b"[DONE]" not in got:
            d = c.recv(65536)
            if not d:
                break
            got += d
            stamps.append((time.monotonic() - t0, got.count(b"data: ")))
        c.close()
        head, _, rest = got.partition(b"\r\n\r\n")
        self.assertIn(b"200", head.split(b"\r\n")[0])
        self.assertIn(b"text/event-stream", head.lower())
        from harness import dechunk
        events = dechunk(rest)
        want = b"".join(b"data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk",
                                                "choices": [{"index": 0, "delta": {"content": "piece%d " % i}}]}).encode()
                        + b"\n\n" for i in range(6)) + b"data: [DONE]\n\n"
        self.assertEqual(events, want)
        # the first event arrived long before the last: nothing waited for the end of the stream
        first = next(t for t, n in stamps if n >= 1)
        self.assertLess(first, 1.0, stamps)
        self.assertGreater(stamps[-1][0] - first, 0.9, stamps)

    def test_large_body_flow_control(self):
        for size in (1 << 20, 5 << 20):
            st, h, body = chat(self.kt.port, {"x-mock-mode": "big", "x-mock-size": str(size)}, timeout=30)
            self.assertEqual(st, 200)
            self.assertEqual(len(body), size)
            self.assertEqual(hashlib.sha256(body).hexdigest(), h["x-mock-sha256"])

    def test_large_request_body(self):
        msg = "x" * 50000
        body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": msg}]}).encode()
        st, _, out = chat(self.kt.port, body=body)
        self.assertEqual(st, 200, out)
        self.assertEqual(json.loads(out)["echo_len"], len(body))

    def test_rst_stream_before_head_is_502(self):
        chat(self.kt.port)
        self.mock.reset()
        st, h, body = chat(self.kt.port, {"x-mock-mode": "rst"})
        self.assertEqual(st, 502, body)
        e = error_of(body)
        self.assertEqual(e["type"], "upstream_error")
        self.assertEqual(e["code"], "upstream_closed")
        self.assertIn("reset the stream", e["message"])
        # the session survives a reset stream
        self.assertEqual(chat(self.kt.port)[0], 200)
        self.assertEqual(self.mock.stats()["connections"], 0)

    def test_rst_stream_mid_response_cuts_the_stream(self):
        c = socket.create_connection(("127.0.0.1", self.kt.port), timeout=10)
        body = b'{"model":"gpt-4o-mini","stream":true,"messages":[]}'
        c.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-mock-mode: rst-mid\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        got = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            got += d
        c.close()
        self.assertIn(b"200", got.split(b"\r\n")[0])
        self.assertNotIn(b"0\r\n\r\n", got.partition(b"\r\n\r\n")[2], "a reset stream ended cleanly")

    def test_client_that_stops_reading_stalls_only_its_stream(self):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)   # before connect: a small window
        c.settimeout(10)
        c.connect(("127.0.0.1", self.kt.port))
        body = b'{"model":"gpt-4o-mini","messages":[]}'
        c.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-mock-mode: big\r\n"
                  b"x-mock-size: 30000000\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        time.sleep(1.0)
        rss0 = self.kt.rss_kb()
        t0 = time.monotonic()
        res = parallel(10, lambda i: chat(self.kt.port))
        self.assertLess(time.monotonic() - t0, 5.0)
        for r in res:
            self.assertNotIsInstance(r, Exception)
            self.assertEqual(r[0], 200)
        time.sleep(0.5)
        self.assertLess(self.kt.rss_kb() - rss0, 8 * 1024, "a stalled stream kept buffering")
        # it resumes once the client reads again, byte for byte
        got = b""
        c.settimeout(20)
        while len(got) < 30000000:
            d = c.recv(1 << 20)
            if not d:
                break
            got += d
            if b"\r\n\r\n" in got and len(got.partition(b"\r\n\r\n")[2]) >= 30000000:
                break
        c.close()
        self.assertEqual(len(got.partition(b"\r\n\r\n")[2]), 30000000)


class TestH2Timeouts(H2Case):
    gateway = {"upstream_first_byte_timeout": "1s"}

    def test_first_byte_timeout_resets_only_that_stream(self):
        chat(self.kt.port)
        self.mock.reset()
        st, h, body = chat(self.kt.port, {"x-mock-mode": "hold"})
        self.assertEqual(st, 502, body)
        self.assertEqual(error_of(body)["code"], "upstream_timeout")
        self.assertEqual(chat(self.kt.port)[0], 200)
        s = self.mock.stats()
        self.assertEqual(s["connections"], 0, "the session did not survive a timed-out stream")
        self.assertGreaterEqual(s["resets"], 1, "the timed-out stream was not reset")

    def test_client_gone_mid_stream_resets_the_stream(self):
        chat(self.kt.port)
        self.mock.reset()
        c = socket.create_connection(("127.0.0.1", self.kt.port), timeout=10)
        body = b'{"model":"gpt-4o-mini","stream":true,"messages":[]}'
        c.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-mock-mode: stream\r\n"
                  b"x-mock-pieces: 50\r\nx-mock-gap-ms: 100\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        self.assertIn(b"data: ", c.recv(65536) + c.recv(65536))
        c.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.mock.stats()["resets"] < 1:
            time.sleep(0.05)
        self.assertGreaterEqual(self.mock.stats()["resets"], 1, "kt kept the abandoned stream open")
        self.assertEqual(chat(self.kt.port)[0], 200)
        self.assertEqual(self.mock.stats()["connections"], 0)


class TestH2IdlePing(H2Case):
    gateway = {"upstream_pool_idle": "1500ms"}

    def test_idle_session_is_pinged_then_closed(self):
        chat(self.kt.port)
        self.mock.reset()
        time.sleep(1.0)   # pings every 501 ms while idle
        self.assertGreaterEqual(self.mock.stats()["pings"], 1, "an idle session was not pinged")
        self.assertEqual(chat(self.kt.port)[0], 200)
        self.assertEqual(self.mock.stats()["connections"], 0, "the pinged session was not reused")
        time.sleep(2.2)   # idle for longer than upstream_pool_idle: closed, the next one is new
        self.assertEqual(chat(self.kt.port)[0], 200)
        self.assertEqual(self.mock.stats()["connections"], 1)


class TestH2Goaway(H2Case):
    mock_opts = {"goaway_after": 10}

    def test_goaway_refused_streams_are_retried(self):
        chat(self.kt.port)   # learn h2; this connection's budget: 10 requests, 9 left
        res = parallel(16, lambda i: chat(self.kt.port, {"x-mock-mode": "slow", "x-mock-delay-ms": "200"}))
        for r in res:
            self.assertNotIsInstance(r, Exception)
            self.assertEqual(r[0], 200, r)
        s = self.mock.stats()
        self.assertGreaterEqual(s["connections"], 2)   # the refused ones went to a new connection
        self.assertEqual(s["requests"], 17)   # warm-up + 16, each processed exactly once


class TestH2MaxStreams(H2Case):
    mock_opts = {"max_streams": 4}

    def test_more_connections_past_the_peers_stream_limit(self):
        chat(self.kt.port)
        time.sleep(0.2)
        self.mock.reset()
        res = parallel(12, lambda i: chat(self.kt.port, {"x-mock-mode": "slow", "x-mock-delay-ms": "400"}))
        for r in res:
            self.assertNotIsInstance(r, Exception)
            self.assertEqual(r[0], 200, r)
        s = self.mock.stats()
        self.assertLessEqual(s["peak_streams"], 4)
        self.assertGreaterEqual(s["connections"], 2)


class TestH1Fallback(KtCase):
    """The existing mock picks http/1.1 by ALPN: kt speaks HTTP/1.1 (auto), or refuses (on)."""

    @classmethod
    def config(cls, mock):
        return config_yaml(targets=[
            {"id": "auto", "provider": "openai", "base_url": mock.url + "/v1",
             "secret_key_ref": {"env": "OPENAI_API_KEY"}},
            {"id": "on", "provider": "openai", "base_url": mock.url + "/v1", "http2": "on",
             "secret_key_ref": {"env": "OPENAI_API_KEY"}},
            {"id": "off", "provider": "openai", "base_url": mock.url + "/v1", "http2": "off",
             "secret_key_ref": {"env": "OPENAI_API_KEY"}}])

    def test_auto_falls_back_to_http11(self):
        for _ in range(3):
            st, _, body = self.kt.chat(headers={"x-keeptrusts-target": "auto"})[:3]
            self.assertEqual(st, 200, body)
        st, _, body = self.kt.chat(headers={"x-keeptrusts-target": "off"})[:3]
        self.assertEqual(st, 200, body)

    def test_on_refuses_http11(self):
        st, h, body = self.kt.chat(headers={"x-keeptrusts-target": "on"})[:3]
        self.assertError(st, h, body, 502, "upstream_error", "upstream_protocol")
        self.assertIn("HTTP/2", error_of(body)["message"])


if __name__ == "__main__":
    unittest.main()
