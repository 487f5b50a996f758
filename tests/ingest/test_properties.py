"""Property tests: no input crashes parse_feed or escapes the dead-letter path."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest import feeds
from transforms.parse import ParseResult, parse_feed

BOUNDED = settings(max_examples=150, deadline=2000, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow])
VALID = [feeds.RSS20, feeds.ATOM10, feeds.RSS10, feeds.JSONFEED, feeds.RSS091]


def _check(body: bytes, seen: bool) -> None:
    result = parse_feed(body, feed_id="p", feed_url="https://p.example.com/f",
                        is_seen=(lambda i: hash(i) % 2 == 0) if seen else None)
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
            body[at:at + data.draw(st.integers(1, 40))] = b""
        elif kind == "insert":
            body[at:at] = data.draw(st.sampled_from(
                [b"<", b"&", b"&nbsp;", b"]]>", b"<!--", b"\x00", b"\xff\xfe", b"<item>",
                 b"</entry>", b"<![CDATA[", b"<<<<<<< HEAD\n", b'"', b"{", b"\xc3"]))
        else:
            del body[at:]
    _check(bytes(body), seen)


@BOUNDED
@given(text=st.text(max_size=300))
def test_random_text_in_a_title_never_crashes(text):
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    _check(feeds.rss(feeds.item("t", escaped)), seen=False)
