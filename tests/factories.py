"""Small builders for model objects used across tests."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from wirewatch.transforms.model import (
    Alert,
    Article,
    EntityTag,
    Hit,
    Match,
    TaggedArticle,
    TopicTag,
)


def stable_number(text: str) -> int:
    """An 8-digit number from the text, the same in every process (`hash()` of a str changes
    with PYTHONHASHSEED, so ids, keys and their sort order would change from run to run)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % 10**8


def article(
    title="Talks resume",
    summary="Officials met on immigration.",
    link="https://example.org/a",
    feed_id="feed",
    id=None,
    published=None,
    edited=False,
) -> Article:
    return Article(
        id=id or f"{feed_id}:{stable_number(title)}",
        feed_id=feed_id,
        title=title,
        summary=summary,
        link=link,
        published=published or datetime(2026, 11, 26, 14, 5, tzinfo=timezone.utc),
        edited=edited,
    )


def alert(sink="slack", rule_id="rule-1", severity="warning", hits=(), **kwargs) -> Alert:
    tagged = TaggedArticle(
        article=article(**kwargs),
        topics=(
            TopicTag(id="immigration", label="Immigration", score=0.8, evidence=("immigration",)),
        ),
        entities=(EntityTag(id="mexico", name="Mexico", type="PLACE"),),
    )
    match = Match(
        rule_id=rule_id, severity=severity, article=tagged, hits=tuple(Hit(**h) for h in hits)
    )
    return Alert.for_match(match, sink)
