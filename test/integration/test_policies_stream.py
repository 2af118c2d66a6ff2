"""Streaming output policies (SSE) for chat completions, completions, the responses API and
Anthropic messages: a PII value split at every byte boundary across events, and across TCP reads
and chunked-encoding boundaries, never reaches the client, not even a 4-char fragment of it; the
client's text equals the whole-text redaction; a stream without findings passes chunk for chunk and
unbuffered; a block ends the stream with an error event and no [DONE]."""
import http.client
import json
import time

from harness import KtCase
from mock_upstream import _gen_events
from policy_util import (API_PATHS, CARD, EMAIL, PII_OPTS, SSN, api_request, event_data,
                         fragments, pack_config, read_sse, redact_config, reference_redaction,
                         stream_text)

APIS = ("chat", "completions", "responses", "messages")
VALUES = ((EMAIL, "[REDACTED:EMAIL]"), (SSN, "[REDACTED:SSN]"), (CARD, "[REDACTED:CREDIT_CARD]"))


class StreamClient:
    """Keep-alive client for many streams against one kt."""

    def __init__(self, case):
        self.case = case
        self.c = None

    def stream(self, api, pieces, headers=None):
        h = {"Content-Type": "application/json", "Accept": "text/event-stream",
             "x-mock-pieces": json.dumps(pieces), "x-mock-interval": "0.001"}
        h.update(headers or {})
        body = json.dumps(api_request(api)).encode()
        for attempt in (0, 1):
            if self.c is None:
                self.c = self.case.kt.conn(timeout=20)
            try:
                self.c.request("POST", API_PATHS[api], body=body, headers=h)
                r = self.c.getresponse()
                break
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        self.case.assertEqual(r.status, 200)
        self.case.assertIn("text/event-stream", r.getheader("content-type", ""))
        t0 = time.monotonic()
        events = read_sse(r)
        if r.will_close:
            self.close()
        return t0, events

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


class StreamRedactTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock)

    def setUp(self):
        super().setUp()
        self.client = StreamClient(self)

    def tearDown(self):
        self.client.close()
        super().tearDown()

    def check(self, api, events, text, want, value, what):
        raw = "\n\n".join(e for _, e in events)
        got = stream_text(api, [e for _, e in events])
        self.assertEqual(got, want, what)
        for frag in self.leak_fragments(text, want, value):
            self.assertNotIn(frag, raw, "%s: fragment %r of the PII value reached the client" % (what, frag))
        if api in ("chat", "completions"):
            self.assertEqual(events[-1][1].strip(), "data: [DONE]", what)
        if api == "responses":
            done = [d for d in (event_data(e)[1] for _, e in events) if isinstance(d, dict)
                    and d.get("type") in ("response.output_text.done", "response.completed")]
            self.assertEqual(len(done), 2, what)
            self.assertEqual(done[0]["text"], want, what)
            self.assertEqual(done[1]["response"]["output"][0]["content"][0]["text"], want, what)
            seq = [d["sequence_number"] for d in (event_data(e)[1] for _, e in events)
                   if isinstance(d, dict) and "sequence_number" in d]
            self.assertEqual(seq, list(range(seq[0], seq[0] + len(seq))),
                             "%s: sequence numbers must stay unique and consecutive" % what)
        if api == "messages":
            self.assertEqual(event_data(events[-1][1])[0], "message_stop", what)

    def leak_fragments(self, text, want, value):
        """Fragments of value not found in the redacted text, the text around the value or the
        boilerplate of every API's events (a stream of the redacted text, made as the mock makes it)."""
        boiler = "".join("".join(_gen_events(route, api_request("messages"), [want], whole=want))
                         for route in APIS)
        frags = fragments(value, want + " " + text.replace(value, " ") + " " + boiler)
        self.assertTrue(frags, "no fragment of %r is distinctive enough to look for" % value)
        return frags

    def test_split_at_every_byte_boundary(self):
        conf = self.config(self.mock)
        n = 0
        for value, marker in VALUES:
            text = "Hi, reach %s today." % value
            want = text.replace(value, marker)
            self.assertEqual(reference_redaction(conf, text)[0], want)
            for api in APIS:
                for k in range(1, len(text)):
                    what = "%s %r | %r" % (api, text[:k], text[k:])
                    _, events = self.client.stream(api, [text[:k], text[k:]])
                    self.check(api, events, text, want, value, what)
                    n += 1
        self.assertGreater(n, 300)

    def test_one_byte_per_event(self):
        text = "a %s b %s c %s d" % (EMAIL, SSN, CARD)
        want = "a [REDACTED:EMAIL] b [REDACTED:SSN] c [REDACTED:CREDIT_CARD] d"
        for api in APIS:
            _, events = self.client.stream(api, list(text))
            for value, _ in VALUES:
                self.check(api, events, text, want, value, api)

    def test_three_way_splits_inside_the_value(self):
        text = "x" + EMAIL + "!"   # no space before: the value starts right after a letter
        want = reference_redaction(self.config(self.mock), text)[0]
        self.assertNotIn(EMAIL, want)
        for i in range(1, len(text) - 1, 3):
            for j in range(i + 1, len(text), 4):
                _, events = self.client.stream("chat", [text[:i], text[i:j], text[j:]])
                self.check("chat", events, text, want, EMAIL, "%d/%d" % (i, j))

    def test_split_across_reads_and_chunks(self):
        text = "Card %s, SSN %s, mail %s." % (CARD, SSN, EMAIL)
        want = "Card [REDACTED:CREDIT_CARD], SSN [REDACTED:SSN], mail [REDACTED:EMAIL]."
        pieces = [text[:9], text[9:30], text[30:47], text[47:]]
        for api in APIS:
            for split in ("bytes:1", "bytes:2", "bytes:3", "bytes:7", "bytes:64", "raw:1", "raw:5",
                          "raw:11", "raw:100"):
                _, events = self.client.stream(api, pieces, {"x-mock-split": split,
                                                             "x-mock-interval": "0.0002"})
                for value, _ in VALUES:
                    self.check(api, events, text, want, value, "%s %s" % (api, split))

    def test_time_to_first_redacted_token(self):
        """Text after a redaction is not held until the end of the stream."""
        pieces = ["mail ", EMAIL, " now", " and", " then", " later", " end"]
        _, events = self.client.stream("chat", pieces, {"x-mock-interval": "0.2"})
        rec = self.mock.wait_requests(1)[0]
        seen = ""
        for t, ev in events:
            seen += stream_text("chat", [ev])
            if "[REDACTED:EMAIL] now" in seen:
                self.assertLess(t, rec.sent_times[-1] - 0.2, "redacted text held to the end")
                break
        else:
            self.fail("redacted text never seen: %r" % seen)

    def test_gzip_always_stream_fails_closed(self):
        st, hd, body = self.kt.request("POST", "/v1/chat/completions", body=json.dumps(
            api_request("chat")).encode(), headers={"Content-Type": "application/json",
                                                   "x-mock-mode": "gzip-always",
                                                   "x-mock-pieces": json.dumps(["a " + EMAIL])})
        self.assertError(st, hd, body, 502, "upstream_error", "upstream_encoding")
        self.assertNotIn("content-encoding", hd)
        self.assertEqual(self.mock.wait_requests(1)[0].header("accept-encoding"), "identity")


def check_chunk_for_chunk(case):
    # no digits, no '@', every piece ends a word: nothing a detector could still extend
    pieces = ["Your order ", "shipped on ", "Monday morning, ", "as planned; ", "enjoy it! "]
    for api in APIS:
        with case.subTest(api):
            case.mock.reset()
            t0, events = case.client.stream(api, pieces, {"x-mock-interval": "0.15"})
            rec = case.mock.wait_requests(1)[0]
            sent = [e.decode() for e in rec.sent_events]
            case.assertEqual([e + "\n" for _, e in events], sent)
            case.assertLess(events[0][0], rec.sent_times[-1],
                            "the first event arrived only after the mock sent the last")


class NoFindingsPiiOnlyTest(KtCase):
    """Built-in PII entities only: a clean stream passes event for event, byte for byte."""

    @classmethod
    def config(cls, mock):
        pii = {k: v for k, v in PII_OPTS.items() if k != "detect_patterns"}
        return pack_config(mock, ["pii-detector"], {"pii-detector": pii})

    def setUp(self):
        super().setUp()
        self.client = StreamClient(self)

    def tearDown(self):
        self.client.close()
        super().tearDown()

    def test_no_findings_passes_chunk_for_chunk(self):
        check_chunk_for_chunk(self)


class NoFindingsKeywordTest(NoFindingsPiiOnlyTest):
    """dlp-filter with a keyword list: text that cannot start the keyword must not be held."""

    @classmethod
    def config(cls, mock):
        return pack_config(mock, ["dlp-filter"], {"dlp-filter": {"action": "redact",
                                                                 "keywords": ["project-zeus"]}})


class NoFindingsCustomPatternTest(NoFindingsPiiOnlyTest):
    """pii-detector with a custom detect_pattern (EMP-\\d{6}): text that cannot start it must not
    be held for max_length bytes."""

    @classmethod
    def config(cls, mock):
        return pack_config(mock, ["pii-detector"], {"pii-detector": {
            "action": "redact", "entities": ["email"],
            "detect_patterns": [{"name": "employee_id", "pattern": r"EMP-\d{6}", "max_length": 16}]}})


class StreamBlockTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock, dlp_action="block")

    def setUp(self):
        super().setUp()
        self.client = StreamClient(self)

    def tearDown(self):
        self.client.close()
        super().tearDown()

    def test_block_ends_stream_with_error_event(self):
        for api in APIS:
            for pieces in (["ok ", "the project-", "zeus plan", " and more"],
                           ["ok the proj", "ect-zeus plan and more"],
                           ["ok the project-zeus plan and more"]):
                with self.subTest(api=api, pieces=pieces):
                    _, events = self.client.stream(api, pieces)
                    raw = "\n\n".join(e for _, e in events)
                    self.assertNotIn("zeus", raw.lower())
                    self.assertNotIn("[DONE]", raw)
                    self.assertNotIn("plan", stream_text(api, [e for _, e in events]))
                    name, d = event_data(events[-1][1])
                    if api == "messages":
                        self.assertEqual(name, "error")
                        self.assertEqual(d["type"], "error")
                        self.assertEqual(d["error"]["type"], "policy_violation")
                        self.assertNotIn("message_stop", raw)
                    else:
                        self.assertIsNone(name)
                        self.assertEqual(d["error"]["type"], "policy_violation")
                        self.assertEqual(d["error"]["code"], "output_blocked")
                        self.assertEqual(d["error"]["policy"], "dlp-filter")
                        self.assertNotIn("response.completed", raw)

    def test_block_keeps_redacting_before(self):
        _, events = self.client.stream("chat", ["mail %s " % EMAIL, "then project-zeus"])
        raw = "\n\n".join(e for _, e in events)
        self.assertNotIn("jane.doe", raw)
        self.assertIn("output_blocked", raw)

    def test_kt_serves_after_a_blocked_stream(self):
        self.client.stream("chat", ["project-zeus"])
        _, events = self.client.stream("chat", ["fine ", "text"])
        self.assertEqual(stream_text("chat", [e for _, e in events]), "fine text")
