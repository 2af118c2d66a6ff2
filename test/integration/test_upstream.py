"""Upstream failures map to 502 upstream_error with a clear code: connect refused, TLS failures
(wrong hostname, untrusted CA, not TLS at all), upstream closing before/mid response, first-byte
timeout. kt stays healthy afterwards."""
import json
import socket
import threading
import time

from harness import KtCase, MockUpstream, closed_port, config_yaml, shared_pki


class UpstreamErrorsTest(KtCase):
    @classmethod
    def config(cls, mock):
        pki = shared_pki()
        cls.wrong = MockUpstream(pki.wrong_cert, pki.wrong_key).start()
        cls.untrusted = MockUpstream(pki.untrusted_cert, pki.untrusted_key).start()
        cls.plain = MockUpstream(tls=False).start()
        cls.chacha = MockUpstream(pki.good_cert, pki.good_key, ciphers=MockUpstream.CHACHA_ONLY).start()
        cls.aes256 = MockUpstream(pki.good_cert, pki.good_key, ciphers=MockUpstream.AES256_ONLY).start()
        # a TCP server that accepts and never says anything (TLS handshake never completes)
        cls.silent = socket.socket()
        cls.silent.bind(("127.0.0.1", 0))
        cls.silent.listen(16)
        k = {"env": "OPENAI_API_KEY"}
        t = [
            {"id": "good", "provider": "openai", "base_url": mock.url + "/v1", "secret_key_ref": k},
            {"id": "refused", "provider": "openai", "base_url": "https://localhost:%d/v1" % closed_port(),
             "secret_key_ref": k},
            {"id": "wrong-name", "provider": "openai", "base_url": "https://localhost:%d/v1" % cls.wrong.port,
             "secret_key_ref": k},
            {"id": "untrusted", "provider": "openai", "base_url": "https://localhost:%d/v1" % cls.untrusted.port,
             "secret_key_ref": k},
            {"id": "not-tls", "provider": "openai", "base_url": "https://localhost:%d/v1" % cls.plain.port,
             "secret_key_ref": k},
            {"id": "chacha", "provider": "openai", "base_url": "https://localhost:%d/v1" % cls.chacha.port,
             "secret_key_ref": k},
            {"id": "aes256", "provider": "openai", "base_url": "https://localhost:%d/v1" % cls.aes256.port,
             "secret_key_ref": k},
            {"id": "silent", "provider": "openai", "base_url": "https://localhost:%d/v1" % cls.silent.getsockname()[1],
             "secret_key_ref": k},
        ]
        return config_yaml(targets=t)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            for m in (cls.wrong, cls.untrusted, cls.plain, cls.chacha, cls.aes256):
                m.stop()
            cls.silent.close()

    def setUp(self):
        super().setUp()
        for m in (self.wrong, self.untrusted, self.plain, self.chacha, self.aes256):
            m.reset()

    def to(self, target, **kw):
        h = {"x-keeptrusts-target": target}
        h.update(kw.pop("headers", {}))
        t0 = time.monotonic()
        st, hd, body = self.kt.chat(headers=h, timeout=15, **kw)
        return st, hd, body, time.monotonic() - t0

    def test_connect_refused(self):
        st, h, body, _ = self.to("refused")
        self.assertError(st, h, body, 502, "upstream_error", "upstream_connect")

    def test_wrong_hostname_refused(self):
        st, h, body, _ = self.to("wrong-name")
        self.assertError(st, h, body, 502, "upstream_error", "upstream_tls")
        time.sleep(0.2)
        self.assertEqual(self.wrong.requests, [], "a request was sent over an unverified connection")
        self.assertGreaterEqual(self.wrong.connections, 1)

    def test_untrusted_ca_refused(self):
        st, h, body, _ = self.to("untrusted")
        self.assertError(st, h, body, 502, "upstream_error", "upstream_tls")
        time.sleep(0.2)
        self.assertEqual(self.untrusted.requests, [])

    def test_not_tls(self):
        st, h, body, _ = self.to("not-tls")
        e = self.assertError(st, h, body, 502, "upstream_error")
        self.assertIn(e["code"], ("upstream_tls", "upstream_protocol"))
        time.sleep(0.2)
        self.assertEqual(self.plain.requests, [])

    def test_handshake_timeout(self):
        st, h, body, el = self.to("silent")
        e = self.assertError(st, h, body, 502, "upstream_error")
        self.assertIn(e["code"], ("upstream_timeout", "upstream_connect", "upstream_tls"))
        self.assertLess(el, 6)

    def test_sni_sent(self):
        st, _, _, _ = self.to("good")
        self.assertEqual(st, 200)
        self.assertIn("localhost", self.mock.sni)
        self.assertEqual(set(self.mock.sni), {"localhost"})

    def test_tls_session_resumed_on_new_connections(self):
        # Each response closes its connection, so every request needs a new TLS connection; all
        # but the first should resume the saved session instead of a full handshake.
        # An earlier test may have left a kept-alive connection in the pool, which the first request
        # would reuse without a handshake: one connection-close request empties the pool first.
        st, _, body, _ = self.to("good", headers={"x-mock-framing": "connection-close"})
        self.assertEqual(st, 200, body)
        before = len(self.mock.resumed)
        for _ in range(3):
            st, _, body, _ = self.to("good", headers={"x-mock-framing": "connection-close"})
            self.assertEqual(st, 200, body)
        new = self.mock.resumed[before:]
        self.assertGreaterEqual(len(new), 3, new)
        self.assertTrue(all(new[1:]), "later connections did not resume: %r" % new)

    def test_record_layers_both_ways(self):
        # The default mock (OpenSSL's own suite order), ChaCha20-Poly1305 and AES-256-GCM: mbedTLS
        # seals and opens every record. All carry a large request and a streamed response intact,
        # on fresh and reused connections.
        body = json.dumps({"model": "gpt-4o-mini",
                           "messages": [{"role": "user", "content": "x" * 40000 + " end"}]}).encode()
        stream = json.dumps({"model": "gpt-4o-mini", "stream": True,
                             "messages": [{"role": "user", "content": "hi"}]}).encode()
        for target, mock, suite in (("good", self.mock, ""), ("chacha", self.chacha, "CHACHA20"),
                                    ("aes256", self.aes256, "AES256-GCM")):
            for _ in range(3):
                st, _, rb, _ = self.to(target, body=body)
                self.assertEqual(st, 200, rb)
                self.assertEqual(mock.requests[-1].json()["messages"][0]["content"][-4:], " end")
                st, _, rb, _ = self.to(target, body=stream)
                self.assertEqual(st, 200, rb)
                self.assertIn(b"data: [DONE]", rb)
            # TLS 1.2 (mbedTLS 2.28): the suite asked for. TLS 1.3 (kt on mbedTLS 3.6, Debian 13):
            # the server's 1.3 suite, whatever `ciphers` says.
            self.assertTrue(mock.ciphers, mock.ciphers)
            self.assertTrue(all(suite in c for v, c in mock.ciphers if v == "TLSv1.2"), mock.ciphers)

    def test_upstream_closes_before_response(self):
        st, h, body, _ = self.to("good", headers={"x-mock-mode": "close"})
        e = self.assertError(st, h, body, 502, "upstream_error")
        self.assertIn(e["code"], ("upstream_closed", "upstream_protocol"))

    def test_upstream_closes_mid_body(self):
        c = self.kt.conn(timeout=10)
        try:
            c.request("POST", "/v1/chat/completions", body=b'{"model":"gpt-4o-mini"}',
                      headers={"x-mock-mode": "midclose", "x-keeptrusts-target": "good"})
            r = c.getresponse()
            if r.status == 502:
                e = json.loads(r.read())["error"]
                self.assertIn(e["code"], ("upstream_closed", "upstream_protocol"))
            else:
                # headers were already forwarded: the body must be visibly cut, never completed
                self.assertEqual(r.status, 200)
                with self.assertRaises(Exception):
                    r.read()
        finally:
            c.close()

    def test_first_byte_timeout(self):
        st, h, body, el = self.to("good", headers={"x-mock-mode": "hang"})
        self.assertError(st, h, body, 502, "upstream_error", "upstream_timeout")
        self.assertGreater(el, 1.5)
        self.assertLess(el, 5.0)

    def test_slow_but_within_timeout_ok(self):
        st, _, _, el = self.to("good", headers={"x-mock-mode": "slow", "x-mock-delay": "1.0"})
        self.assertEqual(st, 200)

    def test_healthy_after_failures(self):
        for t in ("refused", "wrong-name", "not-tls"):
            self.to(t)
        st, _, _, _ = self.to("good")
        self.assertEqual(st, 200)

    def test_concurrent_failures_do_not_block_others(self):
        results = {}

        def hang():
            results["hang"] = self.to("good", headers={"x-mock-mode": "hang"})[0]
        t = threading.Thread(target=hang)
        t.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        st, _, _, _ = self.to("good")
        self.assertEqual(st, 200)
        self.assertLess(time.monotonic() - t0, 1.0)
        t.join(10)
        self.assertEqual(results.get("hang"), 502)
