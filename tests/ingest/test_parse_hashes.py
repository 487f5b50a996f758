"""The pre-scan's cut with content hashes: a seen entry is left out of parsing only while the
hash of its raw title and summary equals the one stored with its id, so an edit is never hidden
(DropSeen then calls the parsed entry new, edited or adopted)."""

from __future__ import annotations

import pathlib
from datetime import datetime, timezone

import pytest

from tests.ingest import feeds
from wirewatch.transforms.ingest import prescan
from wirewatch.transforms.ingest.dedupe import content_hash, text_hash
from wirewatch.transforms.ingest.ids import article_id
from wirewatch.transforms.ingest.parse import parse_feed, parse_feed_by_feedparser
from wirewatch.transforms.ingest.sanitize import sanitize

NOW = datetime(2017, 3, 1, tzinfo=timezone.utc)
URL = "https://news.example.com/feed.xml"
STORIES = pathlib.Path(__file__).parent.parent / "stories" / "fixtures"
MALFORMED = b"<channel>\n<<<<<<< HEAD\n"  # not well-formed: the byte-span pre-scan cuts


def parse(body: bytes, **kw):
    return parse_feed(body, feed_id="f", feed_url=URL, fetched_at=NOW, **kw)


def store_of(hashes: dict[str, str | None]):
    """A `seen_of` answering like ParseFeeds' store: each seen id with its stored hash."""
    return lambda ids: {i: hashes[i] for i in ids if i in hashes}


def body_of(*items: str, malformed: bool) -> bytes:
    body = feeds.rss(*items)
    return body.replace(b"<channel>", MALFORMED) if malformed else body


@pytest.mark.parametrize("malformed", [False, True], ids=["tree", "byte-span"])
def test_a_seen_entry_is_cut_only_while_its_text_hashes_as_stored(malformed):
    before = parse(body_of(feeds.item("a"), feeds.item("b"), malformed=malformed)).articles
    stored = {article.id: content_hash(article) for article in before}
    later = body_of(
        feeds.item("a", "Title", extra="").replace(
            "About Title", "&lt;p&gt;About  Title&lt;/p&gt;"
        ),
        feeds.item("b", "Title changed"),
        feeds.item("c"),
        malformed=malformed,
    )
    result = parse(later, seen_of=store_of(stored))
    assert result.fast_path and result.skipped_seen == 1  # a: markup and spaces are no edit
    assert [(a.guid, a.title) for a in result.articles] == [("b", "Title changed"), ("c", "Title")]


def test_an_entry_stored_without_a_hash_is_parsed():
    body = feeds.rss(feeds.item("a"), feeds.item("b"))
    ids = [a.id for a in parse(body).articles]
    result = parse(body, seen_of=store_of({ids[0]: None, ids[1]: "0" * 32}))
    assert [a.guid for a in result.articles] == ["a", "b"] and result.skipped_seen == 0


def test_a_plain_set_answer_still_cuts_by_id():
    """Callers that vouch for the entries they name (the backtest) answer with a set."""
    body = feeds.rss(feeds.item("a"), feeds.item("b"))
    first = parse(body).articles[0].id
    assert [a.guid for a in parse(body, seen_of={first}.intersection).articles] == ["b"]


def _fixtures():
    bodies = dict(feeds.ALL_XML)
    bodies.update({path.name: path.read_bytes() for path in sorted(STORIES.glob("*.xml"))})
    return bodies


@pytest.mark.parametrize("name", sorted(_fixtures()))
def test_raw_text_hashes_like_the_parsed_article(name):
    """Every entry whose id the pre-scan predicts hashes from its raw XML text as its parsed
    article does (measured on the real snapshots too: bench/parse.py's hash modes agree)."""
    body = _fixtures()[name]
    articles = {a.id: a for a in parse_feed_by_feedparser(body, feed_id="f", feed_url=URL).articles}
    scan = prescan.read_all(sanitize(body))
    if scan is None:
        pytest.skip("no tree: feedparser reads this one in full")
    predicted = 0
    for element in scan.kept_entries:
        key = prescan.predict_key(element, prescan._base_of(element, URL))
        if key is None:
            continue
        predicted += 1
        assert prescan.entry_digest(element) == content_hash(articles[article_id("f", key)])
    assert predicted


def test_an_edited_entry_is_never_cut():
    for body in _fixtures().values():
        full = parse(body).articles
        other = text_hash("an older headline", "")
        result = parse(body, seen_of=store_of({a.id: other for a in full}))
        assert result.articles == full


@pytest.mark.parametrize("from_tree", [True, False], ids=["tree", "feedparser"])
def test_an_entry_dead_letter_names_its_place_in_the_document(from_tree):
    """Not its place among the entries the cut left: here 3 seen entries come before it."""
    items = [feeds.item(f"g{i}") for i in range(3)]
    body = feeds.rss(*items, feeds.item("new"), '<item><guid isPermaLink="false">x</guid></item>')
    stored = {a.id: content_hash(a) for a in parse(body).articles if a.guid != "new"}
    for seen_of in (None, store_of(stored)):
        result = parse(body, seen_of=seen_of, from_tree=from_tree)
        [dead] = result.dead_letters
        assert dead.detail == "entry 4: entry has no title, no summary and no link"
