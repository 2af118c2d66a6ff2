"""Configuration and command line that help instead of refusing (issue 15): usage for `kt gateway
run --help`, `kt gateway` and `kt policy`; a missing file says "no such file" once, without
":0:0:" or "(1 problems)"; warnings (a policy outside the chain, pack.enabled: false) load; an
unknown key lists the valid ones, gateway's too; one problem is reported once."""
import json
import os
import re
import subprocess
import tempfile
import unittest

from harness import kt_bin, free_port

ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")


def run(*args, timeout=10):
    return subprocess.run([kt_bin()] + list(args), capture_output=True, text=True, timeout=timeout,
                          env=ENV, stdin=subprocess.DEVNULL)


def write(text):
    d = tempfile.mkdtemp()
    p = os.path.join(d, "policy-config.yaml")
    with open(p, "w") as f:
        f.write(text)
    return p


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class UsageTest(unittest.TestCase):
    def test_gateway_run_help(self):
        p = run("gateway", "run", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("unknown", p.stdout + p.stderr)
        for flag in ("--listen", "--ops-listen", "--policy-config"):
            self.assertIn(flag, p.stdout)
        # true to the code: the defaults it names are the defaults kt uses
        self.assertIn("127.0.0.1:41002", p.stdout)
        self.assertIn("default 5s", p.stdout)
        self.assertIn("20s", p.stdout)
        self.assertIn("pii-detector and dlp-filter", p.stdout)

    def test_every_flag_in_the_help_is_accepted(self):
        text = run("--help").stdout
        flags = set(re.findall(r"\[(--[a-z-]+)", text.split("kt policy")[0]))
        self.assertEqual(flags, {"--listen", "--ops-listen", "--policy-config"})
        bad = write("pack: {name: t, version: '1'}\nno_such_key: 1\n")
        for f in flags:   # each parses (the config then fails: exit 1, not a usage error 2)
            val = bad if f == "--policy-config" else "127.0.0.1:%d" % free_port()
            args = [f, val] if f == "--policy-config" else [f, val, "--policy-config", bad]
            p = run("gateway", "run", *args)
            self.assertEqual(p.returncode, 1, (f, p.stderr))

    def test_group_without_subcommand_prints_usage(self):
        for group, word in (("gateway", "gateway run"), ("policy", "policy validate")):
            with self.subTest(group=group):
                p = run(group)
                self.assertEqual(p.returncode, 2)
                self.assertIn("Usage:", p.stderr)
                self.assertIn(word, p.stderr)
                self.assertNotIn("unknown command", p.stderr)
                p = run(group, "--help")
                self.assertEqual((p.returncode, "Usage:" in p.stdout), (0, True))


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class ConfigMessagesTest(unittest.TestCase):
    def test_missing_file(self):
        path = os.path.join(tempfile.mkdtemp(), "nope.yaml")
        p = run("policy", "validate", path)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "%s: no such file\n" % path)
        p = run("gateway", "run", "--listen", "127.0.0.1:%d" % free_port(), "--policy-config", path)
        self.assertEqual(p.returncode, 1)
        self.assertIn("%s: no such file" % path, p.stderr)
        self.assertNotIn(":0:0:", p.stderr)
        self.assertNotIn("problems)", p.stderr)
        self.assertEqual(p.stderr.count("no such file"), 2)   # the line, and the log's summary

    def test_policy_outside_the_chain_is_a_warning(self):
        path = write("pack: {name: t, version: '1'}\npolicies:\n  chain: [pii-detector]\n"
                     "policy:\n  pii-detector: {action: redact}\n  dlp-filter: {action: block}\n")
        p = run("policy", "validate", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ok (pack t@1", p.stdout)
        self.assertEqual(p.stderr, "%s:6:3: warning: policy 'dlp-filter' is configured but not in "
                         "policies.chain; it does not run until listed there\n" % path)

    def test_pack_disabled_is_a_warning(self):
        path = write("pack: {name: t, version: '1', enabled: false}\n")
        p = run("policy", "validate", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("warning: pack.enabled is false", p.stderr)

    def test_unknown_gateway_key_lists_the_valid_ones(self):
        p = run("policy", "validate", write("gateway:\n  listen_addr: 0.0.0.0:41002\n"))
        self.assertEqual(p.returncode, 1)
        line = p.stderr.strip()
        self.assertIn("unknown key 'listen_addr' in gateway (known: listen, listen_port,", line)
        for k in ("ops_listen", "fail_mode", "drain_period", "shutdown_deadline", "max_response_buffer)"):
            self.assertIn(k, line)

    def test_one_problem_reported_once(self):
        p = run("policy", "validate", write("policies:\n  - name: out\n    type: output_filter\n"
                                            "    action: redact\n    patterns: [email, api_key]\n"))
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.count("api_key"), 1, p.stderr)


if __name__ == "__main__":
    unittest.main()
