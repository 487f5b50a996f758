"""Beam wrappers for fetching, parsing and dropping what was already seen.

The cores are fetch.py, parse.py, schedule.py and dedupe.py; these DoFns only open clients and
the state store in setup(), ask the store in batches, count outcomes, and route bad input to the
DEAD output. Feed state (validators, schedule) is not written here: it is emitted as FEED_STATE
and committed after delivery (see state/beam.py), so a crash never turns unprocessed items into
a silent 304. A poll that brought a body gets its state once the body is read: a body from
which no feed could be read at all is a failed poll (`not_a_feed`), like a page the fetch
already knows is none.
"""

from __future__ import annotations

import functools
import pickle
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Iterable, Literal, Mapping

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput
from apache_beam.utils.windowed_value import WindowedValue

from wirewatch.transforms.beam_support.cache import Ref, fingerprint, ref, shared
from wirewatch.transforms.beam_support.metrics import Counters
from wirewatch.transforms.config import Config, FeedConfig
from wirewatch.transforms.ingest.cycle_fetch import CycleFetch, FeedFetch
from wirewatch.transforms.ingest.dedupe import (
    backfill_cutoff,
    is_backfill,
    is_first_poll,
    keep_first,
    seen_hashes,
    seen_keys,
    seen_verdict,
)
from wirewatch.transforms.ingest.fetch import (
    OUTCOMES,
    FetchResult,
    Lane,
    fetch_feed,
    lane_of,
    lanes,
    make_client,
    not_a_feed,
)
from wirewatch.transforms.ingest.parse import parse_feed
from wirewatch.transforms.ingest.schedule import state_after_fetch
from wirewatch.transforms.model import Article, DeadLetter
from wirewatch.transforms.state.beam import BundleStoreDoFn, StoreDoFn

if TYPE_CHECKING:
    from apache_beam.transforms.window import BoundedWindow
    from apache_beam.utils.timestamp import Timestamp

    from wirewatch.transforms.state.interface import FeedState

Fetched = tuple[FeedConfig, FetchResult, "FeedState"]
"""A feed that answered with content: the feed, the fetch result, and its state before this
poll (the parse stage makes the state after it, and applies the backfill window on a first
poll)."""


class _FetchDoFn(StoreDoFn):
    """Fetches a bundle's politeness lanes side by side (CycleFetch: one request at a time per
    lane, so at most `per_host` per host, all within the cycle deadline) and emits the outcomes
    when the bundle finishes. A feed in `polled` is not fetched again: its result stands."""

    def __init__(
        self,
        config: Config,
        state_dir: str,
        clock: Callable[[], float],
        polled: Ref[dict[str, FetchResult]],
    ):
        super().__init__(state_dir)
        # a Ref (beam_support/cache.py): Beam bz2-compresses a DoFn at level 9 each time it
        # pickles one, and polled bodies are megabytes when many feeds are busy
        self.settings, self.clock, self.polled = config.fetch, clock, polled
        # feeds per status, and one per declared outcome (a fixed set in fetch.py): fetch_timeout
        self.count = Counters(
            *(f"feeds_{status}" for status in ("ok", "not_modified", "failed", "late")),
            *(f"fetch_{outcome}" for outcome in OUTCOMES),
        )

    def setup(self) -> None:
        super().setup()
        # one client per process, reused by later cycles (building one loads the CA bundle)
        self.client = shared(
            "http_client", fingerprint(self.settings), lambda: make_client(self.settings)
        )

    def start_bundle(self) -> None:
        self.fetching = CycleFetch(self.settings, clock=self.clock)
        self.pending: list[tuple[FeedState, BoundedWindow, Timestamp]] = []

    def process(
        self,
        lane_feeds: tuple[Lane, Iterable[tuple[float, FeedConfig]]],
        timestamp=beam.DoFn.TimestampParam,
        window=beam.DoFn.WindowParam,
    ) -> None:
        stamped = sorted(lane_feeds[1], key=lambda pair: pair[1].id)
        feeds = [feed for _, feed in stamped]
        # read here, on the DoFn's thread: the fetch threads never touch the store
        states = self.store.feed_states([feed.id for feed in feeds])
        self.pending += [(states[feed.id], window, timestamp) for feed in feeds]
        started = min(at for at, _ in stamped)
        self.fetching.submit(feeds, functools.partial(self._fetch_one, states), started, lanes=1)

    def _fetch_one(
        self, states: dict[str, FeedState], feed: FeedConfig, seconds: float
    ) -> FetchResult:
        polled = self.polled.value.get(feed.id)
        if polled is not None:
            return polled
        return fetch_feed(feed, states[feed.id], self.settings, self.client, seconds)

    def finish_bundle(self) -> Iterable[WindowedValue | TaggedOutput]:
        pending, self.pending = self.pending, []
        results = self.fetching.results()
        now = self.store.now()  # next due times are compared in the store's clock
        for (previous, window, timestamp), fetched in zip(pending, results):
            for tag, value in self._route(previous, fetched, now):
                held = WindowedValue(value, timestamp, [window])
                yield held if tag is None else TaggedOutput(tag, held)

    def _route(self, previous: FeedState, fetched: FeedFetch, now: datetime):
        """(tag, value) pairs for one feed: the fetched content if it answered with some (its
        state is made once the body is read: ParseFeeds), else its state to commit (not when
        it was late: then it stays due), and a dead letter if it failed."""
        feed, result, late = fetched
        self.count[f"feeds_{result.status}"].inc()
        self.count[f"fetch_{result.outcome}"].inc()
        if result.status == "ok":
            yield None, (feed, result, previous)
            return
        if late:
            self.count.feeds_late.inc()
        else:
            yield FetchFeeds.FEED_STATE, state_after_fetch(previous, feed, result, now)
        if result.status == "failed":
            detail = f"{feed.url}: {result.error or 'fetch failed'}"
            letter = DeadLetter.of("fetch", feed.id, result.outcome, detail=detail, raw=result.body)
            yield FetchFeeds.DEAD, letter


def _by_lane(
    feed: FeedConfig, clock: Callable[[], float], known: dict[str, Lane], per_host: int
) -> tuple[Lane, tuple[float, FeedConfig]]:
    """Keyed by politeness lane (fetch.lanes: with several workers, lanes run side by side),
    stamped with when the cycle saw it: the cycle deadline counts from this first stage, at
    run time (the watch driver re-runs graphs it built earlier)."""
    return lane_of(feed, known, per_host), (clock(), feed)


class FetchFeeds(beam.PTransform):
    """PCollection[FeedConfig] -> `fetched` (Fetched: feeds that answered with content, for
    ParseFeeds, which also makes their state), DEAD (a DeadLetter per failed or late fetch) and
    FEED_STATE (the FeedState to commit of every other feed but the late ones, which stay
    due). Hosts are fetched side by side, each at most `fetch.per_host` at a time, until `fetch.cycle_deadline` after the cycle started (`clock`:
    wall-clock seconds, injectable for tests). `polled`: results this run already has (run
    --once's look polled the feed, pipelines/nothing_new.py), used instead of a second request.
    """

    MAIN = "fetched"
    DEAD = "dead"
    FEED_STATE = "feed_state"

    def __init__(
        self,
        config: Config,
        state_dir: str,
        clock: Callable[[], float] = time.time,
        polled: Mapping[str, FetchResult] | None = None,
    ):
        super().__init__()
        if not hasattr(config, "fetch"):
            raise TypeError(
                f"FetchFeeds(config, state_dir): expected a wirewatch.transforms.config.Config "
                f"with a 'fetch' section, got {type(config).__name__}"
            )
        self.config, self.state_dir, self.clock = config, state_dir, clock
        self.polled = polled if polled is not None else {}
        self.lanes = lanes(config.feeds, config.fetch.per_host)

    def expand(self, feeds: beam.PCollection[FeedConfig]) -> beam.pvalue.DoOutputsTuple:
        return (
            feeds
            | "ByLane" >> beam.Map(_by_lane, self.clock, self.lanes, self.config.fetch.per_host)
            | "GroupByLane" >> beam.GroupByKey()
            | "Fetch"
            >> beam.ParDo(
                _FetchDoFn(self.config, self.state_dir, self.clock, ref(self.polled))
            ).with_outputs(self.DEAD, self.FEED_STATE, main=self.MAIN)
        )


class _ParseDoFn(StoreDoFn):
    def __init__(self, state_dir: str):
        super().__init__(state_dir)
        self.count = Counters(
            "feeds_ok",
            "feeds_failed",
            "fetch_ok",
            "fetch_not_a_feed",
            "entries",
            "entries_skipped_seen",
            "entries_duplicate_in_feed",
            "articles_parsed",
            "articles_backfill_skipped",
        )

    def start_bundle(self) -> None:
        self.still_listed: set[str] = set()

    def _seen_of(self, article_ids: list[str]) -> dict[str, str | None]:
        """parse_feed's lookup (one store read per body): each seen id with its stored hash."""
        found = self.store.seen_hashes(article_ids)
        self.still_listed.update(found)
        return found

    def finish_bundle(self) -> None:
        """Refresh the seen ids the bundle's feeds still list, in one write: a cut entry never
        reaches DropSeen, and retention must not forget an entry its feed keeps listing."""
        if self.still_listed:
            self.store.touch_seen(sorted(self.still_listed))
        self.still_listed = set()

    def process(
        self, fetched: Fetched
    ) -> Iterable[
        Article
        | TaggedOutput[Literal["dead"], DeadLetter]
        | TaggedOutput[Literal["backfill"], Article]
        | TaggedOutput[Literal["feed_state"], FeedState]
    ]:
        feed, result, previous = fetched
        now = datetime.now(timezone.utc)
        # The pre-scan cuts an entry only when its id is seen AND its raw title and summary
        # hash as stored (seen_of answers each seen id's hash): an edited entry, or one stored
        # before hashes, is parsed and DropSeen decides (new / edited / adopt).
        parsed = parse_feed(
            result.body,
            feed_id=feed.id,
            feed_url=result.final_url or result.url or feed.url,
            headers=result.headers,
            fetched_at=now,
            seen_of=self._seen_of,
        )
        count = self.count
        if parsed.unreadable:  # the fetch's ok poll failed after all; its dead letter says why
            reason, detail = parsed.dead_letters[0].reason, parsed.dead_letters[0].detail
            result = not_a_feed(result, detail if reason == "not_a_feed" else f"{reason}: {detail}")
            count.feeds_ok.dec()
            count.fetch_ok.dec()
            count.feeds_failed.inc()
            count.fetch_not_a_feed.inc()
        state = state_after_fetch(previous, feed, result, self.store.now())
        yield TaggedOutput(ParseFeeds.FEED_STATE, state)
        if parsed.ttl:
            self.store.save_feed_ttl(feed.id, parsed.ttl)
        count.entries.inc(parsed.entries)
        count.entries_skipped_seen.inc(parsed.skipped_seen)
        count.articles_parsed.inc(len(parsed.articles))
        count.entries_duplicate_in_feed.inc(parsed.duplicates)
        for letter in parsed.dead_letters:
            yield TaggedOutput(ParseFeeds.DEAD, letter)
        first_poll = is_first_poll(previous)
        cutoff = backfill_cutoff(feed.backfill_hours, first_poll=first_poll, now=now)
        for article in parsed.articles:
            if is_backfill(article, cutoff):
                count.articles_backfill_skipped.inc()
                yield TaggedOutput(ParseFeeds.BACKFILL, article)
            else:
                yield article


class ParseFeeds(beam.PTransform):
    """Fetched -> `articles` (Article), DEAD (DeadLetter: a broken feed or entry), BACKFILL
    (Article): the backlog found on a feed's first poll, older than its backfill window; it is
    marked seen, not alerted; and FEED_STATE (FeedState): each feed's state after its poll,
    a failed one (`not_a_feed`) when no feed could be read from its body.
    """

    MAIN = "articles"
    DEAD = "dead"
    BACKFILL = "backfill"
    FEED_STATE = "feed_state"

    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def expand(self, fetched: beam.PCollection[Fetched]) -> beam.pvalue.DoOutputsTuple:
        return fetched | "Parse" >> beam.ParDo(_ParseDoFn(self.state_dir)).with_outputs(
            self.DEAD, self.BACKFILL, self.FEED_STATE, main=self.MAIN
        )


class _DropSeenDoFn(BundleStoreDoFn):
    """Holds a bundle's articles and asks the store about all their keys in one call (with the
    content hash kept for each). New articles go on; edited ones go on marked `edited`; the rest
    stop here. In one write after that: every key still listed by its feed is refreshed, so
    retention never forgets an entry its feed keeps listing (it would come back as new), and a
    key stored without a hash (before hashes were kept) adopts the entry's hash."""

    COUNTED_AS = {
        "new": "articles_new",
        "edited": "articles_edited",
        "seen": "articles_seen",
        "adopt": "articles_seen",  # a key stored before hashes: seen, its hash adopted
    }

    def __init__(self, state_dir: str):
        super().__init__(state_dir)
        self.count = Counters(*sorted(set(self.COUNTED_AS.values())))

    def finish_bundle(self) -> Iterable[WindowedValue]:
        pending = self.take()
        if not pending:
            return
        stored = self.store.seen_hashes({key for held in pending for key in seen_keys(held.value)})
        adopted: dict[str, str] = {}
        for held in pending:
            verdict = seen_verdict(held.value, stored)
            self.count[self.COUNTED_AS[verdict]].inc()
            if verdict == "new":
                yield held
            elif verdict == "edited":
                yield held.with_value(held.value.model_copy(update={"edited": True}))
            elif verdict == "adopt":
                adopted.update(seen_hashes(held.value))
        if stored:
            with self.store.transaction():
                self.store.touch_seen(sorted(stored))
                if adopted:
                    self.store.record_seen(adopted)


def _keyed_by_dedupe_key(article: Article) -> tuple[str, bytes]:
    """The article pickled, under its dedupe key. Why pickled here: the local engine's driver
    decodes every element it groups and encodes it again, which for an article (a pydantic
    model) is a pickle round trip, 10,000 of them in a cold cycle, serial; bytes it copies."""
    return article.dedupe_key, pickle.dumps(article, pickle.HIGHEST_PROTOCOL)


class _KeepFirstDoFn(beam.DoFn):
    def __init__(self):
        super().__init__()
        self.count = Counters("articles_duplicate_in_run")

    def process(self, keyed: tuple[str, Iterable[bytes]]) -> Iterable[Article]:
        first, dropped = keep_first(map(pickle.loads, keyed[1]))
        if dropped:
            self.count.articles_duplicate_in_run.inc(dropped)
        yield first


class DropSeen(beam.PTransform):
    """Drops articles already processed in earlier cycles, unless their feed edited the title
    or summary since (those go on with `edited` set, to be tagged and matched again), then
    duplicates within this run (one article per dedupe key: the earliest published, then the
    smallest id)."""

    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def expand(self, articles: beam.PCollection[Article]) -> beam.PCollection[Article]:
        return (
            articles
            | "NotSeenBefore" >> beam.ParDo(_DropSeenDoFn(self.state_dir))
            | "ByDedupeKey" >> beam.Map(_keyed_by_dedupe_key)
            | "GroupDuplicates" >> beam.GroupByKey()
            | "KeepFirst" >> beam.ParDo(_KeepFirstDoFn())
        )
