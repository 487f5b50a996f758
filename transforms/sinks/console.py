"""Alerts printed for a person at a terminal; coloured when stdout is a TTY and NO_COLOR is not
set (https://no-color.org), unless the sink's `color:` says otherwise."""

from __future__ import annotations

import os
import sys
import threading

from wirewatch.transforms.model import Alert
from wirewatch.transforms.sinks.render import plain_digest, plain_text

_COLOURS = {"info": "\033[36m", "warning": "\033[33m", "critical": "\033[1;31m"}
_LOCK = threading.Lock()


def wants_colour(stream) -> bool:
    """Colour by default only on a terminal, and never when NO_COLOR is set (non-empty)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


class ConsoleSink:
    def __init__(self, name: str, config):
        self.name = name
        self.stream = config.stream
        out = self._out()
        self.color = config.color if config.color is not None else wants_colour(out)

    def send(self, alert: Alert) -> None:
        self._print(plain_text(alert), alert.match.severity)

    def send_digest(self, alerts: list[Alert], label: str) -> None:
        self._print(plain_digest(alerts, label), "info")

    def _print(self, text: str, severity: str) -> None:
        if self.color:
            head, _, rest = text.partition("\n")
            text = f"{_COLOURS.get(severity, '')}{head}\033[0m\n{rest}"
        with _LOCK:
            print(text, file=self._out(), flush=True)

    def _out(self):
        """Looked up at each print: a test's capture or a replaced stream is honoured."""
        return sys.stderr if self.stream == "stderr" else sys.stdout

    def close(self) -> None:
        pass
