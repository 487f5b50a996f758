"""New entries built from the pre-scan's tree equal feedparser's, field by field.

Each body is parsed twice: as a first poll with a store that has seen nothing (every entry goes
through the pre-scan, and RSS items through `tree_entry`), and in full (no store: feedparser
reads the whole body). The articles must be equal, and the entry dictionaries `tree_entry`
builds must equal feedparser's for every key an Article is made from.
"""

from __future__ import annotations

import io
import pathlib
from datetime import datetime, timezone

import feedparser
import pytest
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import resolve_relative_uris
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.ingest import feeds
from wirewatch.transforms.ingest import channel, prescan, tree_entry
from wirewatch.transforms.ingest.parse import parse_feed, parse_feed_by_feedparser
from wirewatch.transforms.ingest.sanitize import sanitize

NOW = datetime(2017, 3, 1, tzinfo=timezone.utc)
URL = "https://news.example.com/feed.xml"
STORIES = pathlib.Path(__file__).parent.parent / "stories" / "fixtures"


def parse(body: bytes, **kw):
    kw.setdefault("feed_id", "f")
    kw.setdefault("feed_url", URL)
    kw.setdefault("fetched_at", NOW)
    return parse_feed(body, **kw)


def assert_same_as_feedparser(body: bytes, headers: dict[str, str] | None = None):
    """Without a store and as a first poll (nothing seen), the result is feedparser's."""
    full = parse_feed_by_feedparser(
        body, feed_id="f", feed_url=URL, fetched_at=NOW, headers=headers
    )
    for ours in (
        parse(body, headers=headers),
        parse(body, headers=headers, seen_of=lambda ids: set()),
    ):
        assert ours.articles == full.articles
        assert [(d.reason, d.detail) for d in ours.dead_letters] == [
            (d.reason, d.detail) for d in full.dead_letters
        ]
        assert ours.warnings == full.warnings
        assert (ours.version, ours.title, ours.ttl, ours.entries, ours.duplicates) == (
            full.version,
            full.title,
            full.ttl,
            full.entries,
            full.duplicates,
        )
    return full


def built_entries(body: bytes, lang: str | None = None):
    """tree_entry's entries for every item of `body` (None: left to feedparser)."""
    data = sanitize(body)
    root = etree.fromstring(data, prescan._parser())
    items = prescan._shape(root)[1]
    return tree_entry.build_entries(items, tree_entry.Document(data, base=URL, lang=lang))


def assert_entries_match(body: bytes, lang: str | None = None):
    built = built_entries(body, lang)
    assert built is not None, "expected the tree path to build these entries"
    headers = {"content-location": URL}
    if lang:
        headers["content-language"] = lang
    parsed = feedparser.parse(io.BytesIO(sanitize(body)), response_headers=headers)
    assert len(built) == len(parsed.entries)
    for mine, theirs in zip(built, parsed.entries):
        for key in tree_entry.ARTICLE_KEYS:
            assert dict.get(mine, key) == dict.get(theirs, key), key


def rss(items: str, *, root_attrs: str = "", channel_extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        f'xmlns:media="http://search.yahoo.com/mrss/" {root_attrs}><channel>'
        f"<title>T</title><link>https://news.example.com/</link>{channel_extra}"
        f"<lastBuildDate>Tue, 14 Feb 2017 10:00:00 GMT</lastBuildDate>{items}</channel></rss>"
    ).encode()


# --- the fixtures -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(feeds.ALL_XML))
def test_fixture_feeds(name):
    assert_same_as_feedparser(feeds.ALL_XML[name])


@pytest.mark.parametrize("path", sorted(STORIES.glob("*.xml")), ids=lambda p: p.name)
def test_story_fixture_feeds(path):
    body = path.read_bytes()
    assert assert_same_as_feedparser(body).articles
    assert_entries_match(body)


def test_rss20_and_rss10_fixtures_are_built_from_the_tree():
    assert_entries_match(feeds.RSS20)
    assert_entries_match(feeds.RSS10)


# --- tricky cases that the tree path replays ----------------------------------------------

TRICKY = {
    "cdata and html in the title": "<item><title><![CDATA[<b>Bold</b> &amp; co]]></title>"
    "<link>https://news.example.com/1</link></item>",
    "escaped html title": "<item><title>Talks in &lt;i&gt;Mexico&lt;/i&gt; &amp;amp; more</title>"
    "<guid>https://news.example.com/2</guid></item>",
    "script in the description": "<item><title>t</title><description>&lt;script&gt;alert(1)"
    "&lt;/script&gt;&lt;p onclick='x()'&gt;Hi &lt;a href='/rel'&gt;there&lt;/a&gt;&lt;/p&gt;"
    "</description><guid isPermaLink='false'>g3</guid></item>",
    "non-ascii and cp1252 references": "<item><title>Caf\u00e9 &#150; na\u00efve &#x2019;s "
    "&#128;</title><guid isPermaLink='false'>g4</guid></item>",
    "utf-8 read as latin-1 (mojibake)": "<item><title>caf\u00c3\u00a9</title>"
    "<description>\u00c3\u00a9t\u00c3\u00a9</description><guid isPermaLink='false'>g5</guid>"
    "</item>",
    "relative link and permalink guid": "<item><title>t</title><link>/a/6?x=1&amp;y=2</link>"
    "<guid>/a/6</guid></item>",
    "permalink guid only": "<item><title>t</title><guid>a/7</guid></item>",
    "no link, no guid": "<item><title>Only a title</title><description>words</description></item>",
    "no title": "<item><description>A summary that becomes the title</description>"
    "<guid isPermaLink='false'>g9</guid></item>",
    "empty entry": "<item><guid isPermaLink='false'>g10</guid></item>",
    "odd dates": "<item><title>a</title><guid isPermaLink='false'>d1</guid>"
    "<pubDate>Sun, 31 Dec 2017 23:59:60 +1300</pubDate></item>"
    "<item><title>b</title><guid isPermaLink='false'>d2</guid><dc:date>2017-02-14T10:00:00+05:30"
    "</dc:date></item><item><title>c</title><guid isPermaLink='false'>d3</guid>"
    "<pubDate>14 Feb 2017</pubDate><dc:date>not a date</dc:date></item>"
    "<item><title>d</title><guid isPermaLink='false'>d4</guid><pubDate>2099-01-01T00:00:00Z"
    "</pubDate></item>",
    "authors with emails": "<item><title>t</title><guid isPermaLink='false'>a1</guid>"
    "<author>ana@example.com (Ana Ruiz)</author><dc:creator>Bo</dc:creator>"
    "<dc:creator>bo@example.com</dc:creator></item>",
    "categories": "<item><title>t</title><guid isPermaLink='false'>c1</guid>"
    "<category domain='d'>Politics</category><category>Politics</category><category/>"
    "<dc:subject>Trade</dc:subject></item>",
    "content before and after description": "<item><title>t</title><guid isPermaLink='false'>"
    "e1</guid><content:encoded>&lt;p&gt;Full&lt;/p&gt;</content:encoded>"
    "<description>Short</description></item><item><title>u</title><guid isPermaLink='false'>"
    "e2</guid><content:encoded><![CDATA[<p>Only <b>content</b></p>]]></content:encoded></item>",
    "namespaced media": "<item><title>t</title><guid isPermaLink='false'>m1</guid>"
    "<media:content url='https://img.example.com/1.jpg' medium='image'/>"
    "<media:thumbnail url='https://img.example.com/t.jpg'/>"
    "<enclosure url='https://img.example.com/a.mp3' type='audio/mpeg' length='1'/>"
    "<comments>/c/1</comments></item>",
    "two titles, whitespace and comments": "<item>\n <title>  </title><!-- c -->\n"
    "<title> Second </title><title>Third</title><guid isPermaLink='false'>w1</guid></item>",
    "upper-case names": "<item><Title>Upper</Title><PUBDATE>Tue, 14 Feb 2017 10:00:00 GMT"
    "</PUBDATE><guid isPermaLink='False'>u/1</guid></item>",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_rss_items_are_built_as_feedparser_reads_them(name):
    body = rss(TRICKY[name])
    assert_same_as_feedparser(body)
    assert_entries_match(body)


@pytest.mark.parametrize("lang", [None, "en_GB", "FR"])
def test_languages_from_the_header_and_xml_lang(lang):
    body = rss(TRICKY["cdata and html in the title"], root_attrs='xml:lang="de-AT"')
    assert_same_as_feedparser(body, headers={"Content-Language": lang} if lang else None)
    assert_entries_match(body, lang)
    body = rss(TRICKY["escaped html title"])
    assert_same_as_feedparser(body, headers={"Content-Language": lang} if lang else None)
    assert_entries_match(body, lang)


# --- shapes left to feedparser (still the same articles) ----------------------------------

LEFT_TO_FEEDPARSER = {
    "xml:base": rss(
        "<item><title>t</title><link>p/1</link></item>",
        root_attrs='xml:base="https://other.example.org/x/"',
    ),
    "media:title": rss("<item><media:title>Media title</media:title><guid>g</guid></item>"),
    "source": rss("<item><title>t</title><guid>g</guid><source url='https://s/'>S</source></item>"),
    "second description": rss(
        "<item><description>a</description><description>b</description></item>"
    ),
    "typed title": rss(
        "<item><title type='html'>&lt;b&gt;x&lt;/b&gt;</title><guid>g</guid></item>"
    ),
    "xhtml child": rss(
        "<item><title>t</title><description><p xmlns='http://www.w3.org/1999/xhtml'>x</p>"
        "</description></item>"
    ),
    "unknown namespace": rss(
        "<item xmlns:x='https://x.example/'><title>t</title><x:title>x</x:title></item>"
    ),
    "dc prefix bound elsewhere": rss(
        "<item xmlns:d='http://purl.org/dc/elements/1.1/'><title>t</title><d:creator>A</d:creator>"
        "</item>",
        root_attrs='xmlns:dcx="http://purl.org/dc/elements/1.1/"',
    ).replace(b'xmlns:dc="http://purl.org/dc/elements/1.1/"', b'xmlns:dc="https://not-dc/"'),
}


@pytest.mark.parametrize("name", sorted(LEFT_TO_FEEDPARSER))
def test_unreplayed_shapes_go_to_feedparser_with_the_same_result(name):
    body = LEFT_TO_FEEDPARSER[name]
    assert built_entries(body) is None
    assert_same_as_feedparser(body)


@pytest.mark.parametrize("name", ["atom10", "atom03"])
def test_atom_goes_to_feedparser(name):
    data = sanitize(feeds.ALL_XML[name])
    root = etree.fromstring(data, prescan._parser())
    doc = tree_entry.Document(data, base=URL, lang=None)
    assert tree_entry.build_entries(prescan._shape(root)[1], doc) is None
    assert_same_as_feedparser(feeds.ALL_XML[name])


# --- polls, the channel cache and the markup shortcut -------------------------------------


def test_a_poll_with_one_new_entry_builds_it_and_reads_the_channel_once():
    first = rss(TRICKY["relative link and permalink guid"] + TRICKY["authors with emails"])
    seen = {a.id for a in parse(first).articles}
    channel._parse.cache_clear()
    for minute in range(3):  # a new lastBuildDate every poll: the channel is still cached
        later = first.replace(
            b"10:00:00 GMT</lastBuildDate>", f"10:0{minute}:00 GMT</lastBuildDate>".encode()
        )
        later = later.replace(b"</channel>", TRICKY["categories"].encode() + b"</channel>")
        fast = parse(later, seen_of=seen.intersection)
        assert fast.fast_path and fast.skipped_seen == 2
        reference = parse_feed_by_feedparser(later, feed_id="f", feed_url=URL, fetched_at=NOW)
        assert fast.articles == [a for a in reference.articles if a.id not in seen]
    assert channel._parse.cache_info().misses == 1


TEXT = st.text(alphabet=st.characters(blacklist_characters="<&", blacklist_categories=("Cs",)))


@settings(max_examples=300, deadline=None)
@given(TEXT, st.sampled_from(["text/html", "application/xhtml+xml"]))
def test_markup_without_tags_or_references_skips_feedparser_as_feedparser_would(text, kind):
    expected = _sanitize_html(resolve_relative_uris(text, URL, "utf-8", kind), "utf-8", kind)
    assert tree_entry._markup(text, URL, kind) == expected


def test_an_item_where_the_pre_scan_does_not_look_sends_the_poll_to_feedparser():
    body = rss(
        TRICKY["permalink guid only"],
        channel_extra="<image><url>https://i/</url><item><title>Nested</title></item></image>",
    )
    assert "Nested" in [a.title for a in assert_same_as_feedparser(body).articles]
