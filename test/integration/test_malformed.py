"""Request smuggling / malformed HTTP table. Every case must be answered 400 (413/431 where a cap is
the reason) with `Connection: close`, the connection must then be closed, and NOTHING may reach the
upstream. Each request targets /v1/chat/completions with a valid JSON body so a forwarded request
would show in the mock's record."""
import json
import time

from harness import KtCase, error_of

BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"smuggle"}]}'
N = len(BODY)
SMUG = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (N, BODY)


def req(head_lines, body=BODY, start=b"POST /v1/chat/completions HTTP/1.1", eol=b"\r\n"):
    return start + eol + eol.join(head_lines) + eol + eol + body


def cl(n=N):
    return b"Content-Length: %d" % n


def chunked(*chunks):
    return b"".join(chunks)


# (name, raw request, allowed statuses)
CASES = [
    ("obs_fold", req([b"Host: x", b"X-Foo: a", b" b", cl()]), (400,)),
    ("obs_fold_tab", req([b"Host: x", b"X-Foo: a", b"\tb", cl()]), (400,)),
    ("bare_lf_everywhere", req([b"Host: x", cl()], eol=b"\n"), (400,)),
    ("bare_lf_one_header", b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\nX-A: 1\r\n" + cl() + b"\r\n\r\n" + BODY, (400,)),
    ("bare_cr_in_value", req([b"Host: x", b"X-A: a\rb", cl()]), (400,)),
    ("duplicate_host", req([b"Host: x", b"Host: y", cl()]), (400,)),
    ("missing_host_http11", req([cl()]), (400,)),
    ("cl_and_te", req([b"Host: x", cl(), b"Transfer-Encoding: chunked"],
                      body=b"0\r\n\r\n" + SMUG), (400,)),
    ("te_and_cl", req([b"Host: x", b"Transfer-Encoding: chunked", cl(4)],
                      body=b"5c\r\n" + SMUG), (400,)),
    ("duplicate_cl_same", req([b"Host: x", cl(), cl()]), (400,)),
    ("conflicting_cl", req([b"Host: x", cl(), cl(N + 5)], body=BODY + b"XXXXX"), (400,)),
    ("cl_list", req([b"Host: x", b"Content-Length: %d, %d" % (N, N)]), (400,)),
    ("cl_negative", req([b"Host: x", b"Content-Length: -1"]), (400,)),
    ("cl_non_digit", req([b"Host: x", b"Content-Length: 7a"]), (400,)),
    ("cl_plus", req([b"Host: x", b"Content-Length: +%d" % N]), (400,)),
    ("cl_hex", req([b"Host: x", b"Content-Length: 0x10"]), (400,)),
    ("cl_space_inside", req([b"Host: x", b"Content-Length: 1 0"]), (400,)),
    ("cl_too_large", req([b"Host: x", b"Content-Length: 99999999999999999999999999"]), (400, 413)),
    ("te_chunked_gzip", req([b"Host: x", b"Transfer-Encoding: chunked, gzip"], body=b"0\r\n\r\n"), (400,)),
    ("te_gzip_chunked", req([b"Host: x", b"Transfer-Encoding: gzip, chunked"], body=b"0\r\n\r\n"), (400,)),
    ("te_xchunked", req([b"Host: x", b"Transfer-Encoding: xchunked"], body=b"0\r\n\r\n"), (400,)),
    ("te_chunked_vtab", req([b"Host: x", b"Transfer-Encoding: chunked\x0b"], body=b"0\r\n\r\n"), (400,)),
    ("te_identity", req([b"Host: x", b"Transfer-Encoding: identity", cl()]), (400,)),
    ("te_duplicate", req([b"Host: x", b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"],
                         body=b"%x\r\n%s\r\n0\r\n\r\n" % (N, BODY)), (400,)),
    ("te_space_before_colon", req([b"Host: x", b"Transfer-Encoding : chunked", cl()]), (400,)),
    ("chunk_size_invalid", req([b"Host: x", b"Transfer-Encoding: chunked"], body=b"zz\r\n" + BODY + b"\r\n0\r\n\r\n"), (400,)),
    ("chunk_size_overflow", req([b"Host: x", b"Transfer-Encoding: chunked"],
                                body=b"1ffffffffffffffff\r\n" + BODY + b"\r\n0\r\n\r\n"), (400, 413)),
    ("chunk_size_negative", req([b"Host: x", b"Transfer-Encoding: chunked"], body=b"-5\r\nabcde\r\n0\r\n\r\n"), (400,)),
    ("chunk_ext_too_long", req([b"Host: x", b"Transfer-Encoding: chunked"],
                               body=b"%x;ext=%s\r\n%s\r\n0\r\n\r\n" % (N, b"a" * 300, BODY)), (400,)),
    ("chunk_missing_crlf", req([b"Host: x", b"Transfer-Encoding: chunked"],
                               body=b"%x\r\n%sXX0\r\n\r\n" % (N, BODY)), (400,)),
    ("chunk_bare_lf", req([b"Host: x", b"Transfer-Encoding: chunked"],
                          body=b"%x\n%s\n0\n\n" % (N, BODY)), (400,)),
    ("upgrade_websocket", req([b"Host: x", b"Connection: Upgrade", b"Upgrade: websocket",
                               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", b"Sec-WebSocket-Version: 13", cl()]), (400,)),
    ("upgrade_h2c", req([b"Host: x", b"Connection: Upgrade, HTTP2-Settings", b"Upgrade: h2c",
                         b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA", cl()]), (400,)),
    ("connect_method", b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n", (400,)),
    ("absolute_form_other_host", req([b"Host: x", cl()],
                                     start=b"POST http://evil.example/v1/chat/completions HTTP/1.1"), (400,)),
    ("space_before_colon", req([b"Host: x", b"X-Foo : bar", cl()]), (400,)),
    ("space_in_header_name", req([b"Host: x", b"X Foo: bar", cl()]), (400,)),
    ("invalid_char_in_header_name", req([b"Host: x", b"X(Foo): bar", cl()]), (400,)),
    ("nul_in_header_value", req([b"Host: x", b"X-Foo: a\x00b", cl()]), (400,)),
    ("nul_in_header_name", req([b"Host: x", b"X-F\x00oo: ab", cl()]), (400,)),
    ("ctl_in_header_value", req([b"Host: x", b"X-Foo: a\x01b", cl()]), (400,)),
    ("header_without_colon", req([b"Host: x", b"X-Foo-No-Colon", cl()]), (400,)),
    ("empty_header_name", req([b"Host: x", b": value", cl()]), (400,)),
    ("http_2_0", req([b"Host: x", cl()], start=b"POST /v1/chat/completions HTTP/2.0"), (400, 505)),
    ("http_9_9", req([b"Host: x", cl()], start=b"POST /v1/chat/completions HTTP/9.9"), (400, 505)),
    ("http_lowercase", req([b"Host: x", cl()], start=b"POST /v1/chat/completions http/1.1"), (400,)),
    ("http_version_garbage", req([b"Host: x", cl()], start=b"POST /v1/chat/completions HTTP/1.1x"), (400,)),
    ("request_line_extra_space", req([b"Host: x", cl()], start=b"POST  /v1/chat/completions HTTP/1.1"), (400,)),
    ("request_line_trailing_space", req([b"Host: x", cl()], start=b"POST /v1/chat/completions HTTP/1.1 "), (400,)),
    ("request_line_tab", req([b"Host: x", cl()], start=b"POST\t/v1/chat/completions HTTP/1.1"), (400,)),
    ("invalid_method_chars", req([b"Host: x", cl()], start=b"PO(ST /v1/chat/completions HTTP/1.1"), (400,)),
    ("target_not_slash", req([b"Host: x", cl()], start=b"POST v1/chat/completions HTTP/1.1"), (400,)),
    ("space_in_target", req([b"Host: x", cl()], start=b"POST /v1/chat/completions?a=b c HTTP/1.1"), (400,)),
    ("header_too_large", req([b"Host: x", b"X-Big: " + b"a" * (10 * 1024), cl()]), (431,)),
    ("too_many_headers", req([b"Host: x"] + [b"X-H%d: v" % i for i in range(60)] + [cl()]), (431,)),
    ("body_too_large_cl", req([b"Host: x", b"Content-Length: %d" % (100 * 1024)], body=b""), (413,)),
]

CHUNKED_OVER_CAP = req([b"Host: x", b"Transfer-Encoding: chunked"],
                       body=b"".join(b"4000\r\n" + b"a" * 0x4000 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n")
CASES.append(("body_too_large_chunked", CHUNKED_OVER_CAP, (413,)))


class MalformedTest(KtCase):
    def test_table_has_enough_cases(self):
        self.assertGreaterEqual(len(CASES), 25)

    def test_malformed_table(self):
        for name, data, allowed in CASES:
            with self.subTest(case=name):
                self.mock.reset()
                res = self.kt.raw(data, timeout=4)
                self.assertIsNotNone(res.status, "%s: no HTTP response: %r" % (name, res))
                self.assertIn(res.status, allowed, "%s: %r" % (name, res))
                self.assertEqual(res.headers.get("connection", "").lower(), "close",
                                 "%s: no Connection: close: %r" % (name, res))
                self.assertTrue(res.closed, "%s: connection left open: %r" % (name, res))
                e = res.json()["error"]
                self.assertEqual(e["type"], "validation_error", name)
                if res.status == 413:
                    self.assertEqual(e.get("code"), "body_too_large", name)
                if res.status == 431:
                    self.assertEqual(e.get("code"), "headers_too_large", name)
                self.assertIn("application/json", res.headers.get("content-type", ""))
                time.sleep(0.05)
                self.assertEqual([(r.method, r.target) for r in self.mock.requests], [],
                                 "%s: reached the upstream" % name)
        # kt is still healthy after all that
        st, _, _ = self.kt.request("GET", "/healthz")
        self.assertEqual(st, 200)

    def test_malformed_after_valid_request_on_same_connection(self):
        # a good request then a smuggling attempt on the same connection: first served, second 400
        good = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + cl() + b"\r\n\r\n" + BODY
        bad = req([b"Host: x", cl(), b"Transfer-Encoding: chunked"], body=b"0\r\n\r\n" + SMUG)
        res = self.kt.raw(good + bad, timeout=4)
        self.assertEqual(res.status, 200, res)
        self.assertIn(b"HTTP/1.1 400", res.data)
        self.assertTrue(res.closed)
        time.sleep(0.2)
        self.assertEqual(len(self.mock.requests), 1)

    def test_http10_without_host_is_served(self):
        res = self.kt.raw(b"GET /healthz HTTP/1.0\r\n\r\n", timeout=3)
        self.assertEqual(res.status, 200, res)

    def test_absolute_form_same_host_not_forwarded_elsewhere(self):
        # absolute-form naming another authority must never make kt talk to that authority
        res = self.kt.raw(req([b"Host: evil.example", cl()],
                              start=b"POST http://evil.example:80/v1/chat/completions HTTP/1.1"), timeout=3)
        self.assertEqual(res.status, 400, res)
        time.sleep(0.1)
        self.assertEqual(self.mock.requests, [])
