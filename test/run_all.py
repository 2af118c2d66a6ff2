#!/usr/bin/env python3
"""Runs every test layer and ends with one closing line: "N passed, N failed".

Layers: C unit binaries (TAP-like output), the layer rules of src/ (test/arch), Python integration tests (unittest, against build/kt),
SDK compatibility tests (node --test, official openai / @anthropic-ai/sdk packages).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_unit(unit_dir):
    passed = failed = 0
    bins = sorted(f for f in os.listdir(unit_dir) if f.startswith("test_")) if os.path.isdir(unit_dir) else []
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    for b in bins:
        path = os.path.join(unit_dir, b)
        try:
            p = subprocess.run([path], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            out = p.stdout + p.stderr
            rc = p.returncode
        except subprocess.TimeoutExpired:
            out, rc = "timed out after 300 s", 1
        m = re.search(r"^# (\d+) passed, (\d+) failed$", out, re.M)
        p_, f_ = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        if rc != 0 and f_ == 0:
            f_ = 1  # crashed, leaked or sanitizer report after the last test
        passed += p_
        failed += f_
        status = "ok" if f_ == 0 else "FAIL"
        print(f"unit {b}: {p_} passed, {f_} failed [{status}]")
        if f_:
            print(out[-6000:])
    return passed, failed


class CountingResult(unittest.TextTestResult):
    """Counts outcomes itself: a failing subTest is one failure of its test, a class skipped in
    setUpClass is one skip, and a test passes only when none of its parts failed."""

    def startTestRun(self):
        super().startTestRun()
        self.kt_failed_ids = set()
        self.kt_passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        if test.id() not in self.kt_failed_ids:
            self.kt_passed += 1

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self.kt_failed_ids.add(test.id())


def run_integration(pattern, where="integration"):
    loader = unittest.TestLoader()
    suite = loader.discover(os.path.join(ROOT, "test", where), pattern=pattern,
                            top_level_dir=os.path.join(ROOT, "test", where))
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=CountingResult)
    res = runner.run(suite)
    def parent_id(t):   # a failing subTest counts against its test, once
        return getattr(t, "test_case", t).id()
    failed_ids = set(res.kt_failed_ids)
    failed_ids.update(parent_id(t) for t, _ in res.failures + res.errors)
    failed_ids.update(parent_id(t) for t in res.unexpectedSuccesses)
    skipped = len(res.skipped)
    return res.kt_passed, len(failed_ids), skipped


def run_compat():
    cdir = os.path.join(ROOT, "test", "compat")
    if not os.path.exists(os.path.join(cdir, "package.json")):
        return 0, 0
    lock = os.path.join(cdir, "package-lock.json")
    installed = os.path.join(cdir, "node_modules", ".package-lock.json")
    stale = not os.path.exists(installed) or os.path.getmtime(installed) < os.path.getmtime(lock)
    if stale:   # missing, or installed from an older lockfile
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=cdir)
        if r.returncode != 0:
            print("compat: npm ci failed")
            return 0, 1
    files = sorted(os.path.join(cdir, f) for f in os.listdir(cdir) if f.endswith(".test.mjs"))
    if not files:
        return 0, 0
    p = subprocess.run(["node", "--test", "--test-reporter=tap"] + files, cwd=cdir,
                       capture_output=True, text=True, timeout=900, env=os.environ)
    out = p.stdout + p.stderr
    print(out[-20000:])
    mp = re.search(r"^# pass (\d+)$", out, re.M)
    mf = re.search(r"^# fail (\d+)$", out, re.M)
    passed = int(mp.group(1)) if mp else 0
    failed = int(mf.group(1)) if mf else 1
    if p.returncode != 0 and failed == 0:
        failed = 1
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kt", default=os.path.join(ROOT, "build", "san", "kt"))
    ap.add_argument("--unit-dir", default=os.path.join(ROOT, "build", "san", "unit"))
    ap.add_argument("--only", choices=["unit", "arch", "integration", "compat"])
    ap.add_argument("--pattern", default="test_*.py")
    args = ap.parse_args()
    os.environ["KT_BIN"] = os.path.abspath(args.kt)
    os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    # every temporary file of the run (kt's configs and stderr, Redis and nginx directories, key
    # files) lives under one directory, removed at the end; KT_KEEP_TMP=1 keeps it for a look
    tmp = tempfile.mkdtemp(prefix="kt-test-")
    os.environ["TMPDIR"] = tempfile.tempdir = tmp
    try:
        return run_layers(args)
    finally:
        if os.environ.get("KT_KEEP_TMP"):
            print(f"# temporary files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run_layers(args):
    t0 = time.monotonic()
    total_p = total_f = total_s = 0
    if args.only in (None, "unit"):
        p, f = run_unit(args.unit_dir)
        total_p += p; total_f += f
    if args.only in (None, "arch"):   # the layer rules (test/arch/layers.py)
        p, f, s = run_integration("test_*.py", "arch")
        total_p += p; total_f += f; total_s += s
        print(f"arch: {p} passed, {f} failed, {s} skipped")
    if args.only in (None, "integration"):
        p, f, s = run_integration(args.pattern)
        total_p += p; total_f += f; total_s += s
        print(f"integration: {p} passed, {f} failed, {s} skipped")
    if args.only in (None, "compat"):
        p, f = run_compat()
        total_p += p; total_f += f
        print(f"compat: {p} passed, {f} failed")
    print(f"# all layers took {time.monotonic() - t0:.1f} s")
    line = f"{total_p} passed, {total_f} failed"
    if total_s:
        line += f", {total_s} skipped"
    print(line)
    return 1 if total_f or total_p == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
