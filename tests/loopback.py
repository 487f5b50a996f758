"""Real protocol peers on 127.0.0.1 for tests: a feed server and a Slack server.

The Slack server speaks the two protocols slack_sdk uses: incoming webhooks (POST JSON to
/services/..., answers "ok") and the Web API (POST /api/chat.postMessage with a bearer token,
answers {"ok": true, "ts": ...}). Tests script failures per path: a queue of (status, headers,
body) answers consumed one per request, then the normal answer; or an outage (`fail_all`) that
answers every request the same way until `recover`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server:
    """Binds 127.0.0.1 port 0 itself (the port is its own from then on) and exposes it as `port`.

    `listening=False` keeps the port bound but refuses connections until `listen()`: a server
    that is "down" and then comes back, on a port no other process can take in between (unlike
    probing a free port, closing it and starting a server on that number later).
    """

    def __init__(self, *, listening: bool = True):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                outer._handle(self, b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                outer._handle(self, self.rfile.read(length))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.httpd.daemon_threads = True
        self.httpd.server_bind()
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.listening = listening
        # a short poll interval: shutdown() waits for the loop's next poll (0.5 s by default)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        if self.listening:
            self.httpd.server_activate()
            self.thread.start()
        return self

    def listen(self) -> None:
        """Start accepting connections (for a server entered with `listening=False`)."""
        assert not self.thread.is_alive(), "already listening"
        self.listening = True
        self.httpd.server_activate()
        self.thread.start()

    def __exit__(self, *exc):
        if self.thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def _reply(handler, status: int, headers: dict, body: bytes):
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        try:
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a scripted slow answer): nobody to answer


class FeedServer(_Server):
    """Serves `feeds[path] = (status, headers, body)`; tests change them between polls.

    Slow hosts, for the fetch tests: `trickle[path] = seconds` sends that body one byte every
    `seconds` after the headers (no read timeout ever trips; only a total deadline stops it);
    `gates[path] = event` holds that answer until the event is set (at most GATE_WAIT s).
    `arrived[path]` is set when a request for `path` comes in. What the server saw: `requests`
    (path, headers), `spans` (path, start, end on time.monotonic()), and `peak`, the most
    requests in flight at once. One server is one host: the fetch's host key includes the port.
    """

    GATE_WAIT = 10.0

    def __init__(self):
        super().__init__()
        self.feeds: dict[str, tuple[int, dict, bytes]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.trickle: dict[str, float] = {}
        self.gates: dict[str, threading.Event] = {}
        self.arrived: defaultdict[str, threading.Event] = defaultdict(threading.Event)
        self.spans: list[tuple[str, float, float]] = []
        self.peak = 0
        self._active = 0
        self._closing = threading.Event()  # ends the trickles when the test is over

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def __exit__(self, *exc):
        self._closing.set()
        for gate in list(self.gates.values()):
            gate.set()
        return super().__exit__(*exc)

    def _handle(self, handler, body):
        with self.lock:
            self.requests.append((handler.path, dict(handler.headers)))
            status, headers, content = self.feeds.get(handler.path, (404, {}, b"not found"))
            gate, pause = self.gates.get(handler.path), self.trickle.get(handler.path)
            self._active += 1
            self.peak = max(self.peak, self._active)
            self.arrived[handler.path].set()
        span = _Span(self, handler.path)
        try:
            if gate is not None:
                gate.wait(self.GATE_WAIT)
            if pause is None:
                span.end()
                self._reply(handler, status, headers, content)
            else:
                self._trickle(handler, status, headers, content, pause, span)
        finally:
            span.end()

    def _trickle(self, handler, status: int, headers: dict, body: bytes, pause: float, span):
        try:
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            if not body:
                span.end()
            handler.end_headers()
            handler.wfile.flush()
            for i in range(len(body)):
                if self._closing.wait(pause):
                    return
                if i == len(body) - 1:
                    span.end()
                handler.wfile.write(body[i : i + 1])
                handler.wfile.flush()
        except OSError:
            pass  # the client cut the connection (its deadline): what a trickle test expects


class _Span:
    """One request in flight. It ends just BEFORE the last byte of the answer is written: a
    client cannot have sent its next request by then, so `peak` never counts one client's
    consecutive requests as simultaneous. (A request the client cut off ends when the server
    notices, so `peak` is exact only for answers the client reads to the end.)"""

    def __init__(self, server: FeedServer, path: str):
        self.server, self.path, self.started, self.ended = server, path, time.monotonic(), False

    def end(self) -> None:
        with self.server.lock:
            if self.ended:
                return
            self.ended = True
            self.server._active -= 1
            self.server.spans.append((self.path, self.started, time.monotonic()))


class SlackServer(_Server):
    WEBHOOK_PATH = "/services/T000/B000/XXXX"

    def __init__(self, *, listening: bool = True):
        super().__init__(listening=listening)
        self.received: list[dict] = []  # accepted messages, in order
        self.attempts: dict[str, int] = defaultdict(int)
        self.scripted: dict[str, deque] = defaultdict(deque)
        self.outages: dict[str, tuple] = {}  # path -> the answer while it is down
        self.token = "xoxb-test-token"

    @property
    def webhook_url(self) -> str:
        return f"{self.base}{self.WEBHOOK_PATH}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def fail_next(
        self,
        path: str,
        status: int,
        headers: dict | None = None,
        body: bytes = b"",
        times: int = 1,
        delay: float = 0.0,
    ):
        """The next `times` requests to `path` get this answer (after `delay` seconds)."""
        for _ in range(times):
            self.scripted[path].append((status, headers or {}, body, delay))

    def fail_all(
        self, path: str, status: int = 500, headers: dict | None = None, body: bytes = b""
    ):
        """An outage: every request to `path` gets this answer (after any scripted ones)
        until `recover(path)`."""
        with self.lock:
            self.outages[path] = (status, headers or {}, body, 0.0)

    def recover(self, path: str):
        with self.lock:
            self.outages.pop(path, None)

    def texts(self) -> list[str]:
        return [m.get("text", "") for m in self.received]

    def _handle(self, handler, body):
        path = handler.path.split("?")[0]
        with self.lock:
            self.attempts[path] += 1
            scripted = self.scripted[path].popleft() if self.scripted[path] else None
            scripted = scripted or self.outages.get(path)
        if scripted:
            status, headers, content, delay = scripted
            time.sleep(delay)
            return self._reply(handler, status, headers, content)
        payload = json.loads(body or b"{}")
        if path == self.WEBHOOK_PATH:
            with self.lock:
                self.received.append(payload)
            return self._reply(handler, 200, {"Content-Type": "text/plain"}, b"ok")
        if path == "/api/chat.postMessage":
            if handler.headers.get("Authorization") != f"Bearer {self.token}":
                return self._reply(
                    handler,
                    200,
                    {"Content-Type": "application/json"},
                    b'{"ok": false, "error": "invalid_auth"}',
                )
            if not payload.get("channel"):
                return self._reply(
                    handler,
                    200,
                    {"Content-Type": "application/json"},
                    b'{"ok": false, "error": "channel_not_found"}',
                )
            with self.lock:
                ts = f"{time.time():.6f}"
                self.received.append({**payload, "_ts": ts})  # _ts: the ts we answered with
            answer = {
                "ok": True,
                "channel": payload["channel"],
                "ts": ts,
                "message": {"text": payload.get("text", ""), "ts": ts},
            }
            return self._reply(
                handler, 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()
            )
        return self._reply(handler, 404, {}, b"no such endpoint")
