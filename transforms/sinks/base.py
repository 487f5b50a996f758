"""What every sink is: something that sends one Alert or raises DeliveryError. Which class
implements each sink type: registry.py."""

from __future__ import annotations

from typing import Protocol

from wirewatch.transforms.model import Alert


class DeliveryError(Exception):
    """The sink gave up on this alert (its own retries are already spent)."""


class Sink(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...

    def send_digest(self, alerts: list[Alert], label: str) -> None: ...

    def close(self) -> None: ...
