"""Routing problems `wirewatch check` reports: rules whose matches reach no sink, and routes that
can never fire (every rule they could select is taken by an earlier route that does not continue).
"""

from __future__ import annotations

from wirewatch.transforms.config import Config
from wirewatch.transforms.routing.router import active_sinks


def routing_problems(config: Config) -> list[str]:
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
                f"{src}: rules[{rule.id}]: no route selects rule '{rule.id}', so its "
                f"matches reach no sink. Fix: add a route for it, a catch-all route "
                f"(- sinks: [console]), or give the rule sinks:"
            )
        elif not any(s in active for s in reached):
            problems.append(
                f"{src}: rules[{rule.id}]: every sink rule '{rule.id}' reaches "
                f"({', '.join(sorted(set(reached)))}) is disabled. Fix: set the sink's "
                f"credentials or route the rule to another sink too"
            )
    for i in range(len(config.routes)):
        if config.rules and not fired[i] and not _only_direct(config):
            problems.append(
                f"{src}: routes[{i}]: route {i} can never fire: no rule reaches it "
                f"(earlier routes take them, or none has the rules/severity/labels it "
                f"selects). Fix: reorder the routes, add continue: true, or remove it"
            )
    return problems


def _only_direct(config: Config) -> bool:
    return all(rule.sinks for rule in config.rules)
