"""Slow clients: headers or body trickled byte by byte are cut at header_timeout (1 s) /
body_timeout (2 s) while a normal client is served promptly all along."""
import socket
import threading
import time

from harness import KtCase

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0
SLACK = 2.0


def trickle(port, data, gap, max_time, out):
    """Send data one byte every gap seconds until the server closes; record when it did."""
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    got = b""
    closed_at = None
    try:
        s.settimeout(gap)
        for b in data:
            try:
                s.sendall(bytes([b]))
            except OSError:
                closed_at = time.monotonic() - t0
                break
            try:
                d = s.recv(4096)
                if not d:
                    closed_at = time.monotonic() - t0
                    break
                got += d
            except socket.timeout:
                pass
            except OSError:
                closed_at = time.monotonic() - t0
                break
            if time.monotonic() - t0 > max_time:
                break
        if closed_at is None:
            # out of bytes to send: wait for the close
            s.settimeout(max(0.1, max_time - (time.monotonic() - t0)))
            try:
                while True:
                    d = s.recv(4096)
                    if not d:
                        closed_at = time.monotonic() - t0
                        break
                    got += d
            except OSError:
                if time.monotonic() - t0 < max_time:
                    closed_at = time.monotonic() - t0
    finally:
        s.close()
    out.update(closed_at=closed_at, data=got)
    return out


SLOW_HEAD = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"v" * 20) for i in range(30)) + b"\r\n")


class SlowlorisTest(KtCase):
    def assertClosedAtTimeout(self, res, timeout):
        self.assertIsNotNone(res["closed_at"], "slow connection never closed: %r" % res)
        self.assertGreater(res["closed_at"], timeout * 0.5, "closed too early: %r" % res)
        self.assertLess(res["closed_at"], timeout + SLACK, "closed too late: %r" % res)
        if res["data"]:
            self.assertRegex(res["data"], rb"^HTTP/1\.1 408 ")

    def test_header_slowloris_closed_while_normal_client_served(self):
        res = {}
        t = threading.Thread(target=trickle, args=(self.kt.port, SLOW_HEAD, 0.1, 10, res))
        t.start()
        lat = []
        t_end = time.monotonic() + HEADER_TIMEOUT
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            st, _, _ = self.kt.chat()
            lat.append(time.monotonic() - t0)
            self.assertEqual(st, 200)
        t.join(15)
        self.assertClosedAtTimeout(res, HEADER_TIMEOUT)
        self.assertLess(max(lat), 0.5, "normal client slowed down by the slowloris: %r" % lat)
        self.assertEqual(len(self.mock.requests), len(lat), "the slow request reached the upstream")

    def test_many_slowloris_connections(self):
        results = [{} for _ in range(20)]
        ts = [threading.Thread(target=trickle, args=(self.kt.port, SLOW_HEAD, 0.2, 10, r)) for r in results]
        for t in ts:
            t.start()
        time.sleep(0.3)
        st, _, _ = self.kt.chat()
        self.assertEqual(st, 200)
        for t in ts:
            t.join(15)
        for r in results:
            self.assertClosedAtTimeout(r, HEADER_TIMEOUT)

    def test_idle_connection_without_request_closed(self):
        s = socket.create_connection(("127.0.0.1", self.kt.port))
        s.settimeout(HEADER_TIMEOUT + SLACK + 3)
        t0 = time.monotonic()
        try:
            d = s.recv(4096)
            while d:
                d = s.recv(4096)
            closed = time.monotonic() - t0
        except ConnectionResetError:
            closed = time.monotonic() - t0
        except socket.timeout:
            closed = None
        finally:
            s.close()
        self.assertIsNotNone(closed, "an idle connection that never sends a request is kept forever")
        self.assertLess(closed, HEADER_TIMEOUT + SLACK + 1)

    def test_body_slowloris(self):
        body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + b"s" * 200 + b'"}]}'
        head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
        s = socket.create_connection(("127.0.0.1", self.kt.port))
        s.sendall(head)
        res = {}
        t0 = time.monotonic()
        # the headers are complete: now trickle the body
        s2 = s
        s2.settimeout(0.1)
        got = b""
        closed_at = None
        for b in body:
            try:
                s2.sendall(bytes([b]))
            except OSError:
                closed_at = time.monotonic() - t0
                break
            try:
                d = s2.recv(4096)
                if not d:
                    closed_at = time.monotonic() - t0
                    break
                got += d
            except socket.timeout:
                pass
            except OSError:
                closed_at = time.monotonic() - t0
                break
            if time.monotonic() - t0 > BODY_TIMEOUT + SLACK + 2:
                break
        s.close()
        res.update(closed_at=closed_at, data=got)
        self.assertClosedAtTimeout(res, BODY_TIMEOUT)
        self.assertEqual(self.mock.requests, [], "a partial body reached the upstream")

    def test_incomplete_body_408(self):
        head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model\"")
        s = socket.create_connection(("127.0.0.1", self.kt.port))
        s.sendall(head)
        s.settimeout(BODY_TIMEOUT + SLACK + 1)
        t0 = time.monotonic()
        data = b""
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
        except OSError:
            pass
        finally:
            s.close()
        el = time.monotonic() - t0
        self.assertLess(el, BODY_TIMEOUT + SLACK)
        self.assertGreater(el, BODY_TIMEOUT * 0.5)
        self.assertRegex(data, rb"^HTTP/1\.1 408 ")
        self.assertIn(b"connection: close", data.lower())
        self.assertEqual(self.mock.requests, [])
