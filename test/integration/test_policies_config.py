"""Compressed bodies cannot slip past output policies (Accept-Encoding: identity upstream, 502
upstream_encoding when the upstream compresses anyway; gzip untouched without output policies),
and the two shorthand config forms work end to end."""
import gzip
import json

from harness import DEFAULT_GATEWAY, KtCase, default_targets, to_yaml
from policy_util import EMAIL, SSN, redact_config

PIECES = {"x-mock-pieces": json.dumps(["mail " + EMAIL])}


class EncodingWithOutputPoliciesTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock)

    def test_upstream_asked_for_identity(self):
        for ae in ("gzip, deflate, br", "gzip", "identity", None):
            with self.subTest(accept_encoding=ae):
                self.mock.reset()
                h = dict(PIECES, **{"x-mock-mode": "gzip"})
                if ae:
                    h["Accept-Encoding"] = ae
                st, hd, body = self.kt.chat(headers=h)
                self.assertEqual(st, 200, body)
                self.assertNotIn("content-encoding", hd)
                self.assertEqual(json.loads(body)["choices"][0]["message"]["content"],
                                 "mail [REDACTED:EMAIL]")
                rec = self.mock.wait_requests(1)[0]
                self.assertEqual(rec.header_all("accept-encoding"), ["identity"])

    def test_compressed_anyway_fails_closed(self):
        for path, req in (("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [
                              {"role": "user", "content": "x"}]}),
                          ("/v1/messages", {"model": "claude-3-5-sonnet", "max_tokens": 5,
                                            "messages": [{"role": "user", "content": "x"}]}),
                          ("/v1/responses", {"model": "gpt-4o-mini", "input": "x", "stream": True})):
            with self.subTest(path):
                self.mock.reset()
                st, hd, body = self.kt.request("POST", path, body=json.dumps(req).encode(), headers=dict(
                    PIECES, **{"Content-Type": "application/json", "Accept-Encoding": "gzip",
                               "x-mock-mode": "gzip-always"}))
                self.assertError(st, hd, body, 502, "upstream_error", "upstream_encoding")
                self.assertNotIn("content-encoding", hd)
                self.assertNotIn(b"\x1f\x8b", body)
                self.assertEqual(self.mock.wait_requests(1)[0].header("accept-encoding"), "identity")

    def test_serves_after_encoding_failure(self):
        self.kt.chat(headers={"x-mock-mode": "gzip-always"})
        st, _, body = self.kt.chat(headers=PIECES)
        self.assertEqual(st, 200, body)
        self.assertIn(b"[REDACTED:EMAIL]", body)


def form_a(mock):
    gw = dict(DEFAULT_GATEWAY)
    return to_yaml({"gateway": gw, "providers": {"targets": default_targets(mock.url)},
                    "policies": [
                        {"name": "mask-input", "type": "input_filter", "action": "redact",
                         "patterns": ["email"]},
                        {"name": "mask-output", "type": "output_filter", "action": "redact",
                         "patterns": ["email", "ssn"]}]}) + "\n"


class EncodingInputOnlyTest(KtCase):
    """Only input policies: responses are not scanned, so gzip passes through untouched."""

    @classmethod
    def config(cls, mock):
        return to_yaml({"gateway": dict(DEFAULT_GATEWAY),
                        "providers": {"targets": default_targets(mock.url)},
                        "policies": [{"name": "mask-input", "type": "input_filter",
                                      "action": "redact", "patterns": ["email"]}]}) + "\n"

    def test_gzip_passes_through(self):
        st, hd, body = self.kt.chat(headers=dict(PIECES, **{"x-mock-mode": "gzip",
                                                            "Accept-Encoding": "gzip"}))
        self.assertEqual(st, 200)
        self.assertEqual(hd.get("content-encoding"), "gzip")
        rec = self.mock.wait_requests(1)[0]
        self.assertEqual(rec.header("accept-encoding"), "gzip")
        self.assertEqual(body, rec.response_body)     # the compressed bytes, untouched
        # output not scanned: the email the mock wrote reaches the client as the mock wrote it
        self.assertIn(EMAIL, json.loads(gzip.decompress(body))["choices"][0]["message"]["content"])

    def test_input_still_redacted(self):
        st, _, _ = self.kt.chat(messages=[{"role": "user", "content": "hi " + EMAIL}])
        self.assertEqual(st, 200)
        self.assertNotIn(EMAIL.encode(), self.mock.wait_requests(1)[0].body)


class ShorthandFormATest(KtCase):
    @classmethod
    def config(cls, mock):
        return form_a(mock)

    def test_input_and_output(self):
        st, _, body = self.kt.chat(messages=[{"role": "user", "content": "hi %s ssn %s" % (EMAIL, SSN)}],
                                   headers={"x-mock-pieces": json.dumps(["a %s b %s" % (EMAIL, SSN)])})
        self.assertEqual(st, 200, body)
        # input: email only (ssn is not in mask-input's patterns)
        sent = self.mock.wait_requests(1)[0].json()["messages"][0]["content"]
        self.assertEqual(sent, "hi [REDACTED:EMAIL] ssn " + SSN)
        self.assertEqual(json.loads(body)["choices"][0]["message"]["content"],
                         "a [REDACTED:EMAIL] b [REDACTED:SSN]")

    def test_streaming_output(self):
        c = self.kt.conn()
        c.request("POST", "/v1/chat/completions", body=json.dumps({
            "model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "x"}]}),
            headers={"Content-Type": "application/json", "x-mock-interval": "0.001",
                     "x-mock-pieces": json.dumps(["ssn 123-", "45-", "6789 ok"])})
        raw = c.getresponse().read().decode()
        c.close()
        self.assertNotIn("6789", raw)
        self.assertIn("[REDACTED:SSN]", raw)
        self.assertIn("[DONE]", raw)


class ShorthandFormBTest(KtCase):
    """Form B: `gateway:` and no providers; the default target is OPENAI_BASE_URL."""

    @classmethod
    def config(cls, mock):
        return to_yaml({"gateway": dict(DEFAULT_GATEWAY), "policies": [
            {"name": "pii", "input": [{"type": "pii_detection", "action": "redact",
                                       "entities": ["email"]}],
             "output": [{"type": "pii_detection", "action": "redact", "entities": ["ssn"]}]},
            {"name": "secrets", "input": [{"type": "secrets", "action": "block"}]}]}) + "\n"

    @classmethod
    def kt_env(cls):
        return {"OPENAI_BASE_URL": cls.mock.url + "/v1"}

    def test_input_and_output(self):
        st, _, body = self.kt.chat(messages=[{"role": "user", "content": "hi %s ssn %s" % (EMAIL, SSN)}],
                                   headers={"x-mock-pieces": json.dumps(["a %s b %s" % (EMAIL, SSN)])})
        self.assertEqual(st, 200, body)
        rec = self.mock.wait_requests(1)[0]
        self.assertEqual(rec.path, "/v1/chat/completions")
        self.assertEqual(rec.json()["messages"][0]["content"], "hi [REDACTED:EMAIL] ssn " + SSN)
        self.assertEqual(json.loads(body)["choices"][0]["message"]["content"],
                         "a %s b [REDACTED:SSN]" % EMAIL)

    def test_input_block_names_the_policy(self):
        st, hd, body = self.kt.chat(messages=[{"role": "user", "content":
                                               "my key is sk-proj-abcdefghijklmnop1234567890ABCD"}])
        e = self.assertError(st, hd, body, 409, "policy_violation", "input_blocked")
        self.assertEqual(e["policy"], "secrets/input/secrets")
        self.assertNotIn(b"abcdefghijklmnop", body)
        self.assertNotForwarded()
