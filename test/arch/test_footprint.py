"""What the idle RSS depends on in the binary's make-up (issue 17's idle budget), checked on the
built kt (KT_BIN, as test/run_all.py sets it, else build/san/kt, else build/kt):

- kt links no libm: loading it ran its IFUNC resolvers and faulted ~0.4 MB of its pages in for
  four functions (base/fmath.c has them now);
- the learned scorers' weight tables (320 KiB) sit in their own section, not among the strings
  and small tables start-up reads, where the kernel's 64 KiB fault-around made them resident.
"""
import os
import re
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kt_binary():
    for p in (os.environ.get("KT_BIN"), os.path.join(ROOT, "build", "san", "kt"),
              os.path.join(ROOT, "build", "kt")):
        if p and os.path.exists(p):
            return p
    return None


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True,
                          check=True).stdout


def sections(binary):
    """{name: (address, size)} of the binary's sections."""
    return {m.group(1): (int(m.group(2), 16), int(m.group(3), 16)) for m in
            re.finditer(r"\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)",
                        readelf("-S", binary))}


def nm(binary, *args):
    out = subprocess.run(["nm", *args, "--defined-only", binary], capture_output=True,
                         text=True, check=True).stdout
    return [line.split() for line in out.splitlines()]


class FootprintTest(unittest.TestCase):
    def setUp(self):
        self.kt = kt_binary()
        if self.kt is None:
            self.fail("no kt binary built: run make first")

    def test_no_libm(self):
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf("-d", self.kt))
        self.assertIn("libc.so.6", needed)
        self.assertEqual([n for n in needed if n.startswith("libm.so")], [])

    def test_weights_in_their_own_section(self):
        secs = sections(self.kt)
        self.assertIn("kt_cold", secs)
        lo, size = secs["kt_cold"]
        weights = [(int(f[0], 16), int(f[1], 16)) for f in nm(self.kt, "-S")
                   if len(f) == 4 and f[3] == "kt__w"]
        self.assertEqual(len(weights), 2)   # safety's and prompt-injection's
        for addr, n in weights:
            self.assertTrue(lo <= addr and addr + n <= lo + size, hex(addr))
        self.assertGreaterEqual(sum(n for _a, n in weights), 320 * 1024)

    def test_startup_code_linked_together(self):
        secs = sections(self.kt)
        self.assertIn(".text.kt_startup", secs)
        lo, size = secs[".text.kt_startup"]
        addr = {f[2]: int(f[0], 16) for f in nm(self.kt) if len(f) == 3 and f[1] in "tT"}
        for name in ("main", "kt_gateway_run", "kt_config_load_file", "llhttp_execute"):
            self.assertIn(name, addr)
            self.assertTrue(lo <= addr[name] < lo + size, name)
        # start-up's code only (about a quarter of kt's own, release or sanitizer build)
        self.assertLess(size, 0.4 * secs[".text"][1])


if __name__ == "__main__":
    unittest.main()
