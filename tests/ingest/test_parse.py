"""parse_feed: formats, normalization decisions, dead letters, and the pre-scan fast path."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.ingest import feeds
from wirewatch.transforms.ingest.parse import parse_feed

NOW = datetime(2017, 3, 1, tzinfo=timezone.utc)
URL = "https://news.example.com/feed.xml"


def parse(body: bytes, **kw):
    kw.setdefault("feed_id", "f")
    kw.setdefault("feed_url", URL)
    kw.setdefault("fetched_at", NOW)
    return parse_feed(body, **kw)


@pytest.mark.parametrize(
    "name,body,version,count",
    [
        ("rss20", feeds.RSS20, "rss20", 3),
        ("atom10", feeds.ATOM10, "atom10", 2),
        ("atom03", feeds.ATOM03, "atom03", 1),
        ("rss10", feeds.RSS10, "rss10", 2),
        ("rss090", feeds.RSS090, "rss090", 1),
        ("rss091", feeds.RSS091, "rss091n", 1),
        ("json", feeds.JSONFEED, "json1", 2),
    ],
)
def test_every_format_is_read(name, body, version, count):
    result = parse(body)
    assert result.version == version
    assert len(result.articles) == count
    assert all(a.feed_id == "f" and a.title and len(a.id) == 16 for a in result.articles)


def test_rss_normalization():
    first, relative, no_guid = parse(feeds.RSS20).articles
    assert first.title == "Talks resume in Mexico"
    assert first.summary == "First line & more"
    assert first.link == "https://news.example.com/a/1?id=7"  # utm_* and fragment gone
    assert first.published == datetime(2017, 2, 14, 9, 0, tzinfo=timezone.utc)
    assert first.authors == ("Ana Ruiz",) and first.categories == ("Politics", "Trade")
    assert first.language == "en-gb" and first.guid == "wire-1"
    assert relative.link == "https://news.example.com/a/2"  # resolved against the feed URL
    assert no_guid.summary == "bold café"  # HTML stripped, mojibake repaired
    assert no_guid.published == NOW  # no date: first seen


def test_atom_normalization():
    one, two = parse(feeds.ATOM10).articles
    assert one.title == "Hello & welcome" and one.summary == "Some xhtml"
    assert one.link == "https://atom.example.org/blog/posts/1"  # xml:base
    assert one.published == datetime(2017, 2, 14, 14, 0, tzinfo=timezone.utc)
    assert one.updated == datetime(2017, 2, 14, 10, 0, tzinfo=timezone.utc)
    assert two.summary == "Content only"


def test_json_feed_items():
    result = parse(feeds.JSONFEED)
    one, two = result.articles
    assert one.link == "https://json.example.com/1" and one.summary == "Hi & bye"
    assert two.title.startswith("Only text") and two.link == "https://json.example.com/2"
    assert [d.reason for d in result.dead_letters] == ["entry_invalid"]


def test_ids_are_stable_and_scoped_to_the_feed():
    a = parse(feeds.RSS20).articles
    b = parse(feeds.RSS20, fetched_at=NOW + timedelta(days=1)).articles
    other = parse(feeds.RSS20, feed_id="g").articles
    assert [x.id for x in a] == [x.id for x in b]
    assert not {x.id for x in a} & {x.id for x in other}


def test_id_prefers_guid_over_link():
    one = parse(feeds.rss(feeds.item("g1", extra=""))).articles[0]
    moved = parse(feeds.rss(feeds.item("g1").replace("t.example.com/g1", "t.example.com/new")))
    assert moved.articles[0].id == one.id


def test_missing_title_uses_summary_and_empty_entry_is_dead_lettered():
    body = feeds.rss(
        "<item><description>Only a summary here</description><guid>x1</guid></item>",
        "<item><guid isPermaLink='false'>x2</guid></item>",
        feeds.item("ok"),
    )
    result = parse(body)
    assert [a.title for a in result.articles] == ["Only a summary here", "Title"]
    assert [d.reason for d in result.dead_letters] == ["empty_entry"]
    assert result.dead_letters[0].stage == "parse" and result.dead_letters[0].source == "f"


def test_future_dates_are_clamped_to_first_seen():
    body = feeds.rss(feeds.item("fut", extra="<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate>"))
    assert parse(body).articles[0].published == NOW


def test_duplicate_ids_keep_the_first():
    body = feeds.rss(feeds.item("d", "First"), feeds.item("d", "Second"), feeds.item("e"))
    result = parse(body)
    assert [a.title for a in result.articles] == ["First", "Title"]
    assert result.duplicates == 1 and result.entries == 3


def test_unsafe_links_are_dropped():
    body = feeds.rss("<item><title>x</title><link>javascript:alert(1)</link></item>")
    assert parse(body).articles[0].link is None


def test_ttl():
    assert parse(feeds.RSS20).ttl == 30
    assert parse(feeds.rss(feeds.item("a"), channel_extra="<ttl>soon</ttl>")).ttl is None


@pytest.mark.parametrize(
    "body,reason",
    [
        (b"", "empty_body"),
        (b"   \n\t ", "empty_body"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (
            b"<!DOCTYPE html><html><head><title>Login</title></head><body>x</body></html>",
            "not_a_feed",
        ),
        (b'{"hello": "world"}', "not_a_feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "malformed_json"),
        (b"<?xml version='1.0'?><config><a>1</a></config>", "not_a_feed"),
        (b"just some words", "not_a_feed"),
        (b"<?xml version='1.0'?><rss version='2.0'><chan", "truncated"),
    ],
)
def test_non_feeds_give_one_dead_letter(body, reason):
    result = parse(body)
    assert result.articles == []
    assert [d.reason for d in result.dead_letters] == [reason]
    raw = body[-200:] if reason == "truncated" else body[:200]
    assert result.dead_letters[0].raw == raw.decode("utf-8", "replace")


def test_truncated_feed_keeps_complete_entries():
    body = feeds.rss(feeds.item("a"), feeds.item("b"))[:-60]
    result = parse(body)
    assert [a.guid for a in result.articles] == ["a"]
    assert [d.reason for d in result.dead_letters] == ["truncated"]


def test_wrong_declared_encoding_is_recovered():
    body = feeds.rss(feeds.item("a", "Caf\u00e9")).decode().encode("latin-1")
    result = parse(body, headers={"Content-Type": "application/rss+xml; charset=utf-8"})
    assert [a.title for a in result.articles] == ["Café"]


def test_utf16_feed():
    body = feeds.rss(feeds.item("a", "Ü")).decode().replace('encoding="utf-8"', 'encoding="utf-16"')
    result = parse(body.encode("utf-16"))
    assert [a.title for a in result.articles] == ["Ü"]


# --- the pre-scan fast path --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(feeds.ALL_XML) + ["json"])
def test_fast_path_gives_the_same_articles_for_new_entries(name):
    body = feeds.JSONFEED if name == "json" else feeds.ALL_XML[name]
    full = parse(body)
    seen = {full.articles[0].id}
    fast = parse(body, seen_of=seen.intersection)
    assert fast.articles == full.articles[1:]
    assert fast.skipped_seen == 1 and fast.entries == full.entries
    everything = parse(body, seen_of=set)
    assert everything.articles == [] and everything.skipped_seen == len(full.articles)
    assert everything.ttl == full.ttl


def test_fast_path_on_malformed_xml_cuts_only_seen_entries():
    body = feeds.rss(feeds.item("a"), feeds.item("b", "B &nbsp; x"), feeds.item("c"))
    body = body.replace(b"<channel>", b"<channel>\n<<<<<<< HEAD\n")
    full = parse(body)
    assert [a.guid for a in full.articles] == ["a", "b", "c"]
    seen = {full.articles[0].id, full.articles[2].id}
    fast = parse(body, seen_of=seen.intersection)
    assert fast.fast_path and fast.articles == full.articles[1:2]
    assert fast.skipped_seen == 2 and fast.entries == 3


def test_fast_path_with_xml_base_and_relative_guids():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel xml:base="https://b.example.com/x/">'
        b"<title>t</title><link>https://b.example.com/</link>"
        b"<item><title>one</title><guid>p/1</guid></item>"
        b"<item><title>two</title><link>p/2?utm_source=a</link></item></channel></rss>"
    )
    full = parse(body)
    assert [a.link for a in full.articles] == [
        "https://b.example.com/x/p/1",
        "https://b.example.com/x/p/2",
    ]
    ids = {a.id for a in full.articles}
    assert parse(body, seen_of=ids.intersection).skipped_seen == 2


@pytest.mark.parametrize("name", sorted(set(feeds.ALL_XML) - {"atom10"}))  # atom10 uses xml:base
def test_byte_span_prescan_matches_the_full_parse(name):
    from wirewatch.transforms.ingest.prescan_bytes import select_new_lenient
    from wirewatch.transforms.ingest.sanitize import sanitize
    from wirewatch.transforms.ingest.seen_lookup import SeenLookup

    body = feeds.ALL_XML[name]
    full = parse(body)
    seen = {full.articles[0].id}
    scan = select_new_lenient(
        sanitize(body), feed_id="f", base=URL, lookup=SeenLookup(seen.intersection)
    )
    assert scan.skipped == 1 and scan.kept == len(full.articles) - 1
    assert parse(scan.envelope).articles == full.articles[1:]


def test_charset_disagreement_uses_byte_cuts_and_matches_the_full_parse():
    body = feeds.rss(feeds.item("a", "Caf\u00e9"), feeds.item("b", "Cr\u00e8me"))
    headers = {"Content-Type": "application/rss+xml; charset=iso-8859-1"}
    full = parse(body, headers=headers)
    seen = {full.articles[0].id}
    fast = parse(body, headers=headers, seen_of=seen.intersection)
    assert fast.fast_path and fast.articles == full.articles[1:]


@pytest.mark.parametrize("malformed", [False, True], ids=["tree", "byte_spans"])
def test_keep_at_most_builds_the_first_kept_entries_and_holds_back_the_rest(malformed):
    """run --once's look asks only whether something is new: the first entries the pre-scan
    keeps (seen ones are cut as always, and do not count), the rest held back."""
    body = feeds.rss(*(feeds.item(f"g{i}", f"Story {i}") for i in range(12)))
    if malformed:  # not well-formed: the byte-span pre-scan
        body = body.replace(b"<channel>", b"<channel>\n<<<<<<< HEAD\n")
    full = parse(body)
    seen = {full.articles[0].id, full.articles[2].id}
    first = parse(body, seen_of=seen.intersection, keep_at_most=3)
    assert first.articles == [full.articles[i] for i in (1, 3, 4)]
    assert (first.skipped_seen, first.held_back) == (2, 7)
    whole = parse(body, seen_of=seen.intersection)
    assert whole.articles == full.articles[1:2] + full.articles[3:] and whole.held_back == 0
    with pytest.raises(ValueError, match="at least 1"):
        parse(body, seen_of=seen.intersection, keep_at_most=0)


def test_store_failures_propagate():
    def broken(_):
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        parse(feeds.RSS20, seen_of=broken)
