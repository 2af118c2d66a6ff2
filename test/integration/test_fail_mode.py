"""gateway.fail_mode for every cause a policy cannot evaluate (issue 15): a request body that is not
JSON, a request or response body in a Content-Encoding policies cannot read. closed (the default)
refuses as before; open forwards unscanned, the decision event says verdict "unscanned" with the
reason, and keeptrusts_unscanned_total{reason} counts it."""
import gzip
import json
import time

from harness import KtCase
from policy_util import EMAIL, PII_OPTS, pack_config, redact_config


def decision_events(kt):
    time.sleep(0.25)   # events without a control plane are JSON lines on stderr (100 ms batches)
    lines = [l for l in kt.stderr().splitlines() if '"event_type":"decision"' in l]
    # audit-logger's records (event_type audit) embed the decision event: top level only
    return [e for e in map(json.loads, lines) if e.get("event_type") == "decision"]


def gzip_chat():
    body = json.dumps({"model": "gpt-4o-mini",
                       "messages": [{"role": "user", "content": "mail " + EMAIL}]}).encode()
    return gzip.compress(body)


class ClosedTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock)

    def test_not_json_is_refused(self):
        st, h, body = self.kt.chat(body=b"this is not json " + EMAIL.encode())
        self.assertError(st, h, body, 400, "validation_error", "invalid_json")
        self.assertNotForwarded(0.1)

    def test_encoded_request_is_refused_and_says_why(self):
        st, h, body = self.kt.chat(body=gzip_chat(), headers={"Content-Encoding": "gzip"})
        e = self.assertError(st, h, body, 400, "validation_error", "invalid_json")
        self.assertIn("Content-Encoding", e["message"])
        self.assertNotForwarded(0.1)


class OpenTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock, fail_mode="open")

    def metric(self, reason):
        st, _, body = self.kt.request("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith('keeptrusts_unscanned_total{reason="%s"}' % reason):
                return float(line.split()[-1])
        return 0.0

    def test_not_json_goes_out_unscanned(self):
        raw = b"this is not json " + EMAIL.encode()
        st, _, body = self.kt.chat(body=raw)
        self.assertEqual(st, 200, body)
        self.assertEqual(self.mock.wait_requests(1)[0].body, raw)
        ev = decision_events(self.kt)[-1]
        self.assertEqual((ev["verdict"], ev["reason_code"]), ("unscanned", "not_json"))
        self.assertNotIn(EMAIL, json.dumps(ev))
        self.assertEqual(self.metric("not_json"), 1)

    def test_encoded_request_goes_out_unscanned(self):
        data = gzip_chat()
        st, _, body = self.kt.chat(body=data, headers={"Content-Encoding": "gzip"})
        self.assertEqual(st, 200, body)
        r = self.mock.wait_requests(1)[0]
        self.assertEqual(r.body, data)
        self.assertEqual(r.header("content-encoding"), "gzip")
        ev = decision_events(self.kt)[-1]
        self.assertEqual((ev["verdict"], ev["reason_code"]), ("unscanned", "encoded_body"))
        self.assertGreaterEqual(self.metric("encoded_body"), 1)

    def test_encoded_response_goes_out_unscanned(self):
        st, h, body = self.kt.chat(headers={"x-mock-mode": "gzip-always",
                                            "Accept-Encoding": "gzip"})
        self.assertEqual(st, 200, body)
        self.assertEqual(h.get("content-encoding"), "gzip")
        json.loads(gzip.decompress(body))
        ev = decision_events(self.kt)[-1]
        self.assertEqual((ev["verdict"], ev["reason_code"]), ("unscanned", "encoded_body"))

    def test_readable_requests_are_still_redacted(self):
        st, _, body = self.kt.chat(messages=[{"role": "user", "content": "mail " + EMAIL}])
        self.assertEqual(st, 200, body)
        self.assertNotIn(EMAIL.encode(), self.mock.wait_requests(1)[0].body)


class PerPolicyOverrideTest(KtCase):
    """gateway.fail_mode: open, but policy.prompt-injection.fail_mode: closed: the request side
    (which prompt-injection reads) stays closed; the response side (only pii-detector) is open."""

    @classmethod
    def config(cls, mock):
        return pack_config(mock, ["pii-detector", "prompt-injection"],
                           {"pii-detector": PII_OPTS,
                            "prompt-injection": {"action": "block", "fail_mode": "closed"}},
                           fail_mode="open")

    def test_request_side_stays_closed(self):
        st, h, body = self.kt.chat(body=b"not json at all")
        self.assertError(st, h, body, 400, "validation_error", "invalid_json")
        self.assertNotForwarded(0.1)

    def test_response_side_is_open(self):
        st, h, body = self.kt.chat(headers={"x-mock-mode": "gzip-always", "Accept-Encoding": "gzip"})
        self.assertEqual((st, h.get("content-encoding")), (200, "gzip"), body[:200])


def regex_limit_config(mock, **kw):
    """A custom detector whose pattern backtracks past PCRE2's match limit on a run of 'a's: the
    detector fails (it cannot say whether the text matches), the one cause the others lack."""
    return pack_config(mock, ["pii-detector"], {"pii-detector": {
        "action": "redact", "entities": ["email"],
        "detect_patterns": [{"name": "runaway", "pattern": r"(a|aa)+$", "max_length": 64}]}},
        **kw)


RUNAWAY = "a" * 48 + "!"


class DetectorErrorClosedTest(KtCase):
    @classmethod
    def config(cls, mock):
        return regex_limit_config(mock)

    def test_a_failing_detector_refuses_the_request(self):
        st, h, body = self.kt.chat(messages=[{"role": "user", "content": RUNAWAY}])
        self.assertError(st, h, body, 503, "unavailable", "internal_error")
        self.assertNotForwarded(0.1)


class DetectorErrorOpenTest(KtCase):
    @classmethod
    def config(cls, mock):
        return regex_limit_config(mock, fail_mode="open")

    def test_a_failing_detector_lets_the_request_out_marked(self):
        st, _, body = self.kt.chat(messages=[{"role": "user", "content": RUNAWAY}])
        self.assertEqual(st, 200, body)
        self.assertIn(RUNAWAY.encode(), self.mock.wait_requests(1)[0].body)
        ev = decision_events(self.kt)[-1]
        self.assertEqual(ev["verdict"], "unscanned", ev)
        self.assertEqual(ev.get("reason_code"), "policy_error", ev)
