"""Beam wrappers for fetching, parsing and dropping what was already seen.

The cores are transforms/fetch.py, parse.py and schedule.py; these DoFns only open clients and the
state store in setup(), count outcomes, and route bad input to the DEAD output.
Feed state (validators, schedule) is not written here: it is emitted as FEED_STATE and committed
after delivery (see beam_commit.py), so a crash never turns unprocessed items into a silent 304.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Iterable
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.metrics import Metrics

from wirewatch.transforms.beam_support.cache import fingerprint, shared
from wirewatch.transforms.beam_support.metrics import NS
from wirewatch.transforms.config import Config, FeedConfig
from wirewatch.transforms.model import Article, DeadLetter
from wirewatch.transforms.state.beam import StoreDoFn
from wirewatch.transforms.state.sqlite import FeedState

DEAD = "dead"
FEED_STATE = "feed_state"
BACKFILL = "backfill"


def feed_host(feed: FeedConfig) -> str:
    """Feeds are grouped by host so the per-host concurrency limit holds across workers."""
    return urlsplit(feed.url).netloc.lower() or "(local files)"


class _FetchHostDoFn(StoreDoFn):
    """Fetches all due feeds of one host, at most `per_host` at a time."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__(state_dir)
        self.settings = config.fetch

    def setup(self):
        from wirewatch.transforms.ingest.fetch import make_client

        super().setup()
        # one client per process, reused by later cycles (building one loads the CA bundle)
        self.client = shared(
            "http_client", fingerprint(self.settings), lambda: make_client(self.settings)
        )

    def process(self, host_feeds) -> Iterable:
        from wirewatch.transforms.ingest.fetch import fetch
        from wirewatch.transforms.ingest.schedule import next_due

        _, feeds = host_feeds
        feeds = sorted(feeds, key=lambda f: f.id)
        states = {f.id: self.store.feed_state(f.id) for f in feeds}

        def one(feed: FeedConfig):
            st = states[feed.id]
            return fetch(
                feed.url,
                self.settings,
                client=self.client,
                etag=st.etag,
                last_modified=st.last_modified,
            )

        with ThreadPoolExecutor(max_workers=self.settings.per_host) as pool:
            results = list(pool.map(one, feeds))
        now = datetime.now(timezone.utc)
        for feed, result in zip(feeds, results):
            st = states[feed.id]
            Metrics.counter(NS, f"feeds_{result.status}").inc()
            Metrics.counter(NS, f"fetch_{result.outcome}").inc()
            Metrics.counter(f"{NS}.feed", f"{feed.id}.{result.status}").inc()
            failures = st.failures + 1 if result.status == "failed" else 0
            new_state = FeedState(
                feed_id=feed.id,
                etag=result.etag or st.etag,
                last_modified=result.last_modified or st.last_modified,
                failures=failures,
                next_due=next_due(
                    now,
                    feed.interval,
                    failures=failures,
                    retry_after=result.retry_after,
                    max_age=result.max_age,
                    ttl_minutes=st.ttl_minutes,
                ),
                last_status=result.status,
                last_error=result.error,
                ttl_minutes=st.ttl_minutes,
            )
            yield beam.pvalue.TaggedOutput(FEED_STATE, new_state)
            if result.status == "failed":
                yield beam.pvalue.TaggedOutput(
                    DEAD,
                    DeadLetter.of(
                        "fetch",
                        feed.id,
                        result.outcome,
                        detail=f"{feed.url}: {result.error or 'fetch failed'}",
                        raw=result.body,
                    ),
                )
            elif result.status == "ok":
                yield feed, result, st.last_status is None


class FetchFeeds(beam.PTransform):
    """PCollection[FeedConfig] -> (feed, FetchResult) main output, DEAD and FEED_STATE outputs."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__()
        self.config, self.state_dir = config, state_dir

    def expand(self, feeds):
        return (
            feeds
            | "ByHost" >> beam.Map(lambda f: (feed_host(f), f))
            | "GroupByHost" >> beam.GroupByKey()
            | "Fetch"
            >> beam.ParDo(_FetchHostDoFn(self.config, self.state_dir)).with_outputs(
                DEAD, FEED_STATE, main="fetched"
            )
        )


class _ParseDoFn(StoreDoFn):
    def process(self, fetched) -> Iterable:
        from wirewatch.transforms.ingest.parse import parse_feed

        feed, result, first_sight = fetched
        now = datetime.now(timezone.utc)
        still_listed: list[str] = []

        def is_seen(article_id: str) -> bool:
            if self.store.seen([article_id]):
                still_listed.append(article_id)
                return True
            return False

        parsed = parse_feed(
            result.body,
            feed_id=feed.id,
            feed_url=result.final_url or result.url or feed.url,
            headers=result.headers,
            fetched_at=now,
            is_seen=is_seen,
        )
        # An entry still in the feed stays "seen": refresh its key so retention never expires
        # it while the feed keeps listing it (it would come back as new). And remember <ttl>.
        self.store.touch_seen(still_listed)
        if parsed.ttl:
            self.store.save_feed_ttl(feed.id, parsed.ttl)
        Metrics.counter(NS, "entries").inc(parsed.entries)
        Metrics.counter(NS, "entries_skipped_seen").inc(parsed.skipped_seen)
        Metrics.counter(NS, "articles_parsed").inc(len(parsed.articles))
        Metrics.counter(NS, "entries_duplicate_in_feed").inc(parsed.duplicates)
        for letter in parsed.dead_letters:
            yield beam.pvalue.TaggedOutput(DEAD, letter)
        cutoff = (
            now - timedelta(hours=feed.backfill_hours)
            if first_sight and feed.backfill_hours is not None
            else None
        )
        for article in parsed.articles:
            if cutoff and article.published < cutoff:
                Metrics.counter(NS, "articles_backfill_skipped").inc()
                yield beam.pvalue.TaggedOutput(BACKFILL, article)
            else:
                yield article


class ParseFeeds(beam.PTransform):
    """(feed, FetchResult, first_sight) -> Article main output, DEAD, and BACKFILL: the backlog
    found on a feed's first poll, older than its backfill window; it is marked seen, not alerted.
    """

    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def expand(self, fetched):
        return fetched | "Parse" >> beam.ParDo(_ParseDoFn(self.state_dir)).with_outputs(
            DEAD, BACKFILL, main="articles"
        )


def seen_keys(article: Article) -> list[str]:
    """Keys recorded as seen: the article id, and its canonical link across feeds."""
    return [article.id] + ([f"link:{article.link}"] if article.link else [])


class _DropSeenDoFn(StoreDoFn):
    def process(self, article: Article) -> Iterable[Article]:
        if self.store.seen(seen_keys(article)):
            Metrics.counter(NS, "articles_seen").inc()
            return
        Metrics.counter(NS, "articles_new").inc()
        yield article


def _first_published(keyed) -> Article:
    """One article per dedupe key; the earliest (then smallest id) wins, deterministically."""
    _, articles = keyed
    articles = sorted(articles, key=lambda a: (a.published, a.id))
    if len(articles) > 1:
        Metrics.counter(NS, "articles_duplicate_in_run").inc(len(articles) - 1)
    return articles[0]


class DropSeen(beam.PTransform):
    """Drops articles already processed in earlier cycles, then duplicates within this run."""

    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def expand(self, articles):
        return (
            articles
            | "NotSeenBefore" >> beam.ParDo(_DropSeenDoFn(self.state_dir))
            | "ByDedupeKey" >> beam.Map(lambda a: (a.dedupe_key, a))
            | "GroupDuplicates" >> beam.GroupByKey()
            | "KeepFirst" >> beam.Map(_first_published)
        )
