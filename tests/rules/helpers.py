"""Builders for rule tests: a small config and hand-built tagged articles (no Tagger needed)."""

from __future__ import annotations

from datetime import datetime, timezone

from wirewatch.transforms.config import Config
from wirewatch.transforms.model import Article, EntityTag, TaggedArticle, TopicTag
from wirewatch.transforms.rules.schema import RuleConfig
from wirewatch.transforms.tagging.schema import EntityConfig, TopicConfig

WHEN = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)

TAXONOMY = [
    TopicConfig(id="immigration", label="Immigration"),
    TopicConfig(id="immigration.border", label="Border", parent="immigration"),
    TopicConfig(id="immigration.border.wall", label="Wall", parent="immigration.border"),
    TopicConfig(id="economy", label="Economy"),
]
ENTITIES = [
    EntityConfig(id="tillerson", name="Rex Tillerson", type="PERSON", aliases=["Tillerson"]),
    EntityConfig(id="videgaray", name="Luis Videgaray", type="PERSON"),
    EntityConfig(id="pemex", name="Pemex", type="ORG"),
    EntityConfig(id="mexico", name="Mexico", type="PLACE", aliases=["México"]),
]


def config(*rules: RuleConfig | str, **sections) -> Config:
    """A Config with the test taxonomy and gazetteer; a str rule is a query (id r0, r1, ...)."""
    items = [
        r if isinstance(r, RuleConfig) else RuleConfig(id=f"r{i}", query=r)
        for i, r in enumerate(rules)
    ]
    sections.setdefault("taxonomy", TAXONOMY)
    sections.setdefault("entities", ENTITIES)
    return Config(source="test.yaml", rules=items, **sections)


def tagged(
    title: str = "",
    text: str = "",
    *,
    topics: dict[str, float] | None = None,
    entities: list[tuple[str, str, str]] | dict | None = None,
    feed: str = "wire",
    lang: str | None = "en",
    authors: tuple[str, ...] = (),
    ident: str = "a1",
) -> TaggedArticle:
    """entities: [(id, name, type)] or {id: (name, type, count)}."""
    if isinstance(entities, dict):
        ents = tuple(EntityTag(id=i, name=n, type=t, count=c) for i, (n, t, c) in entities.items())
    else:
        ents = tuple(EntityTag(id=i, name=n, type=t) for i, n, t in entities or ())
    article = Article(
        id=ident,
        feed_id=feed,
        title=title,
        summary=text,
        published=WHEN,
        language=lang,
        authors=authors,
    )
    tops = tuple(TopicTag(id=k, label=k, score=v) for k, v in (topics or {}).items())
    return TaggedArticle(article=article, topics=tops, entities=ents)
