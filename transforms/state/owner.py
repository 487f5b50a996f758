"""One delivering owner per SQLite store: an exclusive OS lock on a file beside the database.

Why an OS lock and not a row in the database: the kernel drops it when the holder dies however
it dies (SIGKILL, power loss), so there is nothing stale to expire or clean up, and a second
`wirewatch run` on the same state directory learns at once who holds it. Two processes on one
file would otherwise both claim and send (issue 14: 94 duplicates in 75 s).

The lock is `flock(LOCK_EX | LOCK_NB)`: it belongs to the open file description, so a second
acquire in the same process (another store object on the same file) is granted from a
per-process table instead of conflicting with itself, and a forked child shares the parent's
lock without taking a new one. The holder writes its pid, host and worker name into the file
for the message the next one gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from wirewatch.transforms.state.faults import read_only
from wirewatch.transforms.state.interface import StoreBusy
from wirewatch.transforms.state.shared_handles import SharedHandles


def worker_name() -> str:
    """host:pid: unique among live workers, and what `wirewatch state` shows."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_owner() -> str:
    """The name ledger claims are taken under: the driver's (WIREWATCH_WORKER, set by
    `owning()` and inherited by its Beam worker processes), else this process's own name."""
    return os.environ.get("WIREWATCH_WORKER") or worker_name()


_held: SharedHandles[int] = SharedHandles(os.close)  # (lock path, pid) -> the locked fd


def lock_path(database: Path) -> Path:
    """The lock file of a database file: beside it, `<name>.lock`."""
    return database.with_name(database.name + ".lock")


class OwnerLock:
    """`acquire(worker)` makes this process the owner until `release()` (or its exit)."""

    def __init__(self, database: Path, location: str):
        self.path = lock_path(database)
        self.location = location
        self._key: tuple[str, int] | None = None

    def acquire(self, worker: str) -> None:
        if self._key is not None:
            return
        key = (str(self.path.resolve()), os.getpid())
        _held.acquire(key, lambda: self._lock(worker))
        self._key = key

    def release(self) -> None:
        """Give the lock back when the last store object of this process that took it closes.
        Closing the descriptor (never LOCK_UN) leaves a forked child that shares it holding it."""
        key, self._key = self._key, None
        if key is not None:
            _held.release(key)

    def _lock(self, worker: str) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:  # not writable by us (another user's folder or file)
            raise read_only(
                self.location, f"cannot open the lock file {self.path}: {exc.strerror or exc}"
            ) from None
        try:
            if os.fstat(fd).st_mode & 0o077:  # an older wirewatch made it 0644
                os.fchmod(fd, 0o600)
        except OSError:  # not ours: leave it
            pass
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise StoreBusy(
                self.location, holder.get("pid", "unknown"), holder.get("host", "unknown")
            ) from None
        except BaseException:
            os.close(fd)
            raise
        record = {"pid": os.getpid(), "host": socket.gethostname(), "worker": worker}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode() + b"\n", 0)
        return fd


def _read_holder(fd: int, wait: float = 1.0) -> dict:
    """The holder's record. It writes it right after locking, so an empty file means it is
    between the two: read again for up to `wait` seconds before giving up on the names."""
    end = time.monotonic() + wait
    while True:
        text = os.pread(fd, 4096, 0)
        try:
            record = json.loads(text)
            if isinstance(record, dict):
                return record
        except ValueError:
            pass
        if time.monotonic() >= end:
            return {}
        time.sleep(0.02)
