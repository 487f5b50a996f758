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
        owner = f"rule '{rule.id}'"
        problems += [
            _undefined(src, f"rules[{rule.id}].sinks", owner, "sink", s, sinks)
            for s in rule.sinks
            if s not in sinks
        ]
    for i, route in enumerate(config.routes):
        owner = f"route {i}"
        problems += [
            _undefined(src, f"routes[{i}].sinks", owner, "sink", s, sinks)
            for s in route.sinks
            if s not in sinks
        ]
        problems += [
            _undefined(src, f"routes[{i}].rules", owner, "rule", r, rule_ids)
            for r in route.rules
            if r not in rule_ids
        ]
    return problems


def _undefined(src: str, field: str, owner: str, kind: str, name: str, known: set) -> Problem:
    """'route 0 names sink 'pager', which is not defined (did you mean ...)'."""
    return Problem(
        src,
        field,
        f"{owner} names {kind} '{name}', which is not defined{did_you_mean(name, known)}",
        f"define it under {kind}s or correct the name",
    )
