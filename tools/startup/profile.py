#!/usr/bin/env python3
"""Profiles kt's start-up for tools/startup/order.py: runs `kt gateway run` under callgrind with
the bench's plain config (bench/kt.yaml.in, its certificates; the upstream port is never
contacted) until the first /healthz answer, then stops it with SIGTERM (callgrind writes its
profile at exit).
Usage: tools/startup/profile.py KT_BINARY CALLGRIND_OUT
"""
import http.client
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import bench  # noqa: E402  (make_certs, render, free_ports)


def healthy(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", "/healthz")
        return c.getresponse().status == 200
    except OSError:
        return False


def main():
    kt, out = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="kt-startup-")
    bench.make_certs(tmp)
    cfg = bench.render(os.path.join(ROOT, "bench", "kt.yaml.in"), os.path.join(tmp, "kt.yaml"),
                       {"UP_PORT": 9, "GATEWAY": ""})
    port = bench.free_ports(1)[0]
    env = dict(os.environ, SSL_CERT_FILE=os.path.join(tmp, "ca.pem"), OPENAI_API_KEY="sk-profile")
    with open(os.path.join(tmp, "log"), "w") as log:
        p = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, kt,
                              "gateway", "run", "--listen", "127.0.0.1:%d" % port,
                              "--policy-config", cfg], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while not healthy(port):
                if p.poll() is not None or time.monotonic() > deadline:
                    sys.exit("kt did not answer /healthz; its log: " + os.path.join(tmp, "log"))
                time.sleep(0.1)
        finally:
            p.terminate()
            p.wait(timeout=60)


if __name__ == "__main__":
    main()
