"""Alerts appended as JSON lines. Each line reaches the file (the OS) as it is written, so a
killed process loses nothing it wrote; it is fsynced before the ledger records it sent, one
fsync per alert, or one per batch inside `batch()` (an fsync costs milliseconds, and a cycle's
backlog of thousands of alerts spent most of its delivery time in them).

The file is its own record of what went out: `written` answers which alert keys it holds, so
an alert whose claim expired after a crash between the write and the ledger's 'sent' is not
written twice (dispatch.py `reoffer_expired`)."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from wirewatch.transforms.model import Alert


class JsonlSink:
    batches = True
    """The dispatcher may write many alerts inside `batch()` and record them sent together."""

    def __init__(self, name: str, config):
        self.name = name
        self.path = Path(config.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = None
        self._batching = False

    def send(self, alert: Alert) -> None:
        self._write(alert.model_dump_json())

    def send_digest(self, alerts: list[Alert], label: str) -> None:
        self._write(
            json.dumps({"digest": label, "alerts": [a.model_dump(mode="json") for a in alerts]})
        )

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Lines written inside are fsynced once, when the block ends without an exception
        (the dispatcher commits their 'sent' records after that, so a power loss cannot keep
        a record whose line it lost)."""
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
        self._sync()

    def written(self, keys: Iterable[str]) -> set[str]:
        """Which of these alert keys a complete line of the file holds (an alert or a digest
        member). Reads the whole file: asked only for claims left by a crash."""
        wanted, found = set(keys), set()
        if not wanted or not self.path.exists():
            return found
        with open(self.path, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.endswith("\n"):
                    break  # a line cut short by a crash: not written
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict):
                    members = row.get("alerts") if "digest" in row else [row]
                    found.update(m.get("key") for m in members or () if isinstance(m, dict))
        return found & wanted

    def _write(self, line: str) -> None:
        """The whole line reaches the file, or none of it: a write that fails (a full disk)
        is cut off again, so an alert recorded dead never turns up in the file later (a
        buffered file kept the bytes it could not write and wrote them with the next line)."""
        if self._fd is None:
            self._fd = self._open()
        data = (line + "\n").encode()
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            done = 0
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError:
            os.ftruncate(self._fd, start)
            raise
        if not self._batching:
            self._sync()

    def _open(self) -> int:
        """Append; after a line cut short by a crash, from a new line (each line stays JSON)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        if os.lseek(fd, 0, os.SEEK_END) and not _ends_with_newline(self.path):
            os.write(fd, b"\n")
        return fd

    def _sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as raw:
        raw.seek(-1, os.SEEK_END)
        return raw.read(1) == b"\n"
