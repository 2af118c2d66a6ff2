#!/usr/bin/env python3
"""Scripted mock of the OpenAI / Anthropic / Azure OpenAI HTTP APIs, for kt's integration and SDK tests.

In process (Python tests):

    m = MockUpstream(cert=pki.good_cert, key=pki.good_key).start()
    m.url                 # "https://localhost:PORT"
    m.mode = "slow"       # default mode for requests that do not choose one
    ...
    m.requests            # list of Recorded (method, target, path, query, headers, body, conn_id, ...)
    m.connections         # TCP connections accepted so far
    m.stop()

Out of process (SDK tests, or by hand):

    python3 mock_upstream.py --port 0 --pki-dir DIR [--plain-port 0]

prints one JSON line {"port": N, "plain_port": M|null, "ca": "DIR/ca.pem", ...} on stdout once it
listens, then serves until stdin closes or SIGTERM. Its recorded requests are served as JSON at
GET /__mock/requests, POST /__mock/reset clears them, POST /__mock/mode {"mode": ...} sets the default.

Mode per request: header `x-mock-mode: <mode>`, else a model named `mock-<mode>` (or `mock-<mode>-...`),
else the server default (`MockUpstream.mode`, "normal"). Modes:

    normal  JSON response with usage; "stream": true -> SSE events written one by one (chunked)
    slow    waits `x-mock-delay` seconds (default MockUpstream.delay) before the response, and
            the same between stream events
    fail    500 with an OpenAI-shaped JSON error
    hang    reads the request and never answers
    close   reads the request and drops the connection without a byte
    midclose  sends the headers and part of the body (or a few stream events), then drops it
    gzip    compresses the body whenever the request's Accept-Encoding allows gzip
    huge    a big body: `x-mock-size` bytes (default 4 MiB); with stream: that many bytes of events
    echo    the reply content is the text of the last user message (Anthropic or OpenAI shape)
    hop     adds hop-by-hop headers to the response (Connection: x-hop, Keep-Alive, X-Hop, ...)
    status  answers with `x-mock-status` (default 429) and an OpenAI-shaped error body
    gzip-always  compresses the body (JSON or SSE) with Content-Encoding: gzip even when the
            request's Accept-Encoding does not allow it (a misbehaving upstream)

Other knobs (headers): x-mock-events (stream event count, default 5), x-mock-interval (seconds between
stream events, default MockUpstream.interval), x-mock-close-after (seconds: after the response, close
the kept-alive connection, like a server idle timeout), x-mock-framing (`close`: body delimited by
closing the connection, over TLS with a close_notify first; `close-no-notify`: the same, but the TLS
connection ends with a bare TCP FIN and no close_notify, as a truncation attack or a crashed front
end would; `connection-close`: Content-Length plus `Connection: close`, then close).

Content knobs (for the policy tests):
    x-mock-pieces: <JSON list of strings>   the reply text; a stream sends one delta event per piece
            (chat, completions, responses, Anthropic messages), a JSON reply the joined text. With
            pieces, a responses stream also sends response.output_text.done and a response.completed
            carrying the whole text, as the real API does.
    x-mock-body: <JSON>     a non-streaming reply body sent verbatim (status 200, application/json)
    x-mock-body-hex: <hex>  a non-streaming reply body as raw bytes (a BOM, invalid UTF-8, ...),
            with status x-mock-body-status (default 200)
    x-mock-should-retry: <v>  the reply carries `x-should-retry: <v>` (a provider's retry hint)
    x-mock-ctype: <type>    the Content-Type of the reply or stream instead of the usual one;
            `none` sends no Content-Type at all
    x-mock-split: how a stream's bytes are written. `event` (default): one chunk + write per event;
            `bytes:N`: the SSE byte stream re-cut into N-byte HTTP chunks, one write each; `raw:N`:
            the chunked-encoded body (sizes, CRLFs and all) cut into N-byte writes. Writes are
            x-mock-interval apart (default 0.002 s with a split), so each is a separate TLS record
            and usually a separate read on the other side.
Each stream write's bytes are recorded in Recorded.sent_events (SSE events before any re-cutting).
"""
import argparse
import gzip
import json
import os
import re
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse

MODES = ("normal", "slow", "fail", "hang", "close", "midclose", "gzip", "huge", "echo", "hop",
         "status", "gzip-always")


class Recorded:
    """One request as the mock received it."""

    def __init__(self, conn_id, method, target, version, headers, body, raw_head):
        self.conn_id = conn_id
        self.method = method
        self.target = target
        self.version = version
        u = urllib.parse.urlsplit(target)
        self.path = u.path
        self.query = u.query
        self.headers = headers          # list of (name, value) exactly as received, in order
        self.body = body                # decoded body bytes (chunked framing removed)
        self.raw_head = raw_head        # request line + headers, bytes
        self.time = time.monotonic()
        self.sent_times = []            # monotonic time of each body write (stream events)
        self.sent_bytes = 0
        self.response_body = b""        # what the mock sent as body (non-streaming only)
        self.sent_events = []           # SSE events (bytes) the mock streamed, in order
        self.done = False               # response fully written

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def header_names(self):
        return [k.lower() for k, _ in self.headers]

    def json(self):
        return json.loads(self.body)

    def to_dict(self):
        return {"conn_id": self.conn_id, "method": self.method, "target": self.target,
                "path": self.path, "query": self.query, "version": self.version,
                "headers": self.headers, "body": self.body.decode("utf-8", "replace"),
                "sent_bytes": self.sent_bytes, "done": self.done,
                "sent_events": [e.decode("utf-8", "replace") for e in self.sent_events]}


class _Closed(Exception):
    pass


class _Conn:
    """Buffered reader over one (TLS) socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise _Closed()
        self.buf += d

    def readline(self, cap=1 << 20):
        while b"\n" not in self.buf:
            if len(self.buf) > cap:
                raise _Closed()
            self._fill()
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def has_data(self):
        return bool(self.buf)


class MockUpstream:
    # Suite restrictions for tests that pin one TLS 1.2 AEAD suite (mbedTLS seals and opens every
    # record); None leaves OpenSSL's default order.
    CHACHA_ONLY = "ECDHE+CHACHA20"
    AES256_ONLY = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"

    def __init__(self, cert=None, key=None, host="127.0.0.1", port=0, tls=True, hostname="localhost",
                 ciphers=None):
        self.cert, self.key, self.tls = cert, key, tls
        self.host, self.hostname = host, hostname
        self.mode = "normal"
        self.delay = 0.5
        self.interval = 0.05
        self.events = 5
        self.requests = []
        self.connections = 0
        self.resumed = []               # per TLS connection: did the client resume a session?
        self.ciphers = []               # per TLS connection: (protocol, suite), OpenSSL's names
        self._next_id = 0
        self.tls_failures = 0
        self.sni = []                   # SNI names of all TLS handshakes (not cleared by reset())
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self._socks = set()
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind((host, port))
        self._lsock.listen(256)
        self.port = self._lsock.getsockname()[1]
        self._ctx = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            ctx.set_alpn_protocols(["http/1.1"])
            if ciphers:
                ctx.set_ciphers(ciphers)

            def sni_cb(sslobj, name, _ctx):
                with self.lock:
                    self.sni.append(name)
            ctx.sni_callback = sni_cb
            self._ctx = ctx
        self._thread = None

    # ---- public -------------------------------------------------------------------------------
    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.hostname, self.port)

    def start(self):
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.stopping.set()
        try:
            self._lsock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def reset(self):
        with self.lock:
            self.requests = []
            self.connections = 0
            self.tls_failures = 0
        self.mode = "normal"

    def wait_requests(self, n, timeout=5.0):
        """Wait until at least n requests were recorded; returns the list (may be shorter on timeout)."""
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n and time.monotonic() < end:
                self.cond.wait(max(0.0, end - time.monotonic()))
            return list(self.requests)

    def last(self):
        with self.lock:
            return self.requests[-1] if self.requests else None

    # ---- connection handling --------------------------------------------------------------------
    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                s, _ = self._lsock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self._next_id += 1
                cid = self._next_id            # unique for the mock's lifetime (reset() keeps counting)
                self._socks.add(s)
            threading.Thread(target=self._serve, args=(s, cid), daemon=True).start()

    def _serve(self, raw, cid):
        s = raw
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ctx is not None:
                raw.settimeout(10)
                try:
                    s = self._ctx.wrap_socket(raw, server_side=True)
                except (ssl.SSLError, OSError):
                    with self.lock:
                        self.tls_failures += 1
                    return
                with self.lock:
                    self._socks.add(s)
                    self.resumed.append(bool(s.session_reused))
                    self.ciphers.append((s.version(), s.cipher()[0]))
            s.settimeout(None)
            c = _Conn(s)
            while not self.stopping.is_set():
                if not self._one(c, s, cid):
                    break
        except (_Closed, OSError, ssl.SSLError, ValueError):
            pass
        finally:
            for x in (s, raw):
                try:
                    x.close()
                except OSError:
                    pass
            with self.lock:
                self._socks.discard(raw)
                self._socks.discard(s)

    def _read_request(self, c, cid):
        if not c.buf:
            c._fill()
        if c.buf[:1] not in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n":
            # Not HTTP (a TLS ClientHello on the plain port): close at once, as a real server
            # does, instead of waiting for a newline that the hello may or may not contain.
            raise _Closed()
        line = c.readline()
        while line in (b"\r\n", b"\n"):
            line = c.readline()
        head = line
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            raise _Closed()
        method, target, version = parts
        headers = []
        while True:
            hl = c.readline()
            head += hl
            if hl in (b"\r\n", b"\n"):
                break
            k, _, v = hl.decode("latin-1").rstrip("\r\n").partition(":")
            headers.append((k, v.strip()))
        hmap = {}
        for k, v in headers:
            hmap.setdefault(k.lower(), []).append(v)
        body = b""
        if "chunked" in ",".join(hmap.get("transfer-encoding", [])).lower():
            while True:
                size = int(c.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while c.readline() not in (b"\r\n", b"\n"):
                        pass
                    break
                body += c.read(size)
                c.readline()
        elif "content-length" in hmap:
            body = c.read(int(hmap["content-length"][0]))
        return Recorded(cid, method, target, version, headers, body, head)

    def _one(self, c, s, cid):
        rec = self._read_request(c, cid)
        if rec.path.startswith("/__mock/"):
            return self._control(s, rec)
        with self.cond:
            self.requests.append(rec)
            self.cond.notify_all()
        keep = rec.version == "HTTP/1.1" and "close" not in (rec.header("connection") or "").lower()
        try:
            ok = self._respond(s, rec) and keep
        finally:
            rec.done = True
        if ok and rec.header("x-mock-close-after"):
            # server-side idle timeout: close the kept-alive connection quietly a bit later
            self.stopping.wait(float(rec.header("x-mock-close-after")))
            return False
        framing = rec.header("x-mock-framing")
        if framing == "close" and isinstance(s, ssl.SSLSocket):
            _close_notify(s)
        return ok and framing not in ("close", "close-no-notify", "connection-close")

    def _control(self, s, rec):
        if rec.path == "/__mock/requests":
            with self.lock:
                body = json.dumps([r.to_dict() for r in self.requests]).encode()
        elif rec.path == "/__mock/reset":
            self.reset()
            body = b"{}"
        elif rec.path == "/__mock/mode":
            self.mode = json.loads(rec.body or b"{}").get("mode", "normal")
            body = b"{}"
        else:
            body = b"{}"
        self._send_plain(s, rec, 200, body, [("Content-Type", "application/json")])
        return True

    # ---- responses ------------------------------------------------------------------------------
    def _mode_of(self, rec, req):
        m = rec.header("x-mock-mode")
        if not m and isinstance(req, dict):
            model = str(req.get("model", ""))
            if model.startswith("mock-"):
                m = model[5:]
                m = m if m in MODES else m.split("-")[0]
        return (m or self.mode).lower()

    def _send_plain(self, s, rec, status, body, headers):
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests",
                  500: "Internal Server Error"}.get(status, "Status")
        framing = rec.header("x-mock-framing")
        h = ["HTTP/1.1 %d %s" % (status, reason)]
        if framing in ("close", "close-no-notify"):   # close-delimited: no Content-Length, no chunked
            h.append("Connection: close")
        else:
            h.append("Content-Length: %d" % len(body))
            if framing == "connection-close":
                h.append("Connection: close")
        h += ["%s: %s" % kv for kv in headers]
        rec.response_body = body           # recorded first: the client may read it before sendall returns
        s.sendall(("\r\n".join(h) + "\r\n\r\n").encode("latin-1") + body)
        rec.sent_bytes += len(body)
        rec.sent_times.append(time.monotonic())

    def _respond(self, s, rec):
        try:
            req = json.loads(rec.body) if rec.body else {}
        except ValueError:
            req = {}
        mode = self._mode_of(rec, req)
        delay = float(rec.header("x-mock-delay") or self.delay)
        interval = float(rec.header("x-mock-interval") or (delay if mode == "slow" else self.interval))
        nevents = int(rec.header("x-mock-events") or self.events)
        hdrs = [("Content-Type", "application/json"), ("x-mock-conn", str(rec.conn_id)),
                ("x-request-id", rec.header("x-request-id") or "req-mock-1"),
                ("openai-processing-ms", "7")]
        if rec.header("x-mock-should-retry"):   # the provider's own retry hint
            hdrs.append(("x-should-retry", rec.header("x-mock-should-retry")))
        ctype_override = rec.header("x-mock-ctype")
        if ctype_override:
            hdrs = [kv for kv in hdrs if kv[0] != "Content-Type"]
            if ctype_override != "none":
                hdrs.insert(0, ("Content-Type", ctype_override))
        if rec.header("x-mock-body-hex"):
            self._send_plain(s, rec, int(rec.header("x-mock-body-status") or 200),
                             bytes.fromhex(rec.header("x-mock-body-hex")), hdrs)
            return True
        if mode == "hop":
            hdrs += [("Connection", "keep-alive, X-Hop"), ("Keep-Alive", "timeout=99"),
                     ("X-Hop", "secret-hop"), ("Proxy-Connection", "keep-alive"),
                     ("Proxy-Authenticate", "Basic"), ("Upgrade", "h2c"), ("X-End-To-End", "kept")]
        if mode == "hang":
            while not self.stopping.wait(0.1):
                if _peer_closed(s):
                    return False
            return False
        if mode == "close":
            _hard_close(s)
            return False
        if mode == "slow":
            time.sleep(delay)
        if mode == "fail":
            body = json.dumps({"error": {"message": "mock upstream failure", "type": "server_error",
                                         "param": None, "code": "mock_fail"}}).encode()
            self._send_plain(s, rec, 500, body, hdrs)
            return True
        if mode == "status":
            st = int(rec.header("x-mock-status") or 429)
            body = json.dumps({"error": {"message": "mock status %d" % st, "type": "rate_limit_error"
                                         if st == 429 else "mock_error", "param": None,
                                         "code": "mock_status"}}).encode()
            self._send_plain(s, rec, st, body, hdrs + [("Retry-After", "3")])
            return True
        route = self._route(rec, req)
        if route is None:
            body = json.dumps({"error": {"message": "mock: unknown path " + rec.path,
                                         "type": "invalid_request_error", "param": None,
                                         "code": "unknown_url"}}).encode()
            self._send_plain(s, rec, 404, body, hdrs)
            return True
        text = _last_user_text(req) if mode == "echo" else "Hello from mock upstream!"
        pieces = None
        if rec.header("x-mock-pieces"):
            pieces = [str(p) for p in json.loads(rec.header("x-mock-pieces"))]
            text = "".join(pieces)
        if mode == "huge" and not req.get("stream"):
            size = int(rec.header("x-mock-size") or 4 << 20)
            text = ("huge " * (size // 5 + 1))[:size]
        if req.get("stream") and route in ("chat", "completions", "responses", "messages", "azure_chat"):
            return self._stream(s, rec, req, route, mode, text, nevents, interval, pieces)
        if rec.header("x-mock-body"):
            body = rec.header("x-mock-body").encode("latin-1")
        else:
            body = json.dumps(self._json_body(route, req, text, rec)).encode()
        if mode == "gzip-always" or (mode == "gzip" and
                                     "gzip" in (rec.header("accept-encoding") or "").lower()):
            body = gzip.compress(body)
            hdrs.append(("Content-Encoding", "gzip"))
        if mode == "midclose":
            h = "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)
            h += "".join("%s: %s\r\n" % kv for kv in hdrs) + "\r\n"
            s.sendall(h.encode("latin-1") + body[:len(body) // 2])
            time.sleep(0.05)
            _hard_close(s)
            return False
        self._send_plain(s, rec, 200, body, hdrs)
        return True

    def _route(self, rec, req):
        p = rec.path
        if rec.method == "GET" and p.endswith("/v1/models"):
            return "models"
        if rec.method != "POST":
            return None
        if re.search(r"/openai/deployments/[^/]+/chat/completions$", p):
            return "azure_chat"
        if re.search(r"/openai/deployments/[^/]+/embeddings$", p):
            return "embeddings"
        if re.search(r"/openai/deployments/[^/]+/completions$", p):
            return "completions"
        for suffix, name in (("/v1/chat/completions", "chat"), ("/v1/completions", "completions"),
                             ("/v1/embeddings", "embeddings"), ("/v1/responses", "responses"),
                             ("/v1/messages", "messages")):
            if p.endswith(suffix):
                return name
        return None

    def _json_body(self, route, req, text, rec):
        model = req.get("model", "gpt-4o-mini")
        now = int(time.time())
        usage = {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}
        if route in ("chat", "azure_chat"):
            return {"id": "chatcmpl-mock", "object": "chat.completion", "created": now,
                    "model": model, "system_fingerprint": "fp_mock",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text,
                                                         "refusal": None},
                                 "logprobs": None, "finish_reason": "stop"}],
                    "usage": usage}
        if route == "completions":
            return {"id": "cmpl-mock", "object": "text_completion", "created": now, "model": model,
                    "choices": [{"index": 0, "text": text, "logprobs": None,
                                 "finish_reason": "stop"}], "usage": usage}
        if route == "embeddings":
            inp = req.get("input", "")
            n = len(inp) if isinstance(inp, list) else 1
            return {"object": "list", "model": model,
                    "data": [{"object": "embedding", "index": i,
                              "embedding": [0.0023, -0.0093, 0.0159, 0.0021]} for i in range(n)],
                    "usage": {"prompt_tokens": 4, "total_tokens": 4}}
        if route == "responses":
            return _response_obj(model, text, "completed", now)
        if route == "messages":
            return {"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                    "stop_sequence": None, "usage": {"input_tokens": 9, "output_tokens": 5}}
        if route == "models":
            return {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "mock"}
                for m in ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")]}
        return {}

    # ---- streaming ------------------------------------------------------------------------------
    def _stream(self, s, rec, req, route, mode, text, nevents, interval, pieces=None):
        ctype = rec.header("x-mock-ctype") or "text/event-stream"
        gz = mode == "gzip-always" or (mode == "gzip" and
                                       "gzip" in (rec.header("accept-encoding") or "").lower())
        head = ("HTTP/1.1 200 OK\r\n%sCache-Control: no-cache\r\n"
                "Transfer-Encoding: chunked\r\nx-mock-conn: %d\r\n%s\r\n"
                % ("" if ctype == "none" else "Content-Type: %s\r\n" % ctype, rec.conn_id,
                   "Content-Encoding: gzip\r\n" if gz else ""))
        s.sendall(head.encode())
        split = rec.header("x-mock-split") or "event"
        if pieces is not None:
            events = [e.encode() for e in _gen_events(route, req, pieces, whole=text)]
            rec.sent_events = list(events)
            if gz:
                events = [gzip.compress(b"".join(events))]
            if split != "event":
                iv = rec.header("x-mock-interval")
                return self._send_split(s, rec, events, split, 0.002 if iv is None else float(iv))
        elif gz:
            words = ["w%d " % i for i in range(nevents)]
            events = [gzip.compress("".join(_gen_events(route, req, words)).encode())]
            rec.sent_events = list(events)
        if pieces is not None or gz:
            for i, data in enumerate(events):
                if i and interval and self.stopping.wait(interval):
                    return False
                try:
                    s.sendall(b"%x\r\n%s\r\n" % (len(data), data))
                except (OSError, ssl.SSLError):
                    return False
                rec.sent_bytes += len(data)
                rec.sent_times.append(time.monotonic())
            s.sendall(b"0\r\n\r\n")
            return True
        if mode == "huge":
            size = int(rec.header("x-mock-size") or 4 << 20)
            events = _gen_events(route, req, ("x" * 1000 for _ in range(size // 1000 + 1)))
            interval = 0.0
        else:
            words = text.split(" ") if text else [""]
            if mode != "echo" and len(words) < nevents:
                words = ["w%d" % i for i in range(nevents)]
            pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
            events = list(_gen_events(route, req, pieces))
        sent = 0
        for i, ev in enumerate(events):
            if mode == "midclose" and i == 3:
                _hard_close(s)
                return False
            if i and interval:
                if self.stopping.wait(interval):
                    return False
            data = ev.encode()
            rec.sent_events.append(data)
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(data), data))
            except (OSError, ssl.SSLError):
                return False
            sent += len(data)
            rec.sent_bytes = sent
            rec.sent_times.append(time.monotonic())
        s.sendall(b"0\r\n\r\n")
        return True

    def _send_split(self, s, rec, events, split, interval):
        kind, _, n = split.partition(":")
        n = max(1, int(n or 1))
        stream = b"".join(events)
        if kind == "bytes":
            cuts = [stream[i:i + n] for i in range(0, len(stream), n)]
            writes = [b"%x\r\n%s\r\n" % (len(c), c) for c in cuts] + [b"0\r\n\r\n"]
        elif kind == "raw":
            wire = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
            writes = [wire[i:i + n] for i in range(0, len(wire), n)]
        else:
            raise ValueError("x-mock-split: " + split)
        for i, w in enumerate(writes):
            if i and interval and self.stopping.wait(interval):
                return False
            try:
                s.sendall(w)
            except (OSError, ssl.SSLError):
                return False
            rec.sent_bytes += len(w)
            rec.sent_times.append(time.monotonic())
        return True


def _gen_events(route, req, pieces, whole=None):
    model = req.get("model", "gpt-4o-mini")
    now = int(time.time())
    if route in ("chat", "azure_chat"):
        def chunk(delta, finish=None, usage=None):
            d = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": now,
                 "model": model, "system_fingerprint": "fp_mock",
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if usage is not None:
                d["choices"] = []
                d["usage"] = usage
            return "data: " + json.dumps(d) + "\n\n"
        yield chunk({"role": "assistant", "content": ""})
        for p in pieces:
            yield chunk({"content": p})
        yield chunk({}, "stop")
        if (req.get("stream_options") or {}).get("include_usage"):
            yield chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 5,
                                     "total_tokens": 14})
        yield "data: [DONE]\n\n"
    elif route == "completions":
        for p in pieces:
            yield "data: " + json.dumps({"id": "cmpl-mock", "object": "text_completion",
                                         "created": now, "model": model,
                                         "choices": [{"index": 0, "text": p, "logprobs": None,
                                                      "finish_reason": None}]}) + "\n\n"
        yield "data: [DONE]\n\n"
    elif route == "responses":
        seq = [0]

        def ev(typ, **kw):
            seq[0] += 1
            kw.update(type=typ, sequence_number=seq[0])
            return "event: %s\ndata: %s\n\n" % (typ, json.dumps(kw))
        yield ev("response.created", response=_response_obj(model, "", "in_progress", now))
        for p in pieces:
            yield ev("response.output_text.delta", item_id="msg_mock", output_index=0,
                     content_index=0, delta=p)
        if whole is None:
            yield ev("response.completed", response=_response_obj(model, "(streamed)", "completed",
                                                                   now))
        else:
            yield ev("response.output_text.done", item_id="msg_mock", output_index=0,
                     content_index=0, text=whole)
            yield ev("response.completed", response=_response_obj(model, whole, "completed", now))
    elif route == "messages":
        def ev(typ, **kw):
            kw["type"] = typ
            return "event: %s\ndata: %s\n\n" % (typ, json.dumps(kw))
        yield ev("message_start", message={"id": "msg_mock", "type": "message", "role": "assistant",
                                           "model": model, "content": [], "stop_reason": None,
                                           "stop_sequence": None,
                                           "usage": {"input_tokens": 9, "output_tokens": 1}})
        yield ev("content_block_start", index=0, content_block={"type": "text", "text": ""})
        yield ev("ping")
        for p in pieces:
            yield ev("content_block_delta", index=0, delta={"type": "text_delta", "text": p})
        yield ev("content_block_stop", index=0)
        yield ev("message_delta", delta={"stop_reason": "end_turn", "stop_sequence": None},
                 usage={"output_tokens": 5})
        yield ev("message_stop")


def _response_obj(model, text, status, now):
    out = []
    if text:
        out = [{"id": "msg_mock", "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}]
    return {"id": "resp_mock", "object": "response", "created_at": now, "status": status,
            "model": model, "output": out,
            "usage": {"input_tokens": 9, "output_tokens": 5, "total_tokens": 14}}


def _last_user_text(req):
    msgs = req.get("messages") or []
    for m in reversed(msgs):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, str):
                return c
            if isinstance(c, list):
                return "".join(p.get("text", "") for p in c if isinstance(p, dict))
    inp = req.get("input") or req.get("prompt")
    return inp if isinstance(inp, str) else ""


def _peer_closed(s):
    try:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return False
        if isinstance(s, ssl.SSLSocket):
            return s.recv(1) == b""
        return s.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ssl.SSLError, ValueError):
        return True


def _close_notify(s):
    """Sends the TLS close_notify (the peer need not answer it)."""
    try:
        s.settimeout(2)
        s.unwrap()
    except (OSError, ssl.SSLError, ValueError):
        pass


def _hard_close(s):
    try:
        raw = s
        if isinstance(s, ssl.SSLSocket):
            raw = socket.socket(fileno=os.dup(s.fileno()))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        raw.close()
        if raw is not s:
            s.close()
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--plain-port", type=int, default=None, help="also serve plain HTTP on this port")
    ap.add_argument("--pki-dir", help="generate the test PKI here (uses its good cert)")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--mode", default="normal", choices=MODES)
    a = ap.parse_args()
    info = {}
    if a.pki_dir:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import pki as pkimod
        p = pkimod.make_pki(a.pki_dir)
        a.cert, a.key = a.cert or p.good_cert, a.key or p.good_key
        info.update(ca=p.ca_cert, wrong_cert=p.wrong_cert, wrong_key=p.wrong_key)
    servers = [MockUpstream(a.cert, a.key, port=a.port).start()]
    info["port"] = servers[0].port
    info["plain_port"] = None
    if a.plain_port is not None:
        servers.append(MockUpstream(tls=False, port=a.plain_port).start())
        info["plain_port"] = servers[1].port
    for s in servers:
        s.mode = a.mode
    print(json.dumps(info), flush=True)
    import signal
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait()
    for s in servers:
        s.stop()


if __name__ == "__main__":
    main()
