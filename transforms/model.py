"""The elements that flow between pipeline stages.

One module, no Beam / feedparser / slack_sdk imports, so that every pure core and every test can
use these types without paying for the heavy libraries. Models are frozen: an element handed to
the next stage must not change under it (Beam may reuse or re-send elements).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class _Element(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Article(_Element):
    """One normalized feed entry. `id` is stable across polls of the same feed."""

    id: str
    feed_id: str
    title: str
    link: str | None = None
    summary: str = ""
    published: datetime
    updated: datetime | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    language: str | None = None
    guid: str | None = None
    fetched_at: datetime = Field(default_factory=utc_now)
    edited: bool = False  # seen before with another title or summary: evaluated again (Updated)

    @property
    def dedupe_key(self) -> str:
        """The same story URL seen twice in one run (two feeds, or one feed twice) is one article."""
        return self.link or self.id


class TopicTag(_Element):
    """A topic the article is about, with the score and the terms that produced it."""

    id: str
    label: str
    score: float
    evidence: tuple[str, ...] = ()


class EntityTag(_Element):
    """A canonical entity mentioned in the article, with the surface forms that named it."""

    id: str
    name: str
    type: str
    count: int = 1
    mentions: tuple[str, ...] = ()
    wikidata: str | None = None
    source: str = "gazetteer"  # or "ner"


class TaggedArticle(_Element):
    article: Article
    topics: tuple[TopicTag, ...] = ()
    entities: tuple[EntityTag, ...] = ()
    story_id: str | None = None  # set by story clustering: copies of one story share it
    story_kind: Literal["new", "copy", "update"] = "new"  # first of its story, a copy, an update


class Hit(_Element):
    """Evidence for a match: which term matched where. Offsets index the named field's text."""

    field: str
    term: str
    start: int = -1
    end: int = -1
    detail: str = ""  # tags: topic score, entity name; for alerts that show why


class Match(_Element):
    rule_id: str
    severity: str = "info"
    labels: dict[str, str] = Field(default_factory=dict)
    article: TaggedArticle
    hits: tuple[Hit, ...] = ()


class Display(_Element):
    """What an alert shows besides the article, taken from the config when it is routed, so a
    held, re-offered or redelivered alert reads later as it would have then."""

    feed_name: str = ""  # the feed's `name:`; empty: its config id
    description: str = ""  # the rule's `description:`
    stale_after: float = 12 * 3600  # seconds between publication and poll that make it old
    template: str = ""  # the route's message template (Jinja2 source); empty: default layout


class Alert(_Element):
    """A match addressed to one sink. `key` is the idempotency key: rule + article + sink."""

    key: str
    sink: str
    match: Match
    route: int = -1  # index of the route that sent it here; -1: the rule's own sinks
    group: str = ""  # flood-control group label, e.g. "rule:quake · entity:Chile"
    display: Display = Display()

    @classmethod
    def for_match(
        cls,
        match: Match,
        sink: str,
        route: int = -1,
        group: str = "",
        display: Display | None = None,
    ) -> Alert:
        return cls(
            key=f"{match.rule_id}|{match.article.article.id}|{sink}",
            sink=sink,
            match=match,
            route=route,
            group=group,
            display=display or Display(),
        )


class DeadLetter(_Element):
    """Bad input or a failed delivery: what failed (stage), where (source), why (reason)."""

    stage: str
    source: str
    reason: str
    detail: str = ""
    raw: str = ""
    at: datetime = Field(default_factory=utc_now)

    @classmethod
    def of(
        cls,
        stage: str,
        source: str,
        reason: str,
        detail: str = "",
        raw: bytes | str = b"",
        raw_limit: int = 200,
    ) -> DeadLetter:
        if isinstance(raw, bytes):
            raw = raw[:raw_limit].decode("utf-8", "replace")
        return cls(stage=stage, source=source, reason=reason, detail=detail, raw=raw[:raw_limit])
