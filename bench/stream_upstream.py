#!/usr/bin/env python3
"""Slow streaming upstream for the 500-streams memory measurement (stdlib only).

An asyncio HTTP/1.1 server over TLS with keep-alive. POST /v1/chat/completions with
"stream": true in the body is answered with SSE chat.completion.chunk events every
--interval seconds for --seconds seconds, then `data: [DONE]`; any other POST gets a small
non-streaming chat.completion (whose content is the request body itself when that contains
"bench-echo"). It prints "READY <port>" on stdout once listening, and on
SIGTERM a one-line JSON summary (peak concurrent streams, streams served).

Usage: stream_upstream.py --cert C --key K [--port 0] [--seconds 10] [--interval 0.1]
"""
import argparse
import asyncio
import json
import signal
import ssl
import sys

CHAT = (b'{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,'
        b'"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant",'
        b'"content":"Hello from the bench upstream."},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":20,"completion_tokens":7,"total_tokens":27}}')

CHUNK = (b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
         b'"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"token "},'
         b'"finish_reason":null}]}\n\n')
LAST = (b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,'
        b'"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        b'data: [DONE]\n\n')

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024


def chunked(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


class Stats:
    def __init__(self):
        self.active = 0
        self.peak = 0
        self.streams = 0
        self.requests = 0


async def read_request(reader):
    """Returns (method, path, headers, body) or None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    if len(head) > MAX_HEAD:
        return None
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        return None
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower()] = v.strip()
    body = b""
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size + 2)
            body = body[:-2]
            if len(body) > MAX_BODY:
                return None
    else:
        n = int(headers.get(b"content-length", b"0"))
        if n > MAX_BODY:
            return None
        body = await reader.readexactly(n)
    return parts[0], parts[1], headers, body


def wants_stream(body):
    try:
        return bool(json.loads(body).get("stream"))
    except (ValueError, AttributeError):
        return False


async def serve_stream(writer, args, stats):
    stats.active += 1
    stats.streams += 1
    stats.peak = max(stats.peak, stats.active)
    try:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
        n = max(1, int(round(args.seconds / args.interval)))
        for _ in range(n):
            writer.write(chunked(CHUNK))
            await writer.drain()
            await asyncio.sleep(args.interval)
        writer.write(chunked(LAST) + b"0\r\n\r\n")
        await writer.drain()
    finally:
        stats.active -= 1


async def handle(reader, writer, args, stats):
    try:
        while True:
            req = await read_request(reader)
            if req is None:
                break
            stats.requests += 1
            _method, _path, headers, body = req
            if wants_stream(body):
                await serve_stream(writer, args, stats)
            elif b"bench-echo" in body:
                # the request body as received, inside a chat.completion: shows what a proxy
                # forwarded (and, with output policies, what it let back)
                reply = json.dumps({
                    "id": "chatcmpl-echo", "object": "chat.completion", "created": 1700000000,
                    "model": "gpt-4o-mini", "choices": [{
                        "index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant",
                                    "content": body.decode("utf-8", "replace")}}]}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(reply), reply))
                await writer.drain()
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(CHAT), CHAT))
                await writer.drain()
            if headers.get(b"connection", b"").lower() == b"close":
                break
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ssl.SSLError, ValueError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, ssl.SSLError):
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=0.1)
    args = ap.parse_args()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    stats = Stats()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args, stats),
                                        args.host, args.port, ssl=ctx, backlog=2048,
                                        limit=MAX_HEAD)
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    print(json.dumps({"peak_streams": stats.peak, "streams": stats.streams,
                      "requests": stats.requests}), flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
