"""Which class implements each sink type. Each sink's module (and its client library: slack_sdk,
httpx) is imported only when a sink of that type is built, so a config without Slack never
imports slack_sdk."""

from __future__ import annotations

import importlib

from wirewatch.transforms.sinks.base import Sink

SINK_TYPES = {
    "console": ("wirewatch.transforms.sinks.console", "ConsoleSink"),
    "jsonl": ("wirewatch.transforms.sinks.jsonl", "JsonlSink"),
    "slack": ("wirewatch.transforms.sinks.slack", "SlackSink"),
    "webhook": ("wirewatch.transforms.sinks.webhook", "WebhookSink"),
}


def build_sink(name: str, config) -> Sink:
    """The sink for one `sinks:` entry of the config."""
    if config.type not in SINK_TYPES:
        raise ValueError(f"unknown sink type {config.type!r}; known: {', '.join(SINK_TYPES)}")
    module, cls = SINK_TYPES[config.type]
    return getattr(importlib.import_module(module), cls)(name, config)
