"""Idle sockets cannot starve real clients (issue 13, item 9): connections that have not sent a
complete request head have a budget of their own (gateway.max_idle_connections, default half of
max_connections) and give way oldest first, so a real request is answered at once even while
max_connections silent sockets are open; refusals are logged once per interval with a count."""
import resource
import socket
import time

from harness import KtCase, config_yaml

HEADER_TIMEOUT = 30   # far longer than the test: only eviction can free the room


def open_silent(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        socks.append(s)
    return socks


def closed_by_peer(s):
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


class IdleSocketsTest(KtCase):
    @classmethod
    def config(cls, mock):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 4096 <= hard:   # 1,024 sockets here and 1,024 in kt (it inherits the limit)
            resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
        return config_yaml(mock, header_timeout="%ds" % HEADER_TIMEOUT, max_connections=1024)

    def tearDown(self):
        for s in getattr(self, "socks", []):
            s.close()
        time.sleep(0.2)
        super().tearDown()

    def test_1024_silent_sockets_and_a_real_client(self):
        self.socks = open_silent(self.kt.port, 1024)   # the default max_connections
        time.sleep(0.3)
        t0 = time.monotonic()
        st, _, body = self.kt.chat(timeout=5)
        elapsed = time.monotonic() - t0
        self.assertEqual(st, 200, body)
        self.assertLess(elapsed, 1.0)
        # the oldest silent ones made room, down to the budget (default: 512 waiting connections,
        # the real client's own connection among them while its head was on the way)
        closed = [closed_by_peer(s) for s in self.socks]
        self.assertEqual(sum(closed), 1024 - 511)
        self.assertTrue(all(closed[:513]) and not any(closed[513:]), "not the oldest first")


class TightCapTest(KtCase):
    @classmethod
    def config(cls, mock):
        return config_yaml(mock, header_timeout="%ds" % HEADER_TIMEOUT, max_connections=8,
                           max_idle_connections=4)

    def tearDown(self):
        for s in getattr(self, "socks", []):
            s.close()
        time.sleep(0.2)
        super().tearDown()

    def test_budget_for_waiting_connections(self):
        self.socks = open_silent(self.kt.port, 20)
        time.sleep(0.3)   # older than the 100 ms a fresh connection is spared
        for _ in range(3):
            st, _, body = self.kt.chat(timeout=5)
            self.assertEqual(st, 200, body)
        open_now = [s for s in self.socks if not closed_by_peer(s)]
        self.assertEqual(len(open_now), 3)           # the budget of 4, less the client's own
        self.assertEqual(open_now, self.socks[-3:])  # the newest kept
        # no refusal happened (waiting ones gave way), so no refusal line either
        self.assertFalse([l for l in self.kt.log_lines() if l.get("event") == "connection_refused"])


class RefusalLogTest(KtCase):
    @classmethod
    def config(cls, mock):
        return config_yaml(mock, max_connections=4, upstream_first_byte_timeout="20s")

    def test_refusals_are_logged_once_per_interval(self):
        import threading
        busy = []

        results = []

        def hang():
            try:
                results.append(self.kt.chat(headers={"x-mock-mode": "hang"}, timeout=6)[0])
            except OSError as e:
                results.append(repr(e))
        for _ in range(4):   # four requests in flight: nothing waiting can give way
            t = threading.Thread(target=hang, daemon=True)
            t.start()
            busy.append(t)
        deadline = time.monotonic() + 5
        while len(self.mock.requests) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.mock.requests), 4, (results, self.kt.log_lines()[-5:]))
        statuses = [self.kt.chat(timeout=5)[0] for _ in range(6)]
        self.assertEqual(statuses, [503] * 6)
        lines = [l for l in self.kt.log_lines() if l.get("event") == "connection_refused"]
        self.assertEqual(len(lines), 1, lines)
        for t in busy:
            t.join(8)
