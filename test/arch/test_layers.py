"""The layer rules hold for the tree as built, and the checker catches each kind of breach."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layers  # noqa: E402

SRC = os.path.join(layers.ROOT, "src")


def obj_root():
    """The sanitizer build's objects (what `make test` builds), else the release build's."""
    for v in (os.path.join("build", "san", "obj"), os.path.join("build", "obj")):
        p = os.path.join(layers.ROOT, v)
        if os.path.isdir(p):
            return p
    return None


class TreeTest(unittest.TestCase):
    def test_every_folder_has_a_rank(self):
        folders = [d for d in os.listdir(SRC) if os.path.isdir(os.path.join(SRC, d))]
        self.assertEqual(sorted(set(folders) - set(layers.RANKS)), [])

    def test_includes_follow_the_rules(self):
        files = {p: open(p, encoding="utf-8").read() for p in layers.source_files(SRC)}
        files.update(layers.headers())
        self.assertEqual(layers.include_breaches(files), [])

    def test_every_header_has_an_owner(self):
        names = set(os.path.basename(p) for p in layers.headers())
        self.assertEqual(sorted(names - set(layers.HEADER_OWNER) - set(layers.TYPES)), [])

    def test_calls_go_only_down(self):
        root = obj_root()
        if root is None:
            self.fail("no built objects: run make first")
        defined, undefined = layers.read_symbols(root)
        self.assertGreater(len(undefined), 50)
        self.assertEqual(layers.call_breaches(defined, undefined), [])


class CheckerTest(unittest.TestCase):
    """The checker itself, on made-up trees: each rule reports its breach."""

    def test_upward_call_is_reported(self):
        defined = {"kt_proxy_start": "proxy", "kt_buf_init": "base"}
        undefined = {("net/server.o", "net"): {"kt_proxy_start", "kt_buf_init"}}
        out = layers.call_breaches(defined, undefined)
        self.assertEqual(len(out), 1)
        self.assertIn("kt_proxy_start", out[0])

    def test_sideways_call_is_reported(self):
        defined = {"kt_tls_random": "tls"}
        out = layers.call_breaches(defined, {("scan/x.o", "scan"): {"kt_tls_random"}})
        self.assertEqual(len(out), 1)

    def test_private_header_of_another_folder_is_reported(self):
        p = os.path.join(SRC, "policy", "x.c")
        out = layers.include_breaches({p: '#include "../config/config_priv.h"\n'})
        self.assertEqual(len(out), 1)
        self.assertIn("private header of config/", out[0])

    def test_own_private_header_from_a_subfolder_is_fine(self):
        p = os.path.join(SRC, "policy", "kinds", "x.c")
        self.assertEqual(layers.include_breaches({p: '#include "../policy_priv.h"\n'}), [])

    def test_upward_include_is_reported(self):
        p = os.path.join(SRC, "scan", "x.c")
        out = layers.include_breaches({p: '#include "kt/policy.h"\n'})
        self.assertEqual(len(out), 1)
        self.assertIn("kt/policy.h", out[0])
        self.assertEqual(layers.include_breaches({p: '#include "kt/config.h"\n'}), [])

    def test_named_include_rules(self):
        p = os.path.join(SRC, "telemetry", "x.c")
        self.assertEqual(len(layers.include_breaches({p: '#include "kt/conn.h"\n'})), 1)
        p = os.path.join(SRC, "net", "x.c")
        self.assertEqual(len(layers.include_breaches({p: '#include "kt/proxy.h"\n'})), 2)


if __name__ == "__main__":
    unittest.main()
