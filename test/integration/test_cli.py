"""CLI surface: `kt version`, `kt --help`, unknown arguments, bad config at startup."""
import os
import subprocess
import tempfile
import unittest

from harness import kt_bin, free_port

ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")


def run(*args, timeout=10):
    return subprocess.run([kt_bin()] + list(args), capture_output=True, text=True, timeout=timeout,
                          env=ENV, stdin=subprocess.DEVNULL)


@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class CliTest(unittest.TestCase):
    def test_version(self):
        p = run("version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.strip(), r"^kt \d+\.\d+\.\d+")

    def test_help(self):
        p = run("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout + p.stderr
        for word in ("gateway run", "policy validate", "policy test", "version"):
            self.assertIn(word, text)

    def test_unknown_command_exit_2(self):
        p = run("frobnicate")
        self.assertEqual(p.returncode, 2)
        self.assertTrue((p.stdout + p.stderr).strip(), "no message for an unknown command")

    def test_unknown_option_exit_2(self):
        p = run("gateway", "run", "--no-such-flag")
        self.assertEqual(p.returncode, 2)
        self.assertTrue((p.stdout + p.stderr).strip())

    def test_missing_option_value_exit_2(self):
        p = run("gateway", "run", "--listen")
        self.assertEqual(p.returncode, 2)

    def test_bad_config_fails_fast(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "bad.yaml")
        with open(path, "w") as f:
            f.write("pack: {name: t, version: 1.0.0}\nno_such_key: 1\n")
        p = run("gateway", "run", "--listen", "127.0.0.1:%d" % free_port(), "--policy-config", path)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn("AddressSanitizer", p.stderr)
        self.assertIn("no_such_key", p.stderr)
