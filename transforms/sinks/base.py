"""What every sink is: something that sends one Alert or raises DeliveryError. Which class
implements each sink type: registry.py. A sink that writes locally may also offer `batches`,
`batch()` and `written(keys)` (jsonl.py): the dispatcher then records many alerts sent in one
store transaction and never writes a re-offered alert twice."""

from __future__ import annotations

from typing import Protocol

from wirewatch.transforms.model import Alert


class DeliveryError(Exception):
    """The sink gave up on this alert (its own retries are already spent). `transient`: the
    failure can pass by itself (a server error, a timeout, no connection, a rate limit), so the
    dispatcher counts it against the sink's health and redelivers the alert automatically once
    the sink is back; otherwise (a 4xx, a bad token) only a person can fix it."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class SinkParked(DeliveryError):
    """The server asked to wait `seconds` (Retry-After) before the next request, longer than
    the sink's `max_retry_after`: the dispatcher parks the sink for that long instead of
    sleeping the process, and its alerts wait for a later cycle."""

    def __init__(self, message: str, seconds: float):
        super().__init__(message, transient=True)
        self.seconds = seconds


class Sink(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...

    def send_digest(self, alerts: list[Alert], label: str) -> None: ...

    def close(self) -> None: ...
