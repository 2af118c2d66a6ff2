"""Start `kt gateway run` as a subprocess against the mock upstream, and small HTTP helpers.

Environment: KT_BIN = path of the kt binary under test (test/run_all.py sets it; default build/san/kt).

    pki = shared_pki()
    mock = MockUpstream(pki.good_cert, pki.good_key).start()
    kt = Kt(config_yaml(mock)).start()      # waits for GET /healthz == 200 (10 s)
    status, headers, body = kt.request("POST", "/v1/chat/completions", body=b"{...}")
    kt.stop()                               # SIGTERM; asserts exit 0, no sanitizer report, no key in logs

KtCase is a unittest.TestCase base that does the above once per class (override `config()`).
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from mock_upstream import MockUpstream
from pki import shared_pki

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Keys kt injects (upstream must see them) and the client's own keys (upstream must never see them).
OPENAI_KEY = "sk-upstream-openai-7d1f0c2b9e4a"
ANTHROPIC_KEY = "sk-ant-upstream-3c9e1a7f5b2d"
AZURE_KEY = "azure-upstream-key-8b6d4f2a1c0e"
CLIENT_KEY = "sk-client-should-never-leave-5e8a"
ALL_SECRETS = (OPENAI_KEY, ANTHROPIC_KEY, AZURE_KEY, CLIENT_KEY)

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                     "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


def kt_bin():
    return os.path.abspath(os.environ.get("KT_BIN") or os.path.join(ROOT, "build", "san", "kt"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def closed_port():
    """A port on 127.0.0.1 where nothing listens (connect -> ECONNREFUSED)."""
    return free_port()


# ---- config ---------------------------------------------------------------------------------------
def _scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    if re.fullmatch(r"[A-Za-z0-9_./:@+-]+", s) and not re.fullmatch(r"(true|false|null|yes|no|on|off|~)", s, re.I) \
            and not s.startswith(("-", ":", "@")):
        return s
    return json.dumps(s)


def to_yaml(obj, indent=0):
    """Tiny block-style YAML emitter for dicts, lists and scalars (no PyYAML in the stdlib)."""
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append("%s%s:" % (pad, k))
                out.append(to_yaml(v, indent + 1))
            else:
                out.append("%s%s: %s" % (pad, k, _scalar(v) if not isinstance(v, (dict, list)) else
                                          ("{}" if isinstance(v, dict) else "[]")))
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, dict) and v:
                inner = to_yaml(v, indent + 1).split("\n")
                out.append("%s- %s" % (pad, inner[0].lstrip()))
                out.extend(inner[1:])
            else:
                out.append("%s- %s" % (pad, _scalar(v)))
    return "\n".join(out)


DEFAULT_GATEWAY = {
    "header_timeout": "1s",
    "body_timeout": "2s",
    "drain_period": "1s",
    "shutdown_deadline": "5s",
    "upstream_connect_timeout": "2s",
    "upstream_first_byte_timeout": "2s",
    "max_header_bytes": "8KiB",
    "max_body_bytes": "64KiB",
    "max_headers": 50,
    "max_connections": 100,
}


def default_targets(mock_url):
    """The three standard targets, all pointing at one mock (OpenAI first, so it is the default)."""
    return [
        {"id": "openai-main", "provider": "openai", "model": "gpt-4o-mini",
         "base_url": mock_url + "/v1", "secret_key_ref": {"env": "OPENAI_API_KEY"}},
        {"id": "claude", "provider": "anthropic", "model": "claude-3-5-sonnet",
         "base_url": mock_url, "secret_key_ref": {"env": "ANTHROPIC_API_KEY"}},
        {"id": "azure", "provider": "azure-openai", "model": "gpt-4o", "deployment": "my-dep",
         "api_version": "2024-06-01", "base_url": mock_url,
         "secret_key_ref": {"env": "AZURE_OPENAI_KEY"}},
    ]


def config_yaml(mock=None, targets=None, **gateway):
    gw = dict(DEFAULT_GATEWAY)
    gw.update(gateway)
    if targets is None:
        targets = default_targets(mock.url)
    return to_yaml({"pack": {"name": "test", "version": "1.0.0"}, "gateway": gw,
                    "providers": {"targets": targets}}) + "\n"


# ---- kt process -------------------------------------------------------------------------------------
class Kt:
    def __init__(self, config_text, env=None, port=None, pki=None, unset=()):
        self.pki = pki or shared_pki()
        self.dir = tempfile.mkdtemp(prefix="kt-it-")
        self.config_path = None          # None: no --policy-config (kt's default lookup)
        if config_text is not None:
            self.config_path = os.path.join(self.dir, "policy-config.yaml")
            with open(self.config_path, "w") as f:
                f.write(config_text)
        self.port = port or free_port()
        self.stderr_path = os.path.join(self.dir, "kt.stderr")
        e = dict(os.environ)
        e.update(SSL_CERT_FILE=self.pki.ca_cert, OPENAI_API_KEY=OPENAI_KEY,
                 ANTHROPIC_API_KEY=ANTHROPIC_KEY, AZURE_OPENAI_KEY=AZURE_KEY)
        for k in ("KEEPTRUSTS_API_URL", "KEEPTRUSTS_GATEWAY_TOKEN", "OPENAI_BASE_URL", "SSL_CERT_DIR"):
            e.pop(k, None)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        if env:
            e.update(env)
        for k in unset:
            e.pop(k, None)
        self.env = e
        self.proc = None
        self.returncode = None

    @property
    def pid(self):
        return self.proc.pid

    def argv(self):
        argv = [kt_bin(), "gateway", "run", "--listen", "127.0.0.1:%d" % self.port]
        if self.config_path:
            argv += ["--policy-config", self.config_path]
        return argv

    def start(self, timeout=10.0):
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv(), env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self._err, stderr=self._err, cwd=self.dir)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("kt exited with %s during startup; stderr:\n%s"
                                     % (self.proc.returncode, self.stderr()[-4000:]))
            try:
                st, _, _ = self.request("GET", "/healthz", timeout=1.0)
                if st == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError("kt did not answer GET /healthz 200 within %.0f s; stderr:\n%s"
                             % (timeout, self.stderr()[-4000:]))

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_lines(self):
        """stderr lines that parse as JSON objects."""
        out = []
        for line in self.stderr().splitlines():
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if isinstance(o, dict):
                out.append(o)
        return out

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        self.returncode = self.proc.wait(timeout)
        return self.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if getattr(self, "_err", None):
            self._err.close()

    def check_clean(self):
        """Assert stderr has no sanitizer report and no secret. Returns stderr."""
        err = self.stderr()
        for m in SANITIZER_MARKERS:
            if m in err:
                raise AssertionError("sanitizer report in kt stderr:\n" + err[-8000:])
        for s in ALL_SECRETS:
            if s in err:
                raise AssertionError("a secret (%s...) appears in kt's stderr" % s[:6])
        return err

    def stop(self, timeout=15.0):
        """SIGTERM, wait for exit; assert exit code 0 and clean stderr."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("kt did not exit within %.0f s of SIGTERM" % timeout)
        self.returncode = self.proc.returncode
        if getattr(self, "_err", None):
            self._err.close()
        self.check_clean()
        if self.returncode != 0:
            raise AssertionError("kt exited with %d; stderr tail:\n%s"
                                 % (self.returncode, self.stderr()[-4000:]))

    # ---- HTTP helpers -------------------------------------------------------------------------
    def conn(self, timeout=10.0):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        """One request on a fresh connection. Returns (status, headers dict lower-cased, body bytes)."""
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def chat(self, body=None, headers=None, path="/v1/chat/completions", timeout=10.0, **fields):
        if body is None:
            req = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
            req.update(fields)
            body = json.dumps(req).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.request("POST", path, body=body, headers=h, timeout=timeout)

    def raw(self, data, timeout=5.0, pause=None):
        """Send raw bytes on a fresh connection and read until the server closes it (or timeout).
        Returns RawResult."""
        return raw_exchange(self.port, data, timeout=timeout)


class RawResult:
    def __init__(self, data, closed, reset, elapsed):
        self.data, self.closed, self.reset, self.elapsed = data, closed, reset, elapsed
        self.status = None
        self.headers = {}
        self.body = b""
        m = re.match(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n", data)
        if m:
            self.status = int(m.group(1))
            head, _, self.body = data.partition(b"\r\n\r\n")
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.decode("latin-1").partition(":")
                self.headers.setdefault(k.strip().lower(), v.strip())

    def json(self):
        body = self.body
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = dechunk(body)
        return json.loads(body)

    def __repr__(self):
        return "RawResult(status=%s closed=%s reset=%s %.2fs data=%r)" % (
            self.status, self.closed, self.reset, self.elapsed, self.data[:300])


def dechunk(b):
    out = b""
    while b:
        line, _, b = b.partition(b"\r\n")
        n = int(line.split(b";")[0], 16)
        if n == 0:
            break
        out += b[:n]
        b = b[n + 2:]
    return out


def raw_exchange(port, data, timeout=5.0, chunks=None, gap=0.0):
    """Connect, send data (or each of chunks with gap seconds between), read until EOF or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.monotonic()
    buf, closed, reset = b"", False, False
    try:
        try:
            for i, part in enumerate(chunks or [data]):
                if i and gap:
                    time.sleep(gap)
                s.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            reset = True
        end = t0 + timeout
        while time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                reset = True
                closed = True
                break
            if not d:
                closed = True
                break
            buf += d
    finally:
        s.close()
    return RawResult(buf, closed, reset, time.monotonic() - t0)


def error_of(body):
    """The {"error": {...}} object of a kt error body."""
    o = json.loads(body)
    assert isinstance(o, dict) and isinstance(o.get("error"), dict), body
    return o["error"]


# ---- unittest base --------------------------------------------------------------------------------
class KtCase(unittest.TestCase):
    """One mock upstream + one kt per test class. Override config() to change the YAML."""
    kt = None
    mock = None
    kt_unset = ()       # environment variables removed for kt

    @classmethod
    def config(cls, mock):
        return config_yaml(mock)

    @classmethod
    def kt_env(cls):
        return None

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(kt_bin()):
            raise unittest.SkipTest("kt binary not found at %s (set KT_BIN)" % kt_bin())
        cls.pki = shared_pki()
        cls.mock = MockUpstream(cls.pki.good_cert, cls.pki.good_key).start()
        try:
            cls.kt = Kt(cls.config(cls.mock), env=cls.kt_env(), unset=cls.kt_unset).start()
        except BaseException:
            cls.mock.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.kt:
                cls.kt.stop()
        finally:
            if cls.mock:
                cls.mock.stop()

    def setUp(self):
        self.mock.reset()

    def tearDown(self):
        # catch sanitizer reports and leaked secrets as close to the test that caused them as possible
        if self.kt and self.kt.proc.poll() is not None and self.kt.returncode is None:
            self.kt.returncode = self.kt.proc.returncode
            raise AssertionError("kt died (exit %s) during this test; stderr:\n%s"
                                 % (self.kt.proc.returncode, self.kt.stderr()[-6000:]))
        if self.kt:
            self.kt.check_clean()

    # assertions used everywhere
    def assertError(self, status, headers, body, want_status, want_type, want_code=None):
        self.assertEqual(status, want_status, body[:500])
        self.assertIn("application/json", headers.get("content-type", ""))
        e = error_of(body)
        self.assertEqual(e.get("type"), want_type, body)
        if want_code is not None:
            self.assertEqual(e.get("code"), want_code, body)
        self.assertIn("message", e)
        self.assertTrue(e.get("message"), body)
        self.assertIn("policy", e)
        return e

    def assertNotForwarded(self, wait=0.3):
        time.sleep(wait)
        self.assertEqual([(r.method, r.target) for r in self.mock.requests], [],
                         "the request reached the upstream")
