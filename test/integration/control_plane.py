"""A stand-in control plane: accepts POST /v1/events (plain HTTP or TLS with the test CA cert),
records every batch with its Authorization and Idempotency-Key headers, and can be switched into
an outage (503 with an optional Retry-After), made to hang (then 503), or made slow (it records
the batch and answers 202 only after `hang_seconds`, so a client with a shorter timeout sends the
batch again: the duplicates a slow control plane sees). Stdlib only."""
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        cp = self.server.cp
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        with cp.lock:
            mode, retry_after = cp.mode, cp.retry_after
            cp.attempts += 1
        if mode in ("hang", "slow"):
            time.sleep(cp.hang_seconds)
        if mode in ("down", "hang") or self.path != "/v1/events":
            body = b'{"error":"unavailable"}'
            self.send_response(503 if self.path == "/v1/events" else 404)
            if retry_after is not None:
                self.send_header("Retry-After", str(retry_after))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        with cp.lock:
            cp.batches.append({"auth": self.headers.get("Authorization"), "raw": raw, "doc": doc,
                               "key": self.headers.get("Idempotency-Key"),
                               "t": time.monotonic()})
        body = b'{"accepted":true}'
        self.send_response(202)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ControlPlane:
    def __init__(self, cert=None, key=None):
        self.cert, self.key = cert, key
        self.lock = threading.Lock()
        self.batches = []
        self.mode = "ok"
        self.retry_after = None
        self.hang_seconds = 3.0
        self.attempts = 0

    def start(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.cp = self
        self.httpd.handle_error = lambda request, address: None   # kt timed out and hung up
        if self.cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert, self.key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = "%s://%s:%d" % ("https" if self.cert else "http",
                                   "localhost" if self.cert else "127.0.0.1", self.port)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def set_mode(self, mode, retry_after=None):
        with self.lock:
            self.mode, self.retry_after = mode, retry_after

    def events(self):
        with self.lock:
            out = []
            for b in self.batches:
                out.extend((b["doc"] or {}).get("events", []))
            return out

    def unique_events(self):
        """Received events de-duplicated by id, in order of first arrival."""
        seen, out = set(), []
        for e in self.events():
            if e.get("id") not in seen:
                seen.add(e.get("id"))
                out.append(e)
        return out

    def dropped(self):
        with self.lock:
            return sum((b["doc"] or {}).get("dropped", 0) for b in self.batches)

    def dropped_unique(self):
        """The drop counts, each batch id counted once (a retried batch carries the same)."""
        with self.lock:
            seen, total = set(), 0
            for b in self.batches:
                doc = b["doc"] or {}
                bid = doc.get("batch_id")
                if bid is not None and bid in seen:
                    continue
                seen.add(bid)
                total += doc.get("dropped", 0)
            return total

    def raw_payloads(self):
        with self.lock:
            return [b["raw"] for b in self.batches]

    def wait_events(self, n, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ev = self.events()
            if len(ev) >= n:
                return ev
            time.sleep(0.05)
        return self.events()
