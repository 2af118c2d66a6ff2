"""Provider auth injection per provider; client credentials never forwarded; missing key -> 503;
secrets never in kt's logs."""
import json
import os
import tempfile

from harness import (KtCase, Kt, MockUpstream, config_yaml, shared_pki, OPENAI_KEY, ANTHROPIC_KEY,
                     AZURE_KEY, CLIENT_KEY, ALL_SECRETS, kt_bin)
import unittest

CLIENT_CREDS = {"Authorization": "Bearer " + CLIENT_KEY, "x-api-key": CLIENT_KEY, "api-key": CLIENT_KEY}
CRED_HEADERS = ("authorization", "x-api-key", "api-key")


class AuthTest(KtCase):
    def creds_seen(self, r):
        return {k: r.header_all(k) for k in CRED_HEADERS if r.header_all(k)}

    def assertNoClientKey(self, r):
        for k, v in r.headers:
            self.assertNotIn(CLIENT_KEY, v, "client key forwarded in header %s" % k)
        self.assertNotIn(CLIENT_KEY.encode(), r.raw_head)

    def test_openai_bearer_injected_client_key_dropped(self):
        st, _, body = self.kt.chat(headers=CLIENT_CREDS)
        self.assertEqual(st, 200, body)
        r = self.mock.wait_requests(1)[0]
        self.assertNoClientKey(r)
        self.assertEqual(self.creds_seen(r), {"authorization": ["Bearer " + OPENAI_KEY]})

    def test_openai_without_client_key(self):
        st, _, _ = self.kt.chat()
        self.assertEqual(st, 200)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(self.creds_seen(r), {"authorization": ["Bearer " + OPENAI_KEY]})

    def test_anthropic_x_api_key_and_version(self):
        body = json.dumps({"model": "claude-3-5-sonnet", "max_tokens": 10,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        st, _, data = self.kt.request("POST", "/v1/messages", body=body,
                                      headers=dict(CLIENT_CREDS, **{"Content-Type": "application/json"}))
        self.assertEqual(st, 200, data)
        self.assertEqual(json.loads(data)["type"], "message")
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.path, "/v1/messages")
        self.assertNoClientKey(r)
        self.assertEqual(self.creds_seen(r), {"x-api-key": [ANTHROPIC_KEY]})
        self.assertEqual(r.header_all("anthropic-version"), ["2023-06-01"])
        self.assertEqual(r.body, body)

    def test_anthropic_client_version_kept(self):
        body = json.dumps({"model": "claude-3-5-sonnet", "max_tokens": 10, "messages": []}).encode()
        st, _, _ = self.kt.request("POST", "/v1/messages", body=body,
                                   headers={"anthropic-version": "2024-01-01",
                                            "anthropic-beta": "tools-2024-04-04",
                                            "x-api-key": CLIENT_KEY})
        self.assertEqual(st, 200)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.header_all("anthropic-version"), ["2024-01-01"])
        self.assertEqual(r.header("anthropic-beta"), "tools-2024-04-04")
        self.assertEqual(r.header_all("x-api-key"), [ANTHROPIC_KEY])

    def test_azure_api_key_and_deployment_path(self):
        st, _, data = self.kt.chat(model="gpt-4o", headers=CLIENT_CREDS)
        self.assertEqual(st, 200, data)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.path, "/openai/deployments/my-dep/chat/completions")
        self.assertEqual(r.query, "api-version=2024-06-01")
        self.assertNoClientKey(r)
        self.assertEqual(self.creds_seen(r), {"api-key": [AZURE_KEY]})

    def test_secrets_not_logged(self):
        # exercise every provider with client credentials, plus an error path, then grep the log
        self.kt.chat(headers=CLIENT_CREDS)
        self.kt.chat(model="gpt-4o", headers=CLIENT_CREDS)
        self.kt.request("POST", "/v1/messages", body=b'{"model":"claude-3-5-sonnet"}', headers=CLIENT_CREDS)
        self.kt.chat(headers=dict(CLIENT_CREDS, **{"x-keeptrusts-target": "nope"}))
        self.kt.chat(headers=dict(CLIENT_CREDS, **{"x-mock-mode": "fail"}))
        err = self.kt.stderr()
        for s in ALL_SECRETS:
            self.assertNotIn(s, err)
        self.assertNotIn(CLIENT_KEY[:20], err)


class MissingKeyTest(KtCase):
    kt_unset = ("OPENAI_API_KEY",)

    def test_missing_key_503(self):
        st, h, body = self.kt.chat(headers={"Authorization": "Bearer " + CLIENT_KEY})
        self.assertError(st, h, body, 503, "unavailable", "provider_key_missing")
        self.assertNotForwarded()

    def test_other_targets_still_work(self):
        st, _, _ = self.kt.chat(model="gpt-4o")
        self.assertEqual(st, 200)
        self.assertEqual(len(self.mock.wait_requests(1)), 1)

    def test_health_still_ok(self):
        st, _, _ = self.kt.request("GET", "/healthz")
        self.assertEqual(st, 200)


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class FileKeyTest(unittest.TestCase):
    def test_secret_key_ref_file(self):
        pki = shared_pki()
        mock = MockUpstream(pki.good_cert, pki.good_key).start()
        d = tempfile.mkdtemp()
        path = os.path.join(d, "key")
        with open(path, "w") as f:
            f.write("sk-from-file-0a1b2c3d4e")
        targets = [{"id": "f", "provider": "openai", "base_url": mock.url,
                    "secret_key_ref": {"file": path}}]
        kt = Kt(config_yaml(targets=targets)).start()
        try:
            st, _, body = kt.chat()
            self.assertEqual(st, 200, body)
            self.assertEqual(mock.wait_requests(1)[0].header("authorization"), "Bearer sk-from-file-0a1b2c3d4e")
            self.assertNotIn("sk-from-file-0a1b2c3d4e", kt.stderr())
        finally:
            try:
                kt.stop()
            finally:
                mock.stop()
