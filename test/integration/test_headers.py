"""Hop-by-hop headers stripped both ways; trace headers passed through unchanged."""
from harness import KtCase, raw_exchange

HOP_REQ = [
    ("Connection", "keep-alive, X-Hop-Req"),
    ("Keep-Alive", "timeout=77, max=5"),
    ("Proxy-Connection", "keep-alive"),
    ("TE", "trailers"),
    ("Trailer", "X-Checksum"),
    ("Proxy-Authorization", "Basic cHJveHk6c2VjcmV0"),
    ("X-Hop-Req", "must-not-pass"),
]
TRACE = [
    ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
    ("x-request-id", "req-abc-123"),
    ("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"),
    ("X-B3-TraceId", "80f198ee56343ba864fe8b2a57d3eff7"),
    ("X-B3-SpanId", "e457b5a2e4d86bd1"),
    ("X-B3-Sampled", "1"),
]


class HeadersTest(KtCase):
    def send(self, headers):
        body = b'{"model":"gpt-4o-mini","messages":[]}'
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        head += b"".join(("%s: %s\r\n" % kv).encode() for kv in headers)
        head += b"Content-Length: %d\r\n\r\n" % len(body)
        return raw_exchange(self.kt.port, head + body, timeout=3)

    def test_hop_by_hop_request_headers_stripped(self):
        res = self.send(HOP_REQ + [("X-End-To-End", "kept")])
        self.assertEqual(res.status, 200, res)
        r = self.mock.wait_requests(1)[0]
        names = r.header_names()
        for n in ("keep-alive", "proxy-connection", "te", "trailer", "proxy-authorization", "x-hop-req"):
            self.assertNotIn(n, names, "hop-by-hop header %s forwarded" % n)
        # kt may send its own Connection header upstream, but never the client's tokens
        for v in r.header_all("connection"):
            self.assertNotIn("x-hop-req", v.lower())
        self.assertNotIn(b"timeout=77", r.raw_head)
        self.assertNotIn(b"cHJveHk6c2VjcmV0", r.raw_head)
        self.assertEqual(r.header("x-end-to-end"), "kept")

    def test_client_transfer_encoding_not_forwarded_as_is(self):
        # the client's chunked framing is kt's business; upstream gets a well-framed body
        res = raw_exchange(self.kt.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n", timeout=3)
        self.assertEqual(res.status, 200, res)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.body, b'{"a":1}')
        self.assertLessEqual(len(r.header_all("transfer-encoding")) + len(r.header_all("content-length")), 1)

    def test_trace_headers_pass_through(self):
        res = self.send(TRACE)
        self.assertEqual(res.status, 200, res)
        r = self.mock.wait_requests(1)[0]
        for k, v in TRACE:
            self.assertEqual(r.header_all(k), [v], k)

    def test_hop_by_hop_response_headers_stripped(self):
        res = self.send([("x-mock-mode", "hop"), ("Connection", "close")])
        self.assertEqual(res.status, 200, res)
        h = res.headers
        for n in ("keep-alive", "x-hop", "proxy-connection", "upgrade"):
            self.assertNotIn(n, h, "response hop-by-hop header %s passed to the client" % n)
        self.assertNotIn(b"secret-hop", res.data)
        self.assertNotIn(b"timeout=99", res.data)
        self.assertEqual(h.get("x-end-to-end"), "kept")

    def test_response_x_request_id(self):
        st, h, _ = self.kt.chat(headers={"x-request-id": "rid-42"})
        self.assertEqual(st, 200)
        self.assertEqual(self.mock.wait_requests(1)[0].header("x-request-id"), "rid-42")
        self.assertEqual(h.get("x-request-id"), "rid-42")  # the mock echoes it back
