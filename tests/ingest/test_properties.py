"""Property tests: no input crashes parse_feed or escapes the dead-letter path."""

from __future__ import annotations

import zlib
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest import feeds
from wirewatch.transforms.ingest.parse import ParseResult, parse_feed

BOUNDED = settings(
    max_examples=150, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
VALID = [feeds.RSS20, feeds.ATOM10, feeds.RSS10, feeds.JSONFEED, feeds.RSS091]


def _every_other(ids: list[str]) -> set[str]:
    """A store that has seen about half the ids, the same half in every process."""
    return {i for i in ids if zlib.crc32(i.encode()) % 2 == 0}


def _check(body: bytes, seen: bool) -> None:
    result = parse_feed(
        body,
        feed_id="p",
        feed_url="https://p.example.com/f",
        seen_of=_every_other if seen else None,
    )
    assert isinstance(result, ParseResult)
    assert all(d.stage == "parse" and d.reason != "parser_error" for d in result.dead_letters)
    for article in result.articles:
        assert article.title and article.feed_id == "p" and len(article.id) == 16
        assert article.link is None or article.link.startswith(("http://", "https://"))
        assert article.published.tzinfo is not None


@BOUNDED
@given(body=st.binary(max_size=2048), seen=st.booleans())
def test_random_bytes_never_crash(body, seen):
    _check(body, seen)


@BOUNDED
@given(base=st.sampled_from(VALID), data=st.data(), seen=st.booleans())
def test_mutated_feeds_never_crash(base, data, seen):
    """Cut, splice and overwrite valid feeds: the near-misses real feeds are made of."""
    body = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(body)))
        kind = data.draw(st.sampled_from(["cut", "insert", "truncate"]))
        if kind == "cut":
            body[at : at + data.draw(st.integers(1, 40))] = b""
        elif kind == "insert":
            body[at:at] = data.draw(
                st.sampled_from(
                    [
                        b"<",
                        b"&",
                        b"&nbsp;",
                        b"]]>",
                        b"<!--",
                        b"\x00",
                        b"\xff\xfe",
                        b"<item>",
                        b"</entry>",
                        b"<![CDATA[",
                        b"<<<<<<< HEAD\n",
                        b'"',
                        b"{",
                        b"\xc3",
                    ]
                )
            )
        else:
            del body[at:]
    _check(bytes(body), seen)


@BOUNDED
@given(text=st.text(max_size=300))
def test_random_text_in_a_title_never_crashes(text):
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    _check(feeds.rss(feeds.item("t", escaped)), seen=False)


NEAR_MISSES = [
    b"<",
    b"&",
    b"&nbsp;",
    b"]]>",
    b"<!--",
    b"<item>",
    b"</item>",
    b"<entry>",
    b"</entry>",
    b"<![CDATA[",
    b"<<<<<<< HEAD\n",
    b'"',
    b"'",
    b"\xc3",
    b"<guid>",
    b'<item rdf:about="',
    b"<title>",
    b"</title>",
    b"<link>",
    b">",
    b"<?",
]
MANY = feeds.rss(*(feeds.item(f"g{i}", f"T{i}") for i in range(6)))


@settings(
    max_examples=200, deadline=4000, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(base=st.sampled_from([*VALID, feeds.ATOM03, MANY]), data=st.data())
def test_prescan_output_equals_full_parse_minus_seen(base, data):
    """The fast path is exact: for any body and any seen subset, the articles it emits are the
    full parse's articles minus the seen ones, in order — also for malformed near-miss feeds."""
    body = bytearray(base)
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(body)))
        if data.draw(st.booleans()):
            body[at : at + data.draw(st.integers(1, 30))] = b""
        else:
            body[at:at] = data.draw(st.sampled_from(NEAR_MISSES))
    kw = {
        "feed_id": "p",
        "feed_url": "https://p.example.com/f",
        "fetched_at": datetime(2017, 3, 1, tzinfo=timezone.utc),
    }
    full = parse_feed(bytes(body), **kw)
    seen = {a.id for a in full.articles if data.draw(st.booleans())}
    fast = parse_feed(bytes(body), seen_of=seen.intersection, **kw)
    assert fast.articles == [a for a in full.articles if a.id not in seen]
