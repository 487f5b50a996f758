"""What every sink is: something that sends one Alert or raises DeliveryError."""

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


def build_sink(name: str, config) -> Sink:
    """Construct the sink for a config entry; imports each client only when it is used."""
    kind = config.type
    if kind == "console":
        from wirewatch.transforms.sinks.console import ConsoleSink

        return ConsoleSink(name, config)
    if kind == "jsonl":
        from wirewatch.transforms.sinks.jsonl import JsonlSink

        return JsonlSink(name, config)
    if kind == "slack":
        from wirewatch.transforms.sinks.slack import SlackSink

        return SlackSink(name, config)
    if kind == "webhook":
        from wirewatch.transforms.sinks.webhook import WebhookSink

        return WebhookSink(name, config)
    raise ValueError(f"unknown sink type {kind!r}")
