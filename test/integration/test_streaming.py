"""Streaming: SSE passes through event by event as the upstream writes it (no buffering), for every
streaming API; backpressure keeps kt's memory bounded when the client does not read; a stream cut by
the upstream is cut for the client too."""
import json
import socket
import threading
import time

from harness import KtCase


def read_events(resp, on_event=None):
    """Read an SSE body line by line; returns [(monotonic time, event text)]."""
    events, cur = [], b""
    while True:
        line = resp.readline()
        if not line:
            break
        if line in (b"\n", b"\r\n"):
            if cur:
                events.append((time.monotonic(), cur.decode()))
                if on_event:
                    on_event(len(events))
                cur = b""
            continue
        cur += line
    if cur:
        events.append((time.monotonic(), cur.decode()))
    return events


class StreamingTest(KtCase):
    def open_stream(self, path="/v1/chat/completions", headers=None, **fields):
        req = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        req.update(fields)
        c = self.kt.conn(timeout=20)
        h = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        h.update(headers or {})
        c.request("POST", path, body=json.dumps(req), headers=h)
        return c, c.getresponse()

    def test_chat_stream_not_buffered(self):
        c, r = self.open_stream(headers={"x-mock-events": "6", "x-mock-interval": "0.4"})
        try:
            t_headers = time.monotonic()
            self.assertEqual(r.status, 200)
            self.assertIn("text/event-stream", r.getheader("content-type", ""))
            self.assertIsNone(r.getheader("content-length"))
            events = read_events(r)
        finally:
            c.close()
        rec = self.mock.wait_requests(1)[0]
        # The mock marks the request done after its last write returns, which can be a moment
        # after the client has read [DONE].
        for _ in range(100):
            if rec.done:
                break
            time.sleep(0.02)
        self.assertTrue(rec.done)
        datas = [e for _, e in events]
        self.assertEqual(datas[-1].strip(), "data: [DONE]")
        chunks = [json.loads(d[len("data: "):]) for d in datas[:-1]]
        self.assertTrue(all(ch["object"] == "chat.completion.chunk" for ch in chunks))
        text = "".join(ch["choices"][0]["delta"].get("content") or "" for ch in chunks if ch["choices"])
        self.assertEqual(text, "w0 w1 w2 w3 w4 w5")
        self.assertEqual(len(events), len(rec.sent_times))
        first_recv = events[0][0]
        last_sent = rec.sent_times[-1]
        # the whole stream takes ~3.2 s upstream; the first event must be at the client long before the end
        self.assertLess(first_recv, last_sent - 2.0, "kt buffered the stream")
        # and every event arrives close to when it was sent
        for (t_recv, _), t_sent in zip(events, rec.sent_times):
            self.assertLess(t_recv - t_sent, 0.3, "event delayed by kt: %.3f s" % (t_recv - t_sent))
        self.assertLess(t_headers - rec.time, 0.5)

    def test_all_stream_kinds(self):
        cases = [
            ("/v1/chat/completions", {}, "data: [DONE]"),
            ("/v1/completions", {"prompt": "hi"}, "data: [DONE]"),
            ("/v1/responses", {"input": "hi"}, "event: response.completed"),
            ("/v1/messages", {"model": "claude-3-5-sonnet", "max_tokens": 5}, "event: message_stop"),
        ]
        for path, extra, last in cases:
            with self.subTest(path=path):
                self.mock.reset()
                c, r = self.open_stream(path=path, headers={"x-mock-interval": "0.2"}, **extra)
                try:
                    self.assertEqual(r.status, 200)
                    events = read_events(r)
                finally:
                    c.close()
                rec = self.mock.wait_requests(1)[0]
                self.assertTrue(events[-1][1].startswith(last), events[-1])
                self.assertEqual(len(events), len(rec.sent_times))
                self.assertLess(events[0][0], rec.sent_times[-1] - 0.4, "buffered")

    def test_anthropic_event_types_intact(self):
        c, r = self.open_stream(path="/v1/messages", model="claude-3-5-sonnet", max_tokens=5)
        try:
            events = read_events(r)
        finally:
            c.close()
        types = [e.split("\n")[0][len("event: "):] for _, e in events]
        self.assertEqual(types[:3], ["message_start", "content_block_start", "ping"])
        self.assertEqual(types[-3:], ["content_block_stop", "message_delta", "message_stop"])
        for _, e in events:
            ev, data = e.split("\n")[:2]
            self.assertEqual(json.loads(data[len("data: "):])["type"], ev[len("event: "):])

    def test_stream_then_keepalive(self):
        c, r = self.open_stream()
        try:
            read_events(r)
            sock = c.sock
            c.request("GET", "/healthz")
            r2 = c.getresponse()
            self.assertEqual(r2.status, 200)
            r2.read()
            self.assertIs(c.sock, sock, "connection not reused after a stream")
        finally:
            c.close()

    def test_upstream_closes_mid_stream(self):
        c, r = self.open_stream(headers={"x-mock-mode": "midclose", "x-mock-interval": "0.05"})
        got, err = b"", None
        try:
            self.assertEqual(r.status, 200)
            try:
                while True:
                    d = r.read1(65536) if hasattr(r, "read1") else r.read(1)
                    if not d:
                        break
                    got += d
            except Exception as e:  # IncompleteRead / reset: the client must see the stream cut
                err = e
        finally:
            c.close()
        self.assertNotIn(b"[DONE]", got)
        self.assertIsNotNone(err, "a cut upstream stream was ended cleanly towards the client "
                                  "(kt must not send the final 0-chunk)")
        self.assertIn(b"chat.completion.chunk", got)

    def test_client_disconnect_mid_stream_frees_upstream(self):
        c, r = self.open_stream(headers={"x-mock-events": "200", "x-mock-interval": "0.05"})
        r.readline()
        c.close()
        if r.fp:
            r.close()
        rec = self.mock.wait_requests(1)[0]
        deadline = time.monotonic() + 5
        while not rec.done and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(rec.done, "upstream stream kept running after the client went away")
        self.assertLess(len(rec.sent_times), 150)
        st, _, _ = self.kt.request("GET", "/healthz")
        self.assertEqual(st, 200)


class BackpressureTest(KtCase):
    def test_client_not_reading_keeps_rss_bounded(self):
        size = 64 << 20  # the mock would send 64 MiB if nobody pushed back
        body = json.dumps({"model": "gpt-4o-mini", "stream": True, "messages": []}).encode()
        s = socket.create_connection(("127.0.0.1", self.kt.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        rss0 = self.kt.rss_kb()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nx-mock-mode: huge\r\n"
                  b"x-mock-size: %d\r\nContent-Length: %d\r\n\r\n%s" % (size, len(body), body))
        rec = self.mock.wait_requests(1)[0]
        peak = rss0
        try:
            for _ in range(30):  # 3 s without reading a byte
                time.sleep(0.1)
                peak = max(peak, self.kt.rss_kb())
            sent_while_blocked = rec.sent_bytes
            time.sleep(0.5)
            self.assertLess(rec.sent_bytes - sent_while_blocked, 1 << 20,
                            "upstream kept sending while the client was not reading")
            self.assertLess(sent_while_blocked, 16 << 20,
                            "kt read %d MiB from upstream for a client that reads nothing"
                            % (sent_while_blocked >> 20))
            self.assertLess(peak - rss0, 32 * 1024, "kt RSS grew by %d MiB" % ((peak - rss0) >> 10))
            # now read it all: the stream resumes and completes (cap reading at 20 s)
            s.settimeout(30)
            got = 0
            tail = b""
            t_end = time.monotonic() + 60
            while time.monotonic() < t_end:
                d = s.recv(1 << 20)
                if not d:
                    break
                got += len(d)
                tail = (tail + d)[-64:]
                if tail.endswith(b"0\r\n\r\n") and b"[DONE]" in tail:
                    break
                
            self.assertIn(b"[DONE]", tail, "stream incomplete after reading %d bytes" % got)
            self.assertGreater(got, size)
            self.assertLess(peak - rss0, 32 * 1024, "kt RSS grew by %d MiB" % ((peak - rss0) >> 10))
        finally:
            s.close()


class ConcurrentStreamsTest(KtCase):
    def test_many_concurrent_streams_no_crosstalk(self):
        n = 30
        results = {}

        def one(i):
            words = " ".join("s%d-w%d" % (i, j) for j in range(8))
            c = self.kt.conn(timeout=30)
            try:
                c.request("POST", "/v1/chat/completions", body=json.dumps(
                    {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": words}]}),
                    headers={"x-mock-mode": "echo", "x-mock-interval": "0.05"})
                r = c.getresponse()
                text = ""
                for _, ev in read_events(r):
                    if ev.startswith("data: {"):
                        ch = json.loads(ev[6:])
                        if ch["choices"]:
                            text += ch["choices"][0]["delta"].get("content") or ""
                results[i] = (r.status, text == words, text)
            except Exception as e:
                results[i] = (None, False, repr(e))
            finally:
                c.close()
        ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        bad = {i: v for i, v in results.items() if v[:2] != (200, True)}
        self.assertEqual(len(results), n)
        self.assertEqual(bad, {})
