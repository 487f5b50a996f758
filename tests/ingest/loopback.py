"""A loopback HTTP server for the ingestion tests: real sockets on 127.0.0.1, port 0.

`Loopback.route(path, handler)` registers a function that writes the raw response on the
socket, so tests can misbehave exactly like hostile or broken servers do (trickle, lie about
sizes, loop redirects). tests/loopback.py has scripted answers; these need the raw socket.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.server.requests.append((self.path, dict(self.headers)))
        handler = self.server.routes.get(self.path.split("?")[0])
        if handler is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            handler(self)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the client cut us off: that is what several tests expect

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 drops SYNs under concurrent tests

    def handle_error(self, request, client_address):
        pass  # clients cutting connections (deadline, size cap) is the point of these tests


class Loopback:
    def __init__(self):
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.routes = {}
        self.httpd.requests = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def requests(self):
        return self.httpd.requests

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def route(self, path: str, handler) -> str:
        self.httpd.routes[path] = handler
        return self.url(path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(status: int = 200, body: bytes = b"", headers: dict | None = None):
    """A handler sending a complete response."""

    def handle(req):
        req.send_response(status)
        for name, value in (headers or {}).items():
            req.send_header(name, value)
        if "Content-Length" not in (headers or {}):
            req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    return handle
