"""Cross-references between sections, checked after the merge: the kind of mistake (a rule
naming a sink that does not exist) that loads fine and silently disables a rule. (An id given
twice is the loader's: it knows which file gave which.)
"""

from __future__ import annotations

from pathlib import Path

from wirewatch.transforms.config.messages import did_you_mean
from wirewatch.transforms.config.models import Config
from wirewatch.transforms.errors import Problem


def cross_check(config: Config, dropped: dict[str, set[str]] | None = None) -> list[Problem]:
    """Every broken reference between sections, each naming the field and the fix. `dropped`:
    the ids of entries left out for their own problems (section -> ids), which count as
    defined here: one mistake, one problem."""
    dropped = dropped or {}
    src = config.source
    problems: list[Problem] = []
    ids: dict[str, set[str]] = {}
    for section in ("feeds", "taxonomy", "entities", "rules"):  # each id once (loader.py)
        ids[section] = {item.id for item in getattr(config, section)}
    topic_ids = ids["taxonomy"] | dropped.get("taxonomy", set())
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
    sinks = set(config.sinks) | dropped.get("sinks", set())
    rule_ids = ids["rules"] | dropped.get("rules", set())
    for rule in config.rules:
        if not rule.sinks:
            continue
        owner = f"rule '{rule.id}'"
        problems += [
            _undefined(src, f"rules[{rule.id}].sinks", owner, "sink", s, sinks)
            for s in rule.sinks
            if s not in sinks
        ]
    problems += _silences_check(config, ids, dropped, topic_ids, rule_ids)
    for place, route in enumerate(config.routes):
        i = place if route.number is None else route.number  # as written: some may be left out
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
    return problems + bounds_check(config) + _dead_letters_check(config) + _feed_url_check(config)


def _feed_url_check(config: Config) -> list[Problem]:
    """A feed URL the fetch refuses on every poll (`bad_url` dead letters) passed `check`:
    `ftp://...`, `http:///feed`. Local files (absolute by now, or file://) are warnings.py's."""
    from wirewatch.transforms.ingest.urls import url_problem

    fix = "write http(s)://HOST/PATH, or the path of a local feed file"
    return [
        Problem(config.source, f"feeds[{feed.id}].url", why, fix)
        for feed in config.feeds
        if not feed.url.startswith(("/", "file://")) and (why := url_problem(feed.url))
    ]


def _silences_check(config, ids, dropped, topic_ids, rule_ids) -> list[Problem]:
    """A silence naming a rule, entity, topic or feed the config lacks mutes nothing, and a
    typo (`volkswagon`) let every alert it meant to stop through, without a word."""
    if not config.silences:
        return []
    entities = ids["entities"] | {e.name for e in config.entities}
    known = {
        "rule": rule_ids,
        "entity": entities | dropped.get("entities", set()),
        "topic": topic_ids,
        "feed": ids["feeds"] | dropped.get("feeds", set()),
    }
    problems = []
    for i, silence in enumerate(config.silences):
        for kind, names in known.items():
            name = getattr(silence, kind)
            if name is not None and name not in names:
                problems.append(
                    Problem(
                        config.source,
                        f"silences[{i}].{kind}",
                        f"unknown {kind} '{name}'{did_you_mean(name, names)}: it mutes nothing",
                        f"name {'an' if kind == 'entity' else 'a'} {kind} the config defines"
                        + (" (its id or name)" if kind == "entity" else " (its id)"),
                    )
                )
    return problems


def _dead_letters_check(config: Config) -> list[Problem]:
    """`dead_letters:` naming a folder loads fine, then every cycle failed when it wrote its
    first dead letter (IsADirectoryError, with Beam's traceback)."""
    path = config.dead_letters
    if not path or not Path(path).is_dir():
        return []
    return [
        Problem(
            config.source,
            "dead_letters",
            f"{path} is a folder",
            f"name a file, e.g. {Path(path) / 'dead-letters.jsonl'}",
        )
    ]


# Upper bounds for the settings whose models live with their stage (stories, tagging): a value
# past them loads fine and then explodes at run time (`bands: 100000000` reached 8.4 GB).
# (section, field, at most, unit)
_BOUNDS = (
    ("stories", "window_hours", 24 * 90, "hours (90 days)"),
    ("stories", "retain_hours", 24 * 3650, "hours (10 years)"),
    ("stories", "prune_every_minutes", 60 * 24 * 7, "minutes (7 days)"),
    ("stories", "min_title_words", 100, "words"),
    ("stories", "lead_words", 10_000, "words"),
    ("stories", "bands", 1024, "bands"),
    ("stories", "rows", 1024, "rows"),
    ("tagging", "title_weight", 1000, "(a weight)"),
    ("tagging", "body_weight", 1000, "(a weight)"),
    ("tagging", "max_topics", 1000, "topics"),
    ("tagging", "saturation", 1_000_000, "(raw evidence)"),
    ("tagging.ner", "max_chars", 10_000_000, "characters"),
)
MAX_NUM_PERM = 1024
"""stories: bands x rows MinHash values per signature, at most this many (memory per article)."""


def bounds_check(config: Config) -> list[Problem]:
    """Every stories/tagging number past its bound (inf and nan included), naming unit and fix."""
    problems: list[Problem] = []
    for section, name, most, unit in _BOUNDS:
        owner = config
        for part in section.split("."):
            owner = getattr(owner, part)
        value = getattr(owner, name)
        if not value <= most:  # nan-safe: nan <= x is False
            problems.append(
                Problem(
                    config.source,
                    f"{section}.{name}",
                    f"{value} is too large: at most {most} {unit}",
                    f"use a value of at most {most}",
                )
            )
    stories = config.stories
    if stories.bands <= 1024 and stories.rows <= 1024 and stories.num_perm > MAX_NUM_PERM:
        problems.append(
            Problem(
                config.source,
                "stories",
                f"bands x rows is {stories.bands} x {stories.rows} = {stories.num_perm} "
                f"MinHash values, at most {MAX_NUM_PERM}",
                "lower bands or rows (the default 24 x 3 finds 96% of pairs at similarity 0.5)",
            )
        )
    return problems


def _undefined(src: str, field: str, owner: str, kind: str, name: str, known: set) -> Problem:
    """'route 0 names sink 'pager', which is not defined (did you mean ...)'."""
    return Problem(
        src,
        field,
        f"{owner} names {kind} '{name}', which is not defined{did_you_mean(name, known)}",
        f"define it under {kind}s or correct the name",
    )
