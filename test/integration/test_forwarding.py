"""Forwarding: method, path, query and body byte for byte; responses byte for byte; every API
endpoint; keep-alive on both sides; HTTP/1.0; pipelining; chunked request bodies."""
import gzip
import json
import socket
import time

from harness import KtCase, OPENAI_KEY, dechunk, raw_exchange

# Deliberately odd JSON: escapes, a 64-bit seed, unicode, odd whitespace. Must arrive unchanged.
ODD_BODY = (b'{ "model" : "gpt-4o-mini",\n "seed": 18446744073709551615, "temperature": 0.70,'
            b' "messages":[{"role":"user","content":"caf\\u00e9 \xe2\x98\x83 \\"q\\" \\n tab\\t"}],'
            b' "x_extra": [1e3, -0.0, null, true]   }')


class ForwardingTest(KtCase):
    def test_chat_body_path_query_byte_for_byte(self):
        st, h, body = self.kt.request("POST", "/v1/chat/completions?foo=bar&x=%20y&empty=",
                                      body=ODD_BODY, headers={"Content-Type": "application/json"})
        self.assertEqual(st, 200, body)
        reqs = self.mock.wait_requests(1)
        self.assertEqual(len(reqs), 1)
        r = reqs[0]
        self.assertEqual(r.method, "POST")
        self.assertEqual(r.path, "/v1/chat/completions")
        self.assertEqual(r.query, "foo=bar&x=%20y&empty=")
        self.assertEqual(r.body, ODD_BODY)
        self.assertEqual(r.header("content-type"), "application/json")
        # the response body arrives as the mock sent it
        self.assertEqual(body, r.response_body)
        self.assertEqual(json.loads(body)["object"], "chat.completion")
        self.assertEqual(json.loads(body)["usage"]["total_tokens"], 14)

    def test_response_headers_pass_through(self):
        st, h, _ = self.kt.chat()
        self.assertEqual(st, 200)
        self.assertEqual(h.get("openai-processing-ms"), "7")
        self.assertIn("application/json", h.get("content-type", ""))

    def test_all_openai_endpoints(self):
        cases = [
            ("POST", "/v1/completions", {"model": "gpt-4o-mini", "prompt": "hi"}, "text_completion"),
            ("POST", "/v1/embeddings", {"model": "gpt-4o-mini", "input": ["a", "b"]}, "list"),
            ("POST", "/v1/responses", {"model": "gpt-4o-mini", "input": "hi"}, "response"),
            ("GET", "/v1/models", None, "list"),
        ]
        for method, path, req, obj in cases:
            with self.subTest(path=path):
                self.mock.reset()
                body = json.dumps(req).encode() if req is not None else None
                hdrs = {"Content-Type": "application/json"} if body else {}
                st, h, data = self.kt.request(method, path, body=body, headers=hdrs)
                self.assertEqual(st, 200, data)
                self.assertEqual(json.loads(data)["object"], obj)
                r = self.mock.wait_requests(1)[0]
                self.assertEqual((r.method, r.path), (method, path))
                self.assertEqual(r.body, body or b"")
                self.assertEqual(r.header("authorization"), "Bearer " + OPENAI_KEY)

    def test_unlisted_v1_path_is_not_forwarded(self):
        # only the inference and model APIs go upstream with the provider key (issue 15);
        # gateway.forward_paths adds others (test_failover.py)
        st, h, data = self.kt.request("GET", "/v1/files/file-abc?purpose=x")
        self.assertError(st, h, data, 404, "not_found", "path_not_forwarded")
        self.assertNotForwarded()

    def test_upstream_error_status_passes_through(self):
        st, h, data = self.kt.chat(headers={"x-mock-mode": "fail"})
        self.assertEqual(st, 500)
        self.assertEqual(json.loads(data)["error"]["code"], "mock_fail")
        st, h, data = self.kt.chat(headers={"x-mock-mode": "status", "x-mock-status": "429"})
        self.assertEqual(st, 429)
        self.assertEqual(h.get("retry-after"), "3")

    def test_chunked_request_body(self):
        body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "chunky"}]}).encode()
        parts = [body[:10], body[10:25], body[25:]]
        wire = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        res = raw_exchange(self.kt.port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                           b"Connection: close\r\n\r\n" + wire)
        self.assertEqual(res.status, 200, res)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.body, body)
        te = (r.header("transfer-encoding") or "").lower()
        self.assertTrue(te == "chunked" or r.header("content-length") == str(len(body)), r.headers)

    def test_large_body_under_cap(self):
        text = "z" * (60 * 1024)
        body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}).encode()
        self.assertLess(len(body), 64 * 1024)
        st, _, data = self.kt.chat(body=body)
        self.assertEqual(st, 200, data)
        self.assertEqual(self.mock.wait_requests(1)[0].body, body)

    def test_huge_response(self):
        st, h, data = self.kt.chat(headers={"x-mock-mode": "huge", "x-mock-size": str(3 << 20)})
        self.assertEqual(st, 200)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(data, r.response_body)
        self.assertGreater(len(data), 3 << 20)

    def test_gzip_response_readable(self):
        st, h, data = self.kt.chat(headers={"x-mock-mode": "gzip", "Accept-Encoding": "gzip"})
        self.assertEqual(st, 200)
        if h.get("content-encoding", "").lower() == "gzip":
            data = gzip.decompress(data)
        else:
            self.assertNotIn("content-encoding", h)
        self.assertEqual(json.loads(data)["object"], "chat.completion")

    def test_client_keepalive_reuse(self):
        c = self.kt.conn()
        try:
            for i in range(5):
                c.request("POST", "/v1/chat/completions", body=json.dumps(
                    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": str(i)}]}),
                    headers={"Content-Type": "application/json"})
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                r.read()
                if i == 0:
                    sock = c.sock
                self.assertIs(c.sock, sock, "kt closed the client connection after request %d" % i)
                c.request("GET", "/healthz")
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                r.read()
                self.assertIs(c.sock, sock)
        finally:
            c.close()
        self.assertEqual(len(self.mock.wait_requests(5)), 5)

    def test_upstream_connection_reuse(self):
        n = 8
        for i in range(n):
            st, _, _ = self.kt.chat()
            self.assertEqual(st, 200)
        reqs = self.mock.wait_requests(n)
        self.assertEqual(len(reqs), n)
        conns = {r.conn_id for r in reqs}
        self.assertLess(self.mock.connections, n, "no upstream keep-alive: %d TCP connections for %d "
                        "requests" % (self.mock.connections, n))
        self.assertLessEqual(len(conns), 2)

    def test_pipelined_requests(self):
        one = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s")
        b1 = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "first"}]}).encode()
        b2 = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "second"}]}).encode()
        last = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        res = raw_exchange(self.kt.port, one % (len(b1), b1) + one % (len(b2), b2) + last, timeout=8)
        self.assertTrue(res.closed, res)
        self.assertEqual(res.data.count(b"HTTP/1.1 200"), 3, res)
        reqs = self.mock.wait_requests(2)
        self.assertEqual([r.body for r in reqs], [b1, b2])

    def test_http10_served_and_closed(self):
        b = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "old"}]}).encode()
        res = raw_exchange(self.kt.port, b"POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b))
        self.assertIn(res.status, (200,), res)
        self.assertTrue(res.closed, "HTTP/1.0 without keep-alive must be closed after the response")
        self.assertEqual(self.mock.wait_requests(1)[0].body, b)

    def test_host_rewritten(self):
        st, _, _ = self.kt.chat(headers={"Host": "app.internal:41002"})
        self.assertEqual(st, 200)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.header_all("host"), ["localhost:%d" % self.mock.port])

    def test_concurrent_requests(self):
        import threading
        results = []

        def one(i):
            results.append(self.kt.chat(headers={"x-mock-mode": "slow", "x-mock-delay": "0.3"})[0])
        ts = [threading.Thread(target=one, args=(i,)) for i in range(10)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join(20)
        self.assertEqual(results, [200] * 10)
        self.assertLess(time.monotonic() - t0, 2.5, "requests were serialised, not concurrent")


class UpstreamConnectionLifecycleTest(KtCase):
    """The upstream pool must cope with connections the provider closes."""

    def test_upstream_closes_idle_pooled_connection(self):
        st, _, _ = self.kt.chat(headers={"x-mock-close-after": "0.1"})
        self.assertEqual(st, 200)
        time.sleep(0.6)  # the pooled connection is now closed by the upstream
        for i in range(3):
            st, _, body = self.kt.chat()
            self.assertEqual(st, 200, "request %d after the upstream closed an idle pooled "
                             "connection: %s" % (i, body[:300]))
        self.assertEqual(len(self.mock.wait_requests(4)), 4)

    def test_upstream_connection_close_header(self):
        for i in range(4):
            st, _, body = self.kt.chat(headers={"x-mock-framing": "connection-close"})
            self.assertEqual(st, 200, body[:300])
        reqs = self.mock.wait_requests(4)
        self.assertEqual(len({r.conn_id for r in reqs}), 4, "kt reused a connection the upstream closed")

    def test_close_delimited_response_body(self):
        st, h, body = self.kt.chat(headers={"x-mock-framing": "close"})
        self.assertEqual(st, 200)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(body, r.response_body)
        st, _, _ = self.kt.chat()
        self.assertEqual(st, 200)

    def test_client_gone_while_waiting_for_upstream(self):
        s = socket.create_connection(("127.0.0.1", self.kt.port))
        b = b'{"model":"gpt-4o-mini","messages":[]}'
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-mock-mode: hang\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(b), b))
        rec = self.mock.wait_requests(1)[0]
        time.sleep(0.2)
        s.close()
        deadline = time.monotonic() + 4
        while not rec.done and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(rec.done, "upstream request kept open after the client left")
        st, _, _ = self.kt.chat()
        self.assertEqual(st, 200)
