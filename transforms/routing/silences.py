"""Silences: mute a rule, entity, topic or feed until a time. Checked before routing."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from wirewatch.transforms.model import Match

if TYPE_CHECKING:
    from wirewatch.transforms.config import Silence


def silenced(match: Match, silences: list[Silence], now: datetime) -> Silence | None:
    tagged = match.article
    for silence in silences:
        if silence.until <= now:
            continue
        if silence.rule and silence.rule != match.rule_id:
            continue
        if silence.feed and silence.feed != tagged.article.feed_id:
            continue
        if silence.entity and not any(silence.entity in (e.id, e.name) for e in tagged.entities):
            continue
        if silence.topic and not any(silence.topic == t.id for t in tagged.topics):
            continue
        return silence
    return None
