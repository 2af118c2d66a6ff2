"""audit-logger: every audited request leaves a record (who, what, when, config version, keyed
digests of the texts, never the texts) in a hash chain under gateway.audit_dir, also shipped as an
event of type audit; `kt audit verify` holds after a run and finds an edited, deleted or
reordered record; a restart continues the chain; retention_days prunes old daily files;
log_all_access records kt's own endpoints and refused requests."""
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

from control_plane import ControlPlane
from harness import DEFAULT_GATEWAY, Kt, default_targets, kt_bin, to_yaml
from mock_upstream import MockUpstream
from pki import shared_pki

EMAIL = "dora.lee@example.net"
PROMPT = "please summarise the quarterly numbers"


def config(mock, audit_dir, **audit):
    gw = dict(DEFAULT_GATEWAY)
    gw["audit_dir"] = audit_dir
    gw["events"] = {"batch_size": 1, "flush_interval": "100ms"}
    opts = {"immutable": True, "log_all_access": True, "retention_days": 3}
    opts.update(audit)
    doc = {"pack": {"name": "audtest", "version": "3.1.4"}, "gateway": gw,
           "providers": {"targets": default_targets(mock.url)},
           "policies": {"chain": ["pii-detector", "audit-logger"]},
           "policy": {"pii-detector": {"action": "redact", "entities": ["email"]},
                      "audit-logger": opts}}
    return to_yaml(doc) + "\n"


def verify(path):
    r = subprocess.run([kt_bin(), "audit", "verify", path], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def records(d):
    out = []
    for name in sorted(os.listdir(d)):
        if name.startswith("audit-") and name.endswith(".jsonl"):
            with open(os.path.join(d, name)) as f:
                out += [json.loads(l) for l in f if l.strip()]
    return out


def today_file(d):
    names = sorted(n for n in os.listdir(d) if n.startswith("audit-") and n.endswith(".jsonl"))
    return os.path.join(d, names[-1])


class TestAudit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(kt_bin()):
            raise unittest.SkipTest("kt binary not found")
        cls.pki = shared_pki()
        cls.mock = MockUpstream(cls.pki.good_cert, cls.pki.good_key).start()
        cls.cp = ControlPlane().start()
        cls.dir = tempfile.mkdtemp(prefix="kt-audit-")
        cls.adir = os.path.join(cls.dir, "audit")
        os.makedirs(cls.adir)
        # an old daily file retention must delete, and a recent one it must keep
        old = time.strftime("audit-%Y-%m-%d.jsonl", time.gmtime(time.time() - 10 * 86400))
        recent = time.strftime("audit-%Y-%m-%d.jsonl", time.gmtime(time.time() - 1 * 86400))
        cls.old, cls.recent = os.path.join(cls.adir, old), os.path.join(cls.adir, recent)
        open(cls.old, "w").close()
        open(cls.recent, "w").close()
        cls.kt = cls.start()

    @classmethod
    def start(cls):
        return Kt(config(cls.mock, cls.adir), env={"KEEPTRUSTS_API_URL": cls.cp.url,
                                                  "KEEPTRUSTS_GATEWAY_TOKEN": "tok-a1"}).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.kt.stop()
        finally:
            cls.cp.stop()
            cls.mock.stop()
            shutil.rmtree(cls.dir, ignore_errors=True)

    def chat(self, text, **headers):
        return self.kt.chat(messages=[{"role": "user", "content": text}], headers=headers)

    def wait_records(self, n, timeout=5.0):
        end = time.monotonic() + timeout
        while True:
            got = records(self.adir)
            if len(got) >= n or time.monotonic() > end:
                return got
            time.sleep(0.05)

    def test_1_records_chain_and_no_text(self):
        self.assertFalse(os.path.exists(self.old), "retention kept a file older than retention_days")
        self.assertTrue(os.path.exists(self.recent))
        before = len(records(self.adir))
        for text in (PROMPT, "mail " + EMAIL, PROMPT):
            st, _, _ = self.chat(text)
            self.assertEqual(st, 200)
        recs = self.wait_records(before + 3)[before:]
        self.assertEqual(len(recs), 3)
        r = recs[1]
        self.assertEqual(r["event_type"], "audit")
        self.assertEqual(r["kind"], "request")
        self.assertEqual(r["source"], "127.0.0.1")
        self.assertEqual(r["config_version"], "audtest@3.1.4")
        self.assertEqual(r["status"], 200)
        self.assertEqual(r["decision"]["verdict"], "redact")
        pol = {p["name"]: p for p in r["decision"]["policies_evaluated"]}
        self.assertEqual(pol["pii-detector"]["result"], "redact")
        self.assertRegex(r["input_digest"], r"^hmac-sha256:[0-9a-f]{64}$")
        self.assertRegex(r["output_digest"], r"^hmac-sha256:[0-9a-f]{64}$")
        # equal texts correlate, different ones do not
        self.assertEqual(recs[0]["input_digest"], recs[2]["input_digest"])
        self.assertNotEqual(recs[0]["input_digest"], recs[1]["input_digest"])
        with open(today_file(self.adir)) as f:
            raw = f.read()
        for s in (EMAIL, PROMPT, "summarise", "tok-a1"):
            self.assertNotIn(s, raw)
        key = os.path.join(self.adir, "digest.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        rc, out = verify(self.adir)
        self.assertEqual(rc, 0, out)
        self.assertIn("OK", out)
        # shipped to the control plane as events of type audit
        end = time.monotonic() + 5
        while time.monotonic() < end:
            evs = [e for e in self.cp.events() if e.get("event_type") == "audit"]
            if len(evs) >= 3:
                break
            time.sleep(0.1)
        self.assertGreaterEqual(len(evs), 3)
        for raw_cp in self.cp.raw_payloads():
            self.assertNotIn(EMAIL.encode(), raw_cp)

    def test_2_tampering_detected(self):
        n = len(records(self.adir))
        self.chat(PROMPT)
        self.chat(PROMPT + " again")
        self.chat(PROMPT + " and again")
        self.wait_records(n + 3)
        with open(today_file(self.adir)) as f:
            lines = f.read().splitlines(True)
        self.assertGreaterEqual(len(lines), 4)

        def broken(new_lines, want):
            p = os.path.join(self.dir, "tampered.jsonl")
            with open(p, "w") as f:
                f.writelines(new_lines)
            rc, out = verify(p)
            self.assertEqual(rc, 1, out)
            self.assertIn("BROKEN", out)
            self.assertIn(want, out)
            return out

        rc, out = verify(today_file(self.adir))
        self.assertEqual(rc, 0, out)
        edited = list(lines)
        edited[1] = edited[1].replace('"status":200', '"status":201', 1)
        self.assertNotEqual(edited[1], lines[1])
        out = broken(edited, "record changed")
        self.assertIn(":2 ", out)   # the first broken link is named
        broken(lines[:1] + lines[2:], "chain broken")             # a record deleted
        broken([lines[0], lines[2], lines[1]] + lines[3:], "chain broken")   # reordered
        broken(lines[:2] + ["{\"seq\":1}\n"] + lines[2:], "not an audit record")

    def test_3_access_and_refusals(self):
        n = len(records(self.adir))
        st, _, _ = self.kt.request("GET", "/keeptrusts/config")
        self.assertEqual(st, 200)
        st, _, _ = self.chat(PROMPT, **{"x-keeptrusts-target": "nope"})
        self.assertEqual(st, 400)
        recs = self.wait_records(n + 2)[n:]
        kinds = {r["kind"]: r for r in recs}
        self.assertEqual(kinds["access"]["endpoint"], "/keeptrusts/config")
        self.assertEqual(kinds["access"]["method"], "GET")
        self.assertEqual(kinds["refusal"]["status"], 400)
        self.assertEqual(verify(self.adir)[0], 0)

    def test_4_restart_continues_chain(self):
        n = len(records(self.adir))
        self.chat(PROMPT)
        recs = self.wait_records(n + 1)
        last = recs[-1]["seq"]
        digest = [r for r in recs if r.get("kind") == "request"][0]["input_digest"]
        type(self).kt.stop()
        type(self).kt = self.start()
        st, _, _ = self.chat(PROMPT)
        self.assertEqual(st, 200)
        recs = self.wait_records(len(recs) + 1)
        self.assertEqual(recs[-1]["seq"], last + 1)
        self.assertEqual(recs[-1]["input_digest"], digest)   # the persisted key
        rc, out = verify(self.adir)
        self.assertEqual(rc, 0, out)


class TestAuditCli(unittest.TestCase):
    def test_unreadable_path(self):
        d = tempfile.mkdtemp(prefix="kt-auditcfg-")
        try:
            r = subprocess.run([kt_bin(), "audit", "verify", os.path.join(d, "missing")],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 2)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
