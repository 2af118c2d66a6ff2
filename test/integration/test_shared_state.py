"""gateway.shared_state on a real redis-server: two kt instances count against the same limits
(exactly 10 of 50 concurrent requests under 10 rpm, a daily budget under bursts from both with no
phantom spend), a kill -9 mid-request leaves no reservation after its expiry, Redis killed,
stalled and restarted (on_unavailable: local and deny, no request hangs, limits resume), one
Redis call before forwarding and one after, a settle sent twice counts once, NOSCRIPT recovery,
and the password never shows. Redis is started on a free loopback port and stopped by PID; the
tests skip (with that reason) only when redis-server is not installed."""
import concurrent.futures
import json
import os
import signal
import threading
import time
import unittest

from harness import Kt, MockUpstream, shared_pki, kt_bin, error_of
from redis_server import RedisServer, have_redis, parse_monitor_line
from test_governance import PRICES, KEY_A, bearer, body_est, config, sha

PASSWORD = "redis-pw-never-logged-4b7c1e"


def day_key(prefix="kt:"):
    return "%ss:spend-limit:gateway:|d%d" % (prefix, int(time.time() // 86400))


def metric(kt, name):
    st, _, body = kt.request("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
@unittest.skipUnless(have_redis(), "redis-server is not installed (make test installs it via "
                                   "mk/test-deps.sh)")
class SharedCase(unittest.TestCase):
    password = None

    def setUp(self):
        pki = shared_pki()
        self.mock = MockUpstream(pki.good_cert, pki.good_key).start()
        self.redis = RedisServer(password=self.password).start()
        self.kts = []

    def tearDown(self):
        try:
            for k in self.kts:
                if k.proc and k.proc.poll() is None:
                    k.stop()
                else:
                    k.kill()
                    k.check_clean()
        finally:
            self.redis.stop()
            self.mock.stop()

    def shared(self, **kw):
        o = {"url": self.redis.url, "timeout": "250ms"}
        o.update(kw)
        return {"redis": o}

    def start(self, text, env=None):
        k = Kt(text, env=env).start()
        self.kts.append(k)
        return k

    def settled(self, spent_usd, timeout=5):
        """Waits for the last request's settle (sent just after its answer went out): the day's
        spend counter reaches spent_usd."""
        want = str(spent_usd * 10 ** 9).encode()
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.redis.cmd("GET", day_key()) != want:
            time.sleep(0.02)
        time.sleep(0.05)   # the settle's reply, and its MONITOR line, reach their readers

    def health(self, kt):
        st, _, body = kt.request("GET", "/health")
        self.assertEqual(st, 200)
        return json.loads(body)["shared_state"]

    def reasons(self, kt):
        st, _, body = kt.request("GET", "/health")
        h = json.loads(body)
        self.assertEqual(st, 200, body)   # degraded at worst: a shared Redis down is no pod fault
        return [r["code"] for r in h["reasons"]]

    def wait_state(self, kt, want, timeout=10.0):
        end = time.monotonic() + timeout
        s = None
        while time.monotonic() < end:
            s = self.health(kt)
            if s.get("state") == want:
                return s
            time.sleep(0.05)
        self.fail("shared state did not become %s: %s" % (want, s))

    def two(self, text):
        a, b = self.start(text), self.start(text)
        self.wait_state(a, "up")
        self.wait_state(b, "up")
        return a, b


def burst2(a, b, n, **kw):
    """n concurrent requests, alternating between instances a and b."""
    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        futs = [ex.submit((a, b)[i % 2].chat, timeout=30, **kw) for i in range(n)]
        return [f.result() for f in futs]


class FleetTest(SharedCase):
    def test_10_rpm_lets_exactly_10_of_50_concurrent_through_across_two_instances(self):
        a, b = self.two(config(self.mock, chain=["rate-limit"],
                               policy={"rate-limit": {"requests_per_minute": 10,
                                                      "scope": "gateway"}},
                               shared_state=self.shared()))
        res = burst2(a, b, 50, headers={"x-mock-mode": "slow", "x-mock-delay": "0.3"})
        ok = [r for r in res if r[0] == 200]
        limited = [r for r in res if r[0] == 429]
        self.assertEqual((len(ok), len(limited)), (10, 40), [r[0] for r in res])
        for _, h, body in limited:
            self.assertEqual(error_of(body)["code"], "rate_limit_requests")
            self.assertGreaterEqual(int(h["retry-after"]), 1)
        # one GCRA state for the fleet: the remaining counts of the ten are 9..0
        self.assertEqual(sorted(int(h["x-ratelimit-remaining-requests"]) for _, h, _ in ok),
                         list(range(10)))
        self.assertEqual(len(self.mock.requests), 10)
        self.assertIn("kt:r:rate-limit:gateway:", self.redis.keys())
        self.assertGreater(self.redis.cmd("PTTL", "kt:r:rate-limit:gateway:"), 0)   # expires

    def test_budget_across_two_instances_overshoot_bounded_and_no_phantom_spend(self):
        est = body_est(10)   # each request reserves $est and settles $14 (the mock's usage)
        limit = 100.0
        a, b = self.two(config(self.mock, chain=["spend-limit"],
                               policy={"spend-limit": {"max_daily_usd": limit,
                                                       "scope": "gateway"}},
                               prices=PRICES, shared_state=self.shared()))
        res = burst2(a, b, 30, headers={"x-mock-mode": "slow", "x-mock-delay": "0.4"},
                     max_tokens=10)
        ok = sum(1 for r in res if r[0] == 200)
        self.assertEqual(ok + sum(1 for r in res if r[0] == 402), 30, [r[0] for r in res])
        # reservations of the burst fit the budget: what is in flight never exceeds it
        self.assertEqual(ok, int(limit // est))
        hk = "kt:s:spend-limit:gateway:|h"
        end = time.monotonic() + 5
        while time.monotonic() < end and self.redis.cmd("HLEN", hk):
            time.sleep(0.05)
        self.assertEqual(self.redis.cmd("HLEN", hk), 0)   # no reservation left
        # the counter is exactly the sum of settled costs (nano-dollars)
        self.assertEqual(int(self.redis.cmd("GET", day_key())), 14 * ok * 10 ** 9)
        self.assertGreater(self.redis.cmd("PTTL", day_key()), 86400 * 1000)
        spent = 14.0 * ok
        want, s = 0, spent
        while s + est <= limit:
            want += 1
            s += 14
        n = 0
        while (a, b)[n % 2].chat(max_tokens=10)[0] == 200:
            n += 1
            self.assertLess(n, 20)
            # a request settles just after its answer went out: until then its reservation
            # (the estimate, above the real cost) still holds room, so wait for the settle
            end = time.monotonic() + 5
            while time.monotonic() < end and self.redis.cmd("HLEN", hk):
                time.sleep(0.02)
        self.assertEqual(n, want)   # exactly the room that remains, from either instance

    def test_kill9_mid_request_leaves_no_reservation_after_its_expiry(self):
        est = body_est(10)
        text = config(self.mock, chain=["spend-limit"],
                      policy={"spend-limit": {"max_daily_usd": est + 1, "scope": "gateway",
                                              "reservation_ttl_seconds": 2}},
                      prices=PRICES, shared_state=self.shared())
        a, b = self.two(text)
        t = threading.Thread(target=lambda: self._quiet(a.chat, max_tokens=10, timeout=10,
                                                        headers={"x-mock-mode": "hang"}))
        t.start()
        hk = "kt:s:spend-limit:gateway:|h"
        end = time.monotonic() + 5
        while time.monotonic() < end and not self.redis.cmd("HLEN", hk):
            time.sleep(0.02)
        self.assertEqual(self.redis.cmd("HLEN", hk), 1)   # a's reservation is held in Redis
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(5)
        t.join(10)
        self.assertErr(b.chat(max_tokens=10), 402, "budget_exceeded")   # still held
        time.sleep(2.3)
        st, _, body = b.chat(max_tokens=10)   # expired: the whole budget is free again
        self.assertEqual(st, 200, body)
        # b settles just after its answer went out: wait for that settle, not a's expiry
        end = time.monotonic() + 5
        while time.monotonic() < end and self.redis.cmd("HLEN", hk):
            time.sleep(0.02)
        self.assertEqual(self.redis.cmd("HLEN", hk), 0)
        self.assertEqual(self.redis.cmd("ZCARD", "kt:s:spend-limit:gateway:|z"), 0)
        self.assertEqual(int(self.redis.cmd("GET", day_key())), 14 * 10 ** 9)

    def test_budget_gauges_show_the_fleets_spend(self):
        # b has sent nothing itself: its keeptrusts_budget_remaining_usd is what Redis holds for
        # the fleet (a's settled spend plus b's own estimate) once b's reserve has read it
        est = body_est(10)
        text = config(self.mock, chain=["spend-limit"],
                      policy={"spend-limit": {"max_daily_usd": 100, "max_monthly_usd": 1000,
                                              "scope": "gateway"}},
                      prices=PRICES, shared_state=self.shared())
        a, b = self.two(text)
        for _ in range(2):
            self.assertEqual(a.chat(max_tokens=10)[0], 200)
            self.settled(14 * (_ + 1))
        series = 'keeptrusts_budget_remaining_usd{policy="spend-limit",window="%s"}'
        self.assertEqual(metric(a, 'keeptrusts_budget_limit_usd{policy="spend-limit",window="day"}'),
                         100)
        self.assertEqual(metric(b, series % "day"), 100)   # b has read nothing of the fleet yet
        self.assertEqual(b.chat(max_tokens=10)[0], 200)
        self.assertAlmostEqual(metric(b, series % "day"), 100 - 28 - est, places=6)
        self.assertAlmostEqual(metric(b, series % "month"), 1000 - 28 - est, places=6)
        self.settled(42)
        self.assertEqual(a.chat(max_tokens=10)[0], 200)   # a sees b's settled request too
        self.assertAlmostEqual(metric(a, series % "day"), 100 - 42 - est, places=6)

    @staticmethod
    def _quiet(fn, **kw):
        try:
            fn(**kw)
        except OSError:
            pass

    def assertErr(self, res, status, code):
        st, _, body = res
        self.assertEqual(st, status, body[:300])
        self.assertEqual(error_of(body)["code"], code, body)


class OutageTest(SharedCase):
    def rate_cfg(self, **shared):
        return config(self.mock, chain=["rate-limit"],
                      policy={"rate-limit": {"requests_per_minute": 3, "scope": "gateway"}},
                      shared_state=self.shared(**shared))

    def timed(self, kt):
        t0 = time.monotonic()
        st, _, body = kt.chat(timeout=10)
        return st, time.monotonic() - t0, body

    def test_redis_killed_stalled_and_restarted_local_fallback(self):
        kt = self.start(self.rate_cfg())
        self.wait_state(kt, "up")
        self.assertEqual([kt.chat()[0] for _ in range(4)], [200, 200, 200, 429])
        self.redis.kill9()
        # on_unavailable: local (the default): this process's own counters, every request answered
        # at once (bounded latency), the limit still held
        res = [self.timed(kt) for _ in range(4)]
        self.assertEqual([r[0] for r in res], [200, 200, 200, 429], res)
        self.assertLess(max(r[1] for r in res), 1.5, res)
        s = self.health(kt)
        self.assertNotEqual(s["state"], "up")
        self.assertTrue(s["last_error"])
        self.assertIn("shared_state_unavailable", self.reasons(kt))
        self.assertGreaterEqual(metric(kt, 'keeptrusts_shared_state_fallbacks_total{mode="local"}'), 4)
        self.assertEqual(metric(kt, "keeptrusts_shared_state_up"), 0)
        # Redis back (empty: no persistence): kt reconnects by itself and the limit resumes there
        self.redis.start()
        self.wait_state(kt, "up", timeout=15)
        self.assertEqual(metric(kt, "keeptrusts_shared_state_up"), 1)
        self.assertNotIn("shared_state_unavailable", self.reasons(kt))
        self.assertEqual([kt.chat()[0] for _ in range(4)], [200, 200, 200, 429])
        self.assertIn("kt:r:rate-limit:gateway:", self.redis.keys())
        # a stalled Redis (SIGSTOP): each call gives up after its timeout (250 ms), never hangs
        self.redis.signal(signal.SIGSTOP)
        try:
            res = [self.timed(kt) for _ in range(3)]
        finally:
            self.redis.signal(signal.SIGCONT)
        self.assertLess(max(r[1] for r in res), 1.5, res)
        for st, _, body in res:
            self.assertIn(st, (200, 429), body)
        self.assertGreaterEqual(metric(kt, 'keeptrusts_shared_state_errors_total{kind="timeout"}'), 1)
        self.wait_state(kt, "up", timeout=15)
        self.assertEqual(kt.chat()[0], 429)   # the shared counter still holds its 3 of 3

    def test_on_unavailable_deny_refuses_fast_and_recovers(self):
        kt = self.start(self.rate_cfg(on_unavailable="deny"))
        self.wait_state(kt, "up")
        self.assertEqual(kt.chat()[0], 200)
        self.redis.kill9()
        st, took, body = self.timed(kt)
        self.assertEqual(st, 503, body)
        self.assertEqual(error_of(body)["code"], "shared_state_unavailable")
        self.assertLess(took, 1.5)
        self.assertEqual(len(self.mock.requests), 1)   # nothing went upstream
        self.redis.start()
        self.wait_state(kt, "up", timeout=15)
        self.assertEqual(kt.chat()[0], 200)
        self.assertEqual(self.health(kt)["on_unavailable"], "deny")

    def test_on_unavailable_allow_admits_without_limits(self):
        kt = self.start(self.rate_cfg(on_unavailable="allow"))
        self.wait_state(kt, "up")
        self.redis.kill9()
        self.assertEqual([kt.chat()[0] for _ in range(5)], [200] * 5)
        self.assertEqual(metric(kt, 'keeptrusts_shared_state_fallbacks_total{mode="allow"}'), 5)
        # fail_mode's governance cause: admitted unchecked is counted as unscanned, with a reason
        self.assertEqual(metric(kt, 'keeptrusts_unscanned_total{reason="limits_unavailable"}'), 5)


class ProtocolTest(SharedCase):
    def gov_cfg(self):
        cons = [{"name": "team-a", "keys": [{"key_sha256": sha(KEY_A)}],
                 "limits": {"requests_per_minute": 100}}]
        return config(self.mock, cons, chain=["rate-limit", "spend-limit"],
                      policy={"rate-limit": {"requests_per_minute": 600,
                                             "tokens_per_minute": 500000, "scope": "consumer"},
                              "spend-limit": {"max_daily_usd": 1000, "scope": "gateway"}},
                      prices=PRICES, shared_state=self.shared())

    def during_slow_request(self, kt, delay, action):
        """Sends one request the mock answers after `delay` seconds, runs action() while it is
        upstream, and returns its status."""
        res = {}
        t = threading.Thread(target=lambda: res.update(r=kt.chat(
            headers=dict(bearer(KEY_A), **{"x-mock-mode": "slow", "x-mock-delay": str(delay)}),
            max_tokens=10, timeout=10)))
        t.start()
        self.mock.wait_requests(1)
        action()
        t.join(10)
        return res["r"][0]

    def monitor(self):
        """Collects MONITOR lines in a thread; returns (lines, stop)."""
        sock, f = self.redis.monitor()
        lines = []

        def reader():
            try:
                while True:
                    line = f.readline()
                    if not line:
                        return
                    lines.append(line)
            except (OSError, ValueError):
                return
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        time.sleep(0.1)

        def stop():
            sock.shutdown(2)
            sock.close()
            t.join(5)
        return lines, stop

    def test_one_redis_call_before_forwarding_and_one_after(self):
        kt = self.start(self.gov_cfg())
        self.wait_state(kt, "up")
        lines, stop = self.monitor()
        before = self.redis.commandstats()
        n = 6
        for _ in range(n):
            st, h, body = kt.chat(headers=bearer(KEY_A), max_tokens=10)
            self.assertEqual(st, 200, body)
        self.settled(14 * n)   # the last settle is sent after the answer
        after = self.redis.commandstats()
        stop()
        # what kt itself sent (MONITOR lines of a client, not of the scripts' own calls): every
        # limit (consumer rpm, policy rpm + tpm, daily spend) in one EVALSHA each way
        sent = [parse_monitor_line(x)[0].upper() for x in lines if b"[0 127.0.0.1:" in x]
        sent = [c for c in sent if c not in (b"INFO", b"GET")]   # the test's own probes
        self.assertEqual(sent, [b"EVALSHA"] * (2 * n), sent)
        self.assertEqual(after.get("evalsha", 0) - before.get("evalsha", 0), 2 * n)
        self.assertEqual(after.get("eval", 0) - before.get("eval", 0), 0)
        self.assertEqual(int(self.redis.cmd("GET", day_key())), 14 * n * 10 ** 9)
        self.assertEqual(h["x-ratelimit-limit-requests"], "100")   # the tightest of the two

    def test_settle_sent_twice_counts_once(self):
        kt = self.start(self.gov_cfg())
        self.wait_state(kt, "up")
        lines, stop = self.monitor()
        self.assertEqual(kt.chat(headers=bearer(KEY_A), max_tokens=10)[0], 200)
        self.settled(14)
        stop()
        settles = [parse_monitor_line(x) for x in lines if b"settled:" in x and b'"EVALSHA"' in x]
        self.assertEqual(len(settles), 1, lines)
        args = settles[0]
        self.assertEqual(args[0].upper(), b"EVALSHA")
        spent = int(self.redis.cmd("GET", day_key()))
        self.assertEqual(spent, 14 * 10 ** 9)
        # the same settle again (a retry after a lost reply): applied 0 times, nothing changes
        self.assertEqual(self.redis.cmd(*args), 0)
        self.assertEqual(int(self.redis.cmd("GET", day_key())), spent)
        self.assertEqual(self.redis.cmd("HLEN", "kt:s:spend-limit:gateway:|h"), 0)

    def test_sigterm_during_a_request_still_settles_it(self):
        # the last request ends as kt shuts down: its settle goes out before the connection closes
        kt = self.start(self.gov_cfg())
        self.wait_state(kt, "up")
        self.assertEqual(self.during_slow_request(kt, 1.5, lambda: kt.signal(signal.SIGTERM)), 200)
        kt.wait(15)
        self.assertEqual(kt.returncode, 0, kt.stderr()[-2000:])
        self.assertEqual(int(self.redis.cmd("GET", day_key())), 14 * 10 ** 9)
        self.assertEqual(self.redis.cmd("HLEN", "kt:s:spend-limit:gateway:|h"), 0)
        self.assertNotIn("shared_state_settles_lost", kt.stderr())

    def test_settle_waits_for_redis_and_is_sent_again(self):
        # Redis goes away while a request is upstream: its settle waits in kt (a list that grows
        # with the outage) and is sent once Redis is back, so the spend is not lost
        kt = self.start(self.gov_cfg())
        self.wait_state(kt, "up")
        self.assertEqual(self.during_slow_request(kt, 1.0, self.redis.kill9), 200)
        self.redis.start()   # empty: the re-sent settle alone writes the day's spend
        self.wait_state(kt, "up", timeout=15)
        self.settled(14)
        self.assertEqual(int(self.redis.cmd("GET", day_key())), 14 * 10 ** 9)
        self.assertIn("shared_state_settles_resent", kt.stderr())
        self.assertNotIn("shared_state_settles_lost", kt.stderr())

    def test_noscript_after_script_flush_falls_back_to_eval(self):
        kt = self.start(self.gov_cfg())
        self.wait_state(kt, "up")
        self.assertEqual(kt.chat(headers=bearer(KEY_A), max_tokens=10)[0], 200)
        self.settled(14)   # the first settle is not the one that meets the flush
        self.redis.cmd("SCRIPT", "FLUSH")
        before = self.redis.commandstats()
        self.assertEqual(kt.chat(headers=bearer(KEY_A), max_tokens=10)[0], 200)
        self.settled(28)
        after = self.redis.commandstats()
        self.assertEqual(after.get("eval", 0) - before.get("eval", 0), 2)   # reserve + settle
        self.assertEqual(int(self.redis.cmd("GET", day_key())), 28 * 10 ** 9)


class PasswordTest(SharedCase):
    password = PASSWORD

    def cfg(self):
        return config(self.mock, chain=["rate-limit"],
                      policy={"rate-limit": {"requests_per_minute": 5, "scope": "gateway"}},
                      shared_state=self.shared(password_ref={"env": "KT_REDIS_PW"},
                                               key_prefix="team-"))

    def test_password_from_env_is_used_and_never_shown(self):
        kt = self.start(self.cfg(), env={"KT_REDIS_PW": PASSWORD})
        self.wait_state(kt, "up")
        self.assertEqual(kt.chat()[0], 200)
        self.assertIn("team-r:rate-limit:gateway:", self.redis.keys())
        for path in ("/health", "/metrics", "/keeptrusts/config"):
            st, _, body = kt.request("GET", path)
            self.assertNotIn(PASSWORD.encode(), body, path)
        self.assertNotIn(PASSWORD, kt.stderr())

    def test_wrong_password_is_reported_without_the_password(self):
        kt = self.start(self.cfg(), env={"KT_REDIS_PW": "wrong-" + PASSWORD})
        time.sleep(0.5)
        s = self.health(kt)
        self.assertNotEqual(s["state"], "up")
        self.assertIn("WRONGPASS", s["last_error"] or "")
        self.assertEqual(kt.chat()[0], 200)   # local fallback
        self.assertNotIn(PASSWORD, kt.stderr())
        self.assertNotIn(PASSWORD, json.dumps(s))


if __name__ == "__main__":
    unittest.main()
