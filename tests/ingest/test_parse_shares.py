"""A body parsed in shares (prescan.Share: several workers, one large body): the shares'
results together are the whole parse's, article by article and count by count, and whatever
belongs to the body as a whole comes once, from share 0."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.ingest import feeds
from wirewatch.transforms.ingest.dedupe import content_hash
from wirewatch.transforms.ingest.parse import ParseResult, parse_feed
from wirewatch.transforms.ingest.prescan import Share

NOW = datetime(2017, 3, 1, tzinfo=timezone.utc)
URL = "https://news.example.com/feed.xml"
COUNTS = ("entries", "skipped_seen", "duplicates")
AT = {"dead_letters": {"__all__": {"at"}}}


def parse(body: bytes, stored: dict[str, str | None], **kw) -> ParseResult:
    seen_of = lambda ids: {i: stored[i] for i in ids if i in stored}  # noqa: E731
    return parse_feed(body, feed_id="f", feed_url=URL, fetched_at=NOW, seen_of=seen_of, **kw)


def in_shares(body: bytes, stored: dict, count: int, **kw) -> list[ParseResult]:
    return [parse(body, stored, share=Share(index, count), **kw) for index in range(count)]


def backlog() -> tuple[bytes, dict[str, str | None]]:
    """40 entries: 10 seen unchanged, one seen before hashes, one edited, two copies of one
    guid with different titles, one with nothing in it, the rest new; and a ttl."""
    items = [feeds.item(f"g{i}", f"Story {i}") for i in range(40)]
    items[20] = feeds.item("twin", "First copy")
    items[30] = feeds.item("twin", "Second copy")
    items[35] = '<item><guid isPermaLink="false">empty</guid></item>'  # a dead letter
    body = feeds.rss(*items, channel_extra="<ttl>45</ttl>")
    before = {a.guid: a for a in parse(body, {}).articles}
    stored = {before[f"g{i}"].id: content_hash(before[f"g{i}"]) for i in range(10)}
    stored[before["g10"].id] = None
    stored[before["g11"].id] = "0" * 32
    return body, stored


@pytest.mark.parametrize("from_tree", [True, False], ids=["tree", "feedparser"])
@pytest.mark.parametrize("count", [2, 3])
def test_the_shares_together_are_the_whole_parse(count, from_tree):
    body, stored = backlog()
    whole = parse(body, stored, from_tree=from_tree)
    shares = in_shares(body, stored, count, from_tree=from_tree)

    articles = [a for share in shares for a in share.articles]
    assert sorted(articles, key=lambda a: a.id) == sorted(whole.articles, key=lambda a: a.id)
    assert all(share.articles for share in shares)  # each built some
    assert [a.title for a in articles if a.guid == "twin"] == ["First copy"]  # as a whole parse
    for name in COUNTS:
        assert sum(getattr(share, name) for share in shares) == getattr(whole, name), name
    letters = [d.model_dump(exclude={"at"}) for share in shares for d in share.dead_letters]
    assert letters == [d.model_dump(exclude={"at"}) for d in whole.dead_letters]
    assert [d["detail"] for d in letters] == [
        "entry 35: entry has no title, no summary and no link"
    ]
    assert whole.ttl == 45 and [share.ttl for share in shares] == [45] + [None] * (count - 1)


def test_a_share_of_a_body_seen_in_full_is_empty_but_share_0_counts_it():
    items = [feeds.item(f"g{i}", f"Story {i}") for i in range(10)]
    body = feeds.rss(*items, feeds.item("g3", "A copy"), channel_extra="<ttl>45</ttl>")
    stored = {a.id: content_hash(a) for a in parse(body, {}).articles}
    whole = parse(body, stored)
    first, second = in_shares(body, stored, 2)
    assert whole.articles == first.articles == second.articles == []
    assert (
        (first.skipped_seen, first.duplicates, first.ttl)
        == (10, 1, 45)
        == (
            whole.skipped_seen,
            whole.duplicates,
            whole.ttl,
        )
    )
    assert (second.skipped_seen, second.entries, second.ttl) == (0, 0, None)


@pytest.mark.parametrize(
    "body",
    [
        # not well-formed: the byte-span pre-scan, which is not dealt
        feeds.rss(feeds.item("a"), feeds.item("b")).replace(b"<channel>", b"<channel>\n<<<<\n"),
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": '
        b'[{"id": "1", "url": "https://j.example.com/1", "title": "One"}]}',
        b"<html><body>Please log in</body></html>",
        b"",
    ],
    ids=["byte-span", "json", "not-a-feed", "empty"],
)
def test_a_body_the_tree_pre_scan_cannot_deal_is_parsed_whole_by_share_0(body):
    whole = parse(body, {})
    first, second = in_shares(body, {}, 2)
    assert first.model_dump(exclude=AT) == whole.model_dump(exclude=AT)
    assert whole.articles or whole.dead_letters
    assert second.model_dump() == ParseResult().model_dump()


def test_a_share_needs_the_store():
    """`share` deals what the pre-scan keeps; with no store there is no pre-scan."""
    with pytest.raises(ValueError, match="seen_of"):
        parse_feed(b"", feed_id="f", feed_url=URL, share=Share(1, 2))
