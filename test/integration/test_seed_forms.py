"""The seeds' deployment forms as kt invocations (issue 15). Docker is not available here, so each
form runs the kt command line its compose service or Kubernetes container amounts to: the image's
CMD (`gateway run`, API on 127.0.0.1:41002) and its KT_OPS_LISTEN=0.0.0.0:41003, the seed's
flags and environment, a free port in place of 41002/41003.

- shared gateway (seed 000 compose, `ports: "41002:41002"`; seed 004 `--listen 0.0.0.0:41002`):
  needs `--listen 0.0.0.0:41002` (the one documented flag); then gateway keys are required and the
  refusal names what to configure; with `consumers:` the key works.
- sidecar in the app's network namespace (seed 000 hybrid, `network_mode: service:`): the image's
  defaults; the app on localhost needs no key.
- per-team fleet (seed 004: two gateways, healthcheck `curl -f http://localhost:41002/health`, the
  fleet script reads `.status`): both answer; one without its provider key says unhealthy (503).
- Kubernetes probes on /health (seed 000): on the ops port (41003) for a loopback sidecar, on the
  API port for a shared gateway; 200 while kt can serve, 503 when it cannot.
"""
import hashlib
import json
import os
import unittest

from control_plane import ControlPlane
from harness import (Kt, MockUpstream, free_port, kt_bin, shared_pki, to_yaml, OPENAI_KEY)

GW_KEY = "kt_gk_team_alpha_3f9a1c0e7b2d4a68"


def team_config(mock, name, key_env, consumers=None):
    """Seed 004's per-team pack form, pointed at the mock provider."""
    doc = {"pack": {"name": name, "version": "0.1.0", "enabled": True,
                    "description": "Team production gateway"},
           "policies": {"chain": ["pii-detector", "audit-logger"]},
           "policy": {"pii-detector": {"action": "redact"}, "audit-logger": {"retention_days": 365}},
           "providers": {"targets": [{"id": "openai-primary", "provider": "openai",
                                      "model": "gpt-4o-mini", "base_url": mock.url,
                                      "secret_key_ref": {"env": key_env}}]}}
    if consumers:
        doc["consumers"] = consumers
    return to_yaml(doc) + "\n"


class SeedKt(Kt):
    """`kt gateway run` with the image's environment and the seed's flags instead of the harness's
    fixed --listen 127.0.0.1."""

    def __init__(self, config_text, listen=None, ops_port=None, **kw):
        super().__init__(config_text, **kw)
        self.listen = listen                     # None: the image's CMD (loopback default)
        self.ops_port = ops_port or free_port()
        # The Dockerfile's ENV KT_OPS_LISTEN=0.0.0.0:41003 (another port here)
        self.env["KT_OPS_LISTEN"] = "0.0.0.0:%d" % self.ops_port

    def argv(self):
        argv = [kt_bin(), "gateway", "run", "--listen",
                self.listen or "127.0.0.1:%d" % self.port]
        if self.config_path:
            argv += ["--policy-config", self.config_path]
        return argv


def health(port):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/health")
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class SeedFormsTest(unittest.TestCase):
    def setUp(self):
        self.mock = MockUpstream(shared_pki().good_cert, shared_pki().good_key).start()
        self.cp = ControlPlane().start()
        self.kts = []

    def tearDown(self):
        try:
            for kt in self.kts:
                kt.stop()
        finally:
            self.cp.stop()
            self.mock.stop()

    def start(self, text, key_env="TEAM_ALPHA_OPENAI_KEY", shared=False, env=None, **kw):
        e = {"KEEPTRUSTS_API_URL": self.cp.url, "KEEPTRUSTS_GATEWAY_TOKEN": "gw-token-x",
             key_env: OPENAI_KEY}
        e.update(env or {})
        port = free_port()
        kt = SeedKt(text, listen="0.0.0.0:%d" % port if shared else None, port=port, env=e, **kw)
        self.kts.append(kt)
        return kt.start()

    def test_image_default_says_how_to_share(self):
        kt = self.start(team_config(self.mock, "side", "TEAM_ALPHA_OPENAI_KEY"))
        hint = [l for l in kt.log_lines() if l.get("event") == "listen_loopback"]
        self.assertEqual(len(hint), 1, kt.stderr())
        self.assertIn("--listen 0.0.0.0:41002", hint[0]["msg"])

    def test_shared_gateway_refusal_names_what_to_configure(self):
        kt = self.start(team_config(self.mock, "shared", "TEAM_ALPHA_OPENAI_KEY"), shared=True)
        self.assertEqual(health(kt.port)[0], 200)            # the compose healthcheck, curl -f
        st, _, body = kt.chat()
        self.assertEqual(st, 401, body)
        msg = json.loads(body)["error"]["message"]
        self.assertIn("consumers:", msg)
        self.assertIn("key_sha256", msg)
        self.assertIn("gateway.auth: none", msg)
        self.assertEqual(self.mock.requests, [])

    def test_shared_gateway_with_consumers(self):
        cons = [{"name": "team-alpha", "keys": [{"key_sha256": hashlib.sha256(GW_KEY.encode()).hexdigest()}]}]
        kt = self.start(team_config(self.mock, "shared", "TEAM_ALPHA_OPENAI_KEY", consumers=cons),
                        shared=True)
        st, _, body = kt.chat(headers={"Authorization": "Bearer " + GW_KEY})
        self.assertEqual(st, 200, body)
        self.assertEqual(self.mock.wait_requests(1)[0].header("authorization"), "Bearer " + OPENAI_KEY)

    def test_sidecar_in_the_apps_namespace_runs_on_image_defaults(self):
        kt = self.start(team_config(self.mock, "pci", "TEAM_ALPHA_OPENAI_KEY"))
        st, _, body = kt.chat()                               # the app on localhost, no key
        self.assertEqual(st, 200, body)
        st, h = health(kt.ops_port)                           # probes: the ops port
        self.assertEqual((st, h["status"]), (200, "healthy"))

    def test_per_team_fleet_health(self):
        alpha = self.start(team_config(self.mock, "team-alpha-prod", "TEAM_ALPHA_OPENAI_KEY"),
                           shared=True)
        beta = self.start(team_config(self.mock, "team-beta-prod", "TEAM_BETA_OPENAI_KEY"),
                          key_env="TEAM_ALPHA_OPENAI_KEY", shared=True)   # beta's key is missing
        # the seed's fleet script: curl -sf http://$gw/health | jq -r .status || echo unreachable
        st, h = health(alpha.port)
        self.assertEqual((st, h["status"], h["config_version"]), (200, "healthy", "team-alpha-prod@0.1.0"))
        st, h = health(beta.port)
        self.assertEqual((st, h["status"]), (503, "unhealthy"))
        self.assertIn("TEAM_BETA_OPENAI_KEY", json.dumps(h["reasons"]))

    def test_kubernetes_probes_on_health(self):
        # sidecar: the seed's httpGet /health goes to the ops port (41003), the API stays local
        kt = self.start(team_config(self.mock, "svc-a", "TEAM_ALPHA_OPENAI_KEY"))
        self.assertEqual(health(kt.ops_port)[0], 200)
        # a sidecar whose Secret is missing is unrouted (503), not silently ready
        bad = self.start(team_config(self.mock, "svc-b", "NO_SUCH_KEY_VAR"))
        st, h = health(bad.ops_port)
        self.assertEqual((st, h["status"]), (503, "unhealthy"))


if __name__ == "__main__":
    unittest.main()
