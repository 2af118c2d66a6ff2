"""A real redis-server for the shared-state tests: started on a free loopback port with no
persistence (`--save "" --appendonly no`), stopped by its PID, and a small RESP client to look at
it (commands as argument lists, replies as Python values; no redis-cli quoting in between).

    r = RedisServer().start()        # raises unittest.SkipTest when redis-server is missing
    r.cmd("GET", "kt:x")
    r.kill9(); r.restart()            # the same port again
    r.stop()
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import free_port


def have_redis():
    return shutil.which("redis-server") is not None


class RespError(Exception):
    pass


def _read_line(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis closed the connection")
    return line[:-2]


def _read(f):
    line = _read_line(f)
    t, rest = line[:1], line[1:]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return RespError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if t == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [_read(f) for _ in range(n)]
    raise ConnectionError("bad RESP line %r" % line)


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RedisServer:
    def __init__(self, password=None, port=None):
        self.port = port or free_port()
        self.password = password
        self.dir = tempfile.mkdtemp(prefix="kt-redis-")
        self.proc = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def start(self, timeout=10.0):
        if not have_redis():
            raise unittest.SkipTest("redis-server is not installed (make test installs it via "
                                    "mk/test-deps.sh)")
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--daemonize", "no",
                "--protected-mode", "no"]
        if self.password:
            argv += ["--requirepass", self.password]
        self.log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if self.cmd("PING") == "PONG":
                    return self
            except (OSError, ConnectionError, RespError):
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError("redis-server did not answer PING on port %d" % self.port)

    def cmd(self, *args, timeout=5.0):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            f = s.makefile("rb")
            if self.password:
                s.sendall(encode(["AUTH", self.password]))
                r = _read(f)
                if isinstance(r, RespError):
                    raise r
            s.sendall(encode(list(args)))
            r = _read(f)
            if isinstance(r, RespError):
                raise r
            return r

    def keys(self, pattern="*"):
        return sorted(k.decode() for k in self.cmd("KEYS", pattern))

    def commandstats(self):
        """{command: calls} from INFO commandstats."""
        out = {}
        for line in self.cmd("INFO", "commandstats").decode().splitlines():
            if line.startswith("cmdstat_"):
                name, rest = line[8:].split(":", 1)
                calls = int(rest.split(",")[0].split("=")[1])
                out[name] = calls
        return out

    def monitor(self):
        """A connection in MONITOR mode: read lines with .readline()."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = s.makefile("rb")
        if self.password:
            s.sendall(encode(["AUTH", self.password]))
            _read(f)
        s.sendall(encode(["MONITOR"]))
        _read(f)   # +OK
        return s, f

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def restart(self):
        self.kill9()
        return self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def parse_monitor_line(line):
    """The arguments of one MONITOR line (`ts [db addr] "A" "B" ...`), unescaped to bytes."""
    line = line.decode("latin-1").rstrip("\r\n")
    i = line.find('"')
    out = []
    while 0 <= i < len(line):
        assert line[i] == '"', line
        i += 1
        buf = bytearray()
        while line[i] != '"':
            ch = line[i]
            if ch == "\\":
                nx = line[i + 1]
                if nx == "x":
                    buf.append(int(line[i + 2:i + 4], 16))
                    i += 4
                    continue
                buf.extend({"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b",
                            '"': b'"', "\\": b"\\"}.get(nx, nx.encode("latin-1")))
                i += 2
                continue
            buf.extend(ch.encode("latin-1"))
            i += 1
        out.append(bytes(buf))
        i = line.find('"', i + 1)
    return out
