"""The ingest wrappers in real (in-process) pipelines: FetchFeeds against the loopback feed
server, ParseFeeds and DropSeen against a state store in a temporary directory.

The store is opened the way the wrappers open it (StoreDoFn.setup), so these tests follow the
store the code uses. Elements are reduced to plain tuples before `assert_that`, leaving out
what changes from run to run (elapsed times, fetch times).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import apache_beam as beam
import pytest
from apache_beam.pvalue import TaggedOutput
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import FixedWindows, GlobalWindow, TimestampedValue

from tests.beam_counters import run_and_count
from tests.factories import article
from tests.ingest import feeds
from tests.loopback import FeedServer
from wirewatch.transforms.beam_support.metrics import NS
from wirewatch.transforms.config import Config, FeedConfig, FetchSettings
from wirewatch.transforms.ingest.beam import (
    DropSeen,
    FetchFeeds,
    ParseFeeds,
    _DropSeenDoFn,
    _ParseDoFn,
)
from wirewatch.transforms.ingest.dedupe import content_hash, seen_hashes, seen_keys, text_hash
from wirewatch.transforms.ingest.fetch import FetchResult
from wirewatch.transforms.ingest.ids import article_id, entry_key
from wirewatch.transforms.ingest.parse import parse_feed
from wirewatch.transforms.state.beam import StoreDoFn
from wirewatch.transforms.state.sqlite import FeedState

CONFIG = Config(fetch=FetchSettings(connect_timeout=2, read_timeout=2, deadline=5))
NOW = datetime.now(timezone.utc)


def pipeline() -> test_pipeline.TestPipeline:
    return test_pipeline.TestPipeline(runner=FnApiRunner())


class Store:
    """The state store, opened the way every wrapper opens it."""

    def __init__(self, state_dir):
        self._opener = StoreDoFn(str(state_dir))

    def __enter__(self):
        self._opener.setup()
        return self._opener.store

    def __exit__(self, *exc):
        self._opener.teardown()


class CountingSeen:
    """Wraps a store and records every question about seen keys (the batching under test)."""

    def __init__(self, store):
        self._store = store
        self.questions: list[list[str]] = []

    def seen(self, keys):
        keys = list(keys)
        self.questions.append(keys)
        return self._store.seen(keys)

    def seen_hashes(self, keys):
        keys = list(keys)
        self.questions.append(keys)
        return self._store.seen_hashes(keys)

    def __getattr__(self, name):
        return getattr(self._store, name)


def rss_item(guid: str, published: datetime) -> str:
    return feeds.item(
        guid, f"Story {guid}", extra=f"<pubDate>{format_datetime(published)}</pubDate>"
    )


def ident(feed_id: str, guid: str) -> str:
    return article_id(feed_id, entry_key(guid, None))


# --- FetchFeeds ----------------------------------------------------------------------------


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def test_fetch_feeds_routes_ok_not_modified_and_failures(server, tmp_path):
    body = feeds.rss(feeds.item("a"))
    server.feeds["/new.xml"] = (200, {"ETag": '"n1"', "Content-Type": "application/rss+xml"}, body)
    server.feeds["/known.xml"] = (200, {"ETag": '"k2"'}, body)
    server.feeds["/same.xml"] = (304, {}, b"")
    server.feeds["/down.xml"] = (503, {"Retry-After": "7200"}, b"busy")
    page = b"<!DOCTYPE html><html><body>Please sign in</body></html>"  # a failed poll too
    server.feeds["/login.xml"] = (200, {"ETag": '"p1"'}, page)
    new, known, same, down, login = (
        FeedConfig(id=name, url=server.url(f"/{name}.xml"), interval=300)
        for name in ("new", "known", "same", "down", "login")
    )
    with Store(tmp_path) as store:
        store.save_feed_state(FeedState(feed_id="known", etag='"k1"', last_status="ok"))
        store.save_feed_state(FeedState(feed_id="same", etag='"s1"', last_status="ok"))
        store.save_feed_state(FeedState(feed_id="down", failures=2, last_status="failed"))
    started = datetime.now(timezone.utc)

    p = pipeline()
    out = p | beam.Create([new, known, same, down, login]) | FetchFeeds(CONFIG, str(tmp_path))
    assert_that(  # with the state before the poll: ParseFeeds makes the one after it
        out[FetchFeeds.MAIN]
        | "Main" >> beam.Map(lambda f: (f[0].id, f[1].status, f[1].body, f[2].etag)),
        equal_to([("new", "ok", body, None), ("known", "ok", body, '"k1"')]),
        label="fetched",
    )
    parsed = out[FetchFeeds.MAIN] | ParseFeeds(str(tmp_path))
    states = (out[FetchFeeds.FEED_STATE], parsed[ParseFeeds.FEED_STATE]) | beam.Flatten()
    assert_that(
        out[FetchFeeds.DEAD]
        | "Dead" >> beam.Map(lambda d: (d.stage, d.source, d.reason, d.detail)),
        equal_to(
            [
                ("fetch", "down", "http_error", f"{down.url}: HTTP 503 Service Unavailable"),
                (
                    "fetch",
                    "login",
                    "not_a_feed",
                    f"{login.url}: an HTML page, not a feed (wrong URL, or a login/consent page?)",
                ),
            ]
        ),
        label="dead",
    )
    assert_that(
        states
        | "States"
        >> beam.Map(lambda s: (s.feed_id, s.last_status, s.failures, s.etag, s.next_due > started)),
        equal_to(
            [
                ("new", "ok", 0, '"n1"', True),
                ("known", "ok", 0, '"k2"', True),
                ("same", "not_modified", 0, '"s1"', True),
                ("down", "failed", 3, None, True),
                ("login", "failed", 1, None, True),  # backs off; its page's ETag not kept
            ]
        ),
        label="feed_state",
    )
    assert_that(
        out[FetchFeeds.FEED_STATE]
        | beam.Filter(lambda s: s.feed_id == "down")
        | "RetryAfter" >> beam.Map(lambda s: s.next_due >= started + timedelta(seconds=7200)),
        equal_to([True]),
        label="retry_after",
    )
    counts = run_and_count(p)

    sent = {path: headers.get("If-None-Match") for path, headers in server.requests}
    assert sent == {
        "/new.xml": None,
        "/known.xml": '"k1"',
        "/same.xml": '"s1"',
        "/down.xml": None,
        "/login.xml": None,
    }
    assert counts["feeds_ok"] == 2 and counts["feeds_not_modified"] == 1
    assert counts["feeds_failed"] == 2 and counts["fetch_not_a_feed"] == 1
    assert counts["fetch_ok"] == 2 and counts["fetch_not_modified"] == 1
    assert counts["fetch_http_error"] == 1
    with Store(tmp_path) as store:  # nothing is saved here: the commit stage saves FEED_STATE
        assert store.feed_state("new").last_status is None


def test_fetch_and_parse_leave_no_per_feed_counters(server, tmp_path):
    """Per-feed status comes from the saved feed states, not from one counter per feed."""
    server.feeds["/a.xml"] = (200, {}, feeds.rss())
    p = pipeline()
    _ = (
        p
        | beam.Create([FeedConfig(id="feed-zz", url=server.url("/a.xml"))])
        | FetchFeeds(CONFIG, str(tmp_path))
    )[FetchFeeds.MAIN] | ParseFeeds(str(tmp_path))
    result = p.run()
    result.wait_until_finish()
    names = {
        (c.key.metric.namespace, c.key.metric.name) for c in result.metrics().query()["counters"]
    }
    assert (NS, "feeds_ok") in names
    assert [n for n in names if "feed-zz" in n[0] + n[1] or n[0] == f"{NS}.feed"] == []


def test_polled_bodies_never_go_into_the_fetch_dofns_pickle_whole(tmp_path):
    """`run --once` hands the cycle the bodies its look polled (megabytes when feeds are
    busy). Beam bz2-compresses a DoFn at level 9 every time it pickles one, several times a
    run: the bodies travel by key in this process and zlib-compressed elsewhere (a Ref), and
    the fetch stage still finds them."""
    import time

    from apache_beam.internal import pickler

    from wirewatch.transforms.beam_support import cache
    from wirewatch.transforms.ingest.beam import _FetchDoFn

    body = feeds.rss(*(feeds.item(f"g{i}", f"Story number {i}") for i in range(3000)))
    polled = {
        "wire": FetchResult(url="https://wire.invalid/rss", status="ok", outcome="ok", body=body)
    }

    def pickled() -> bytes:
        return pickler.dumps(_FetchDoFn(CONFIG, str(tmp_path), time.time, cache.ref(polled)))

    elsewhere = pickled()
    release = cache.keep_in_process(polled)
    try:
        here = pickled()
        assert len(here) < 10_000 < len(body)  # the key alone
        assert pickler.loads(here).polled.value["wire"].body == body
    finally:
        release()
    assert len(elsewhere) < len(body) / 3  # the zlib blob, not the body
    assert pickler.loads(elsewhere).polled.value["wire"].body == body


def test_fetch_feeds_fails_at_construction_without_a_config():
    with pytest.raises(TypeError, match="expected a wirewatch.transforms.config.Config"):
        FetchFeeds({"fetch": {}}, "/tmp/state")


# --- ParseFeeds ----------------------------------------------------------------------------


def fetched(feed: FeedConfig, body: bytes, first_poll: bool, **before):
    """What FetchFeeds hands ParseFeeds: the feed, its ok fetch, its state before the poll."""
    previous = FeedState(feed_id=feed.id, last_status=None if first_poll else "ok", **before)
    return feed, FetchResult(url=feed.url, status="ok", outcome="ok", body=body), previous


def test_parse_feeds_articles_dead_letters_and_backfill(tmp_path):
    recent, old = NOW - timedelta(hours=1), NOW - timedelta(days=3)
    wire = FeedConfig(id="wire", url="https://wire.example.com/rss", backfill_hours=24)
    everything = FeedConfig(id="all", url="https://all.example.com/rss", backfill_hours=None)
    known = FeedConfig(id="known", url="https://known.example.com/rss")
    broken = FeedConfig(id="broken", url="https://broken.example.com/rss")
    not_a_feed = b"<html><body>Please log in</body></html>"
    reason = parse_feed(not_a_feed, feed_id="broken", feed_url=broken.url).dead_letters[0].reason
    with Store(tmp_path) as store:
        store.mark_seen([ident("known", "k1")])
    inputs = [
        fetched(wire, feeds.rss(rss_item("new", recent), rss_item("old", old)), True),
        fetched(everything, feeds.rss(rss_item("older", old)), True),
        fetched(
            known,
            feeds.rss(rss_item("k1", recent), rss_item("k2", old), channel_extra="<ttl>45</ttl>"),
            False,
        ),
        fetched(broken, not_a_feed, False),
    ]

    p = pipeline()
    out = p | beam.Create(inputs) | ParseFeeds(str(tmp_path))
    assert_that(
        out[ParseFeeds.MAIN] | "Main" >> beam.Map(lambda a: (a.feed_id, a.guid)),
        equal_to([("wire", "new"), ("all", "older"), ("known", "k1"), ("known", "k2")]),
        label="articles",
    )
    assert_that(
        out[ParseFeeds.BACKFILL] | "Backfill" >> beam.Map(lambda a: (a.feed_id, a.guid)),
        equal_to([("wire", "old")]),
        label="backfill",
    )
    assert_that(
        out[ParseFeeds.DEAD] | "Dead" >> beam.Map(lambda d: (d.stage, d.source, d.reason)),
        equal_to([("parse", "broken", reason)]),
        label="dead",
    )
    counts = run_and_count(p)

    assert counts["entries"] == 5 and counts.get("entries_skipped_seen", 0) == 0
    assert counts["articles_parsed"] == 5 and counts["articles_backfill_skipped"] == 1
    with Store(tmp_path) as store:
        assert store.feed_state("known").ttl_minutes == 45  # <ttl> kept for the schedule


def test_parse_cuts_only_entries_seen_with_the_same_text(tmp_path):
    """One store question per body: an entry seen with the hash of its text is cut (and its
    key refreshed at the end of the bundle); an edited one, one stored before hashes, and a
    new one are handed on for DropSeen to decide."""
    feed = FeedConfig(id="f", url="https://f.example.com/rss")
    body = feeds.rss(*(rss_item(f"g{i}", NOW) for i in range(8)))
    unchanged = {ident("f", f"g{i}"): text_hash(f"Story g{i}", f"About Story g{i}") for i in (0, 1)}
    with Store(tmp_path) as store:
        store.record_seen(unchanged)
        store.record_seen({ident("f", "g2"): text_hash("Story g2 (old)", "About Story g2")})
        store.mark_seen([ident("f", "g3")])  # a row from before hashes
    fn = _ParseDoFn(str(tmp_path))
    fn.setup()
    fn.store = counting = CountingSeen(fn.store)
    touched: list[list[str]] = []
    fn.store.touch_seen = touched.append
    try:
        fn.start_bundle()
        out = list(fn.process(fetched(feed, body, False)))
        fn.finish_bundle()
    finally:
        fn.teardown()
    assert len(counting.questions) == 1
    [state] = [o.value for o in out if isinstance(o, TaggedOutput)]
    assert (state.feed_id, state.last_status) == ("f", "ok")
    assert sorted(a.guid for a in out if not isinstance(a, TaggedOutput)) == [
        f"g{i}" for i in range(2, 8)
    ]
    assert touched == [sorted([*unchanged, ident("f", "g2"), ident("f", "g3")])]


def test_a_body_no_feed_could_be_read_from_fails_its_poll(server, tmp_path):
    """A body that only the parse finds is no feed (XML with another root, JSON that is not a
    JSON Feed, malformed XML with nothing to salvage) failed its poll, as a page the fetch
    already knows is none: it backs off and `wirewatch state` shows it failing (it showed
    'last ok, failures 0' while every poll was dead-lettered). The body's validators are not
    kept: the next poll asks with those of the last good one."""
    sitemap = b'<?xml version="1.0"?><urlset><url><loc>https://x.example/a</loc></url></urlset>'
    server.feeds["/odd"] = (200, {"ETag": '"page"'}, sitemap)
    server.feeds["/json"] = (200, {"Content-Type": "application/json"}, b'{"hello": "world"}')
    server.feeds["/good"] = (200, {}, feeds.rss(rss_item("a", NOW)))
    odd, json, good = (FeedConfig(id=n, url=server.url(f"/{n}")) for n in ("odd", "json", "good"))
    with Store(tmp_path) as store:
        store.save_feed_state(FeedState(feed_id="odd", etag='"old"', last_status="ok"))
    started = datetime.now(timezone.utc)

    p = pipeline()
    fetched = p | beam.Create([odd, json, good]) | FetchFeeds(CONFIG, str(tmp_path))
    out = fetched[FetchFeeds.MAIN] | ParseFeeds(str(tmp_path))
    assert_that(
        out[ParseFeeds.FEED_STATE]
        | "States"
        >> beam.Map(
            lambda s: (s.feed_id, s.last_status, s.failures, s.etag, s.last_error, s.next_due)
        )
        | "Shape" >> beam.Map(lambda t: (*t[:4], t[4] and t[4].split(" (")[0], t[5] > started)),
        equal_to(
            [
                (
                    "odd",
                    "failed",
                    1,
                    '"old"',
                    "XML whose root element <urlset> is not rss, feed or rdf:RDF",
                    True,
                ),
                ("json", "failed", 1, None, "JSON that is not a JSON Feed", True),
                ("good", "ok", 0, None, None, True),
            ]
        ),
        label="feed_state",
    )
    assert_that(
        out[ParseFeeds.DEAD] | "Dead" >> beam.Map(lambda d: (d.stage, d.source, d.reason)),
        equal_to([("parse", "odd", "not_a_feed"), ("parse", "json", "not_a_feed")]),
        label="dead",
    )
    counts = run_and_count(p)

    assert counts["feeds_ok"] == 1 and counts["fetch_ok"] == 1
    assert counts["feeds_failed"] == 2 and counts["fetch_not_a_feed"] == 2


# --- DropSeen ------------------------------------------------------------------------------


def test_drop_seen_drops_earlier_cycles_and_keeps_the_earliest_copy(tmp_path):
    seen_before = article(title="Seen", id="s1", link="https://example.org/seen")
    same_link = article(title="Relay", id="r1", feed_id="other", link="https://example.org/old")
    fresh = article(title="Fresh", id="f1", link="https://example.org/fresh")
    first = article(title="Copy", id="c9", link="https://example.org/copy", published=NOW)
    later = article(
        title="Copy", id="c1", link="https://example.org/copy", published=NOW + timedelta(hours=1)
    )
    tie_a = article(title="Tie", id="t1", link="https://example.org/tie", published=NOW)
    tie_b = article(title="Tie", id="t2", link="https://example.org/tie", published=NOW)
    with Store(tmp_path) as store:
        store.mark_seen(seen_keys(seen_before))
        store.mark_seen(["link:https://example.org/old"])  # another feed's copy, seen before

    p = pipeline()
    kept = (
        p
        | beam.Create([seen_before, same_link, fresh, later, first, tie_b, tie_a])
        | DropSeen(str(tmp_path))
    )
    assert_that(kept | beam.Map(lambda a: a.id), equal_to(["f1", "c9", "t1"]))
    counts = run_and_count(p)

    assert counts["articles_seen"] == 2 and counts["articles_new"] == 5
    assert counts["articles_duplicate_in_run"] == 2


def test_drop_seen_asks_the_store_once_per_bundle(tmp_path):
    articles = [
        article(title=f"A{i}", id=f"a{i}", link=f"https://example.org/{i}") for i in range(30)
    ]
    with Store(tmp_path) as store:
        store.mark_seen(seen_keys(articles[0]) + [f"link:{articles[1].link}"])
    fn = _DropSeenDoFn(str(tmp_path))
    fn.setup()
    fn.store = counting = CountingSeen(fn.store)
    try:
        fn.start_bundle()
        for a in articles:
            assert list(fn.process(a, timestamp=0, window=GlobalWindow()) or ()) == []
        out = list(fn.finish_bundle())
        fn.start_bundle()
        assert list(fn.finish_bundle() or ()) == []  # an empty bundle asks nothing
    finally:
        fn.teardown()
    assert len(counting.questions) == 1 and len(counting.questions[0]) == 60
    assert [held.value.id for held in out] == [f"a{i}" for i in range(2, 30)]
    assert all(list(held.windows) == [GlobalWindow()] for held in out)


def test_drop_seen_keeps_each_articles_window(tmp_path):
    """Copies in two different windows are two articles: the window survives the bundle."""
    early = article(title="W", id="w1", link="https://example.org/w")
    late = article(title="W", id="w2", link="https://example.org/w")
    p = pipeline()
    kept = (
        p
        | beam.Create([(early, 10), (late, 70)])
        | beam.Map(lambda pair: TimestampedValue(*pair))
        | beam.WindowInto(FixedWindows(60))
        | DropSeen(str(tmp_path))
        | beam.Map(lambda a, w=beam.DoFn.WindowParam: (a.id, int(w.start)))
    )
    assert_that(kept, equal_to([("w1", 0), ("w2", 60)]))
    p.run().wait_until_finish()


def test_drop_seen_passes_an_edited_entry_on_marked_edited_once(tmp_path):
    """The FT case: a seen entry whose headline changed goes on (marked edited); the same entry
    with only markup, spacing or a tracking parameter changed does not; a key stored without a
    hash (a store from before hashes) adopts the entry's hash without calling it an edit. Every
    listed key is refreshed; the edit's new hash is left for the cycle's commit."""
    before = article(
        title="Chevron and Exxon profits drop on falling oil price",
        summary="Oil majors reported lower profits. https://www.ft.com/x",
        id="ft:1",
        link="https://www.ft.com/content/chevron-exxon",
    )
    edited = before.model_copy(
        update={"title": "Chevron and Exxon profits drop as Trump trade war hits oil"}
    )
    cosmetic = article(
        title="Seen  <b>as</b> before",
        summary="Same\u00a0text. https://example.org/y?utm_source=rss",
        id="s:1",
        link="https://example.org/seen",
    )
    old_row = article(title="From before hashes", id="o:1", link="https://example.org/o")
    with Store(tmp_path) as store:
        store.record_seen(seen_hashes(before))
        store.record_seen(
            seen_hashes(
                cosmetic.model_copy(
                    update={
                        "title": "Seen as before",
                        "summary": "Same text. https://example.org/y",
                    }
                )
            )
        )
        store.mark_seen(seen_keys(old_row))

    p = pipeline()
    kept = p | beam.Create([edited, cosmetic, old_row]) | DropSeen(str(tmp_path))
    assert_that(
        kept | beam.Map(lambda a: (a.id, a.edited, a.title)),
        equal_to([("ft:1", True, "Chevron and Exxon profits drop as Trump trade war hits oil")]),
    )
    counts = run_and_count(p)

    assert counts["articles_edited"] == 1 and counts["articles_seen"] == 2
    assert counts.get("articles_new", 0) == 0
    with Store(tmp_path) as store:
        hashes = store.seen_hashes(seen_keys(before) + seen_keys(old_row))
    assert hashes["ft:1"] == content_hash(before)  # the edit is committed by CommitCycle
    assert hashes["o:1"] == hashes["link:https://example.org/o"] == content_hash(old_row)
