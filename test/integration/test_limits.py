"""Caps: connection cap (503 overloaded or refused, then recovers), header/body caps at their exact
boundary, caps configurable."""
import json
import socket
import time

from harness import KtCase, config_yaml, raw_exchange


class ConnectionCapTest(KtCase):
    @classmethod
    def config(cls, mock):
        return config_yaml(mock, max_connections=5, header_timeout="3s")

    def test_connection_cap(self):
        held = []
        try:
            for _ in range(5):
                s = socket.create_connection(("127.0.0.1", self.kt.port))
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                s.settimeout(3)
                self.assertIn(b"200", s.recv(4096))
                held.append(s)
            # the 6th connection: the five are idle keep-alive connections, waiting for a next
            # request head, so the oldest gives way and the new one is served (a cap full of
            # requests in flight answers 503: test_idle_sockets.RefusalLogTest)
            res = raw_exchange(self.kt.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
            self.assertEqual(res.status, 200, res)
            held[0].settimeout(2)
            self.assertEqual(held[0].recv(10), b"", "the oldest idle connection was not closed")
        finally:
            for s in held:
                s.close()
        time.sleep(0.3)
        st, _, _ = self.kt.request("GET", "/healthz")
        self.assertEqual(st, 200, "kt did not recover after connections were released")


class CapBoundaryTest(KtCase):
    @classmethod
    def config(cls, mock):
        return config_yaml(mock, max_body_bytes="1KiB", max_header_bytes="4KiB", max_headers=20)

    def body_of(self, n):
        base = b'{"model":"gpt-4o-mini","x":""}'
        return base[:-2] + b"a" * (n - len(base)) + b'"}'

    def test_body_exactly_at_cap_ok(self):
        b = self.body_of(1024)
        self.assertEqual(len(b), 1024)
        st, _, _ = self.kt.chat(body=b)
        self.assertEqual(st, 200)
        self.assertEqual(self.mock.wait_requests(1)[0].body, b)

    def test_body_one_over_cap_413(self):
        st, h, body = self.kt.chat(body=self.body_of(1025))
        self.assertError(st, h, body, 413, "validation_error", "body_too_large")
        self.assertNotForwarded()

    def test_chunked_body_over_cap_413(self):
        b = self.body_of(1500)
        wire = b"".join(b"%x\r\n%s\r\n" % (len(b[i:i + 100]), b[i:i + 100]) for i in range(0, len(b), 100))
        res = raw_exchange(self.kt.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n" + wire + b"0\r\n\r\n", timeout=3)
        self.assertEqual(res.status, 413, res)
        self.assertNotForwarded()

    def test_header_count(self):
        h = {"X-H%d" % i: "v" for i in range(12)}
        st, _, _ = self.kt.chat(headers=h)
        self.assertEqual(st, 200)
        h = {"X-H%d" % i: "v" for i in range(25)}
        st, hd, body = self.kt.chat(headers=h)
        self.assertError(st, hd, body, 431, "validation_error", "headers_too_large")

    def test_header_bytes(self):
        st, _, _ = self.kt.chat(headers={"X-Big": "a" * 3000})
        self.assertEqual(st, 200)
        self.mock.reset()
        st, hd, body = self.kt.chat(headers={"X-Big": "a" * 5000})
        self.assertError(st, hd, body, 431, "validation_error", "headers_too_large")
        self.assertNotForwarded()
