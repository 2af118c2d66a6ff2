#!/usr/bin/env python3
"""Memory of kt with N concurrent streams, over HTTP/1.1 or HTTP/2 to the upstream (ad hoc; RSS is
not timing-sensitive, so this runs on a busy machine too, unlike bench.py).

Starts a TLS upstream (h1: bench/stream_upstream.py; h2: test/integration/mock_h2.py under Debian's
python3 with python3-h2), kt (the release build by default) with or without pii-detector +
safety-filter, measures idle RSS (after one warm-up request), opens N streaming clients
(bench/stream_clients.py), samples VmRSS while all are open, and prints one JSON line:
{"proto","policies","streams","active","idle_rss_kb","peak_rss_kb","hwm_kb","per_stream_kb",
"upstream_connections"}.

Usage: mem_streams.py [--kt build/kt] [--proto h1|h2] [--n 500] [--policies] [--seconds 8]
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "integration"))
from pki import make_pki  # noqa: E402

sys.path.insert(0, HERE)
from bench import proc_status as status  # noqa: E402  (bench.py's /proc/PID/status reader)


def wait_port(port, timeout=10):
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("kt did not come up")


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kt", default=os.path.join(ROOT, "build", "kt"))
    ap.add_argument("--proto", choices=("h1", "h2"), default="h2")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--policies", action="store_true")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--wrap", default="", help="a command prefix for kt (e.g. 'heaptrack -o F'): "
                    "RSS figures are then the wrapper's, only its own report counts")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kt-mem-")
    pki = make_pki(os.path.join(tmp, "pki"))
    procs = []
    try:
        interval = 0.1
        pieces = int(a.seconds / interval)
        if a.proto == "h1":
            up = subprocess.Popen([sys.executable, os.path.join(HERE, "stream_upstream.py"), "--cert",
                                   pki.good_cert, "--key", pki.good_key, "--seconds", str(a.seconds),
                                   "--interval", str(interval)], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
            procs.append(up)
            line = up.stdout.readline().split()
            up_port, ctl = int(line[1]), None
        else:
            up = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "test", "integration", "mock_h2.py"),
                                   "--cert", pki.good_cert, "--key", pki.good_key, "--default-mode", "stream",
                                   "--pieces", str(pieces), "--gap-ms", str(int(interval * 1000))],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            procs.append(up)
            info = json.loads(up.stdout.readline())
            up_port, ctl = info["port"], info["ctl"]
        chain = ("policies: {chain: [pii-detector, safety-filter]}\n"
                 "policy: {pii-detector: {action: redact}, safety-filter: {action: block}}\n") if a.policies else ""
        cfg = os.path.join(tmp, "kt.yaml")
        with open(cfg, "w") as f:
            f.write("pack: {name: mem, version: 1.0.0}\n%sproviders:\n  targets:\n    - id: up\n"
                    "      provider: openai\n      base_url: https://localhost:%d/v1\n"
                    "      secret_key_ref: {env: OPENAI_API_KEY}\n"
                    "gateway: {max_connections: %d, upstream_pool_max: %d}\n"
                    % (chain, up_port, a.n + 100, 2 * a.n + 100))
        port = free_port()
        env = dict(os.environ, OPENAI_API_KEY="sk-mem", SSL_CERT_FILE=pki.ca_cert, KT_LOG_LEVEL="warn")
        kt = subprocess.Popen(a.wrap.split() + [a.kt, "gateway", "run", "--listen", "127.0.0.1:%d" % port, "--policy-config", cfg],
                              env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "kt.log"), "w"))
        procs.append(kt)
        wait_port(port)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/v1/chat/completions", body=json.dumps({"model": "gpt-4o-mini", "messages": [
            {"role": "user", "content": "hi"}]}), headers={"content-type": "application/json"})
        c.getresponse().read()
        c.close()
        time.sleep(0.5)
        idle = status(kt.pid)
        cli = subprocess.Popen([sys.executable, "-u", os.path.join(HERE, "stream_clients.py"), "--port", str(port),
                                "--n", str(a.n), "--timeout", str(a.seconds + 30),
                                "--ramp-timeout", str(max(2.0, a.seconds * 0.6))],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(cli)
        line = cli.stdout.readline().split()
        active = int(line[1]) if len(line) == 3 and line[0] == "ACTIVE" else 0
        peak = 0
        t_end = time.monotonic() + min(2.0, a.seconds / 4)
        while time.monotonic() < t_end:
            peak = max(peak, status(kt.pid).get("VmRSS", 0))
            time.sleep(0.1)
        mem = status(kt.pid)
        conns = None
        if ctl:
            cc = http.client.HTTPConnection("127.0.0.1", ctl, timeout=5)
            cc.request("GET", "/stats")
            conns = json.loads(cc.getresponse().read())["connections"]
        cli.communicate(timeout=a.seconds + 60)
        print(json.dumps({"proto": a.proto, "policies": a.policies, "streams": a.n, "active": active,
                          "idle_rss_kb": idle.get("VmRSS"), "peak_rss_kb": peak, "hwm_kb": mem.get("VmHWM"),
                          "per_stream_kb": round((peak - idle.get("VmRSS", 0)) / max(1, active), 1),
                          "upstream_connections": conns}))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(60 if a.wrap else 10)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    main()
