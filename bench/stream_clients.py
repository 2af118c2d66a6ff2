#!/usr/bin/env python3
"""Opens N concurrent streaming chat requests to a proxy (plain HTTP, stdlib asyncio).

Prints "ACTIVE <k> <seconds>" on stdout as soon as all N streams have received their first SSE
event (or, after --ramp-timeout, with however many are active then), so the caller can sample the
proxy's memory while every stream is open; then waits for all streams to end and prints a JSON
summary line.

Usage: stream_clients.py --port P [--n 500] [--timeout 60] [--ramp-timeout 6]
"""
import argparse
import asyncio
import json
import sys
import time

BODY = json.dumps({
    "model": "gpt-4o-mini", "stream": True, "max_tokens": 128,
    "messages": [{"role": "user", "content": "Write a short poem about the sea."}],
}).encode()


class State:
    def __init__(self, n):
        self.n = n
        self.connected = 0
        self.active = 0
        self.peak_active = 0
        self.first = 0
        self.done = 0
        self.errors = 0
        self.non200 = 0
        self.non200_sample = None
        self.all_active = asyncio.Event()
        self.ttfb = []


async def one(host, port, st, timeout):
    t0 = time.monotonic()
    got_first = False
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        st.connected += 1
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: %s:%d\r\n"
                     b"Content-Type: application/json\r\nAuthorization: Bearer sk-client\r\n"
                     b"Accept: text/event-stream\r\nContent-Length: %d\r\n\r\n%s"
                     % (host.encode(), port, len(BODY), BODY))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        if not head.startswith(b"HTTP/1.1 200"):
            st.non200 += 1
            if st.non200_sample is None:
                body = b""
                try:
                    body = await asyncio.wait_for(reader.read(300), 2)
                except (OSError, asyncio.TimeoutError):
                    pass
                st.non200_sample = (head.split(b"\r\n", 1)[0] + b" " + body[:300]).decode(
                    "utf-8", "replace")
            return
        tail = b""
        while True:
            data = await asyncio.wait_for(reader.read(65536), timeout)
            if not data:
                break
            if not got_first and b"data:" in data:
                got_first = True
                st.first += 1
                st.active += 1
                st.peak_active = max(st.peak_active, st.active)
                st.ttfb.append(time.monotonic() - t0)
                if st.active == st.n:
                    st.all_active.set()
            window = tail + data
            if b"[DONE]" in window:
                st.done += 1
                break
            tail = window[-16:]
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
            asyncio.LimitOverrunError):
        st.errors += 1
    finally:
        if got_first:
            st.active -= 1
        if writer is not None:
            writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--ramp-timeout", type=float, default=6.0)
    ap.add_argument("--batch", type=int, default=50)
    args = ap.parse_args()
    st = State(args.n)
    t0 = time.monotonic()
    tasks = []
    for i in range(args.n):
        tasks.append(asyncio.create_task(one(args.host, args.port, st, args.timeout)))
        if (i + 1) % args.batch == 0:
            await asyncio.sleep(0.02)  # stay under the listen backlog of either proxy
    try:
        await asyncio.wait_for(st.all_active.wait(), args.ramp_timeout)
    except asyncio.TimeoutError:
        pass
    print("ACTIVE %d %.3f" % (st.active, time.monotonic() - t0), flush=True)
    await asyncio.gather(*tasks)
    ttfb = sorted(st.ttfb)
    print(json.dumps({
        "n": args.n, "connected": st.connected, "first_event": st.first, "done": st.done,
        "errors": st.errors, "non200": st.non200, "non200_sample": st.non200_sample,
        "peak_active": st.peak_active,
        "ttfb_p50_ms": round(ttfb[len(ttfb) // 2] * 1000, 1) if ttfb else None,
        "ttfb_max_ms": round(ttfb[-1] * 1000, 1) if ttfb else None,
        "elapsed_s": round(time.monotonic() - t0, 2),
    }), flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(1)
