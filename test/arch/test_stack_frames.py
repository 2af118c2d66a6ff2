"""Start-up and reload keep their stack frames small (issue 17's idle budget). A stack page, once
touched, stays in the RSS for the life of the process: the 24 KiB kt_diag that load_config,
kt_config_load_file, kt_config_parse_reuse and kt_gateway_reload each kept as a local (and
read_config's 16 KiB chunk) put ~30 KB of stack into every idle kt. They live on the heap now,
only while they are used.

Each file is compiled with the release flags and -fstack-usage; every function of the config
load and reload path must keep a frame of at most 4 KiB, whatever the compiler inlines.
"""
import os
import re
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = ("src/app/gateway.c", "src/config/config.c", "src/config/reload_apply.c")
LIMIT = 4096


def llhttp_cflags():
    try:
        with open(os.path.join(ROOT, "build", "config.mk")) as f:
            m = re.search(r"^LLHTTP_CFLAGS\s*:?=\s*(.*)$", f.read(), re.M)
            return m.group(1).split() if m else []
    except OSError:
        return ["-I/usr/share/include/llhttp"]


def frames(src, tmp):
    obj = os.path.join(tmp, os.path.basename(src) + ".o")
    subprocess.run(["cc", "-O2", "-g", "-std=c11", "-D_GNU_SOURCE", "-DNDEBUG",
                    "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2",
                    '-DKT_VERSION="0"', '-DKT_GIT_REV="0"', "-Iinclude", *llhttp_cflags(),
                    "-fstack-usage", "-c", src, "-o", obj], cwd=ROOT, check=True,
                   capture_output=True)
    with open(obj[:-2] + ".su") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return {r[0].rsplit(":", 1)[-1]: int(r[1]) for r in rows}


class StackFramesTest(unittest.TestCase):
    def test_config_load_and_reload_frames_are_small(self):
        with tempfile.TemporaryDirectory() as tmp:
            for src in FILES:
                got = frames(src, tmp)
                self.assertTrue(got, src)
                big = {f: n for f, n in got.items() if n > LIMIT}
                self.assertEqual(big, {}, "%s: frames over %d bytes" % (src, LIMIT))


if __name__ == "__main__":
    unittest.main()
