"""Config problems in words people act on: pydantic's validation errors as `Problem`s that
name list items by their id (`rules[quake].severity`, not `rules.3.severity`), and
"did you mean" suggestions for misspelt names.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

from wirewatch.transforms.config.models import (
    ConfigFragment,
    ConsoleSink,
    FeedConfig,
    FetchSettings,
    JsonlSink,
    QuietHours,
    RouteConfig,
    Silence,
    SlackSink,
    WebhookSink,
)
from wirewatch.transforms.errors import Problem
from wirewatch.transforms.rules.schema import RuleConfig
from wirewatch.transforms.stories.settings import StorySettings
from wirewatch.transforms.tagging.schema import (
    EntityConfig,
    NerSettings,
    TaggingSettings,
    TopicConfig,
)


def did_you_mean(word: str, choices) -> str:
    """' (did you mean 'X'?)' for the closest of `choices`, or '' when none is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


_FIELD_NAMES = sorted(
    {
        name
        for model in (
            ConfigFragment,
            FeedConfig,
            FetchSettings,
            ConsoleSink,
            JsonlSink,
            SlackSink,
            WebhookSink,
            RouteConfig,
            RuleConfig,
            TopicConfig,
            EntityConfig,
            TaggingSettings,
            NerSettings,
            StorySettings,
            QuietHours,
            Silence,
        )
        for name in model.model_fields
    }
    | {"continue"}
)


_DISCRIMINATOR_TAGS = ("console", "jsonl", "slack", "webhook")


def describe_error(path: Path, raw: dict, err: dict) -> Problem:
    """One pydantic error as a Problem naming the field the user wrote (list items by id)."""
    loc = list(err["loc"])
    if loc[:1] == ["sinks"] and len(loc) > 2 and loc[2] in _DISCRIMINATOR_TAGS:
        del loc[2]  # pydantic's discriminator tag, not a field the user wrote
    field = field_path(raw, loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        bad = str(loc[-1])
        return Problem(
            str(path),
            field,
            f"unknown field '{bad}'{did_you_mean(bad, _FIELD_NAMES)}",
            "remove it or correct the spelling",
        )
    if kind == "missing":
        return Problem(str(path), field, "required field is missing", f"add '{loc[-1]}: ...'")
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return Problem(
            str(path),
            field,
            "sink type must be one of console, jsonl, slack, webhook",
            "set 'type:' to one of them",
        )
    given = err.get("input")
    if kind == "finite_number" or (isinstance(given, float) and not math.isfinite(given)):
        return Problem(str(path), field, f"must be a finite number, got {given}", "write a number")
    if kind in ("less_than_equal", "less_than", "int_parsing_size"):
        ctx = err.get("ctx") or {}
        most = ctx.get("le", ctx.get("lt"))
        if isinstance(most, float) and most.is_integer():
            most = int(most)
        if most is None:
            return Problem(str(path), field, f"{given!r} is too large", "use a smaller number")
        return Problem(
            str(path),
            field,
            f"{given!r} is too large: at most {most}",
            f"use a value of at most {most}",
        )
    # Our validators raise ValueError("what. Fix: how"); pydantic hands the text back as one
    # string, so this is the one place that takes it apart again.
    message, _, fix = err["msg"].removeprefix("Value error, ").partition("Fix:")
    if not fix:
        return Problem(str(path), field, message, "correct the value")
    return Problem(str(path), field, message.rstrip().removesuffix("."), fix.strip())


def field_path(raw: Any, loc: list) -> str:
    """`rules[quake].severity` for the location ['rules', 3, 'severity'] in `raw`."""
    parts: list[str] = []
    node = raw
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            parts.append(f"[{ident}]" if ident else f"[{part}]")
            node = item
        else:
            parts.append(f".{part}" if parts else str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"
