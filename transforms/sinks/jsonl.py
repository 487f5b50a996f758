"""Alerts appended as JSON lines, flushed per alert so a crash loses nothing written."""

from __future__ import annotations

import json
import os
from pathlib import Path

from wirewatch.transforms.model import Alert


class JsonlSink:
    def __init__(self, name: str, config):
        self.name = name
        self.path = Path(config.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = None

    def send(self, alert: Alert) -> None:
        self._write(alert.model_dump_json())

    def send_digest(self, alerts: list[Alert], label: str) -> None:
        self._write(
            json.dumps({"digest": label, "alerts": [a.model_dump(mode="json") for a in alerts]})
        )

    def _write(self, line: str) -> None:
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
