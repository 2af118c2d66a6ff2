"""The ops listener as the kubelet sees it (issue 15): kt runs in a network namespace of its own
(the pod), joined to this one by a veth pair (the node). From the node side the ops port answers
on the pod's address, and the proxy port, bound to the pod's loopback, does not.

The test creates the namespace, the veth pair and the addresses, and removes them afterwards. It
needs root and `ip` (iproute2); where namespaces cannot be created it skips and says why."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import config_yaml, default_targets, kt_bin, OPENAI_KEY, SANITIZER_MARKERS

PROXY_PORT, OPS_PORT = 41002, 41003


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=20, check=check)


def netns_unavailable():
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "iproute2 ('ip') is not installed"
    name = "kt-try-%d" % os.getpid()
    p = sh("ip", "netns", "add", name, check=False)
    if p.returncode != 0:
        return "cannot create a network namespace here: " + p.stderr.strip()
    # creating one is not enough: `ip netns exec` also mounts a sysfs for it, which a chroot
    # (make debian13's root) refuses
    p = sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up", check=False)
    sh("ip", "netns", "del", name, check=False)
    if p.returncode != 0:
        return "cannot run commands in a network namespace here: " + p.stderr.strip()
    return None


SKIP = netns_unavailable()


@unittest.skipIf(SKIP is not None, "skipped: %s" % SKIP)
@unittest.skipUnless(os.path.exists(kt_bin()), "kt binary not built")
class OpsListenerInNamespace(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tag = "%x" % (os.getpid() & 0xffff)
        cls.ns = "kt-pod-" + tag
        cls.host_if, cls.pod_if = "kth" + tag, "ktp" + tag
        octet = 1 + os.getpid() % 250
        cls.host_ip, cls.pod_ip = "10.213.%d.1" % octet, "10.213.%d.2" % octet
        cls.dir = tempfile.mkdtemp(prefix="kt-netns-")
        cls.proc = None
        try:
            cls._setup_net()
            cls._start_kt()
        except BaseException:
            cls._teardown()
            raise

    @classmethod
    def _setup_net(cls):
        sh("ip", "netns", "add", cls.ns)
        sh("ip", "link", "add", cls.host_if, "type", "veth", "peer", "name", cls.pod_if)
        sh("ip", "link", "set", cls.pod_if, "netns", cls.ns)
        sh("ip", "addr", "add", cls.host_ip + "/24", "dev", cls.host_if)
        sh("ip", "link", "set", cls.host_if, "up")
        sh("ip", "netns", "exec", cls.ns, "ip", "addr", "add", cls.pod_ip + "/24", "dev", cls.pod_if)
        sh("ip", "netns", "exec", cls.ns, "ip", "link", "set", cls.pod_if, "up")
        sh("ip", "netns", "exec", cls.ns, "ip", "link", "set", "lo", "up")

    @classmethod
    def _start_kt(cls):
        # The targets have keys (so /readyz is 200) but are never called.
        text = config_yaml(targets=default_targets("https://127.0.0.1:9"))
        cfg = os.path.join(cls.dir, "policy-config.yaml")
        with open(cfg, "w") as f:
            f.write(text)
        env = dict(os.environ, OPENAI_API_KEY=OPENAI_KEY, ANTHROPIC_API_KEY="a", AZURE_OPENAI_KEY="z",
                   ASAN_OPTIONS="detect_leaks=1")
        env.pop("KEEPTRUSTS_API_URL", None)
        cls.err_path = os.path.join(cls.dir, "kt.stderr")
        cls.err = open(cls.err_path, "wb")
        cls.proc = subprocess.Popen(
            ["ip", "netns", "exec", cls.ns, kt_bin(), "gateway", "run",
             "--listen", "127.0.0.1:%d" % PROXY_PORT, "--ops-listen", "0.0.0.0:%d" % OPS_PORT,
             "--policy-config", cfg], env=env, stdout=cls.err, stderr=cls.err,
            stdin=subprocess.DEVNULL)
        end = time.monotonic() + 15
        while time.monotonic() < end:
            if cls.proc.poll() is not None:
                raise AssertionError("kt exited: " + cls.stderr())
            try:
                if cls.get("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("kt's ops port did not answer from the node side: " + cls.stderr())

    @classmethod
    def stderr(cls):
        with open(cls.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    @classmethod
    def get(cls, path, port=OPS_PORT, method="GET"):
        c = http.client.HTTPConnection(cls.pod_ip, port, timeout=3)
        try:
            c.request(method, path, body=b"{}" if method == "POST" else None)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    @classmethod
    def _teardown(cls):
        if cls.proc and cls.proc.poll() is None:
            cls.proc.send_signal(signal.SIGTERM)
            try:
                cls.proc.wait(15)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait(5)
        if getattr(cls, "err", None):
            cls.err.close()
        sh("ip", "link", "del", cls.host_if, check=False)   # removes the peer too
        sh("ip", "netns", "del", cls.ns, check=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        proc = cls.proc
        cls._teardown()
        err = cls.stderr() if os.path.exists(cls.err_path) else ""
        for m in SANITIZER_MARKERS:
            assert m not in err, err[-4000:]
        assert proc is None or proc.returncode == 0, "kt exited %s: %s" % (proc.returncode, err[-3000:])
        assert sh("ip", "netns", "list").stdout.find(cls.ns) < 0, "namespace left behind"

    def test_probes_answer_on_the_pod_address(self):
        self.assertEqual(self.get("/healthz"), (200, b'{"status":"ok"}'))
        self.assertEqual(self.get("/readyz")[0], 200)
        st, body = self.get("/health")
        self.assertEqual((st, json.loads(body)["status"]), (200, "healthy"))
        st, body = self.get("/metrics")
        self.assertEqual(st, 200)
        self.assertIn(b"keeptrusts_build_info", body)

    def test_ops_port_serves_nothing_else(self):
        for method, path in (("POST", "/v1/chat/completions"), ("GET", "/v1/models"),
                             ("GET", "/keeptrusts/config"), ("POST", "/keeptrusts/config/reload")):
            with self.subTest(path=path):
                self.assertEqual(self.get(path, method=method)[0], 404)

    def test_proxy_port_is_not_reachable_from_the_node(self):
        s = socket.socket()
        s.settimeout(3)
        try:
            with self.assertRaises(ConnectionRefusedError):
                s.connect((self.pod_ip, PROXY_PORT))
        finally:
            s.close()
        # ... while it serves inside the pod (the app's side)
        p = sh("ip", "netns", "exec", self.ns, "python3", "-c",
               "import http.client as h; c=h.HTTPConnection('127.0.0.1', %d, timeout=3); "
               "c.request('GET', '/readyz'); print(c.getresponse().status)" % PROXY_PORT)
        self.assertEqual(p.stdout.strip(), "200")


if __name__ == "__main__":
    unittest.main()
