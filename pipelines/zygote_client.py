"""The worker command Beam's local engine starts when a zygote runs (pipelines/zygote.py).

Beam starts each `multi_processing` worker as a shell command and waits for it to exit. This
command, a plain-library script started with `python -S -I` (about 15 ms), hands its standard
streams, environment and working directory to the zygote, which forks an already-imported worker
onto them; it then waits for that worker's exit code and exits with it. Beam sees what it sees
with a fresh worker process: the worker's output on the same streams, and its exit code.

When no zygote answers (it never started, it exited, its imports failed), nothing has been
forked yet, and the command becomes a fresh worker process (`python -m wirewatch.pipelines.worker`)
instead: slower to start, the same worker.

Kept free of wirewatch imports on purpose: it runs without site-packages.
"""

import json
import os
import signal
import socket
import struct
import sys

FORKED = b"forked\n"


def request(path: str) -> socket.socket | None:
    """The connection to the zygote at `path` once it has forked our worker; None if nothing was
    forked (no zygote, or it went away before forking)."""
    body = json.dumps({"env": dict(os.environ), "cwd": os.getcwd()}).encode()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        socket.send_fds(conn, [struct.pack(">I", len(body))], [0, 1, 2])
        conn.sendall(body)
        reply = b""
        while len(reply) < len(FORKED) and (chunk := conn.recv(len(FORKED) - len(reply))):
            reply += chunk
    except OSError:
        reply = b""
    if reply != FORKED:
        conn.close()
        return None
    return conn


def exit_code(conn: socket.socket) -> int:
    """The forked worker's exit code, sent by the zygote when it exits (1 if the zygote went away
    first: the worker is gone with it, so Beam must see a failed worker)."""
    reply = b""
    try:
        while not reply.endswith(b"\n") and (chunk := conn.recv(16)):
            reply += chunk
    except OSError:
        return 1
    try:
        return int(reply)
    except ValueError:
        return 1


def main() -> None:
    conn = request(sys.argv[1])
    if conn is None:
        python = sys.executable
        os.execv(python, [python, "-m", "wirewatch.pipelines.worker"])
    # Ctrl-C in a terminal signals the whole process group: the worker and the driver act on
    # it; this relay only waits for the worker's exit code (it printed a traceback instead)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(exit_code(conn))


if __name__ == "__main__":
    main()
