#!/usr/bin/env python3
"""`make bench`: kt against nginx as a plain reverse proxy, side by side in one run.

Everything runs on 127.0.0.1 and stops by itself. Topology (2 CPUs):

    CPU "proxy" (default 0): the proxy under test, one at a time busy: nginx (1 worker) | kt
    CPU "load"  (default 1): wrk / the Python stream clients + the upstream (nginx, or the
                             Python SSE server for the streaming test)

Both proxies get exactly the same CPU, upstream, certificates, request and load, and are measured
alternately (A/B, B/A, ...) over BENCH_ROUNDS rounds; the figures quoted are medians, and ratios
and differences are medians of the per-round ratios and differences (robust to a noisy host).

Exit status: 0 when the measurement ran (targets met or not: see the table and the JSON),
2 when it could not run (kt missing or not starting, tools missing, sanity request failed),
3 when it ran but a measurement is invalid (errors under load, streams not concurrent).
"""
import argparse
import datetime
import http.client
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CHAT_JSON = ('{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,'
             '"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant",'
             '"content":"Reusing connections avoids a TCP and TLS handshake per request. '
             '(ref $request_id)"},'
             '"finish_reason":"stop"}],'
             '"usage":{"prompt_tokens":42,"completion_tokens":12,"total_tokens":54}}')

SANITY_BODY = json.dumps({
    "model": "gpt-4o-mini", "max_tokens": 16,
    "messages": [{"role": "user", "content": "Say hello."}]}).encode()

TARGETS_DOC = {
    "throughput_ratio": ">= 0.9 x nginx (pass-through, issue 2)",
    "added_p50_us": "<= 50 us over nginx (issue 2)",
    "idle_rss_kb": "<= 5 MB (issue 2)",
    "streams_rss_kb": "<= 30 MB at 500 streams (issue 2)",
    "policies_throughput_ratio": ">= 0.8 x nginx with pii-detector + safety-filter (issue 3)",
    "cpu_efficiency_ratio": ">= 1.0 x nginx pass-through, >= 0.95 x with pii-detector + "
                            "safety-filter, >= 0.9 x with the cache off (issue 17)",
    "idle_rss_4mb": "<= 4 MB idle (issue 17)",
    "h2_policies_streams_hwm_kb": "<= 12 MB peak RSS (VmHWM) at 500 streams through kt + "
                                  "pii + safety over HTTP/2 to the upstream (issue 17)",
    "gov_cpu_added_us": "<= 3 us of proxy CPU per request for keys + rate + spend limits, local "
                        "state (issue 14); with Redis one call before and one after each request",
}


class CannotRun(Exception):
    """The bench could not run (exit 2)."""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def env_num(name, default, kind=int):
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        return kind(v)
    except ValueError:
        raise CannotRun("%s=%r is not a number" % (name, v))


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def proc_status(pid):
    """VmRSS/VmHWM/RssAnon in kB, or {} when the process is gone."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "RssAnon"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def cpu_times(cpu):
    """(busy, total) ticks of one CPU from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu%d " % cpu):
                    v = [int(x) for x in line.split()[1:]]
                    return sum(v) - v[3] - v[4], sum(v)
    except (OSError, ValueError):
        pass
    return None


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        pass
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def render(template, dest, subst):
    with open(os.path.join(HERE, template)) as f:
        text = f.read()
    for k, v in subst.items():
        text = text.replace("@%s@" % k, str(v))
    if "@" in text.replace("@@", ""):
        leftover = [w for w in text.split() if w.count("@") >= 2]
        if leftover:
            raise CannotRun("unrendered placeholder in %s: %s" % (template, leftover[0]))
    with open(dest, "w") as f:
        f.write(text)
    return dest


def make_certs(d):
    """A throw-away CA and a localhost server certificate (ECDSA P-256) signed by it."""
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    steps = [
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", "ca.key"],
        ["openssl", "req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2",
         "-subj", "/CN=kt bench test CA", "-out", "ca.pem",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", "server.key"],
        ["openssl", "req", "-new", "-key", "server.key", "-subj", "/CN=localhost",
         "-out", "server.csr"],
        ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext, "-out", "server.pem"],
    ]
    for cmd in steps:
        r = subprocess.run(cmd, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise CannotRun("openssl failed: %s: %s" % (" ".join(cmd[:2]),
                                                         r.stderr.decode(errors="replace")))


NICE = [0]  # per-process niceness for the children, when autogroup scheduling is off


def pinned(cpu, argv):
    prefix = ["nice", "-n", str(NICE[0])] if NICE[0] else []
    return prefix + ["taskset", "-c", str(cpu)] + argv


def stop_proc(proc, sig=signal.SIGTERM, timeout=5.0):
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(2)
    except ProcessLookupError:
        pass


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# ---- which build is measured ------------------------------------------------------------------

def run_text(argv, timeout=10):
    """stdout+stderr of a command, or None when it cannot run or fails."""
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.decode(errors="replace") if r.returncode == 0 else None


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def deb_package(path):
    """'package version' of the Debian package owning `path` (merged-/usr aware), or None."""
    real = os.path.realpath(path)
    for cand in dict.fromkeys([real, path, real[4:] if real.startswith("/usr/") else "/usr" + real]):
        out = run_text(["dpkg-query", "-S", cand])
        if out:
            pkg = out.split(":", 1)[0].strip()
            ver = run_text(["dpkg-query", "-W", "-f", "${Version}", pkg])
            if ver:
                return "%s %s" % (pkg, ver.strip())
    return None


def upstream_version(pkgver):
    """'libmbedtls21 3.6.4-1' -> '3.6.4' (no epoch, no Debian revision)."""
    if not pkgver:
        return None
    v = pkgver.split()[-1].split(":")[-1]
    return v.rsplit("-", 1)[0] if "-" in v else v


def header_define(path, name):
    text = read_text(path) or ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "#define" and parts[1] == name:
            return parts[2].strip('"')
    return None


def linked_libs(binary):
    """{soname: path} of the shared libraries a binary loads (ldd)."""
    libs = {}
    for line in (run_text(["ldd", binary]) or "").splitlines():
        name, sep, rest = line.strip().partition(" => ")
        if sep and rest.startswith("/"):
            libs[name] = rest.split(" (")[0]
    return libs


def library_info(libs, prefix):
    """The shared library `prefix`.* a binary loads: soname, owning package, its version."""
    for soname, path in sorted(libs.items()):
        if soname.startswith(prefix + "."):
            pkg = deb_package(path)
            return {"linked": soname, "package": pkg, "version": upstream_version(pkg)}
    return None


def mbedtls_info(libs):
    info = library_info(libs, "libmbedtls.so")
    if info is None:
        return None
    for hdr in ("/usr/include/mbedtls/build_info.h", "/usr/include/mbedtls/version.h"):
        v = header_define(hdr, "MBEDTLS_VERSION_STRING")
        if v:
            info["headers"] = v
            break
    return info


def llhttp_header_version(hdr):
    parts = [header_define(hdr, "LLHTTP_VERSION_" + k) for k in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(parts) if all(parts) else None


def llhttp_info(libs):
    """Debian 13 links libllhttp; Debian 12 has no library and kt compiles node-llhttp's C
    sources in (mk/configure.sh). The version from the header of the same build."""
    info = library_info(libs, "libllhttp.so")
    if info is not None:
        info["version"] = llhttp_header_version("/usr/include/llhttp.h") or info["version"]
        return info
    src = "/usr/share/llhttp/llhttp.c"
    if not os.path.exists(src):
        return None
    pkg = deb_package(src)
    return {"linked": None, "compiled_in": src, "package": pkg,
            "version": llhttp_header_version("/usr/share/include/llhttp/llhttp.h")
            or upstream_version(pkg)}


def os_release():
    rel = {}
    for line in (read_text("/etc/os-release") or "").splitlines():
        k, sep, v = line.partition("=")
        if sep:
            rel[k] = v.strip().strip('"')
    return rel


def build_info(kt_bin):
    """Which build is measured: the distribution, kt's TLS and HTTP libraries, nginx's build.
    Recorded in the JSON and the table header so a Debian 12 figure is never read as Debian 13's."""
    rel = os_release()
    b = {"distribution": rel.get("PRETTY_NAME"),
         "debian_version": (read_text("/etc/debian_version") or "").strip() or None}
    if kt_bin:
        libs = linked_libs(kt_bin)
        b["mbedtls"] = mbedtls_info(libs)
        b["llhttp"] = llhttp_info(libs)
    v = run_text(["nginx", "-V"]) or ""
    b["nginx"] = None
    b["nginx_tls_library"] = None
    for line in v.splitlines():
        if line.startswith("nginx version:"):
            b["nginx"] = line.split(":", 1)[1].strip()
        elif line.startswith("built with "):
            b["nginx_tls_library"] = line[len("built with "):].strip()
    b["openssl"] = (run_text(["openssl", "version"]) or "").strip() or None
    return b


def tls_probe(port):
    """The TLS version and cipher the proxy on `port` negotiated with the upstream: the upstream
    nginx names its side of the connection in X-Bench-TLS when the request asks for it."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/v1/chat/completions", SANITY_BODY,
                  {"Content-Type": "application/json", "Authorization": "Bearer sk-client",
                   "X-Bench-TLS": "1"})
        r = c.getresponse()
        r.read()
        v = r.getheader("X-Bench-TLS")
        c.close()
    except (OSError, http.client.HTTPException):
        return None
    if v is None or not v.strip():
        return None
    return v.strip()


def build_line(res):
    """One line naming the build measured, for the table header."""
    b = res.get("build", {})

    def lib(name, key):
        i = b.get(key) or {}
        if not i:
            return "%s ?" % name
        how = "" if i.get("linked") else " compiled in"
        return "%s %s%s" % (name, i.get("version") or "?", how)
    dist = b.get("distribution") or "unknown distribution"
    if b.get("debian_version"):
        dist += " (debian_version %s)" % b["debian_version"]
    parts = [dist]
    if not res.get("standin"):
        parts.append("kt: %s, %s" % (lib("mbedTLS", "mbedtls"), lib("llhttp", "llhttp")))
    parts.append("%s (%s)" % (b.get("nginx") or "nginx ?", b.get("nginx_tls_library") or "?"))
    return "build: " + "; ".join(parts)


# ---- the servers ------------------------------------------------------------------------------

class Nginx:
    """An nginx instance (master + 1 worker) started in the foreground from a rendered config."""

    def __init__(self, name, template, subst, port, cpu, tmp):
        self.name, self.port, self.cpu, self.tmp = name, port, cpu, tmp
        self.conf = os.path.join(tmp, name + ".conf")
        self.errlog = os.path.join(tmp, name + "-error.log")
        user = "user root root;" if os.geteuid() == 0 else ""
        render(template, self.conf, dict(subst, DIR=tmp, NAME=name, USER_LINE=user))
        self.proc = None

    def start(self):
        argv = ["nginx", "-p", self.tmp, "-c", self.conf, "-e", self.errlog,
                "-g", "daemon off;"]
        self.proc = subprocess.Popen(pinned(self.cpu, argv), stdout=subprocess.DEVNULL,
                                     stderr=open(self.errlog + ".stderr", "w"))
        if not wait_port(self.port, self.proc, 10):
            raise CannotRun("%s did not start:\n%s%s" % (
                self.name, tail(self.errlog), tail(self.errlog + ".stderr")))
        deadline = time.monotonic() + 5
        while not children(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    @property
    def pid(self):
        """The worker, where the connections and their memory live."""
        kids = children(self.proc.pid)
        return kids[0] if kids else self.proc.pid

    def memory(self):
        return proc_status(self.pid)

    def stop(self):
        stop_proc(self.proc)  # SIGTERM: fast shutdown, open streams are cut


class Kt:
    def __init__(self, name, binary, config, port, cpu, out, ca):
        self.name, self.binary, self.config = name, binary, config
        self.port, self.cpu, self.ca = port, cpu, ca
        self.logpath = os.path.join(out, name + ".log")
        self.proc = None

    def start(self):
        env = dict(os.environ, SSL_CERT_FILE=self.ca, OPENAI_API_KEY="sk-bench")
        env.pop("OPENAI_BASE_URL", None)
        argv = [self.binary, "gateway", "run", "--listen", "127.0.0.1:%d" % self.port,
                "--policy-config", self.config]
        self.proc = subprocess.Popen(pinned(self.cpu, argv), env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(self.logpath, "w"))
        if not self.healthy(10):
            code = self.proc.poll()
            self.stop()
            raise CannotRun("%s did not become healthy on /healthz (%s); log %s:\n%s" % (
                self.name, "exit %s" % code if code is not None else "no answer",
                self.logpath, tail(self.logpath)))
        time.sleep(0.3)
        return self

    def healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/healthz")
                ok = c.getresponse().status == 200
                c.close()
                if ok:
                    return True
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        return False

    def wait_shared_up(self, timeout):
        """Until /health says the shared state (Redis) is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/health")
                doc = json.loads(c.getresponse().read())
                c.close()
                if doc.get("shared_state", {}).get("state") == "up":
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass
            time.sleep(0.05)
        raise CannotRun("%s: the shared state did not come up; log %s:\n%s"
                        % (self.name, self.logpath, tail(self.logpath)))

    @property
    def pid(self):
        return self.proc.pid

    def memory(self):
        return proc_status(self.proc.pid)

    def stop(self):
        # kt drains for gateway.drain_period (5 s) on SIGTERM; the bench need not wait for it
        stop_proc(self.proc, timeout=1.0)


# ---- measurements -----------------------------------------------------------------------------

def sanity(port, name):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/v1/chat/completions", SANITY_BODY,
                  {"Content-Type": "application/json", "Authorization": "Bearer sk-client"})
        r = c.getresponse()
        body = r.read()
        c.close()
    except (OSError, http.client.HTTPException) as e:
        raise CannotRun("%s: sanity request failed: %s" % (name, e))
    if r.status != 200 or b'"chat.completion"' not in body:
        raise CannotRun("%s: sanity request answered %d: %s" % (name, r.status, body[:300]))


PROBE_EMAIL = "jane.doe@example.com"


def policy_probe(port):
    """Whether kt+policies actually changes a request carrying an e-mail address (through the
    echoing stream upstream): True redacted or blocked, False passed through untouched."""
    body = json.dumps({"model": "gpt-4o-mini", "user": "bench-echo", "messages": [
        {"role": "user", "content": "Please write to %s about the invoice." % PROBE_EMAIL}]})
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/v1/chat/completions", body.encode(),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
    except (OSError, http.client.HTTPException):
        return None
    if r.status != 200:
        return True  # blocked
    return PROBE_EMAIL.encode() not in data and b"jane.doe\\u0040" not in data


class Wrk:
    def __init__(self, cpu, proxy_cpu):
        self.cpu, self.proxy_cpu = cpu, proxy_cpu
        self.script = os.path.join(HERE, "chat.lua")

    def run(self, url, conns, seconds, pid=None):
        argv = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "5s",
                "-s", self.script, url]
        t0 = cpu_ticks(pid) if pid else None
        c0 = cpu_times(self.proxy_cpu)
        r = subprocess.run(pinned(self.cpu, argv), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=seconds + 30)
        c1 = cpu_times(self.proxy_cpu)
        t1 = cpu_ticks(pid) if pid else None
        out = r.stdout.decode(errors="replace")
        line = [ln for ln in out.splitlines() if ln.startswith("WRKJSON ")]
        if r.returncode != 0 or not line:
            raise CannotRun("wrk failed on %s: %s%s" % (url, out[-500:],
                                                        r.stderr.decode(errors="replace")))
        res = json.loads(line[-1][8:])
        res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
        res["socket_errors"] = (res["err_connect"] + res["err_read"] + res["err_write"]
                                + res["err_timeout"])
        if t0 is not None and t1 is not None:
            cpu_s = (t1 - t0) / os.sysconf("SC_CLK_TCK")
            res["proxy_cpu_pct"] = round(100.0 * cpu_s / (res["duration_us"] / 1e6), 1)
            if res["requests"]:
                res["proxy_cpu_us_per_req"] = round(1e6 * cpu_s / res["requests"], 2)
            if c0 and c1 and c1[1] > c0[1]:
                # what other processes took of the proxy's CPU during the run (a noisy host)
                foreign = (c1[0] - c0[0]) - (t1 - t0)
                res["foreign_cpu_pct"] = round(max(0.0, 100.0 * foreign / (c1[1] - c0[1])), 1)
        return res


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def run_streams(proxy, n, stream_seconds, load_cpu, problems):
    """n concurrent streams through `proxy`; its memory sampled while all are open."""
    idle = proxy.memory()
    argv = [sys.executable, "-u", os.path.join(HERE, "stream_clients.py"), "--port",
            str(proxy.port), "--n", str(n), "--timeout", str(stream_seconds + 30),
            "--ramp-timeout", str(max(1.0, min(6.0, stream_seconds * 0.6)))]
    cli = subprocess.Popen(pinned(load_cpu, argv), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        line = cli.stdout.readline().split()
        if len(line) != 3 or line[0] != "ACTIVE":
            raise CannotRun("stream client failed: %s %s" % (line, cli.stderr.read()))
        active = int(line[1])
        peak_rss = 0
        samples = []
        t_end = time.monotonic() + min(3.0, stream_seconds / 4.0)
        while time.monotonic() < t_end:
            m = proxy.memory()
            samples.append(m.get("VmRSS", 0))
            peak_rss = max(peak_rss, m.get("VmRSS", 0))
            time.sleep(0.1)
        mem = proxy.memory()
        out, err = cli.communicate(timeout=stream_seconds + 60)
    finally:
        stop_proc(cli)
    summary = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    res = {
        "streams": n, "active_when_sampled": active, "client": summary,
        "idle_rss_kb": idle.get("VmRSS"),
        "rss_kb": peak_rss,
        "hwm_kb": mem.get("VmHWM"),
        "rss_anon_kb": mem.get("RssAnon"),
    }
    if res["idle_rss_kb"] is not None and active:
        res["per_stream_kb"] = round((peak_rss - res["idle_rss_kb"]) / float(active), 1)
    if active < n or summary.get("done", 0) < n:
        problems.append("%s: only %d/%d streams were active together (%d completed, %d errors, "
                        "%d non-200%s)" % (proxy.name, active, n, summary.get("done", 0),
                                           summary.get("errors", 0), summary.get("non200", 0),
                                           ", e.g. " + summary["non200_sample"][:200]
                                           if summary.get("non200_sample") else ""))
        res["valid"] = False
    else:
        res["valid"] = True
    return res


H2_PYTHON = "/usr/bin/python3"   # Debian's, which has python3-h2 (the scripted h2 upstream)


def h2_missing():
    """Why the HTTP/2 streaming run cannot happen here, or None."""
    try:
        r = subprocess.run([H2_PYTHON, "-c", "import h2"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "%s cannot run (%s)" % (H2_PYTHON, e)
    return None if r.returncode == 0 else "python3-h2 is not installed (apt-get install python3-h2)"


def run_h2_streams(kt_bin, policies, n, stream_seconds, load_cpu, problems):
    """n concurrent streams through a fresh kt whose upstream speaks HTTP/2 (bench/mem_streams.py:
    the scripted h2 upstream of the integration tests, python3-h2): kt's memory while all are open,
    and how many TLS connections carried them. nginx has no column: its proxy_pass speaks only
    HTTP/1.x to an upstream."""
    argv = [sys.executable, os.path.join(HERE, "mem_streams.py"), "--kt", kt_bin, "--proto", "h2",
            "--n", str(n), "--seconds", str(stream_seconds)] + (["--policies"] if policies else [])
    name = "kt_policies" if policies else "kt"
    try:
        p = subprocess.run(pinned(load_cpu, argv), capture_output=True, text=True,
                           timeout=stream_seconds + 180)
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError) as e:
        problems.append("%s over HTTP/2: the streaming run failed (%s)" % (name, e))
        return {"valid": False}
    out["valid"] = out.get("active", 0) >= n
    if not out["valid"]:
        problems.append("%s over HTTP/2: only %d/%d streams were active together"
                        % (name, out.get("active", 0), n))
    return out


# ---- the report -------------------------------------------------------------------------------

def fmt(v, unit="", nd=0):
    if v is None:
        return "-"
    if isinstance(v, float):
        v = round(v, nd) if nd else int(round(v))
    return "%s%s" % (v, unit)


def mb(kb):
    return "-" if kb is None else "%.1f MB" % (kb / 1024.0)


def verdict(met):
    return {True: "met", False: "NOT MET", None: "n/a"}[met]


def report(res):
    s = res["summary"]
    names = [n for n in ("nginx", "kt", "kt_policies", "kt_pol_nocache", "kt_gov", "kt_gov_redis")
             if n in s["throughput_rps"]]
    w = 16
    lines = []
    lines.append("")
    lines.append("kt vs nginx  (%s; %d rounds, medians; proxy on CPU %s, load+upstream on CPU %s)"
                 % (res["kt"], res["settings"]["rounds"], res["settings"]["proxy_cpu"],
                    res["settings"]["load_cpu"]))
    lines.append(build_line(res))
    if res.get("kt_version"):
        lines.append("kt binary: %s" % res["kt_version"])
    tls = res.get("upstream_tls") or {}
    if tls:
        lines.append("TLS to the upstream (as the upstream saw it): " + "; ".join(
            "%s %s" % (n, tls[n] or "?") for n in names if n in tls))
    if res.get("standin"):
        lines.append("NOTE: the 'kt' slot is a second nginx (harness self-check), not kt")
    lines.append("")
    hdr = "%-34s" % "" + "".join("%*s" % (w, n) for n in names)
    lines.append(hdr)
    lines.append("-" * len(hdr))

    def row(label, key, f):
        lines.append("%-34s" % label + "".join("%*s" % (w, f(s[key].get(n))) for n in names))

    row("throughput (req/s, c=%d)" % res["settings"]["connections"], "throughput_rps",
        lambda v: fmt(v))
    row("proxy CPU per request (us)", "cpu_us_per_req", lambda v: fmt(v, "", 1))
    row("proxy CPU busy (%)", "cpu_pct", lambda v: fmt(v))
    row("other load on proxy CPU (%)", "foreign_cpu_pct", lambda v: fmt(v))
    row("p50 at 1 connection (us)", "p50_us", lambda v: fmt(v))
    row("p99 at 1 connection (us)", "p99_us", lambda v: fmt(v))
    row("p50 added over upstream (us)", "added_over_upstream_us", lambda v: fmt(v))
    row("RSS at start", "idle_rss_kb", mb)
    row("RSS after the load", "after_load_rss_kb", mb)
    st = s["streams"]
    if st:
        row("RSS idle (stream instance)", "stream_idle_rss_kb", mb)
        row("RSS with %d streams" % res["settings"]["streams"], "stream_rss_kb", mb)
        row("peak RSS (VmHWM) with streams", "stream_hwm_kb", mb)
        row("memory per stream (KB)", "per_stream_kb", lambda v: fmt(v, "", 1))
    h2 = res.get("streams_h2") or {}
    if h2:
        def h2row(label, key, f):
            lines.append("%-34s" % label + "".join(
                "%*s" % (w, f(h2[n].get(key)) if n in h2 else "-") for n in names))
        h2row("idle RSS (HTTP/2 upstream)", "idle_rss_kb", mb)
        h2row("RSS with %d streams over HTTP/2" % res["settings"]["streams"], "peak_rss_kb", mb)
        h2row("memory per stream, HTTP/2 (KB)", "per_stream_kb", lambda v: fmt(v, "", 1))
        h2row("upstream TLS connections, HTTP/2", "upstream_connections", lambda v: fmt(v))
    lines.append("")
    lines.append("direct to upstream at 1 connection: p50 %s us plain HTTP, %s us TLS; "
                 "load-CPU ceiling %s req/s plain, %s req/s TLS (wrk straight to the upstream)"
                 % (fmt(s["direct"]["plain_p50_us"]), fmt(s["direct"]["tls_p50_us"]),
                    fmt(s["direct"]["plain_rps"]), fmt(s["direct"]["tls_rps"])))
    if s.get("cpu_efficiency_ratio") is not None:
        lines.append("CPU efficiency kt/nginx (nginx CPU per request / kt's): %s"
                     % fmt(s["cpu_efficiency_ratio"], "x", 3)
                     + ("; with policies: %s" % fmt(s["policies_cpu_efficiency_ratio"], "x", 3)
                        if s.get("policies_cpu_efficiency_ratio") is not None else "")
                     + ("; policies without the clean-text cache: %s"
                        % fmt(s["nocache_cpu_efficiency_ratio"], "x", 3)
                        if s.get("nocache_cpu_efficiency_ratio") is not None else ""))
    if s.get("noisy"):
        lines.append("WARNING: other processes used %s%% of the proxy CPU during the throughput "
                     "runs; req/s are depressed and noisy, trust the ratios and CPU per request "
                     "more than the absolute figures" % fmt(s["noisy"]))
    if res.get("kt_stream_gateway"):
        lines.append("streaming kt instances ran with `%s` added to the config"
                     % res["kt_stream_gateway"])
    if s.get("policies_skipped"):
        lines.append("policies variant: skipped: %s" % s["policies_skipped"])
    elif res.get("policies_enforced") is False:
        lines.append("NOTE: kt accepted the policies config but passed an e-mail address through "
                     "unredacted: the kt_policies column measures an unenforced chain")
    elif res.get("policies_enforced"):
        lines.append("policies variant: enforced (an e-mail address in a request was redacted)")
    if h2:
        lines.append("HTTP/2 rows: a fresh kt (and one with the policies) in front of the scripted "
                     "HTTP/2 upstream (python3-h2, bench/mem_streams.py); nginx has no column, its "
                     "proxy_pass speaks only HTTP/1.x upstream")
    elif res.get("h2_skipped"):
        lines.append("HTTP/2 streaming run: skipped: %s" % res["h2_skipped"])
    if "kt_gov" in names or s.get("gov_skipped"):
        lines.append("kt_gov: gateway keys + consumer and policy rate limits + daily spend limit, "
                     "counters in the process; kt_gov_redis: the same on a local redis-server "
                     "(gateway.shared_state), one EVALSHA before and one after each request"
                     + ("; skipped: %s" % s["gov_skipped"] if s.get("gov_skipped") else ""))
    if "kt_pol_nocache" in names:
        lines.append("kt_policies: the request repeats (as a system prompt and chat history do), so "
                     "its texts are served by the clean-text cache; every response is unique "
                     "(upstream $request_id) and scanned. kt_pol_nocache: the same chain with "
                     "gateway.policy_cache: false, every text scanned")
    lines.append("")
    lines.append("%-52s %-10s %-20s %s" % ("target", "goal", "measured", ""))
    for t in res["targets"]:
        lines.append("%-52s %-10s %-20s %s" % (t["name"], t["goal"], t["measured"],
                                               verdict(t["met"])))
    if res["problems"]:
        lines.append("")
        for p in res["problems"]:
            lines.append("PROBLEM: " + p)
    lines.append("")
    return "\n".join(lines)


def summarize(res, raw, streams, mem):
    names = list(raw["throughput"].keys())
    s = {"throughput_rps": {}, "cpu_us_per_req": {}, "cpu_pct": {}, "foreign_cpu_pct": {},
         "p50_us": {}, "p99_us": {},
         "added_over_upstream_us": {}, "idle_rss_kb": {}, "after_load_rss_kb": {},
         "stream_idle_rss_kb": {}, "stream_rss_kb": {}, "stream_hwm_kb": {},
         "per_stream_kb": {}, "streams": streams}
    direct_plain = [r["p50_us"] for r in raw["direct_plain"]]
    for n in names:
        thr, lat = raw["throughput"][n], raw["latency"][n]
        s["throughput_rps"][n] = median([r["rps"] for r in thr])
        s["cpu_us_per_req"][n] = median([r.get("proxy_cpu_us_per_req") for r in thr])
        s["cpu_pct"][n] = median([r.get("proxy_cpu_pct") for r in thr])
        s["foreign_cpu_pct"][n] = median([r.get("foreign_cpu_pct") for r in thr])
        s["p50_us"][n] = median([r["p50_us"] for r in lat])
        s["p99_us"][n] = median([r["p99_us"] for r in lat])
        s["added_over_upstream_us"][n] = median(
            [a["p50_us"] - b for a, b in zip(lat, direct_plain)])
        s["idle_rss_kb"][n] = mem.get(n, {}).get("idle", {}).get("VmRSS")
        s["after_load_rss_kb"][n] = mem.get(n, {}).get("after", {}).get("VmRSS")
        if n in streams:
            s["stream_idle_rss_kb"][n] = streams[n]["idle_rss_kb"]
            s["stream_rss_kb"][n] = streams[n]["rss_kb"]
            s["stream_hwm_kb"][n] = streams[n]["hwm_kb"]
            s["per_stream_kb"][n] = streams[n].get("per_stream_kb")

    def ratio(a, b):
        return median([x["rps"] / y["rps"] for x, y in
                       zip(raw["throughput"][a], raw["throughput"]["nginx"]) if y["rps"]])

    def efficiency(a):
        return median([y["proxy_cpu_us_per_req"] / x["proxy_cpu_us_per_req"] for x, y in
                       zip(raw["throughput"][a], raw["throughput"]["nginx"])
                       if x.get("proxy_cpu_us_per_req") and y.get("proxy_cpu_us_per_req")])

    s["throughput_ratio"] = ratio("kt", "nginx")
    s["cpu_efficiency_ratio"] = efficiency("kt")
    foreign = median([r.get("foreign_cpu_pct") for n in names for r in raw["throughput"][n]])
    s["noisy"] = foreign if foreign is not None and foreign > 10 else None
    s["added_p50_us"] = median([a["p50_us"] - b["p50_us"] for a, b in
                                zip(raw["latency"]["kt"], raw["latency"]["nginx"])])
    s["added_p99_us"] = median([a["p99_us"] - b["p99_us"] for a, b in
                                zip(raw["latency"]["kt"], raw["latency"]["nginx"])])
    if "kt_policies" in names:
        s["policies_throughput_ratio"] = ratio("kt_policies", "nginx")
        s["policies_cpu_efficiency_ratio"] = efficiency("kt_policies")
        s["policies_added_p50_us"] = median(
            [a["p50_us"] - b["p50_us"] for a, b in
             zip(raw["latency"]["kt_policies"], raw["latency"]["nginx"])])
    for g in ("kt_gov", "kt_gov_redis"):
        if g in names:
            s[g + "_throughput_ratio"] = ratio(g, "nginx")
            # paired per round: the governance variant's CPU per request minus plain kt's
            s[g + "_cpu_added_us"] = median(
                [x["proxy_cpu_us_per_req"] - y["proxy_cpu_us_per_req"] for x, y in
                 zip(raw["throughput"][g], raw["throughput"]["kt"])
                 if x.get("proxy_cpu_us_per_req") and y.get("proxy_cpu_us_per_req")])
    if "kt_pol_nocache" in names:
        s["nocache_throughput_ratio"] = ratio("kt_pol_nocache", "nginx")
        s["nocache_cpu_efficiency_ratio"] = efficiency("kt_pol_nocache")
    s["direct"] = {
        "plain_p50_us": median(direct_plain),
        "tls_p50_us": median([r["p50_us"] for r in raw["direct_tls"]]),
        "plain_rps": raw["ceiling"]["plain"]["rps"],
        "tls_rps": raw["ceiling"]["tls"]["rps"],
    }
    res["summary"] = s

    kt_stream = streams.get("kt", {})
    tg = []

    def target(key, name, goal, value, measured, ok):
        tg.append({"key": key, "name": name, "goal": goal, "value": value,
                   "measured": measured, "met": None if value is None else ok})

    r = s["throughput_ratio"]
    target("throughput_ratio", "throughput kt/nginx (issue 2)", ">= 0.90", r,
           fmt(r, "x", 3) if r is not None else "-", r is not None and r >= 0.9)
    a = s["added_p50_us"]
    target("added_p50_us", "p50 added over nginx (issue 2)", "<= 50 us", a, fmt(a, " us"),
           a is not None and a <= 50)
    i = s["idle_rss_kb"].get("kt")
    target("idle_rss_kb", "kt idle RSS (issue 2)", "<= 5 MB", i, mb(i),
           i is not None and i <= 5 * 1024)
    h = kt_stream.get("hwm_kb") if kt_stream.get("valid") else None
    target("streams_rss_kb", "kt peak RSS at %d streams (issue 2)" % res["settings"]["streams"],
           "<= 30 MB", h, mb(h) if kt_stream.get("valid") else
           ("invalid" if kt_stream else "-"), h is not None and h <= 30 * 1024)
    if kt_stream and not kt_stream.get("valid"):
        tg[-1]["met"] = False
    p = s.get("policies_throughput_ratio")
    unenforced = res.get("policies_enforced") is False
    target("policies_throughput_ratio", "throughput kt+policies/nginx (issue 3)", ">= 0.80", p,
           (fmt(p, "x", 3) + (" unenforced" if unenforced else "")) if p is not None
           else "skipped", p is not None and p >= 0.8)
    if unenforced:
        tg[-1]["met"] = None  # a chain that does nothing says nothing about issue 3's target
    q = s.get("nocache_throughput_ratio")
    if q is not None:
        target("nocache_throughput_ratio", "  the same, clean-text cache off (issue 3)", ">= 0.80",
               q, fmt(q, "x", 3), q >= 0.8)
    for key, label, goal in (("cpu_efficiency_ratio", "CPU efficiency kt/nginx (issue 17)", 1.0),
                             ("policies_cpu_efficiency_ratio",
                              "  kt+policies/nginx (issue 17)", 0.95),
                             ("nocache_cpu_efficiency_ratio",
                              "  the same, clean-text cache off (issue 17)", 0.9)):
        e = s.get(key)
        if e is not None or key == "cpu_efficiency_ratio":
            target(key, label, ">= %.2f" % goal, e, fmt(e, "x", 3) if e is not None else "-",
                   e is not None and e >= goal)
    target("idle_rss_4mb", "kt idle RSS (issue 17)", "<= 4 MB", i, mb(i),
           i is not None and i <= 4 * 1024)
    h2p = (res.get("streams_h2") or {}).get("kt_policies") or {}
    hh = h2p.get("hwm_kb") if h2p.get("valid") else None
    target("h2_policies_streams_hwm_kb",
           "kt+policies peak RSS, %d streams, HTTP/2 (issue 17)" % res["settings"]["streams"],
           "<= 12 MB", hh, mb(hh) if hh is not None else ("invalid" if h2p else "skipped"),
           hh is not None and hh <= 12 * 1024)
    if h2p and not h2p.get("valid"):
        tg[-1]["met"] = False
    g = s.get("kt_gov_cpu_added_us")
    target("gov_cpu_added_us", "governance CPU added, local state (issue 14)", "<= 3 us", g,
           fmt(g, " us", 1) if g is not None else "skipped", g is not None and g <= 3)
    gr = s.get("kt_gov_redis_cpu_added_us")
    if gr is not None:
        target("gov_redis_cpu_added_us", "  the same with Redis (issue 14, no goal)", "-", gr,
               fmt(gr, " us", 1), None)
        tg[-1]["met"] = None
    res["targets"] = tg


def check_wrk(name, r, problems):
    if r["err_status"] or r["socket_errors"] > max(0, r["requests"] // 1000):
        problems.append("%s: %d non-2xx responses and %d socket errors out of %d requests" % (
            name, r["err_status"], r["socket_errors"], r["requests"]))


# ---- main -------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description="kt vs nginx side-by-side benchmark")
    ap.add_argument("--kt", required=True,
                    help="path to the kt binary, or 'nginx' to check the harness with a "
                         "second nginx in the kt slot")
    ap.add_argument("--out", required=True, help="results directory (build/bench)")
    args = ap.parse_args()

    settings = {
        "rounds": env_num("BENCH_ROUNDS", 5),
        "duration_s": env_num("BENCH_DURATION", 5),
        "latency_duration_s": env_num("BENCH_LAT_DURATION", 3),
        "connections": env_num("BENCH_CONNECTIONS", 50),
        "streams": env_num("BENCH_STREAMS", 500),
        "stream_seconds": env_num("BENCH_STREAM_SECONDS", 10.0, float),
        "proxy_cpu": env_num("BENCH_PROXY_CPU", 0),
        "load_cpu": env_num("BENCH_LOAD_CPU", 1 if (os.cpu_count() or 1) > 1 else 0),
        "policies": os.environ.get("BENCH_POLICIES", "1") != "0",
        "governance": os.environ.get("BENCH_GOVERNANCE", "1") != "0",
        "h2_streams": os.environ.get("BENCH_H2", "1") != "0",
        "nice": env_num("BENCH_NICE", -10 if os.geteuid() == 0 else 0),
    }
    if settings["nice"] < 0 and os.geteuid() != 0:
        settings["nice"] = 0
    if settings["nice"] and not autogroup_enabled():
        NICE[0] = settings["nice"]
    standin = args.kt == "nginx"
    kt_bin = None
    if not standin:
        kt_bin = os.path.abspath(args.kt)
        if not os.access(kt_bin, os.X_OK):
            raise CannotRun("%s is not an executable kt binary" % args.kt)
    for tool in ("nginx", "wrk", "taskset", "openssl"):
        if shutil.which(tool) is None:
            raise CannotRun("%s is not installed" % tool)
    os.makedirs(args.out, exist_ok=True)
    pcpu, lcpu = settings["proxy_cpu"], settings["load_cpu"]
    if pcpu == lcpu:
        log("warning: proxy and load share CPU %d; figures are only comparable to each other"
            % pcpu)

    tmp = tempfile.mkdtemp(prefix="kt-bench-")
    running = []
    problems = []
    t_start = time.monotonic()
    res = {"version": 1, "kt": "nginx (stand-in)" if standin else kt_bin, "standin": standin,
           "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "settings": settings, "targets_doc": TARGETS_DOC}
    res["build"] = build_info(kt_bin)
    if kt_bin:
        try:
            v = subprocess.run([kt_bin, "version"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=5)
            res["kt_version"] = v.stdout.decode(errors="replace").strip()[:200]
        except (OSError, subprocess.TimeoutExpired):
            res["kt_version"] = None

    def on_signal(signum, _frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)

    try:
        make_certs(tmp)
        ca = os.path.join(tmp, "ca.pem")
        (up_tls, up_plain, p_nginx, p_kt, p_ktpol, p_ktnc, s_nginx, s_kt,
         s_ktpol, p_gov, p_govr) = free_ports(11)

        log("starting the upstream (nginx, TLS :%d, plain :%d) on CPU %d" % (up_tls, up_plain,
                                                                           lcpu))
        upstream = Nginx("upstream", "nginx-upstream.conf.in",
                         {"TLS_PORT": up_tls, "PLAIN_PORT": up_plain, "CHAT_JSON": CHAT_JSON},
                         up_tls, lcpu, tmp)
        running.append(upstream)
        upstream.start()

        def start_kt(name, template, up_port, port, tag, extra=""):
            """For the streaming instances, first with the upstream connection cap raised
            above the stream count (kt's default cap answers 503 beyond it), then as is.
            `extra`: more gateway keys ("policy_cache: false")."""
            gateways = ["gateway: {%s}\n" % extra if extra else ""]
            if tag:
                gateways.insert(0, "gateway: {upstream_pool_max: %d%s}\n"
                                % (max(1024, 2 * settings["streams"]),
                                   ", " + extra if extra else ""))
            for i, gw in enumerate(gateways):
                cfg = render(template, os.path.join(tmp, "%s.yaml" % name),
                             {"UP_PORT": up_port, "GATEWAY": gw})
                k = Kt(name, kt_bin, cfg, port, pcpu, args.out, ca)
                try:
                    k.start()
                    if gw:
                        res["kt_stream_gateway"] = gw.strip()
                    return k
                except CannotRun:
                    if i == len(gateways) - 1:
                        raise
            return None

        def start_proxies(up_port, ports, tag):
            ps = {}
            ng = Nginx("nginx" + tag, "nginx-proxy.conf.in", {"PORT": ports[0], "UP_PORT": up_port},
                       ports[0], pcpu, tmp)
            running.append(ng)
            ps["nginx"] = ng.start()
            if standin:
                k = Nginx("standin" + tag, "nginx-proxy.conf.in",
                          {"PORT": ports[1], "UP_PORT": up_port}, ports[1], pcpu, tmp)
            else:
                k = start_kt("kt" + tag, "kt.yaml.in", up_port, ports[1], tag)
            running.append(k)
            ps["kt"] = k.start() if standin else k
            if settings["policies"] and not standin:
                try:
                    kp = None
                    kp = start_kt("kt_policies" + tag, "kt-policies.yaml.in", up_port, ports[2],
                                  tag)
                    sanity(kp.port, kp.name)
                    running.append(kp)
                    ps["kt_policies"] = kp
                    if tag:  # the streaming upstream echoes: see whether the policies act
                        res["policies_enforced"] = policy_probe(kp.port)
                    else:  # throughput and latency only: the cache does not touch streams
                        kn = start_kt("kt_pol_nocache", "kt-policies.yaml.in", up_port, ports[3],
                                      tag, "policy_cache: false")
                        sanity(kn.port, kn.name)
                        running.append(kn)
                        ps["kt_pol_nocache"] = kn
                except CannotRun as e:
                    if kp is not None:
                        kp.stop()
                    res.setdefault("summary_notes", []).append(str(e))
                    res["policies_skipped"] = "policies not available (%s)" % (
                        str(e).splitlines()[0][:160])
            elif standin:
                res["policies_skipped"] = "stand-in run"
            else:
                res["policies_skipped"] = "BENCH_POLICIES=0"
            if not tag and settings["governance"] and not standin:
                start_governance(up_port, ports, ps)
            return ps

        def start_governance(up_port, ports, ps):
            """kt_gov (local counters) and kt_gov_redis (a redis-server on the load CPU)."""
            keys = {"KEY_WRK": hashlib.sha256(b"sk-client-not-forwarded").hexdigest(),
                    "KEY_SANITY": hashlib.sha256(b"sk-client").hexdigest(), "UP_PORT": up_port}
            variants = [("kt_gov", ports[4], "")]
            if shutil.which("redis-server"):
                rport = free_ports(1)[0]
                rd = subprocess.Popen(pinned(lcpu, [
                    "redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", tmp, "--protected-mode", "no"]),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                running.append(rd)
                if wait_port(rport, rd, 10):
                    variants.append(("kt_gov_redis", ports[5],
                                     "  shared_state: {redis: {url: \"redis://127.0.0.1:%d/0\"}}"
                                     % rport))
                else:
                    res["gov_skipped"] = "redis-server did not start"
            else:
                res["gov_skipped"] = "the Redis variant: redis-server is not installed"
            for name, port, shared in variants:
                try:
                    cfg = render("kt-gov.yaml.in", os.path.join(tmp, name + ".yaml"),
                                 dict(keys, SHARED=shared))
                    k = Kt(name, kt_bin, cfg, port, pcpu, args.out, ca)
                    running.append(k)
                    k.start()
                    if shared:
                        k.wait_shared_up(10)
                    sanity(k.port, k.name)
                    ps[name] = k
                except CannotRun as e:
                    res["gov_skipped"] = "%s: %s" % (name, str(e).splitlines()[0][:160])

        proxies = start_proxies(up_tls, (p_nginx, p_kt, p_ktpol, p_ktnc, p_gov, p_govr), "")
        names = list(proxies.keys())
        mem = {n: {"idle": proxies[n].memory()} for n in names}
        for n in names:
            sanity(proxies[n].port, n)
        res["upstream_tls"] = {n: tls_probe(proxies[n].port) for n in names}
        if "kt_policies" not in proxies and "policies_skipped" in res:
            log("policies variant skipped: " + res["policies_skipped"])

        wrk = Wrk(lcpu, pcpu)
        url = {n: "http://127.0.0.1:%d/v1/chat/completions" % proxies[n].port for n in names}
        direct_plain = "http://127.0.0.1:%d/v1/chat/completions" % up_plain
        direct_tls = "https://localhost:%d/v1/chat/completions" % up_tls
        d, ld, c = settings["duration_s"], settings["latency_duration_s"], settings["connections"]

        log("warm-up")
        for n in names:
            wrk.run(url[n], c, 1)
        raw = {"throughput": {n: [] for n in names}, "latency": {n: [] for n in names},
               "direct_plain": [], "direct_tls": [], "ceiling": {}}
        raw["ceiling"]["plain"] = wrk.run(direct_plain, c, min(d, 3))
        raw["ceiling"]["tls"] = wrk.run(direct_tls, c, min(d, 3))
        for r in range(settings["rounds"]):
            order = names if r % 2 == 0 else names[::-1]
            log("round %d/%d (%s)" % (r + 1, settings["rounds"], " -> ".join(order)))
            raw["direct_plain"].append(wrk.run(direct_plain, 1, ld))
            raw["direct_tls"].append(wrk.run(direct_tls, 1, ld))
            for n in order:
                t = wrk.run(url[n], c, d, proxies[n].pid)
                check_wrk("%s throughput round %d" % (n, r + 1), t, problems)
                raw["throughput"][n].append(t)
            for n in order:
                t = wrk.run(url[n], 1, ld, proxies[n].pid)
                check_wrk("%s latency round %d" % (n, r + 1), t, problems)
                raw["latency"][n].append(t)
        for n in names:
            mem[n]["after"] = proxies[n].memory()
        for n in names:
            proxies[n].stop()
        res["raw"] = raw
        res["memory"] = mem

        streams = {}
        if settings["streams"] > 0:
            log("streaming: %d concurrent streams of %gs through each proxy"
                % (settings["streams"], settings["stream_seconds"]))
            su = subprocess.Popen(pinned(lcpu, [
                sys.executable, "-u", os.path.join(HERE, "stream_upstream.py"),
                "--cert", os.path.join(tmp, "server.pem"),
                "--key", os.path.join(tmp, "server.key"),
                "--seconds", str(settings["stream_seconds"])]),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            running.append(su)
            ready = su.stdout.readline().split()
            if len(ready) != 2 or ready[0] != "READY":
                raise CannotRun("stream upstream did not start: %s" % su.stderr.read())
            # fresh instances (only a sanity request has gone through them), idle until their turn
            sp = start_proxies(int(ready[1]), (s_nginx, s_kt, s_ktpol, None), "-stream")
            for n in names:
                if n in sp:
                    log("streams through %s" % n)
                    streams[n] = run_streams(sp[n], settings["streams"],
                                             settings["stream_seconds"], lcpu, problems)
                    sp[n].stop()
            stop_proc(su)
        res["streams_h2"] = {}
        if settings["streams"] > 0 and settings["h2_streams"] and kt_bin:
            why = h2_missing()
            if why:
                res["h2_skipped"] = why
                log("HTTP/2 streaming run skipped: " + why)
            for n in ("kt", "kt_policies") if not why else ():
                if n in names:
                    log("streams through %s over HTTP/2 to the upstream" % n)
                    res["streams_h2"][n] = run_h2_streams(
                        kt_bin, n == "kt_policies", settings["streams"],
                        settings["stream_seconds"], lcpu, problems)

        summarize(res, raw, streams, mem)
        if "policies_skipped" in res:
            res["summary"]["policies_skipped"] = res["policies_skipped"]
        if "gov_skipped" in res:
            res["summary"]["gov_skipped"] = res["gov_skipped"]
        res["problems"] = problems
        res["valid"] = not problems
        res["elapsed_s"] = round(time.monotonic() - t_start, 1)
    finally:
        for p in reversed(running):
            if isinstance(p, subprocess.Popen):
                stop_proc(p)
            else:
                p.stop()
        if os.environ.get("BENCH_KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log("kept " + tmp)

    text = report(res)
    print(text)
    path = os.path.join(args.out, "latest.json")
    with open(path + ".tmp", "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)
    with open(os.path.join(args.out, "latest.txt"), "w") as f:
        f.write(text)
    print("results: %s (%.0f s)" % (path, res["elapsed_s"]))
    return 0 if res["valid"] else 3


def autogroup_enabled():
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def run_prioritized():
    """With autogroup scheduling (the default on Debian), niceness only counts inside a session:
    other jobs on the machine each have their own session and would get an equal share of the
    CPUs whatever our nice. So the bench runs in a session of its own whose group is given
    BENCH_NICE (default -10 as root), the same for both proxies; this process waits for it and
    forwards SIGINT/SIGTERM. Returns None when that is not needed or not possible."""
    try:
        nice = int(os.environ.get("BENCH_NICE") or (-10 if os.geteuid() == 0 else 0))
    except ValueError:
        return None
    if (os.environ.get("KT_BENCH_SESSION") == "1" or nice == 0 or os.geteuid() != 0
            or not autogroup_enabled()):
        return None
    child = subprocess.Popen([sys.executable] + sys.argv,
                             env=dict(os.environ, KT_BENCH_SESSION="1"), start_new_session=True)
    try:
        with open("/proc/%d/autogroup" % child.pid, "w") as f:
            f.write("%d" % nice)
    except OSError as e:
        log("could not raise the bench's priority (%s); expect more noise" % e)

    def forward(signum, _frame):
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    return child.wait()


if __name__ == "__main__":
    rc = run_prioritized()
    if rc is not None:
        sys.exit(rc if rc >= 0 else 128 - rc)
    try:
        sys.exit(main())
    except CannotRun as e:
        log("could not run: %s" % e)
        sys.exit(2)
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
