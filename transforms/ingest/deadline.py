"""A wall-clock deadline for one fetch that can interrupt a blocked socket read.

Read timeouts bound each `recv`, not the whole response: a server that trickles one byte every
few seconds (in the headers or the body) never trips them. A timer that shuts the socket down
when the deadline passes makes the blocked read return at once, whatever phase it is in.
The socket is learned from httpx's documented `trace` request extension (it reports each new
connection); the client is built without keep-alive so every request opens one.
"""

from __future__ import annotations

import socket
import threading
import time


class Deadline:
    """Use as a context manager around one request; pass `trace` as the request's trace hook."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = time.monotonic()
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:  # noqa: PYI034 - final class, Self needs 3.11
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return self.seconds - self.elapsed()

    def check(self) -> None:
        """Raise DeadlineExceeded if time is up (for loops that do make progress)."""
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise DeadlineExceeded(self.seconds)

    def trace(self, event: str, info: dict) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            late = self.expired
        if late:
            _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


class DeadlineExceeded(Exception):
    def __init__(self, seconds: float):
        self.seconds = seconds
        super().__init__(f"deadline of {seconds:g} s exceeded")


def _shutdown(sock: socket.socket) -> None:
    """Shut the fd down (not close: the reading thread still owns it). Skips SSL state on purpose."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass
