"""Ops endpoints: /health, /healthz, /readyz; 404 and 405 shapes."""
import json

from harness import KtCase


class OpsTest(KtCase):
    def test_health(self):
        st, h, body = self.kt.request("GET", "/health")
        self.assertEqual(st, 200)
        self.assertIn("application/json", h.get("content-type", ""))
        o = json.loads(body)
        self.assertEqual(o["status"], "healthy")
        self.assertIsInstance(o["version"], str)
        self.assertTrue(o["version"])
        self.assertIsInstance(o["uptime_seconds"], (int, float))
        self.assertGreaterEqual(o["uptime_seconds"], 0)
        self.assertIsInstance(o["policies_loaded"], int)
        self.assertEqual(o["config_version"], "test@1.0.0")

    def test_healthz(self):
        st, h, body = self.kt.request("GET", "/healthz")
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body), {"status": "ok"})

    def test_readyz(self):
        st, h, body = self.kt.request("GET", "/readyz")
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["status"], "ready")

    def test_ops_not_forwarded(self):
        for p in ("/health", "/healthz", "/readyz"):
            self.kt.request("GET", p)
        self.assertNotForwarded(0.1)

    def test_wrong_method_405(self):
        for p in ("/health", "/healthz", "/readyz"):
            with self.subTest(path=p):
                st, h, body = self.kt.request("POST", p, body=b"{}")
                self.assertError(st, h, body, 405, self.error_type(body))

    def error_type(self, body):
        # 405's type is not pinned by the contract beyond the error shape
        return json.loads(body)["error"]["type"]

    def test_unknown_path_404(self):
        for p in ("/", "/nope", "/v2/chat/completions", "/healthzz", "/keeptrusts-nope"):
            with self.subTest(path=p):
                st, h, body = self.kt.request("GET", p)
                self.assertError(st, h, body, 404, "not_found")
        self.assertNotForwarded(0.1)

    def test_head_on_healthz(self):
        c = self.kt.conn()
        try:
            c.request("HEAD", "/healthz")
            r = c.getresponse()
            r.read()
            self.assertIn(r.status, (200, 405))
            c.request("GET", "/healthz")  # connection still usable after HEAD
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        finally:
            c.close()

    def test_uptime_increases(self):
        import time
        a = json.loads(self.kt.request("GET", "/health")[2])["uptime_seconds"]
        time.sleep(1.1)
        b = json.loads(self.kt.request("GET", "/health")[2])["uptime_seconds"]
        self.assertGreater(b, a)

    def test_logs_are_json_lines(self):
        self.kt.chat()
        lines = [l for l in self.kt.stderr().splitlines() if l.strip()]
        self.assertTrue(lines, "kt logged nothing at all")
        bad = []
        for l in lines:
            try:
                if not isinstance(json.loads(l), dict):
                    bad.append(l)
            except ValueError:
                bad.append(l)
        self.assertEqual(bad, [], "non-JSON lines on stderr")
