"""Routing: x-keeptrusts-target, else the body's model, else the first target; base_url forms;
Azure deployment paths."""
import json

from harness import KtCase, config_yaml, ANTHROPIC_KEY, AZURE_KEY, OPENAI_KEY


class RoutingTest(KtCase):
    def test_default_first_target(self):
        st, _, _ = self.kt.chat(model="some-unknown-model")
        self.assertEqual(st, 200)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.path, "/v1/chat/completions")
        self.assertEqual(r.header("authorization"), "Bearer " + OPENAI_KEY)

    def test_no_model_field_goes_to_first(self):
        st, _, _ = self.kt.request("POST", "/v1/chat/completions", body=b'{"messages":[]}')
        self.assertEqual(st, 200)
        self.assertEqual(self.mock.wait_requests(1)[0].header("authorization"), "Bearer " + OPENAI_KEY)

    def test_by_model(self):
        st, _, _ = self.kt.chat(model="claude-3-5-sonnet", path="/v1/messages")
        self.assertEqual(st, 200)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.header("x-api-key"), ANTHROPIC_KEY)
        self.assertIsNone(r.header("authorization"))

    def test_by_header_overrides_model(self):
        st, _, _ = self.kt.chat(model="gpt-4o-mini", path="/v1/messages",
                                headers={"x-keeptrusts-target": "claude"})
        self.assertEqual(st, 200)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.header("x-api-key"), ANTHROPIC_KEY)
        self.assertNotIn("x-keeptrusts-target", r.header_names())
        # model is not rewritten
        self.assertEqual(r.json()["model"], "gpt-4o-mini")

    def test_header_target_not_forwarded(self):
        st, _, _ = self.kt.chat(headers={"x-keeptrusts-target": "openai-main"})
        self.assertEqual(st, 200)
        self.assertNotIn("x-keeptrusts-target", self.mock.wait_requests(1)[0].header_names())

    def test_unknown_target_400(self):
        st, h, body = self.kt.chat(headers={"x-keeptrusts-target": "no-such-target"})
        self.assertError(st, h, body, 400, "validation_error", "unknown_target")
        self.assertNotForwarded()

    def test_azure_by_model(self):
        st, _, _ = self.kt.chat(model="gpt-4o")
        self.assertEqual(st, 200)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual((r.path, r.query), ("/openai/deployments/my-dep/chat/completions",
                                             "api-version=2024-06-01"))
        self.assertEqual(r.header("api-key"), AZURE_KEY)

    def test_azure_embeddings_and_completions(self):
        for client_path, up_path in (("/v1/embeddings", "/openai/deployments/my-dep/embeddings"),
                                     ("/v1/completions", "/openai/deployments/my-dep/completions")):
            with self.subTest(path=client_path):
                self.mock.reset()
                body = json.dumps({"model": "gpt-4o", "input": "x", "prompt": "x"}).encode()
                st, _, data = self.kt.request("POST", client_path, body=body,
                                              headers={"x-keeptrusts-target": "azure"})
                self.assertEqual(st, 200, data)
                r = self.mock.wait_requests(1)[0]
                self.assertEqual((r.path, r.query), (up_path, "api-version=2024-06-01"))
                self.assertEqual(r.body, body)

    def test_azure_streaming(self):
        st, h, data = self.kt.chat(model="gpt-4o", stream=True)
        self.assertEqual(st, 200)
        self.assertIn(b"data: [DONE]", data)


class BaseUrlFormsTest(KtCase):
    """base_url with and without /v1, with a path prefix; Azure deployment defaulting to the model."""

    @classmethod
    def config(cls, mock):
        u = mock.url
        t = [
            {"id": "plain", "provider": "openai", "base_url": u, "secret_key_ref": {"env": "OPENAI_API_KEY"}},
            {"id": "v1", "provider": "openai", "base_url": u + "/v1", "secret_key_ref": {"env": "OPENAI_API_KEY"}},
            {"id": "slash", "provider": "openai", "base_url": u + "/v1/", "secret_key_ref": {"env": "OPENAI_API_KEY"}},
            {"id": "prefix", "provider": "openai", "base_url": u + "/proxy/openai/v1",
             "secret_key_ref": {"env": "OPENAI_API_KEY"}},
            {"id": "prefix-nov1", "provider": "openai", "base_url": u + "/proxy/openai",
             "secret_key_ref": {"env": "OPENAI_API_KEY"}},
            {"id": "ant-v1", "provider": "anthropic", "base_url": u + "/v1",
             "secret_key_ref": {"env": "ANTHROPIC_API_KEY"}},
            {"id": "az-default-dep", "provider": "azure-openai", "model": "gpt-35-turbo",
             "api_version": "2024-02-01", "base_url": u, "secret_key_ref": {"env": "AZURE_OPENAI_KEY"}},
        ]
        return config_yaml(targets=t)

    def test_forms(self):
        cases = [("plain", "/v1/chat/completions"), ("v1", "/v1/chat/completions"),
                 ("slash", "/v1/chat/completions"),
                 ("prefix", "/proxy/openai/v1/chat/completions"),
                 ("prefix-nov1", "/proxy/openai/v1/chat/completions"),
                 # no deployment: the request's model names it (kt.chat asks for gpt-4o-mini)
                 ("az-default-dep", "/openai/deployments/gpt-4o-mini/chat/completions")]
        for target, want in cases:
            with self.subTest(target=target):
                self.mock.reset()
                st, _, body = self.kt.chat(headers={"x-keeptrusts-target": target})
                self.assertEqual(st, 200, body)
                self.assertEqual(self.mock.wait_requests(1)[0].path, want)

    def test_anthropic_base_with_v1(self):
        st, _, _ = self.kt.chat(path="/v1/messages", headers={"x-keeptrusts-target": "ant-v1"})
        self.assertEqual(st, 200)
        self.assertEqual(self.mock.wait_requests(1)[0].path, "/v1/messages")

    def test_models_list_on_prefix(self):
        st, _, _ = self.kt.request("GET", "/v1/models", headers={"x-keeptrusts-target": "prefix"})
        self.assertEqual(st, 200)
        self.assertEqual(self.mock.wait_requests(1)[0].path, "/proxy/openai/v1/models")
