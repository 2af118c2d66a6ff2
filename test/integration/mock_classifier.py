"""A scripted classifier service for kt's model tier (HTTP, or HTTPS with a test certificate, on
127.0.0.1 and a free port): the
OpenAI /v1/moderations API and an OpenAI-compatible /v1/chat/completions guard model. Stdlib only.

    mc = MockClassifier().start()   # MockClassifier(cert, key): HTTPS as "localhost"
    mc.url                       # "http://127.0.0.1:PORT" (or "https://localhost:PORT")
    mc.flag = {"word": ["hate"]} # moderations: an input containing "word" is flagged in "hate"
    mc.answer = "unsafe\\nS10"    # chat: the guard's answer text (default "safe")
    mc.answers = {"word": "yes"} # chat: the answer when the user content contains "word"
    mc.mode = "normal" | "slow" | "badjson" | "status"   (slow: sleeps mc.delay seconds)
    mc.requests                  # [{"path", "headers" (dict, lower-case names), "body" (parsed)}]
    mc.stop()
"""
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPENAI_CATEGORIES = ("hate", "hate/threatening", "harassment", "harassment/threatening",
                     "self-harm", "self-harm/intent", "self-harm/instructions", "sexual",
                     "sexual/minors", "violence", "violence/graphic", "illicit", "illicit/violent")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        mc = self.server.mc
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with mc.lock:
            mc.requests.append({"path": self.path, "body": body, "raw": raw,
                                "headers": {k.lower(): v for k, v in self.headers.items()}})
            mode = mc.mode
        if mode == "slow":
            time.sleep(mc.delay)
        if mode == "status":
            return self.reply(500, b'{"error":{"message":"boom"}}')
        if mode == "badjson":
            return self.reply(200, b'{"results": [ {"flagged": tru')
        if self.path.endswith("/moderations"):
            return self.reply(200, json.dumps(mc.moderation(body)).encode())
        return self.reply(200, json.dumps(mc.chat(body)).encode())

    def reply(self, status, data):
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass   # kt timed out and hung up


class MockClassifier:
    def __init__(self, cert=None, key=None):
        self.cert, self.key = cert, key
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.requests = []
        self.flag = {}
        self.answer = "safe"
        self.answers = {}
        self.mode = "normal"
        self.delay = 1.0

    def moderation(self, body):
        results = []
        for text in (body or {}).get("input") or []:
            cats = {c: False for c in OPENAI_CATEGORIES}
            for word, flagged in self.flag.items():
                if word in text:
                    for c in flagged:
                        cats[c] = True
            results.append({"flagged": any(cats.values()), "categories": cats,
                            "category_scores": {c: (0.9 if v else 0.01) for c, v in cats.items()}})
        return {"id": "modr-1", "model": (body or {}).get("model"), "results": results}

    def chat(self, body):
        user = ""
        for m in (body or {}).get("messages") or []:
            if m.get("role") == "user":
                user = m.get("content") or ""
        text = self.answer
        for word, a in self.answers.items():
            if word in user:
                text = a
        return {"id": "chatcmpl-1", "object": "chat.completion", "model": (body or {}).get("model"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}]}

    def texts(self):
        """Every text sent so far (moderations inputs and chat user contents)."""
        out = []
        with self.lock:
            for r in self.requests:
                b = r["body"] or {}
                out.extend(b.get("input") or [])
                out.extend(m.get("content") for m in b.get("messages") or [] if m.get("role") == "user")
        return out

    def start(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.mc = self
        self.httpd.handle_error = lambda request, address: None
        if self.cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert, self.key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = ("https://localhost:%d" if self.cert else "http://127.0.0.1:%d") % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
