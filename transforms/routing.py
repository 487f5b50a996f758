"""Which sinks a match goes to: the rule's own sinks, else the routes that select it."""

from __future__ import annotations

from transforms.config import Config
from transforms.model import Alert, Match


def active_sinks(config: Config) -> set[str]:
    """Sinks that can deliver; an optional Slack sink without credentials is skipped."""
    return {name for name, sink in config.sinks.items() if getattr(sink, "enabled", True)}


class Router:
    """Resolves each rule's sinks once, so routing a match is a dict lookup."""

    def __init__(self, config: Config):
        active = active_sinks(config)
        self.sinks_by_rule = {rule.id: [s for s in config.sinks_for(rule) if s in active]
                              for rule in config.rules}

    def route(self, match: Match) -> list[Alert]:
        return [Alert.for_match(match, sink) for sink in self.sinks_by_rule.get(match.rule_id, [])]
