"""Routing by API, model globs and aliases, the Azure base_url forms, which paths are forwarded,
and non-JSON bodies under input policies (issue 15).

A request goes only to a target whose provider speaks its API (/v1/messages to Anthropic, chat,
completions, embeddings and responses to OpenAI or Azure); with none, 400 unsupported_api. A
target's `model` list takes fnmatch globs, `aliases` rewrite the model sent upstream (and name
an Azure deployment). Only the inference and model APIs are forwarded unless
gateway.forward_paths lists more. A multipart body follows gateway.fail_mode."""
import json
import time

from harness import (ANTHROPIC_KEY, AZURE_KEY, OPENAI_KEY, KtCase, config_yaml,
                     default_targets)
from policy_util import redact_config


def events(kt):
    time.sleep(0.2)
    return [o for o in kt.log_lines() if o.get("event_type") == "decision"]


class ApiRoutingTest(KtCase):
    """The three standard targets: openai-main (gpt-4o-mini), claude, azure (gpt-4o)."""

    def test_messages_go_to_anthropic_whatever_the_model(self):
        # before: the model matched openai-main and /v1/messages went there with its Bearer key
        st, _, body = self.kt.chat(model="gpt-4o-mini", path="/v1/messages")
        self.assertEqual(st, 200, body)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.path, "/v1/messages")
        self.assertEqual(r.header("x-api-key"), ANTHROPIC_KEY)
        self.assertIsNone(r.header("authorization"))

    def test_chat_for_a_claude_model_goes_to_an_openai_target(self):
        st, _, body = self.kt.chat(model="claude-3-5-sonnet")
        self.assertEqual(st, 200, body)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.header("authorization"), "Bearer " + OPENAI_KEY)
        self.assertIsNone(r.header("x-api-key"))

    def test_header_target_that_does_not_speak_the_api(self):
        st, h, body = self.kt.chat(headers={"x-keeptrusts-target": "claude"})
        e = self.assertError(st, h, body, 400, "validation_error", "unsupported_api")
        self.assertIn("anthropic", e["message"])
        self.assertNotForwarded()

    def test_models_list_goes_anywhere(self):
        st, _, _ = self.kt.request("GET", "/v1/models", headers={"x-keeptrusts-target": "claude"})
        self.assertEqual(st, 200)
        self.assertEqual(self.mock.wait_requests(1)[0].header("x-api-key"), ANTHROPIC_KEY)


class NoAnthropicTargetTest(KtCase):
    @classmethod
    def config(cls, mock):
        return config_yaml(mock, targets=[t for t in default_targets(mock.url)
                                          if t["provider"] != "anthropic"])

    def test_messages_without_an_anthropic_target(self):
        st, h, body = self.kt.chat(model="claude-3-5-sonnet", path="/v1/messages")
        e = self.assertError(st, h, body, 400, "validation_error", "unsupported_api")
        self.assertIn("/v1/messages", e["message"])
        self.assertIn("anthropic", e["message"])
        self.assertNotForwarded()


class GlobsAndAliasesTest(KtCase):
    @classmethod
    def config(cls, mock):
        u = mock.url
        key = {"env": "OPENAI_API_KEY"}
        return config_yaml(targets=[
            {"id": "main", "provider": "openai", "model": "gpt-4o-mini", "base_url": u + "/v1",
             "secret_key_ref": key},
            {"id": "wide", "provider": "openai", "model": ["gpt-4o", "gpt-4o-2024-*"],
             "aliases": {"fast": "gpt-4o-mini-2024-07-18"}, "base_url": u + "/wide/v1",
             "secret_key_ref": key},
            {"id": "az", "provider": "azure-openai", "model": ["az-*"],
             "aliases": {"smart": "gpt4o-prod"}, "base_url": u + "/openai/deployments",
             "secret_key_ref": {"env": "AZURE_OPENAI_KEY"}},
        ])

    def sent(self, model):
        body = json.dumps({"model": model, "temperature": 0.5,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        st, _, data = self.kt.chat(body=body)
        self.assertEqual(st, 200, data)
        return self.mock.wait_requests(1)[0], body

    def test_glob(self):
        r, body = self.sent("gpt-4o-2024-08-06")
        self.assertEqual(r.path, "/wide/v1/chat/completions")
        self.assertEqual(r.body, body)   # no alias: the body goes as it came
        self.mock.reset()
        r, _ = self.sent("gpt-4o")
        self.assertEqual(r.path, "/wide/v1/chat/completions")
        self.mock.reset()
        r, _ = self.sent("gpt-4o-mini")
        self.assertEqual(r.path, "/v1/chat/completions")

    def test_alias_rewrites_the_model(self):
        r, body = self.sent("fast")
        self.assertEqual(r.path, "/wide/v1/chat/completions")
        sent = r.json()
        self.assertEqual(sent["model"], "gpt-4o-mini-2024-07-18")
        want = json.loads(body)
        want["model"] = "gpt-4o-mini-2024-07-18"
        self.assertEqual(sent, want)
        # the event names the model the provider used (and prices it)
        self.assertEqual(events(self.kt)[-1]["model"], "gpt-4o-mini-2024-07-18")

    def test_azure_alias_names_the_deployment(self):
        r, _ = self.sent("smart")
        self.assertEqual(r.path, "/openai/deployments/gpt4o-prod/chat/completions")
        self.assertEqual(r.json()["model"], "gpt4o-prod")
        self.assertEqual(r.header("api-key"), AZURE_KEY)

    def test_azure_glob_model_is_the_deployment(self):
        r, _ = self.sent("az-east")
        self.assertEqual(r.path, "/openai/deployments/az-east/chat/completions")


class AzureFormsTest(KtCase):
    @classmethod
    def config(cls, mock):
        u = mock.url
        key = {"env": "AZURE_OPENAI_KEY"}
        az = lambda tid, url, **kw: dict({"id": tid, "provider": "azure-openai", "base_url": url,
                                          "secret_key_ref": key}, **kw)
        return config_yaml(targets=[
            az("plain", u), az("docs", u + "/openai/deployments"),
            az("docs-slash", u + "/openai/deployments/"),
            az("named", u + "/openai/deployments/named-dep"),
            az("openai", u + "/openai", deployment="explicit"),
            az("prefix", u + "/team/openai/deployments"),
        ])

    def test_forms(self):
        cases = [("plain", "/openai/deployments/gpt-4o/chat/completions"),
                 ("docs", "/openai/deployments/gpt-4o/chat/completions"),
                 ("docs-slash", "/openai/deployments/gpt-4o/chat/completions"),
                 ("named", "/openai/deployments/named-dep/chat/completions"),
                 ("openai", "/openai/deployments/explicit/chat/completions"),
                 ("prefix", "/team/openai/deployments/gpt-4o/chat/completions")]
        for tid, want in cases:
            with self.subTest(target=tid):
                self.mock.reset()
                st, _, body = self.kt.chat(model="gpt-4o", headers={"x-keeptrusts-target": tid})
                r = self.mock.wait_requests(1)[0]
                self.assertEqual((r.path, r.query), (want, "api-version=2024-06-01"))

    def test_models_list(self):
        st, _, _ = self.kt.request("GET", "/v1/models", headers={"x-keeptrusts-target": "docs"})
        self.assertEqual(self.mock.wait_requests(1)[0].path, "/openai/models")


class ForwardPathsTest(KtCase):
    @classmethod
    def config(cls, mock):
        return config_yaml(mock, forward_paths=["/v1/files", "/v1/files/*"])

    def test_listed_path_is_forwarded(self):
        st, h, data = self.kt.request("GET", "/v1/files/file-abc?purpose=x")
        r = self.mock.wait_requests(1)
        self.assertEqual(len(r), 1, "GET /v1/files/... was not forwarded")
        self.assertEqual((r[0].path, r[0].query), ("/v1/files/file-abc", "purpose=x"))
        self.assertEqual(r[0].header("authorization"), "Bearer " + OPENAI_KEY)
        self.assertEqual(st, 404)   # the mock's own 404, passed through
        self.assertEqual(json.loads(data)["error"]["code"], "unknown_url")

    def test_unlisted_path_is_404(self):
        for path in ("/v1/batches", "/v1/assistants/a1", "/v1", "/v1/fine_tuning/jobs"):
            with self.subTest(path=path):
                st, h, data = self.kt.request("GET", path)
                self.assertError(st, h, data, 404, "not_found", "path_not_forwarded")
        self.assertNotForwarded()

    def test_default_list(self):
        for path in ("/v1/models", "/v1/models/gpt-4o"):
            with self.subTest(path=path):
                self.mock.reset()
                self.kt.request("GET", path)
                self.assertEqual(len(self.mock.wait_requests(1)), 1)


BOUNDARY = "ktboundary7MA4YWxkTrZu0gW"
MULTIPART = ("--%s\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n"
             "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
             "Content-Type: audio/wav\r\n\r\nRIFF\x00\x01binary\xff\r\n--%s--\r\n"
             % (BOUNDARY, BOUNDARY, BOUNDARY)).encode("latin-1")


def transcribe(kt):
    return kt.request("POST", "/v1/audio/transcriptions", body=MULTIPART, headers={
        "Content-Type": "multipart/form-data; boundary=" + BOUNDARY})


class MultipartClosedTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock)

    def test_refused_with_a_clear_error(self):
        st, h, body = transcribe(self.kt)
        e = self.assertError(st, h, body, 415, "validation_error", "unscannable_body")
        self.assertIn("fail_mode", e["message"])
        self.assertNotForwarded()

    def test_broken_json_is_still_invalid_json(self):
        st, h, body = self.kt.chat(body=b'{"model": ')
        self.assertError(st, h, body, 400, "validation_error", "invalid_json")


class MultipartOpenTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock, fail_mode="open")

    def test_forwarded_unscanned(self):
        st, h, body = transcribe(self.kt)
        r = self.mock.wait_requests(1)
        self.assertEqual(len(r), 1)
        self.assertEqual(r[0].path, "/v1/audio/transcriptions")
        self.assertEqual(r[0].body, MULTIPART)
        ev = events(self.kt)[-1]
        self.assertEqual(ev["verdict"], "unscanned")
        self.assertEqual(ev["reason_code"], "not_json")
