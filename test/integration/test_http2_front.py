"""The streaming suites again, with the provider behind HTTP/2: nginx (`listen ... ssl http2`) in
front of the mock provider, so kt speaks h2 to nginx and nginx HTTP/1.1 to the mock. Property:
every SSE test of test_policies_stream.py and the streaming tests of test_streaming.py that pass
over HTTP/1.1 pass unchanged over HTTP/2 (same redaction, no fragment leaks, chunk for chunk,
[DONE] and error events), and kt really used h2 (nginx's log records the protocol)."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import test_policies_stream as ps
import test_streaming as st
from harness import Kt, free_port, kt_bin
from mock_upstream import MockUpstream
from pki import shared_pki

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """daemon off;
master_process off;
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    log_format proto '$server_protocol $status';
    access_log {dir}/access.log proto;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream mock {{ server 127.0.0.1:{mock_port}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass https://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host localhost:{mock_port};
            proxy_ssl_verify off;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 30s;
        }}
    }}
}}
"""


class NginxH2:
    def __init__(self, pki, mock_port):
        self.dir = tempfile.mkdtemp(prefix="kt-nginx-h2-")
        self.port = free_port()
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(CONF.format(dir=self.dir, port=self.port, mock_port=mock_port,
                                cert=pki.good_cert, key=pki.good_key))
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        import socket
        t = time.monotonic() + 10
        while time.monotonic() < t and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start: %s" % self.proc.stderr.read(2000))

    def protocols(self):
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                return [line.split()[0] for line in f if line.strip()]
        except OSError:
            return []

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Front:
    """The mock as the config sees it (its url is nginx's); everything else is the mock's."""

    def __init__(self, mock, url):
        self._mock = mock
        self.url = url

    def __getattr__(self, name):
        return getattr(self._mock, name)


def has_nginx_h2():
    try:
        out = subprocess.run([NGINX, "-V"], capture_output=True, text=True)
        return "http_v2_module" in out.stderr
    except OSError:
        return False


class ViaH2:
    """Mixin for a KtCase: the same test class with nginx (HTTP/2) between kt and the mock."""

    @classmethod
    def setUpClass(cls):
        if not has_nginx_h2():
            raise unittest.SkipTest("nginx with http_v2_module not installed (mk/test-deps.sh nginx)")
        if not os.path.exists(kt_bin()):
            raise unittest.SkipTest("kt binary not found")
        cls.pki = shared_pki()
        cls.mock = MockUpstream(cls.pki.good_cert, cls.pki.good_key).start()
        try:
            cls.front = NginxH2(cls.pki, cls.mock.port)
        except BaseException:
            cls.mock.stop()
            raise
        try:
            cls.kt = Kt(cls.config(Front(cls.mock, "https://localhost:%d" % cls.front.port)),
                        env=cls.kt_env(), unset=cls.kt_unset).start()
        except BaseException:
            cls.front.stop()
            cls.mock.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            protos = cls.front.protocols()
            if not protos or any(p != "HTTP/2.0" for p in protos):
                raise AssertionError("kt reached nginx over %s" % sorted(set(protos)))
            super().tearDownClass()
        finally:
            cls.front.stop()

    def tearDown(self):
        super().tearDown()
        protos = self.front.protocols()
        if protos:
            self.assertEqual(set(protos), {"HTTP/2.0"})


class StreamRedactOverH2(ViaH2, ps.StreamRedactTest):
    pass


class NoFindingsPiiOnlyOverH2(ViaH2, ps.NoFindingsPiiOnlyTest):
    pass


class NoFindingsKeywordOverH2(ViaH2, ps.NoFindingsKeywordTest):
    pass


class NoFindingsCustomPatternOverH2(ViaH2, ps.NoFindingsCustomPatternTest):
    pass


class StreamBlockOverH2(ViaH2, ps.StreamBlockTest):
    pass


class StreamingOverH2(ViaH2, st.StreamingTest):
    pass


if __name__ == "__main__":
    unittest.main()
