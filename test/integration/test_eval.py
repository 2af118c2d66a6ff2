"""`kt policy eval`: the command over tiny label files with known precision and recall, its
--json summary, --no-text listing, and its errors."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import kt_bin

ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
CONFIG = """pack: {name: t, version: 1.0.0}
policies: {chain: [pii-detector, dlp-filter]}
policy:
  pii-detector: {action: redact}
  dlp-filter: {action: redact}
"""


def item(text, ents=(), cats=(), direction="input"):
    spans = []
    for typ, sub in ents:
        start = text.encode().index(sub.encode())
        spans.append({"type": typ, "start": start, "end": start + len(sub.encode())})
    return json.dumps({"text": text, "direction": direction,
                       "labels": {"categories": list(cats), "entities": spans}})


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class EvalTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.cfg = os.path.join(self.dir, "c.yaml")
        with open(self.cfg, "w") as f:
            f.write(CONFIG)

    def run_eval(self, lines, *args):
        path = os.path.join(self.dir, "l.jsonl")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return subprocess.run([kt_bin(), "policy", "eval", "--policy-config", self.cfg, "--labels", path]
                              + list(args), capture_output=True, text=True, timeout=30, env=ENV)

    LINES = [
        item("write to jürgen@example.de today", [("email", "jürgen@example.de")]),
        item("ssn 123-45-6789 on file", [("ssn", "123-45-6789")]),
        item("card 4111 1111 1111 1111", [("credit_card", "4111 1111 1111 1111")]),
        item("ship order 2024-05-17-0042 now"),
        item("the key is AKIAIOSFODNN7EXAMPLE", [("cloud_key", "AKIAIOSFODNN7EXAMPLE")]),
        item("nothing to see"),
        item("reach me at noreply at example dot com", [("email", "noreply at example dot com")]),
    ]

    def test_json_summary(self):
        p = self.run_eval(self.LINES, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        s = json.loads(p.stdout)
        self.assertEqual(s["items"], 7)
        self.assertEqual(s["unlabelled_items"], 2)
        self.assertEqual(s["unlabelled_flagged"], 0)
        self.assertEqual(s["entities"]["email"]["labelled"], 2)
        self.assertEqual(s["entities"]["email"]["tp"], 1)
        self.assertEqual(s["entities"]["email"]["fn"], 1)
        self.assertEqual(s["entities"]["email"]["precision"], 1.0)
        self.assertEqual(s["entities"]["email"]["recall"], 0.5)
        for t in ("ssn", "credit_card", "cloud_key"):
            self.assertEqual(s["entities"][t]["recall"], 1.0, t)
        self.assertEqual(s["sweeps"], [])

    def test_tables_list_misses_with_and_without_text(self):
        p = self.run_eval(self.LINES)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Entities (per span", p.stdout)
        self.assertRegex(p.stdout, r"entity miss\s+email\s+line 7 \[12,38\)\s+.*\[\[noreply at example dot com\]\]")
        p = self.run_eval(self.LINES, "--no-text")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"entity miss\s+email\s+line 7 \[12,38\)\n")
        self.assertNotIn("noreply", p.stdout)

    def test_errors(self):
        p = self.run_eval(['{"text": "ok"}', '{"text": "x", "labels": {"entities": [{"type": "email", "start": 0, "end": 9}]}}'])
        self.assertEqual(p.returncode, 2)
        self.assertIn("l.jsonl:2:", p.stderr)
        p = subprocess.run([kt_bin(), "policy", "eval", "--policy-config", self.cfg], capture_output=True,
                           text=True, timeout=30, env=ENV)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--labels", p.stderr)

    def test_help_names_eval(self):
        p = subprocess.run([kt_bin(), "--help"], capture_output=True, text=True, timeout=10, env=ENV)
        self.assertIn("kt policy eval --policy-config PATH --labels FILE.jsonl", p.stdout)


if __name__ == "__main__":
    unittest.main()
