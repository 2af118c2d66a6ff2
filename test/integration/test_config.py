"""Config as the running gateway sees it: the embedded default (no config file), ${VAR} expansion,
bare-integer durations."""
import os
import time
import unittest

from harness import Kt, MockUpstream, config_yaml, shared_pki, kt_bin, OPENAI_KEY, raw_exchange


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class ConfigTest(unittest.TestCase):
    def setUp(self):
        pki = shared_pki()
        self.mock = MockUpstream(pki.good_cert, pki.good_key).start()
        self.kt = None

    def tearDown(self):
        try:
            if self.kt:
                self.kt.stop()
        finally:
            self.mock.stop()

    @unittest.skipIf(os.path.exists("/etc/keeptrusts/policy-config.yaml"),
                     "a real /etc/keeptrusts/policy-config.yaml exists on this machine")
    def test_embedded_default_uses_openai_base_url(self):
        self.kt = Kt(None, env={"OPENAI_BASE_URL": self.mock.url + "/v1"}).start()
        st, _, body = self.kt.chat(headers={"Authorization": "Bearer sk-client-x"})
        self.assertEqual(st, 200, body)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.path, "/v1/chat/completions")
        self.assertEqual(r.header_all("authorization"), ["Bearer " + OPENAI_KEY])

    def test_env_interpolation(self):
        targets = [{"id": "other", "provider": "openai", "base_url": "https://localhost:1/v1",
                    "model": "x", "secret_key_ref": {"env": "OPENAI_API_KEY"}},
                   {"id": "t", "provider": "openai", "base_url": "${KT_TEST_UPSTREAM}/v1",
                    "model": "${KT_TEST_MODEL:-gpt-default}", "secret_key_ref": {"env": "OPENAI_API_KEY"}}]
        text = config_yaml(targets=targets)
        self.kt = Kt(text, env={"KT_TEST_UPSTREAM": self.mock.url}).start()
        # routed by the model from ${VAR:-default}; the first target ("other") would fail with 502
        st, _, body = self.kt.chat(model="gpt-default")
        self.assertEqual(st, 200, body)
        self.assertEqual(self.mock.wait_requests(1)[0].path, "/v1/chat/completions")

    def test_bare_integer_duration_is_seconds(self):
        self.kt = Kt(config_yaml(self.mock, header_timeout=1)).start()
        t0 = time.monotonic()
        res = raw_exchange(self.kt.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", timeout=5)
        el = time.monotonic() - t0
        self.assertTrue(res.closed, res)
        self.assertGreater(el, 0.5)
        self.assertLess(el, 3.5)
