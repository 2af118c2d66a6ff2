"""Output policies never pass a body they could not read as if it were clean (issue 13, item 2).

What real providers and SDKs tolerate is read: a UTF-8 BOM before the JSON, SSE framing sent with
text/plain, no Content-Type or application/x-ndjson (recognised by content), and error bodies
(non-2xx), which echo prompts. What is still unreadable (invalid UTF-8, trailing bytes, plain
text) is a 502 upstream_protocol under fail_mode: closed (the default), or goes out as it came
with the decision event saying `unscanned` under fail_mode: open."""
import json
import time

from harness import KtCase
from policy_util import EMAIL, api_request, read_sse, redact_config, stream_text

MARK = "[REDACTED:EMAIL]"


def chat_body(text):
    return json.dumps({"id": "c1", "object": "chat.completion", "model": "gpt-4o-mini",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop"}]}).encode()


class ClosedTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock)

    def raw(self, body_bytes, status=200, ctype=None):
        h = {"x-mock-body-hex": body_bytes.hex(), "x-mock-body-status": str(status)}
        if ctype:
            h["x-mock-ctype"] = ctype
        return self.kt.chat(headers=h)

    def test_bom_before_json_is_read_and_kept(self):
        st, hs, body = self.raw(b"\xef\xbb\xbf" + chat_body("mail " + EMAIL))
        self.assertEqual(st, 200, body)
        self.assertTrue(body.startswith(b"\xef\xbb\xbf"), body[:10])
        self.assertNotIn(EMAIL.encode(), body)
        self.assertIn(MARK.encode(), body)
        self.assertEqual(int(hs["content-length"]), len(body))

    def test_invalid_utf8_is_refused(self):
        st, hs, body = self.raw(chat_body("mail " + EMAIL).replace(b"mail", b"m\xffil"))
        self.assertError(st, hs, body, 502, "upstream_error", "upstream_protocol")
        self.assertNotIn(EMAIL.encode(), body)

    def test_trailing_bytes_are_refused(self):
        st, hs, body = self.raw(chat_body("mail " + EMAIL) + b" trailing " + EMAIL.encode())
        self.assertError(st, hs, body, 502, "upstream_error", "upstream_protocol")
        self.assertNotIn(EMAIL.encode(), body)

    def test_plain_text_is_refused(self):
        st, hs, body = self.raw(b"your address is " + EMAIL.encode(), ctype="text/plain")
        self.assertError(st, hs, body, 502, "upstream_error", "upstream_protocol")

    def test_blank_body_passes(self):
        st, _, body = self.raw(b"\n")
        self.assertEqual((st, body), (200, b"\n"))

    def test_error_body_is_scanned(self):
        err = json.dumps({"error": {"message": "bad input: " + EMAIL, "type": "invalid_request_error"}})
        st, _, body = self.raw(err.encode(), status=400)
        self.assertEqual(st, 400, body)
        self.assertNotIn(EMAIL.encode(), body)
        self.assertIn(MARK.encode(), body)

    def test_mislabelled_streams_are_redacted(self):
        for ctype in ("text/plain", "none", "application/x-ndjson", "application/json"):
            with self.subTest(ctype=ctype):
                c = self.kt.conn(timeout=20)
                h = {"Content-Type": "application/json", "x-mock-ctype": ctype,
                     "x-mock-pieces": json.dumps(["mail ", EMAIL[:7], EMAIL[7:], " now"]),
                     "x-mock-interval": "0.001"}
                c.request("POST", "/v1/chat/completions",
                          body=json.dumps(api_request("chat")).encode(), headers=h)
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                events = read_sse(r)
                c.close()
                texts = [e for _, e in events]
                self.assertNotIn(EMAIL, "".join(texts))
                self.assertEqual(stream_text("chat", texts), "mail " + MARK + " now")


class OpenTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock, fail_mode="open")

    def test_unreadable_goes_out_marked_unscanned(self):
        data = b"your address is " + EMAIL.encode()
        st, _, body = self.kt.chat(headers={"x-mock-body-hex": data.hex(),
                                            "x-mock-ctype": "text/plain"})
        self.assertEqual((st, body), (200, data))
        time.sleep(0.2)   # events without a control plane are JSON lines on stderr
        lines = [l for l in self.kt.stderr().splitlines() if '"event_type":"decision"' in l]
        # audit-logger's records (event_type audit) embed the decision event: top level only
        events = [e for e in map(json.loads, lines) if e.get("event_type") == "decision"]
        self.assertTrue(events)
        self.assertEqual(events[-1]["verdict"], "unscanned")
        self.assertEqual(events[-1]["reason_code"], "unreadable_body")

    def test_readable_is_still_redacted(self):
        st, _, body = self.kt.chat(headers={"x-mock-body-hex": chat_body(EMAIL).hex()})
        self.assertEqual(st, 200)
        self.assertIn(MARK.encode(), body)
