"""Parsing asks the state store in batches: one question per poll, each id asked once."""

from __future__ import annotations

import pytest

from tests.ingest import feeds
from wirewatch.transforms.ingest.parse import parse_feed
from wirewatch.transforms.ingest.seen_lookup import SeenLookup

URL = "https://t.example.com/feed"


class CountingStore:
    """A `seen_of` that records every question."""

    def __init__(self, seen: set[str] = frozenset()):
        self.seen = set(seen)
        self.questions: list[list[str]] = []

    def __call__(self, ids: list[str]) -> set[str]:
        self.questions.append(list(ids))
        return self.seen.intersection(ids)


def parse(body: bytes, store: CountingStore | None = None):
    return parse_feed(body, feed_id="t", feed_url=URL, seen_of=store)


def test_lookup_asks_each_id_once_and_only_when_needed():
    store = CountingStore({"a"})
    lookup = SeenLookup(store)
    lookup.ask(["a", "b", "a"])
    lookup.ask(["b", "a"])
    lookup.ask([])
    assert store.questions == [["a", "b"]]
    assert lookup.is_seen("a") and not lookup.is_seen("b")
    assert not lookup.is_seen("c")  # never asked: asked on its own
    assert store.questions == [["a", "b"], ["c"]]


MALFORMED = feeds.rss(feeds.item("a"), feeds.item("b", "B &nbsp; x"), feeds.item("c")).replace(
    b"<channel>", b"<channel>\n<<<<<<< HEAD\n"
)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(feeds.rss(*(feeds.item(f"g{i}") for i in range(30))), id="lxml-prescan"),
        pytest.param(MALFORMED.replace(b"&nbsp;", b""), id="byte-prescan"),
        pytest.param(feeds.JSONFEED, id="json"),
        *(pytest.param(feeds.ALL_XML[name], id=name) for name in sorted(feeds.ALL_XML)),
    ],
)
def test_one_store_question_per_poll(body):
    every = [a.id for a in parse(body).articles]
    for seen in (set(), set(every[::2]), set(every)):
        store = CountingStore(seen)
        result = parse(body, store)
        assert len(store.questions) == 1, store.questions
        assert sorted(store.questions[0]) == sorted(set(every))
        assert [a.id for a in result.articles] == [i for i in every if i not in seen]
        assert result.skipped_seen == len(seen)


def test_a_poll_with_nothing_new_skips_feedparser_after_one_question():
    body = feeds.rss(feeds.item("a"), feeds.item("b"))
    every = {a.id for a in parse(body).articles}
    store = CountingStore(every)
    result = parse(body, store)
    assert result.fast_path and result.articles == [] and result.skipped_seen == 2
    assert len(store.questions) == 1


def test_a_body_with_no_entries_asks_nothing():
    store = CountingStore()
    assert parse(feeds.rss(), store).articles == []
    assert store.questions == []


def test_an_entry_the_prescan_cannot_identify_costs_one_more_question_for_itself_only():
    """`&nbsp;` makes the byte scan distrust that entry's predicted key: its id is known only
    after feedparser, so it is asked about then, alone; the others were asked before."""
    a, b, c = (article.id for article in parse(MALFORMED).articles)
    store = CountingStore({a})
    result = parse(MALFORMED, store)
    assert store.questions == [[a, c], [b]]
    assert [x.id for x in result.articles] == [b, c] and result.skipped_seen == 1
