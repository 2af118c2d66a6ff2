"""Content policies on non-streaming traffic: what the upstream receives (input redaction spliced
into the raw body, byte for byte elsewhere; escapes decoded for detection; every text the model
sees), what the client gets back (output redaction in every API shape, Content-Length), blocking
(409 input_blocked / output_blocked, nothing sent upstream), invalid JSON, benign text untouched."""
import json

from harness import KtCase, error_of
from policy_util import EMAIL, SSN, CARD, EMP, redact_config, reference_redaction

M_EMAIL = "[REDACTED:EMAIL]"


def jb(obj):
    return json.dumps(obj).encode()


class PolicyInputTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock)

    def forward(self, raw, path="/v1/chat/completions", headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        st, hd, body = self.kt.request("POST", path, body=raw, headers=h)
        self.assertEqual(st, 200, body[:500])
        rec = self.mock.wait_requests(1)[0]
        return rec

    def test_splice_keeps_every_other_byte(self):
        raw = (b'{ "seed" : 12345678901234567890,\n  "temperature":1.0e+10, "top_p":0.10,'
               b'"z_last_key_first":true,"model":"gpt-4o-mini",  "messages":[ {"role":"user",'
               b'  "content":"write to ' + EMAIL.encode() + b' today, \\u00e9t\\u00e9 \\"q\\""} ],'
               b'"n":-0.0, "logit_bias":{"50256":-100},"a":[ 1 ,2.50e-3 ,null ]  }')
        rec = self.forward(raw)
        want = raw.replace(EMAIL.encode(), M_EMAIL.encode())
        self.assertEqual(rec.body, want)
        self.assertEqual(rec.header("content-length"), str(len(want)))

    def test_unchanged_body_is_forwarded_as_is(self):
        raw = b'{"model":"gpt-4o-mini","seed":12345678901234567890,"messages":[{"role":"user","content":"hi 2024-01-02"}]}  '
        self.assertEqual(self.forward(raw).body, raw)

    def test_escaped_at_sign_is_found(self):
        raw = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"mail jane.doe\\u0040example.com ok"}]}'
        rec = self.forward(raw)
        self.assertEqual(rec.body, raw.replace(b"jane.doe\\u0040example.com", M_EMAIL.encode()))

    def test_fully_escaped_value_is_found(self):
        esc = "".join("\\u%04x" % ord(ch) for ch in EMAIL).encode()
        raw = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x ' + esc + b' y"}]}'
        rec = self.forward(raw)
        self.assertEqual(rec.body, raw.replace(esc, M_EMAIL.encode()))

    def test_every_text_the_model_sees(self):
        e = EMAIL
        cases = {
            "chat string": ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [
                {"role": "system", "content": "sys " + e}, {"role": "user", "content": e}]}),
            "chat text parts": ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [
                {"role": "user", "content": [{"type": "text", "text": "a " + e},
                                             {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]}),
            "tool_calls arguments": ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "send", "arguments": json.dumps({"to": e, "n": 12345678901234567890})}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sent to " + e}]}),
            "completions prompt": ("/v1/completions", {"model": "gpt-4o-mini", "prompt": "p " + e}),
            "completions prompt list": ("/v1/completions", {"model": "gpt-4o-mini", "prompt": ["p " + e, e]}),
            "embeddings input": ("/v1/embeddings", {"model": "text-embedding-3-small", "input": e}),
            "embeddings input list": ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["x", e]}),
            "responses input+instructions": ("/v1/responses", {"model": "gpt-4o-mini", "instructions": "i " + e,
                                                                "input": "in " + e}),
            "responses input items": ("/v1/responses", {"model": "gpt-4o-mini", "input": [
                {"role": "user", "content": [{"type": "input_text", "text": e}]},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": json.dumps({"a": e})},
                {"type": "function_call_output", "call_id": "c1", "output": "o " + e}]}),
            "anthropic system string": ("/v1/messages", {"model": "claude-3-5-sonnet", "max_tokens": 9,
                                                          "system": "s " + e,
                                                          "messages": [{"role": "user", "content": e}]}),
            "anthropic blocks": ("/v1/messages", {"model": "claude-3-5-sonnet", "max_tokens": 9,
                                                  "system": [{"type": "text", "text": "s " + e}],
                                                  "messages": [
                {"role": "user", "content": [{"type": "text", "text": e}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "tu1", "name": "f",
                                                   "input": {"to": e, "deep": [{"x": e}]}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1",
                                              "content": [{"type": "text", "text": "r " + e}]},
                                             {"type": "tool_result", "tool_use_id": "tu2",
                                              "content": "plain " + e}]}]}),
        }
        for name, (path, obj) in cases.items():
            with self.subTest(name):
                self.mock.reset()
                raw = jb(obj)
                rec = self.forward(raw, path)
                self.assertNotIn(b"jane.doe", rec.body)
                self.assertNotIn(b"example.com", rec.body)
                self.assertEqual(rec.body, raw.replace(e.encode(), M_EMAIL.encode()))

    def test_each_entity_and_custom_pattern(self):
        text = ("e %s p +1 415-555-0132 s %s c %s i GB82 WEST 1234 5698 7654 32 v4 192.168.1.20 "
                "v6 2001:db8::8a2e:370:7334 emp %s kw project-zeus end" % (EMAIL, SSN, CARD, EMP))
        want = ("e [REDACTED:EMAIL] p [REDACTED:PHONE] s [REDACTED:SSN] c [REDACTED:CREDIT_CARD] "
                "i [REDACTED:IBAN] v4 [REDACTED:IPV4] v6 [REDACTED:IPV6] emp [REDACTED:EMPLOYEE_ID] "
                "kw [REDACTED:KEYWORD] end")
        rec = self.forward(jb({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}))
        self.assertEqual(rec.json()["messages"][0]["content"], want)
        ref, dec, rc = reference_redaction(self.config(self.mock), text, "input")
        self.assertEqual((ref, rc, dec["verdict"]), (want, 0, "redact"))

    def test_benign_text_passes_untouched(self):
        benign = [
            "The release is on 2024-03-15 at 10:30:45 UTC (ISO 2024-03-15T10:30:45Z).",
            "Upgrade from v1.2.3 to version 2.10.11 or 10.4.2-rc1; kernel 6.1.0-18-amd64.",
            "Your order number 123456789 and order #4532-8891-22 shipped; invoice INV-2024-000123.",
            "Tracking 1Z999AA10123456784; 4111111111111112 is not a card (Luhn fails).",
            "Call extension 4521 or room 101; price $1,234.56; ratio 16:9; 3.14159 is pi.",
            "Serial 123-45-678 and 000-12-3456 are not SSNs; neither is 666-12-3456 nor 900-12-3456.",
            "Timestamp 1700000000, build 20240315.1, port 8080, HTTP 404, year 1999.",
            "Dates: 12/31/2023, 31.12.2023, 2023/12/31 and the 3rd of May; EMP-12345 is short.",
            "ISBN 978-3-16-148410-0, DOI 10.1000/182, coordinates 48.8566, 2.3522, mail at example dot com.",
        ]
        raw = jb({"model": "gpt-4o-mini", "seed": 7,
                  "messages": [{"role": "user", "content": t} for t in benign]})
        self.assertEqual(self.forward(raw).body, raw)
        _, dec, _ = reference_redaction(self.config(self.mock), "\n".join(benign), "input")
        self.assertEqual(dec["verdict"], "allow", dec)

    def test_invalid_json_is_refused(self):
        for raw in (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + EMAIL.encode() + b'"}',
                    b'not json ' + EMAIL.encode(), b'{"a":1} {"b":2}', b'{"a":"\\x41"}'):
            with self.subTest(raw=raw[:30]):
                self.mock.reset()
                st, hd, body = self.kt.request("POST", "/v1/chat/completions", body=raw,
                                               headers={"Content-Type": "application/json"})
                self.assertError(st, hd, body, 400, "validation_error", "invalid_json")
                self.assertNotIn(EMAIL.encode(), body)
                self.assertNotForwarded(0.1)


class PolicyOutputTest(KtCase):
    @classmethod
    def config(cls, mock):
        return redact_config(mock)

    def call(self, path, req, headers):
        h = {"Content-Type": "application/json"}
        h.update(headers)
        st, hd, body = self.kt.request("POST", path, body=jb(req), headers=h)
        self.assertEqual(st, 200, body[:500])
        self.assertEqual(hd.get("content-length"), str(len(body)))
        self.assertNotIn("transfer-encoding", hd)
        return json.loads(body), body

    def pieces(self, text):
        return {"x-mock-pieces": json.dumps([text])}

    def test_chat_completions(self):
        text = "Reach %s or SSN %s, card %s." % (EMAIL, SSN, CARD)
        want = "Reach [REDACTED:EMAIL] or SSN [REDACTED:SSN], card [REDACTED:CREDIT_CARD]."
        o, _ = self.call("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [
            {"role": "user", "content": "hi"}]}, self.pieces(text))
        self.assertEqual(o["choices"][0]["message"]["content"], want)
        self.assertEqual(o["usage"]["total_tokens"], 14)
        self.assertEqual(reference_redaction(self.config(self.mock), text)[0], want)

    def test_completions_text(self):
        o, _ = self.call("/v1/completions", {"model": "gpt-4o-mini", "prompt": "x"},
                         self.pieces("ssn " + SSN))
        self.assertEqual(o["choices"][0]["text"], "ssn [REDACTED:SSN]")

    def test_anthropic_content_blocks(self):
        o, _ = self.call("/v1/messages", {"model": "claude-3-5-sonnet", "max_tokens": 9,
                                          "messages": [{"role": "user", "content": "x"}]},
                         self.pieces("mail " + EMAIL))
        self.assertEqual(o["content"], [{"type": "text", "text": "mail [REDACTED:EMAIL]"}])

    def test_responses_output_text(self):
        o, _ = self.call("/v1/responses", {"model": "gpt-4o-mini", "input": "x"},
                         self.pieces("card " + CARD))
        self.assertEqual(o["output"][0]["content"][0]["text"], "card [REDACTED:CREDIT_CARD]")

    def test_tool_calls_and_other_bytes(self):
        args = json.dumps({"email": EMAIL, "id": 12345678901234567890})
        raw = ('{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m",'
               '"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":'
               '[{"id":"call_1","type":"function","function":{"name":"send","arguments":%s}}]},'
               '"finish_reason":"tool_calls"}],  "usage":{"prompt_tokens":1 ,"completion_tokens":2,'
               '"total_tokens":3},"x_big":12345678901234567890,"x_f":1.0e+10}' % json.dumps(args))
        _, body = self.call("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [
            {"role": "user", "content": "x"}]}, {"x-mock-body": raw})
        self.assertEqual(body, raw.replace(EMAIL, M_EMAIL).encode())

    def test_anthropic_tool_use_input(self):
        raw = ('{"id":"msg_1","type":"message","role":"assistant","model":"m","content":['
               '{"type":"text","text":"ok"},{"type":"tool_use","id":"tu","name":"f","input":'
               '{"to":"%s","nested":{"list":["%s"]},"n":12345678901234567890}}],'
               '"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}' % (EMAIL, SSN))
        _, body = self.call("/v1/messages", {"model": "claude-3-5-sonnet", "max_tokens": 9,
                                             "messages": [{"role": "user", "content": "x"}]},
                            {"x-mock-body": raw})
        self.assertEqual(body, raw.replace(EMAIL, M_EMAIL).replace(SSN, "[REDACTED:SSN]").encode())

    def test_benign_output_is_untouched(self):
        text = "Shipped order 123456789 on 2024-03-15 with v1.2.3; call ext. 4521 at 10:30."
        o, _ = self.call("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [
            {"role": "user", "content": "x"}]}, self.pieces(text))
        self.assertEqual(o["choices"][0]["message"]["content"], text)

    def test_echo_round_trip_never_shows_pii(self):
        st, _, body = self.kt.chat(headers={"x-mock-mode": "echo"},
                                   messages=[{"role": "user", "content": "ssn %s ok" % SSN}])
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["choices"][0]["message"]["content"], "ssn [REDACTED:SSN] ok")
        self.assertNotIn(SSN.encode(), self.mock.wait_requests(1)[0].body)


class PolicyBlockTest(KtCase):
    """dlp-filter blocks the keyword; pii-detector still redacts."""

    @classmethod
    def config(cls, mock):
        return redact_config(mock, dlp_action="block")

    def test_input_block(self):
        st, hd, body = self.kt.chat(messages=[{"role": "user", "content": "about project-zeus, " + EMAIL}])
        e = self.assertError(st, hd, body, 409, "policy_violation", "input_blocked")
        self.assertEqual(e["policy"], "dlp-filter")
        self.assertNotIn(b"project-zeus", body)
        self.assertNotIn(EMAIL.encode(), body)
        self.assertNotForwarded()

    def test_input_block_in_any_field(self):
        for path, obj in (("/v1/messages", {"model": "claude-3-5-sonnet", "max_tokens": 5,
                                             "system": "PROJECT-ZEUS", "messages": []}),
                          ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a", "project-zeus"]}),
                          ("/v1/responses", {"model": "gpt-4o-mini", "input": "x", "instructions": "project\\u002dzeus"})):
            with self.subTest(path):
                self.mock.reset()
                raw = jb(obj).replace(b"\\\\u002d", b"\\u002d")
                st, hd, body = self.kt.request("POST", path, body=raw,
                                               headers={"Content-Type": "application/json"})
                self.assertError(st, hd, body, 409, "policy_violation", "input_blocked")
                self.assertNotForwarded(0.1)

    def test_output_block(self):
        st, hd, body = self.kt.chat(headers={"x-mock-pieces": json.dumps(["the project-zeus plan"])})
        e = self.assertError(st, hd, body, 409, "policy_violation", "output_blocked")
        self.assertEqual(e["policy"], "dlp-filter")
        self.assertNotIn(b"plan", body)
        self.assertEqual(len(self.mock.wait_requests(1)), 1)

    def test_output_block_anthropic(self):
        st, hd, body = self.kt.request("POST", "/v1/messages", body=jb({
            "model": "claude-3-5-sonnet", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}),
            headers={"Content-Type": "application/json", "x-mock-pieces": json.dumps(["Project-Zeus"])})
        self.assertError(st, hd, body, 409, "policy_violation", "output_blocked")

    def test_allowed_request_still_redacted(self):
        st, _, body = self.kt.chat(messages=[{"role": "user", "content": "hi " + EMAIL}],
                                   headers={"x-mock-pieces": json.dumps(["ok " + SSN])})
        self.assertEqual(st, 200, body)
        self.assertEqual(json.loads(body)["choices"][0]["message"]["content"], "ok [REDACTED:SSN]")
        self.assertIn(M_EMAIL.encode(), self.mock.wait_requests(1)[0].body)


class PolicyCleanTextCacheTest(KtCase):
    """The clean-text cache (gateway.policy_cache, on by default) answers texts already scanned
    clean; it must never let a finding through: a growing conversation keeps its old turns
    untouched and still redacts every new or repeated one with PII, in both directions."""

    @classmethod
    def config(cls, mock):
        return redact_config(mock)

    def turn(self, messages, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        st, _, body = self.kt.request("POST", "/v1/chat/completions",
                                      body=jb({"model": "gpt-4o-mini", "messages": messages}),
                                      headers=h)
        self.assertEqual(st, 200, body[:500])
        sent = json.loads(self.mock.wait_requests(1)[0].body)["messages"]
        self.mock.reset()
        return [m["content"] for m in sent], json.loads(body)

    cache_on = True

    def cache_hits(self):
        st, _, body = self.kt.request("GET", "/metrics")
        self.assertEqual(st, 200)
        for line in body.decode().splitlines():
            if line.startswith("keeptrusts_policy_cache_hits_total "):
                return float(line.split()[1])
        self.fail("no keeptrusts_policy_cache_hits_total in /metrics")

    def test_growing_conversation(self):
        hits = self.cache_hits()
        sysmsg = {"role": "system", "content": "You are a terse assistant for the billing team."}
        hist = [sysmsg, {"role": "user", "content": "What is an invoice number?"}]
        for _ in range(3):   # the same clean turn again and again
            got, _ = self.turn(hist)
            self.assertEqual(got, [m["content"] for m in hist])
        # turns 2 and 3 found both texts in the cache (the response text too, in its direction)
        if self.cache_on:
            self.assertGreaterEqual(self.cache_hits() - hits, 4)
        else:
            self.assertEqual(self.cache_hits(), 0)
        hist += [{"role": "assistant", "content": "A reference on the invoice."},
                 {"role": "user", "content": "Mail it to %s please." % EMAIL}]
        for _ in range(3):   # the turn with PII, repeated: redacted every time
            got, _ = self.turn(hist)
            self.assertEqual(got[:3], [m["content"] for m in hist[:3]])
            self.assertEqual(got[3], "Mail it to %s please." % M_EMAIL)
        # one byte changed in a text seen clean before: scanned again, and found
        hist[1] = {"role": "user", "content": "What is an invoice number? %s" % SSN}
        got, _ = self.turn(hist)
        self.assertEqual(got[1], "What is an invoice number? [REDACTED:SSN]")

    def test_output_seen_clean_then_with_pii(self):
        clean = "Shipped order 123456789 on 2024-03-15."
        msgs = [{"role": "user", "content": "status?"}]
        for _ in range(3):
            _, o = self.turn(msgs, {"x-mock-pieces": json.dumps([clean])})
            self.assertEqual(o["choices"][0]["message"]["content"], clean)
        _, o = self.turn(msgs, {"x-mock-pieces": json.dumps([clean + " " + EMAIL])})
        self.assertEqual(o["choices"][0]["message"]["content"], clean + " " + M_EMAIL)


class PolicyCacheOffTest(PolicyCleanTextCacheTest):
    """gateway.policy_cache: false gives the same results (every text scanned)."""

    cache_on = False

    @classmethod
    def config(cls, mock):
        return redact_config(mock, policy_cache=False)
