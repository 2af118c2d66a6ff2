"""A scripted HTTP/2 provider over TLS with ALPN, for test_http2.py (Debian's python3-h2).

Runs as its own process under /usr/bin/python3 (where Debian installs `h2`), whatever python runs
the tests:

    mock_h2.py --cert C --key K [--alpn h2,http/1.1] [--max-streams N] [--goaway-after N]
               [--default-mode MODE --pieces N --gap-ms MS]

prints {"port": P, "ctl": Q} and serves until killed. Port Q answers plain HTTP/1.1
`GET /stats` with {"connections": n, "requests": n, "paths": [...], "headers": [[...], ...]}
and `POST /reset`.

Per request, by request header:
  x-mock-mode: json (default) | stream | big | rst | rst-mid | slow | hold
  x-mock-pieces: stream events (default 5)      x-mock-gap-ms: pause between events (default 0)
  x-mock-size: bytes of a `big` body (pattern bytes; sha256 in x-mock-sha256)
  x-mock-rst-code: the RST_STREAM error code (default 2, INTERNAL_ERROR)
  x-mock-delay-ms: wait before answering (slow)
--goaway-after N: on each connection, after the N-th request arrived, send GOAWAY naming it as the
last stream; later streams are never answered (the client must retry them); the N answered ones
complete, then the connection closes.
"""
import argparse
import hashlib
import json
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.append("/usr/lib/python3/dist-packages")
import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402
import h2.errors  # noqa: E402
import h2.exceptions  # noqa: E402
import h2.settings  # noqa: E402
import hyperframe.frame  # noqa: E402

STATS = {"connections": 0, "requests": 0, "paths": [], "headers": [], "peak_streams": 0, "resets": 0,
         "pings": 0}
LOCK = threading.Lock()


def pattern(n):
    block = bytes(range(256)) * 64
    out = bytearray()
    while len(out) < n:
        out += block
    return bytes(out[:n])


class Stream:
    def __init__(self, sid, headers, body):
        self.sid = sid
        self.h = dict(headers)
        self.body = body
        self.actions = []      # (when, kind, payload)
        self.out = b""         # DATA waiting for window
        self.end_after_out = False


class Conn:
    def __init__(self, sock, args):
        self.sock = sock
        self.args = args
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self.c = h2.connection.H2Connection(config=cfg)
        self.streams = {}
        self.bodies = {}
        self.nreq = 0
        self.goaway_sent = False
        self.last_sid = None
        self.active = 0

    def flush(self):
        data = self.c.data_to_send()
        if data:
            self.sock.sendall(data)

    def script(self, st):
        now = time.monotonic()
        mode = st.h.get("x-mock-mode", self.args.default_mode)
        gap = int(st.h.get("x-mock-gap-ms", str(self.args.gap_ms))) / 1000.0
        delay = int(st.h.get("x-mock-delay-ms", "0")) / 1000.0
        t = now + delay
        if mode == "rst":
            st.actions.append((t, "rst", int(st.h.get("x-mock-rst-code", "2"))))
            return
        if mode == "hold":
            return
        if mode == "stream":
            n = int(st.h.get("x-mock-pieces", str(self.args.pieces)))
            st.actions.append((t, "headers", [(":status", "200"), ("content-type", "text/event-stream")]))
            for i in range(n):
                ev = {"id": "c1", "object": "chat.completion.chunk",
                      "choices": [{"index": 0, "delta": {"content": "piece%d " % i}}]}
                st.actions.append((t + gap * (i + 1), "data", b"data: " + json.dumps(ev).encode() + b"\n\n"))
            st.actions.append((t + gap * (n + 1), "data-end", b"data: [DONE]\n\n"))
            return
        if mode == "big":
            size = int(st.h.get("x-mock-size", str(2 << 20)))
            body = pattern(size)
            st.actions.append((t, "headers", [(":status", "200"), ("content-type", "application/octet-stream"),
                                               ("content-length", str(size)),
                                               ("x-mock-sha256", hashlib.sha256(body).hexdigest())]))
            st.actions.append((t, "data-end", body))
            return
        if mode == "rst-mid":
            st.actions.append((t, "headers", [(":status", "200"), ("content-type", "text/event-stream")]))
            st.actions.append((t, "data", b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n"))
            st.actions.append((t + 0.1, "rst", int(st.h.get("x-mock-rst-code", "2"))))
            return
        body = json.dumps({"id": "chatcmpl-h2", "object": "chat.completion", "model": "gpt-4o-mini",
                           "choices": [{"index": 0, "message": {"role": "assistant",
                                                                "content": "hello over h2"},
                                        "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
                           "echo_path": st.h.get(":path"), "echo_len": len(st.body)}).encode()
        st.actions.append((t, "headers", [(":status", "200"), ("content-type", "application/json"),
                                           ("content-length", str(len(body)))]))
        st.actions.append((t, "data-end", body))

    def on_request(self, sid):
        headers, body = self.bodies.pop(sid)
        st = Stream(sid, headers, body)
        with LOCK:
            STATS["requests"] += 1
            STATS["paths"].append(dict(headers).get(":path"))
            STATS["headers"].append(headers)
        self.nreq += 1
        self.streams[sid] = st
        self.active += 1
        with LOCK:
            STATS["peak_streams"] = max(STATS["peak_streams"], self.active)
        self.script(st)
        ga = self.args.goaway_after
        if ga and self.nreq == ga and not self.goaway_sent:
            self.goaway_sent = True
            self.last_sid = sid
            # h2's close_connection() refuses to send anything afterwards: a graceful GOAWAY
            # (the named streams still finish) is written as a raw frame instead.
            self.flush()
            self.sock.sendall(hyperframe.frame.GoAwayFrame(stream_id=0, last_stream_id=sid,
                                                           error_code=0).serialize())

    def pump(self):
        now = time.monotonic()
        for sid, st in list(self.streams.items()):
            while st.out:
                win = min(self.c.local_flow_control_window(sid), self.c.max_outbound_frame_size)
                if win <= 0:
                    break
                chunk, st.out = st.out[:win], st.out[win:]
                self.c.send_data(sid, chunk, end_stream=(not st.out and st.end_after_out))
            if st.out:
                continue
            if st.end_after_out:
                self.done(sid)
                continue
            while st.actions and st.actions[0][0] <= now:
                _, kind, payload = st.actions.pop(0)
                if kind == "headers":
                    self.c.send_headers(sid, payload)
                elif kind == "rst":
                    self.c.reset_stream(sid, error_code=payload)
                    self.done(sid)
                    break
                else:
                    st.out = payload
                    st.end_after_out = kind == "data-end"
                    win = min(self.c.local_flow_control_window(sid), self.c.max_outbound_frame_size)
                    while st.out and win > 0:
                        chunk, st.out = st.out[:win], st.out[win:]
                        self.c.send_data(sid, chunk, end_stream=(not st.out and st.end_after_out))
                        win = min(self.c.local_flow_control_window(sid), self.c.max_outbound_frame_size)
                    if not st.out and st.end_after_out:
                        self.done(sid)
                    if st.out:
                        break
        self.flush()

    def done(self, sid):
        if sid in self.streams:
            del self.streams[sid]
            self.active -= 1

    def next_timeout(self):
        ts = [st.actions[0][0] for st in self.streams.values() if st.actions and not st.out]
        if not ts:
            return 0.5
        return max(0.0, min(ts) - time.monotonic())

    def run(self):
        self.c.initiate_connection()
        if self.args.max_streams:
            self.c.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.args.max_streams})
        self.flush()
        while True:
            if self.goaway_sent and not any(s <= self.last_sid for s in self.streams):
                time.sleep(0.05)
                return
            self.sock.settimeout(self.next_timeout() or 0.001)
            try:
                data = self.sock.recv(65536)
                if not data:
                    return
            except socket.timeout:
                data = b""
            if data:
                for ev in self.c.receive_data(data):
                    self.event(ev)
            self.pump()

    def event(self, ev):
        if isinstance(ev, h2.events.RequestReceived):
            self.bodies[ev.stream_id] = (ev.headers, b"")
            if ev.stream_ended:
                self.maybe_request(ev.stream_id)
        elif isinstance(ev, h2.events.DataReceived):
            if ev.stream_id in self.bodies:
                h, b = self.bodies[ev.stream_id]
                self.bodies[ev.stream_id] = (h, b + ev.data)
            self.c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if ev.stream_ended:
                self.maybe_request(ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            self.maybe_request(ev.stream_id)
        elif isinstance(ev, h2.events.PingReceived):   # h2 answers it itself
            with LOCK:
                STATS["pings"] += 1
        elif isinstance(ev, h2.events.StreamReset):
            with LOCK:
                STATS["resets"] += 1
            self.bodies.pop(ev.stream_id, None)
            self.done(ev.stream_id)

    def maybe_request(self, sid):
        if sid not in self.bodies:
            return
        if self.goaway_sent and sid > self.last_sid:
            self.bodies.pop(sid)   # never processed: the GOAWAY told the client so
            return
        self.on_request(sid)


def serve_conn(raw, ctx, args):
    try:
        s = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError):
        raw.close()
        return
    with LOCK:
        STATS["connections"] += 1
    try:
        if s.selected_alpn_protocol() != "h2":
            s.close()
            return
        Conn(s, args).run()
    except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
        pass
    finally:
        try:
            s.close()
        except OSError:
            pass


class Ctl(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        with LOCK:
            body = json.dumps(STATS).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        with LOCK:
            STATS.update({"connections": 0, "requests": 0, "paths": [], "headers": [], "peak_streams": 0,
                          "resets": 0, "pings": 0})
        self.send_response(204)
        self.end_headers()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--alpn", default="h2,http/1.1")
    ap.add_argument("--max-streams", type=int, default=0)
    ap.add_argument("--goaway-after", type=int, default=0)
    # defaults for requests without x-mock-* headers (bench/mem_streams.py)
    ap.add_argument("--default-mode", default="json")
    ap.add_argument("--pieces", type=int, default=5)
    ap.add_argument("--gap-ms", type=int, default=0)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(args.alpn.split(","))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(512)
    ctl = ThreadingHTTPServer(("127.0.0.1", 0), Ctl)
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    print(json.dumps({"port": ls.getsockname()[1], "ctl": ctl.server_address[1]}), flush=True)
    while True:
        raw, _ = ls.accept()
        threading.Thread(target=serve_conn, args=(raw, ctx, args), daemon=True).start()


if __name__ == "__main__":
    main()
