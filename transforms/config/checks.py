"""Cross-references between sections, checked after the merge: the kind of mistake (a rule
naming a sink that does not exist, a duplicate id) that loads fine and silently disables a rule.
"""

from __future__ import annotations

from wirewatch.transforms.config.messages import did_you_mean
from wirewatch.transforms.config.models import Config
from wirewatch.transforms.errors import Problem


def cross_check(config: Config) -> list[Problem]:
    """Every broken reference between sections, each naming the field and the fix."""
    src = config.source
    problems: list[Problem] = []
    for section in ("feeds", "taxonomy", "entities", "rules"):
        seen: set[str] = set()
        for item in getattr(config, section):
            if item.id in seen:
                problems.append(
                    Problem(
                        src,
                        section,
                        f"duplicate id '{item.id}'",
                        f"give each entry of {section} its own id",
                    )
                )
            seen.add(item.id)
    topic_ids = {t.id for t in config.taxonomy}
    for topic in config.taxonomy:
        if topic.parent and topic.parent not in topic_ids:
            problems.append(
                Problem(
                    src,
                    f"taxonomy[{topic.id}].parent",
                    f"unknown topic '{topic.parent}'{did_you_mean(topic.parent, topic_ids)}",
                    "name a topic id defined in taxonomy",
                )
            )
    sinks = set(config.sinks)
    rule_ids = {r.id for r in config.rules}
    for rule in config.rules:
        for sink in rule.sinks:
            if sink not in sinks:
                problems.append(
                    Problem(
                        src,
                        f"rules[{rule.id}].sinks",
                        f"rule '{rule.id}' names sink '{sink}', which is not defined"
                        f"{did_you_mean(sink, sinks)}",
                        "define it under sinks or correct the name",
                    )
                )
    for i, route in enumerate(config.routes):
        for sink in route.sinks:
            if sink not in sinks:
                problems.append(
                    Problem(
                        src,
                        f"routes[{i}].sinks",
                        f"route {i} names sink '{sink}', which is not defined"
                        f"{did_you_mean(sink, sinks)}",
                        "define it under sinks or correct the name",
                    )
                )
        for rule_id in route.rules:
            if rule_id not in rule_ids:
                problems.append(
                    Problem(
                        src,
                        f"routes[{i}].rules",
                        f"route {i} names rule '{rule_id}', which is not defined"
                        f"{did_you_mean(rule_id, rule_ids)}",
                        "define it under rules or correct the name",
                    )
                )
    return problems
