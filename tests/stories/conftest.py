"""Shared fixtures: a story index on a fresh state store, with a clock the test controls."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.state.conftest import BACKENDS, Clock
from wirewatch.transforms.ingest.parse import parse_feed
from wirewatch.transforms.model import Article
from wirewatch.transforms.state import open_store
from wirewatch.transforms.stories import StoryIndex, StorySettings

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2017, 1, 26, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture(params=sorted(BACKENDS))
def location(request, tmp_path) -> str:
    """The story index runs on every backend the store contract runs on."""
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def store(location):
    store = open_store(location)
    yield store
    store.close()


@pytest.fixture
def index(store, clock) -> StoryIndex:
    return StoryIndex(store, StorySettings(), clock=clock)


def fixture_feed(name: str) -> dict[str, Article]:
    """The articles of fixtures/<name>.xml by guid (the parser resolves it against the feed URL)."""
    result = parse_feed(
        (FIXTURES / f"{name}.xml").read_bytes(),
        feed_id=name,
        feed_url=f"https://{name}.example/rss",
        fetched_at=T0 + timedelta(days=1),
    )  # the parser caps dates at fetch time
    assert not result.dead_letters
    return {a.guid.rsplit("/", 1)[-1]: a for a in result.articles}


def make(
    id: str,
    title: str,
    summary: str = "",
    *,
    feed: str = "feed",
    hours: float = 0,
    link: str | None = None,
) -> Article:
    return Article(
        id=id,
        feed_id=feed,
        title=title,
        summary=summary,
        link=link,
        published=T0 + timedelta(hours=hours),
    )
