"""Governance: gateway keys (401 before anything goes upstream), the secure auth default, key
rotation by file change, model rules (403), rate limits (429 + Retry-After, x-ratelimit-* on
answers) and spend limits (402, reserve before / settle after, no phantom spend, state_dir)."""
import concurrent.futures
import hashlib
import json
import os
import tempfile
import time
import unittest

from harness import (Kt, MockUpstream, shared_pki, kt_bin, to_yaml, default_targets,
                     DEFAULT_GATEWAY, OPENAI_KEY, error_of)

KEY_A = "kt_gk_teamA_0123456789abcdef"
KEY_B = "kt_gk_teamB_fedcba9876543210"
KEY_A2 = "kt_gk_teamA_rotated_55555555"


def sha(k):
    return hashlib.sha256(k.encode()).hexdigest()


def config(mock, consumers=None, chain=None, policy=None, prices=None, **gateway):
    gw = dict(DEFAULT_GATEWAY)
    gw.update(gateway)
    if prices:
        gw["events"] = {"prices": prices}
    doc = {"pack": {"name": "gov", "version": "1.0.0"}, "gateway": gw,
           "providers": {"targets": default_targets(mock.url)}}
    if consumers is not None:
        doc["consumers"] = consumers
    if chain:
        doc["policies"] = {"chain": chain}
    if policy:
        doc["policy"] = policy
    return to_yaml(doc) + "\n"


class ListenKt(Kt):
    """kt on a chosen listen host (0.0.0.0: not loopback)."""
    def __init__(self, text, host, **kw):
        super().__init__(text, **kw)
        self.host = host

    def argv(self):
        argv = super().argv()
        argv[argv.index("--listen") + 1] = "%s:%d" % (self.host, self.port)
        return argv


def bearer(k):
    return {"Authorization": "Bearer " + k}


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class GovCase(unittest.TestCase):
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

    def start(self, text, cls=Kt, **kw):
        self.kt = cls(text, **kw).start()
        return self.kt

    def assertErr(self, res, status, typ, code):
        st, h, body = res
        self.assertEqual(st, status, body[:400])
        e = error_of(body)
        self.assertEqual((e["type"], e["code"]), (typ, code), body)
        return e, h


class KeysTest(GovCase):
    def consumers(self):
        return [{"name": "team-a", "keys": [{"key_sha256": sha(KEY_A)}]},
                {"name": "team-b", "keys": [{"key_sha256": sha(KEY_B)}]}]

    def test_keys_where_sdks_put_them(self):
        self.start(config(self.mock, self.consumers()))
        for h in (bearer(KEY_A), {"x-api-key": KEY_A}, {"api-key": KEY_B}):
            st, _, body = self.kt.chat(headers=h)
            self.assertEqual(st, 200, body)
        reqs = self.mock.wait_requests(3)
        for r in reqs:   # the gateway key never goes upstream; the provider key does
            self.assertEqual(r.header_all("authorization"), ["Bearer " + OPENAI_KEY])
            self.assertNotIn(KEY_A.encode(), r.raw_head)
            self.assertNotIn(KEY_B.encode(), r.raw_head)
        end = time.monotonic() + 5   # events reach stderr in batches
        while time.monotonic() < end and '"consumer":"team-b"' not in self.kt.stderr():
            time.sleep(0.1)
        err = self.kt.stderr()
        self.assertIn('"consumer":"team-a"', err)   # the decision event names the consumer
        self.assertIn('"consumer":"team-b"', err)
        self.assertNotIn(KEY_A, err)
        st, _, body = self.kt.request("GET", "/keeptrusts/config")   # names only
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["consumers"], ["team-a", "team-b"])
        self.assertNotIn(sha(KEY_A).encode(), body)
        st, _, body = self.kt.request("GET", "/metrics")   # a bounded consumer label
        self.assertIn(b'keeptrusts_consumer_requests_total{consumer="team-a",status="200"} 2', body)
        self.assertIn(b'keeptrusts_consumer_requests_total{consumer="team-b",status="200"} 1', body)

    def test_missing_and_bad_keys_are_401_and_nothing_goes_upstream(self):
        self.start(config(self.mock, self.consumers()))
        self.assertErr(self.kt.chat(), 401, "authentication_error", "missing_gateway_key")
        self.assertErr(self.kt.chat(headers=bearer("kt_gk_wrong")), 401, "authentication_error",
                       "invalid_gateway_key")
        self.assertErr(self.kt.chat(headers=bearer(KEY_A + "x")), 401, "authentication_error",
                       "invalid_gateway_key")
        self.assertErr(self.kt.chat(headers={"x-api-key": sha(KEY_A)}), 401,
                       "authentication_error", "invalid_gateway_key")
        time.sleep(0.2)
        self.assertEqual(self.mock.requests, [])

    def test_loopback_without_consumers_needs_no_key(self):
        self.start(config(self.mock))
        st, _, body = self.kt.chat(headers=bearer("anything"))
        self.assertEqual(st, 200, body)

    def test_non_loopback_defaults_to_keys(self):
        self.start(config(self.mock), cls=ListenKt, host="0.0.0.0")
        e, _ = self.assertErr(self.kt.chat(), 401, "authentication_error", "no_consumers")
        self.assertIn("consumers:", e["message"])
        self.assertIn("gateway.auth: none", e["message"])
        self.assertEqual(self.mock.requests, [])

    def test_auth_none_on_non_loopback_warns(self):
        self.start(config(self.mock, auth="none"), cls=ListenKt, host="0.0.0.0")
        st, _, body = self.kt.chat()
        self.assertEqual(st, 200, body)
        self.assertTrue(any(l.get("event") == "auth_none_exposed" for l in self.kt.log_lines()),
                        self.kt.stderr()[-2000:])

    def test_auth_keys_on_loopback_without_consumers(self):
        self.start(config(self.mock, auth="keys"))
        self.assertErr(self.kt.chat(), 401, "authentication_error", "no_consumers")

    def test_key_file_rotation_without_restart(self):
        d = tempfile.mkdtemp(prefix="kt-keys-")
        path = os.path.join(d, "team-a")
        with open(path, "w") as f:
            f.write(KEY_A + "\n")
        cons = [{"name": "team-a", "keys": [{"key_ref": {"file": path}}]}]
        self.start(config(self.mock, cons, config_poll_interval="1s"))
        self.assertEqual(self.kt.chat(headers=bearer(KEY_A))[0], 200)
        with open(path + ".tmp", "w") as f:
            f.write(KEY_A2 + "\n")
        os.rename(path + ".tmp", path)
        end = time.monotonic() + 10
        while time.monotonic() < end and self.kt.chat(headers=bearer(KEY_A2))[0] != 200:
            time.sleep(0.2)
        self.assertEqual(self.kt.chat(headers=bearer(KEY_A2))[0], 200)
        self.assertErr(self.kt.chat(headers=bearer(KEY_A)), 401, "authentication_error",
                       "invalid_gateway_key")

    def test_key_env_ref(self):
        cons = [{"name": "team-a", "keys": [{"key_ref": {"env": "KT_TEAM_A_KEY"}}]}]
        self.start(config(self.mock, cons), env={"KT_TEAM_A_KEY": KEY_A})
        self.assertEqual(self.kt.chat(headers=bearer(KEY_A))[0], 200)
        self.assertEqual(self.kt.chat(headers=bearer(KEY_B))[0], 401)


class ModelsTest(GovCase):
    def test_gateway_and_consumer_model_rules(self):
        cons = [{"name": "team-a", "keys": [{"key_sha256": sha(KEY_A)}],
                 "models": {"allow": ["gpt-4o*"], "deny": []}},
                {"name": "team-b", "keys": [{"key_sha256": sha(KEY_B)}]}]
        self.start(config(self.mock, cons, models={"allow": ["*"], "deny": ["o1-pro*"]}))
        self.assertEqual(self.kt.chat(headers=bearer(KEY_A), model="gpt-4o-mini")[0], 200)
        e, _ = self.assertErr(self.kt.chat(headers=bearer(KEY_A), model="claude-3-5-sonnet"),
                              403, "permission_error", "model_not_allowed")
        self.assertIn("claude-3-5-sonnet", e["message"])
        self.assertEqual(self.kt.chat(headers=bearer(KEY_B), model="claude-3-5-sonnet")[0], 200)
        self.assertErr(self.kt.chat(headers=bearer(KEY_B), model="o1-pro-2025"), 403,
                       "permission_error", "model_not_allowed")
        self.mock.reset()
        self.assertErr(self.kt.chat(headers=bearer(KEY_A), model="o1-pro"), 403,
                       "permission_error", "model_not_allowed")
        time.sleep(0.1)
        self.assertEqual(self.mock.requests, [])

    def test_models_list_shows_only_allowed_models(self):
        cons = [{"name": "team-a", "keys": [{"key_sha256": sha(KEY_A)}],
                 "models": {"allow": ["gpt-4o*"]}},
                {"name": "team-b", "keys": [{"key_sha256": sha(KEY_B)}]}]
        self.start(config(self.mock, cons, models={"deny": ["gpt-4o"]}))
        ids = {}
        for k in (KEY_A, KEY_B):
            st, _, body = self.kt.request("GET", "/v1/models", headers=bearer(k))
            self.assertEqual(st, 200, body)
            doc = json.loads(body)
            self.assertEqual(doc["object"], "list")
            ids[k] = [m["id"] for m in doc["data"]]
        self.assertEqual(ids[KEY_A], ["gpt-4o-mini"])
        self.assertEqual(ids[KEY_B], ["gpt-4o-mini", "text-embedding-3-small"])

    def test_azure_deployment_is_checked(self):
        self.start(config(self.mock, models={"deny": ["my-dep"]}))
        self.assertErr(self.kt.chat(model="gpt-4o"), 403, "permission_error", "model_not_allowed")


def burst(kt, n, headers=None, **fields):
    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        futs = [ex.submit(kt.chat, headers=headers, timeout=30, **fields) for _ in range(n)]
        return [f.result() for f in futs]


class RateTest(GovCase):
    def test_10_rpm_lets_exactly_10_of_50_concurrent_through(self):
        self.start(config(self.mock, chain=["rate-limit"],
                          policy={"rate-limit": {"requests_per_minute": 10, "scope": "gateway"}}))
        res = burst(self.kt, 50, headers={"x-mock-mode": "slow", "x-mock-delay": "0.3"})
        ok = [r for r in res if r[0] == 200]
        limited = [r for r in res if r[0] == 429]
        self.assertEqual((len(ok), len(limited)), (10, 40), [r[0] for r in res])
        for st, h, body in limited:
            e = error_of(body)
            self.assertEqual((e["type"], e["code"]), ("rate_limit", "rate_limit_requests"))
            self.assertEqual(e["policy"], "rate-limit")
            self.assertGreaterEqual(int(h["retry-after"]), 1)
            self.assertLessEqual(int(h["retry-after"]), 60)
        remaining = sorted(int(h["x-ratelimit-remaining-requests"]) for _, h, _ in ok)
        self.assertEqual(remaining, list(range(10)))
        for _, h, _ in ok:
            self.assertEqual(h["x-ratelimit-limit-requests"], "10")
            self.assertIn("x-ratelimit-reset-requests", h)
        self.assertEqual(len(self.mock.requests), 10)

    def test_per_consumer_limits_and_token_headers(self):
        cons = [{"name": "team-a", "keys": [{"key_sha256": sha(KEY_A)}],
                 "limits": {"requests_per_minute": 2}},
                {"name": "team-b", "keys": [{"key_sha256": sha(KEY_B)}]}]
        self.start(config(self.mock, cons, chain=["rate-limit"],
                          policy={"rate-limit": {"tokens_per_minute": 100000,
                                                 "scope": "consumer"}}))
        for _ in range(2):
            st, h, _ = self.kt.chat(headers=bearer(KEY_A))
            self.assertEqual(st, 200)
            self.assertEqual(h["x-ratelimit-limit-tokens"], "100000")
            self.assertLess(int(h["x-ratelimit-remaining-tokens"]), 100000)
        e, h = self.assertErr(self.kt.chat(headers=bearer(KEY_A)), 429, "rate_limit",
                              "rate_limit_requests")
        self.assertIn("team-a", e["message"])
        self.assertIn("retry-after", h)
        self.assertEqual(self.kt.chat(headers=bearer(KEY_B))[0], 200)   # its own counters

    def test_rate_counters_survive_a_restart_with_state_dir(self):
        # issue 14: a restart must not hand out a fresh burst (the GCRA state is kept with spend)
        d = tempfile.mkdtemp(prefix="kt-state-")
        text = config(self.mock, chain=["rate-limit"],
                      policy={"rate-limit": {"requests_per_minute": 3, "scope": "gateway"}},
                      state_dir=d)
        self.start(text)
        self.assertEqual([self.kt.chat()[0] for _ in range(3)], [200] * 3)
        self.kt.stop()
        with open(os.path.join(d, "spend.json")) as f:
            entry = json.load(f)["entries"][0]
        self.assertGreater(entry["tat_reqs_ms"], time.time() * 1000)
        self.kt = Kt(text).start()
        self.assertErr(self.kt.chat(), 429, "rate_limit", "rate_limit_requests")

    def test_token_limit_refuses_what_cannot_fit(self):
        self.start(config(self.mock, chain=["rate-limit"],
                          policy={"rate-limit": {"tokens_per_minute": 200, "scope": "gateway"}}))
        self.assertEqual(self.kt.chat(max_tokens=50)[0], 200)
        self.assertErr(self.kt.chat(max_tokens=5000), 429, "rate_limit", "rate_limit_tokens")


# $1 per token: the mock's answer (9 in + 5 out) costs $14
PRICES = {"gpt-4o-mini": {"input": 1000000, "output": 1000000}}


def body_est(max_tokens):
    """kt's estimate for kt.chat(max_tokens=...): body bytes / 4 rounded up, plus max_tokens."""
    b = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}],
                    "max_tokens": max_tokens}).encode()
    return (len(b) + 3) // 4 + max_tokens


class SpendTest(GovCase):
    def spend_cfg(self, limit, state_dir=None, **opts):
        p = {"max_daily_usd": limit, "scope": "gateway"}
        p.update(opts)
        gw = {"state_dir": state_dir} if state_dir else {}
        return config(self.mock, chain=["spend-limit"], policy={"spend-limit": p},
                      prices=PRICES, **gw)

    def spent(self, state_dir):
        with open(os.path.join(state_dir, "spend.json")) as f:
            doc = json.load(f)
        return sum(e["spent_day"] for e in doc["entries"])

    def wait_spent(self, state_dir, want):
        end = time.monotonic() + 5
        got = None
        while time.monotonic() < end:
            try:
                got = self.spent(state_dir)
            except (OSError, ValueError):
                got = None
            if got is not None and abs(got - want) < 1e-6:
                return got
            time.sleep(0.05)
        return got

    def test_sequential_budget_reserve_and_settle(self):
        est = body_est(10)   # $est reserved, $14 settled
        limit = 14 * 3 + est   # room for exactly 4 requests
        self.start(self.spend_cfg(limit))
        sts = [self.kt.chat(max_tokens=10)[0] for _ in range(4)]
        self.assertEqual(sts, [200] * 4)
        e, _ = self.assertErr(self.kt.chat(max_tokens=10), 402, "budget_exceeded",
                              "budget_exceeded")
        self.assertEqual(e["policy"], "spend-limit")
        self.assertIn("daily", e["budget"])
        self.assertAlmostEqual(e["limit_usd"], limit)
        self.assertAlmostEqual(e["spent_usd"], 56)
        self.assertRegex(e["reset_at"], r"^\d{4}-\d\d-\d\dT00:00:00Z$")
        self.assertIn(e["reset_at"], e["message"])

    def test_concurrent_burst_overshoot_bounded_and_no_phantom_spend(self):
        d = tempfile.mkdtemp(prefix="kt-state-")
        est = body_est(10)
        limit = 100.0
        self.start(self.spend_cfg(limit, state_dir=d))
        res = burst(self.kt, 30, headers={"x-mock-mode": "slow", "x-mock-delay": "0.4"},
                    max_tokens=10)
        ok = sum(1 for r in res if r[0] == 200)
        refused = sum(1 for r in res if r[0] == 402)
        self.assertEqual(ok + refused, 30, [r[0] for r in res])
        self.assertEqual(ok, int(limit // est))   # reservations of the burst fit the budget
        spent = self.wait_spent(d, 14.0 * ok)
        self.assertAlmostEqual(spent, 14.0 * ok)   # settled = real usage, within the limit
        self.assertLessEqual(spent, limit)
        # no phantom reservation left: exactly the room that remains can be used
        room = int((limit - spent - est) // 14) + 1 if limit - spent >= est else 0
        n = 0
        while self.kt.chat(max_tokens=10)[0] == 200:
            n += 1
            self.assertLess(n, 20)
        want = 0
        s = spent
        while s + est <= limit:
            want += 1
            s += 14
        self.assertEqual(n, want, (spent, est, room))

    def test_stream_usage_obtained_and_stripped(self):
        d = tempfile.mkdtemp(prefix="kt-state-")
        self.start(self.spend_cfg(1000, state_dir=d))
        for split in ("event", "bytes:7"):
            self.mock.reset()
            st, h, body = self.kt.chat(stream=True, max_tokens=10,
                                       headers={"x-mock-split": split})
            self.assertEqual(st, 200, body)
            rec = self.mock.wait_requests(1)[0]
            self.assertEqual(rec.json()["stream_options"], {"include_usage": True})
            usage_events = [e for e in rec.sent_events if b'"usage"' in e]
            self.assertEqual(len(usage_events), 1)
            # the client gets exactly what it would have got without the option
            want = b"".join(e for e in rec.sent_events if b'"usage"' not in e)
            self.assertEqual(body, want)
            self.assertNotIn(b"usage", body)
        # settled with the real usage ($14 each), not the estimate
        self.assertAlmostEqual(self.wait_spent(d, 28.0), 28.0)
        # a client that asked for usage keeps it, and its body is untouched
        self.mock.reset()
        st, _, body = self.kt.chat(stream=True, max_tokens=10,
                                   stream_options={"include_usage": True})
        rec = self.mock.wait_requests(1)[0]
        self.assertEqual(body, b"".join(rec.sent_events))
        self.assertIn(b'"usage"', body)

    def test_anthropic_and_responses_streams_settle_their_real_usage(self):
        # issue 14: every stream kind settles what it used. Anthropic reports input usage in
        # message_start and output usage in message_delta; the Responses API in
        # response.completed. Both come unasked, so the client's bytes stay untouched.
        d = tempfile.mkdtemp(prefix="kt-state-")
        prices = dict(PRICES)
        prices["claude-3-5-sonnet"] = {"input": 1000000, "output": 1000000}
        self.start(config(self.mock, chain=["spend-limit"],
                          policy={"spend-limit": {"max_daily_usd": 1000, "scope": "gateway"}},
                          prices=prices, state_dir=d))
        want = 0.0
        for split in ("event", "bytes:7"):
            for path, doc in (("/v1/messages", {"model": "claude-3-5-sonnet", "max_tokens": 10,
                                                "stream": True, "messages": [
                                                    {"role": "user", "content": "hello"}]}),
                              ("/v1/responses", {"model": "gpt-4o-mini", "stream": True,
                                                 "max_output_tokens": 10, "input": "hello"})):
                self.mock.reset()
                st, _, body = self.kt.request(
                    "POST", path, body=json.dumps(doc).encode(),
                    headers={"Content-Type": "application/json", "x-mock-split": split,
                             "anthropic-version": "2023-06-01"})
                self.assertEqual(st, 200, body[:300])
                rec = self.mock.wait_requests(1)[0]
                self.assertNotIn("stream_options", rec.json())
                self.assertEqual(body, b"".join(rec.sent_events))
                # $1 a token: 9 in + 5 out, not the estimate (body / 4 + 10)
                want += 14.0
                self.assertGreater(body_est(10), 14)
                self.assertAlmostEqual(self.wait_spent(d, want), want, msg=(path, split))

    def test_failed_requests_settle_zero(self):
        d = tempfile.mkdtemp(prefix="kt-state-")
        self.start(self.spend_cfg(1000, state_dir=d))
        for mode in ("fail", "close", "hang"):   # 500, dropped, first-byte timeout
            st, _, _ = self.kt.chat(headers={"x-mock-mode": mode}, max_tokens=10)
            self.assertGreaterEqual(st, 500)
        # a client that gives up before the answer: nothing came back, nothing is spent
        import socket
        body = json.dumps({"model": "gpt-4o-mini", "max_tokens": 10,
                           "messages": [{"role": "user", "content": "hello"}]}).encode()
        s = socket.create_connection(("127.0.0.1", self.kt.port))
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"application/json\r\nx-mock-mode: hang\r\nContent-Length: %d\r\n\r\n"
                  % len(body) + body)
        time.sleep(0.3)
        s.close()
        time.sleep(0.3)
        self.assertEqual(self.kt.chat(max_tokens=10)[0], 200)
        self.assertAlmostEqual(self.wait_spent(d, 14.0), 14.0)

    def test_spend_survives_restart(self):
        d = tempfile.mkdtemp(prefix="kt-state-")
        est = body_est(10)
        limit = 14 + est
        text = self.spend_cfg(limit, state_dir=d)
        self.start(text)
        self.assertEqual(self.kt.chat(max_tokens=10)[0], 200)
        self.kt.stop()
        self.kt = Kt(text).start()
        self.assertEqual(self.kt.chat(max_tokens=10)[0], 200)   # $14 spent + est fits
        self.assertErr(self.kt.chat(max_tokens=10), 402, "budget_exceeded", "budget_exceeded")

    def test_unpriced_model_is_refused(self):
        self.start(self.spend_cfg(100))
        self.assertErr(self.kt.chat(model="mock-model-x"), 402, "budget_exceeded",
                       "model_unpriced")
        st, _, body = self.kt.request("GET", "/v1/models")   # no model, no tokens: not refused
        self.assertEqual(st, 200, body)

    def test_consumer_daily_limit(self):
        cons = [{"name": "team-a", "keys": [{"key_sha256": sha(KEY_A)}],
                 "limits": {"max_daily_usd": body_est(10)}}]
        self.start(config(self.mock, cons, prices=PRICES))
        self.assertEqual(self.kt.chat(headers=bearer(KEY_A), max_tokens=10)[0], 200)
        e, _ = self.assertErr(self.kt.chat(headers=bearer(KEY_A), max_tokens=10), 402,
                              "budget_exceeded", "budget_exceeded")
        self.assertIn("team-a", e["budget"])


class SeedConfigTest(GovCase):
    def test_policy_validate_accepts_the_pack_forms_with_spend_limit(self):
        import subprocess
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        for name in ("pack-spend.yaml", "governance.yaml", "pack.yaml"):
            path = os.path.join(root, "test", "configs", name)
            r = subprocess.run([kt_bin(), "policy", "validate", path], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn(": ok", r.stdout + r.stderr)

    def test_production_chain_runs(self):
        # seed 004's production chain, against the mock: the request passes and is audited
        self.start(config(self.mock, chain=["spend-limit", "audit-logger"],
                          policy={"spend-limit": {"max_daily_usd": 500},
                                  "audit-logger": {"retention_days": 365}}))
        st, _, body = self.kt.chat()
        self.assertEqual(st, 200, body)


if __name__ == "__main__":
    unittest.main()
