"""Which sinks a match goes to (the rule's own sinks, else the routes that select it), and in
which flood-control group. Silences are checked before routing (RouteAlerts), not here.
"""

from __future__ import annotations

from wirewatch.transforms.config import Config
from wirewatch.transforms.model import Alert, Display, Match
from wirewatch.transforms.routing.flood import group_label


def active_sinks(config: Config) -> set[str]:
    """Sinks that can deliver; an optional Slack sink without credentials is skipped."""
    return {name for name, sink in config.sinks.items() if getattr(sink, "enabled", True)}


class Router:
    """Resolves each rule's (route, sink) pairs once, so routing a match is a dict lookup."""

    def __init__(self, config: Config):
        active = active_sinks(config)
        self.config = config
        self.feeds = {feed.id: feed for feed in config.feeds}
        self.descriptions = {rule.id: rule.description for rule in config.rules}
        self.deliveries = {
            rule.id: [(i, s) for i, s in config.deliveries_for(rule) if s in active]
            for rule in config.rules
        }

    def display(self, match: Match, route: int = -1) -> Display:
        """The feed's display name and stale_after, the rule's description, the route's
        message template."""
        feed = self.feeds.get(match.article.article.feed_id)
        return Display(
            feed_name=(feed.name or "") if feed else "",
            description=self.descriptions.get(match.rule_id, ""),
            stale_after=feed.stale_after if feed else Display().stale_after,
            template=(self.config.routes[route].template or "") if route >= 0 else "",
        )

    def route(self, match: Match) -> list[Alert]:
        alerts = []
        for index, sink in self.deliveries.get(match.rule_id, []):
            group_by = self.config.routes[index].group_by if index >= 0 else ["rule"]
            alerts.append(
                Alert.for_match(
                    match,
                    sink,
                    route=index,
                    group=group_label(match, group_by),
                    display=self.display(match, index),
                )
            )
        return alerts
