"""Routing problems `wirewatch check` reports: rules whose matches reach no sink, and routes that
can never fire (every rule they could select is taken by an earlier route that does not continue).
"""

from __future__ import annotations

from wirewatch.transforms.config import Config
from wirewatch.transforms.errors import Problem
from wirewatch.transforms.routing.router import active_sinks


def routing_problems(config: Config) -> list[Problem]:
    src = config.source
    problems = []
    active = active_sinks(config)
    fired = [False] * len(config.routes)
    for rule in config.rules:
        selected = bool(rule.sinks)
        if rule.sinks:
            reached = list(rule.sinks)
        else:
            reached = []
            for i, route in enumerate(config.routes):
                if route.selects(rule.id, rule.severity, rule.labels):
                    fired[i] = selected = True
                    reached += route.sinks
                    if not route.continue_:
                        break
        if selected and not reached:
            continue  # a route with no sinks drops these matches on purpose
        if not reached:
            problems.append(
                Problem(
                    src,
                    f"rules[{rule.id}]",
                    f"no route selects rule '{rule.id}', so its matches reach no sink",
                    "add a route for it, a catch-all route (- sinks: [console]), "
                    "or give the rule sinks:",
                )
            )
        elif not any(s in active for s in reached):
            problems.append(
                Problem(
                    src,
                    f"rules[{rule.id}]",
                    f"every sink rule '{rule.id}' reaches ({', '.join(sorted(set(reached)))}) "
                    "is disabled",
                    "set the sink's credentials or route the rule to another sink too",
                )
            )
    for i in range(len(config.routes)):
        if config.rules and not fired[i] and not _only_direct(config):
            problems.append(
                Problem(
                    src,
                    f"routes[{i}]",
                    f"route {i} can never fire: no rule reaches it (earlier routes take them, "
                    "or none has the rules/severity/labels it selects)",
                    "reorder the routes, add continue: true, or remove it",
                )
            )
    return problems


def _only_direct(config: Config) -> bool:
    return all(rule.sinks for rule in config.rules)
