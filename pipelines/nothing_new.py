"""`run --once` without Beam for the feeds that have nothing new, and for the whole run when
nothing is new and nothing waits.

Why: importing Beam and building the cycle's graph cost seconds of every `run --once`, and a
scheduler that runs it every few minutes mostly finds nothing new. `run --once` polls every
feed (not only the due ones), so knowing there is nothing new takes the poll itself. `look`
polls each feed the way the cycle's first stages do, with their cores: the same politeness
lanes and cycle deadline (CycleFetch, fetch with the stored validators), the same parse with
the store's seen lookup (parse_feed: a pre-scan cuts the entries seen with unchanged content)
and DropSeen's verdict for what is left (seen_verdict). The verdict is asked first of the
first LOOK_AHEAD entries the pre-scan keeps: a busy feed is busy by its first new entry, not
after a whole parse that the cycle then repeats. A feed is quiet when it answered 304, or
listed only entries seen with unchanged content; `commit` then writes what the cycle would
have written for it (its state after the fetch: validators and next due time; its <ttl>; the
seen keys it still lists) and counts what the cycle would have counted.

Every other feed is handed to the Beam cycle: a new or edited entry, a failed or late fetch,
a dead letter, a feed's first poll, or a feed whose last poll failed (not polled here at all:
it would likely fail again, and a timeout paid twice would double the run). The cycle takes
the result polled here (`Look.polled`) instead of asking the server a second time; only a
late feed is fetched again. Nothing of such a feed is written here, so a crash in between
loses nothing. Beam runs too when something waits that a cycle delivers without any feed (`waiting`:
a digest due, an expired claim, a deferred backlog to resume).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Iterator

from wirewatch.pipelines.summary import CycleSummary, store_summary
from wirewatch.transforms.config import Config, FeedConfig
from wirewatch.transforms.state import FeedState, StateStore

if TYPE_CHECKING:  # imported where used: a run with no feed to poll needs no HTTP client
    from wirewatch.transforms.ingest.cycle_fetch import FeedFetch
    from wirewatch.transforms.ingest.fetch import FetchResult


@dataclass
class Look:
    """The feeds polled without Beam: the quiet ones, with what their cycle would write and
    count, and the busy ones (why each is busy: for the log)."""

    quiet: list[FeedConfig] = field(default_factory=list)
    busy: dict[str, str] = field(default_factory=dict)
    states: list[FeedState] = field(default_factory=list)
    ttls: dict[str, int] = field(default_factory=dict)
    still_listed: set[str] = field(default_factory=set)
    counters: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    polled: dict[str, FetchResult] = field(default_factory=dict)
    """The busy feeds' fetch results (not the late ones'): the cycle's FetchFeeds uses them."""

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n  # a 0 is kept, as Beam's are


def look(config: Config, store: StateStore, *, clock: Callable[[], float] = time.time) -> Look:
    """Poll every feed (but those whose last poll failed, and first polls) as a cycle would,
    and sort them into quiet and busy; nothing is written."""
    from wirewatch.transforms.ingest.dedupe import is_first_poll

    started = time.monotonic()
    previous = store.feed_states([f.id for f in config.feeds])
    result = Look()
    polled = []
    for feed in config.feeds:
        state = previous[feed.id]
        if is_first_poll(state):
            result.busy[feed.id] = "its first poll"
        elif state.failures:
            result.busy[feed.id] = "its last poll failed"
        else:
            polled.append(feed)
    for feed, fetched, late in fetch_all(config, polled, previous, clock):
        why = _sort(result, store, feed, previous[feed.id], fetched, late)
        if why is None:
            result.quiet.append(feed)
        else:
            result.busy[feed.id] = why
            if not late:
                result.polled[feed.id] = fetched
    result.seconds = time.monotonic() - started
    return result


def fetch_all(
    config: Config,
    feeds: list[FeedConfig],
    states: dict[str, FeedState],
    clock: Callable[[], float],
) -> Iterator[FeedFetch]:
    """Each feed's FeedFetch, fetched as FetchFeeds fetches them: one lane per politeness
    lane (fetch.lanes), each lane's feeds by id, all within the cycle deadline."""
    if not feeds:
        return
    from wirewatch.transforms.ingest.cycle_fetch import CycleFetch
    from wirewatch.transforms.ingest.fetch import fetch_feed, lane_of, lanes

    settings, per_host = config.fetch, config.fetch.per_host
    known = lanes(config.feeds, per_host)
    by_lane: dict = defaultdict(list)
    for feed in feeds:
        by_lane[lane_of(feed, known, per_host)].append(feed)
    client = _client(settings, feeds)

    def fetch_one(feed: FeedConfig, seconds: float) -> FetchResult:
        return fetch_feed(feed, states[feed.id], settings, client, seconds)

    fetching = CycleFetch(settings, clock=clock)
    started = clock()
    try:
        for lane_feeds in by_lane.values():
            lane_feeds.sort(key=lambda feed: feed.id)
            fetching.submit(lane_feeds, fetch_one, started, lanes=1)
        yield from fetching.results()
    finally:
        if client is not None:
            client.close()


def _client(settings, feeds: list[FeedConfig]):
    """An HTTP client when some feed is fetched over HTTP (local files, an absolute path or
    file:// as the config resolves them, need none: `fetch` reads them itself)."""
    if all(feed.url.startswith(("/", "file://")) for feed in feeds):
        return None
    from wirewatch.transforms.ingest.fetch import make_client

    return make_client(settings)


def _sort(look: Look, store: StateStore, feed, previous, fetched, late) -> str | None:
    """None when the feed is quiet (its writes and counts added to `look`), else why not."""
    if late:
        return "not fetched within the cycle deadline"
    if fetched.status == "failed":
        return f"its fetch failed ({fetched.outcome})"
    if fetched.status == "ok":
        why = _parse(look, store, feed, fetched)
        if why is not None:
            return why
    from wirewatch.transforms.ingest.schedule import state_after_fetch

    look.count(f"feeds_{fetched.status}")
    look.count(f"fetch_{fetched.outcome}")
    look.states.append(state_after_fetch(previous, feed, fetched, store.now()))
    return None


LOOK_AHEAD = 20
"""Entries the look builds of a body first: the pre-scan keeps every entry it cannot cut
(new ids, edits, known links under new ids), and a busy body is called busy by the first new
one instead of a whole parse (10,000 new entries: 2.5-3.7 s, serial, before the cycle parses
them again)."""


def _parse(look: Look, store: StateStore, feed, fetched) -> str | None:
    """ParseFeeds and DropSeen on one body: None when every entry is seen unchanged (its
    writes and counts then added to `look`). The first LOOK_AHEAD entries the pre-scan keeps
    decide a busy body; only if they are all seen does the whole body decide."""
    from wirewatch.transforms.ingest.dedupe import seen_keys, seen_verdict
    from wirewatch.transforms.ingest.parse import parse_feed

    listed: set[str] = set()  # seen ids the feed still lists: refreshed, as _ParseDoFn does

    def seen_of(article_ids: list[str]) -> dict[str, str | None]:
        found = store.seen_hashes(article_ids)
        listed.update(found)
        return found

    def parse(keep_at_most: int | None = None):
        return parse_feed(
            fetched.body,
            feed_id=feed.id,
            feed_url=fetched.final_url or fetched.url or feed.url,
            headers=fetched.headers,
            fetched_at=datetime.now(timezone.utc),
            seen_of=seen_of,
            keep_at_most=keep_at_most,
        )

    def busy(parsed) -> tuple[str | None, dict[str, str | None]]:
        """Why the body is busy (None: it is not), and the stored keys its articles have."""
        if parsed.dead_letters:
            return f"a dead letter ({parsed.dead_letters[0].reason})", {}
        stored = store.seen_hashes({key for a in parsed.articles for key in seen_keys(a)})
        for article in parsed.articles:
            verdict = seen_verdict(article, stored)
            if verdict != "seen":
                return f"a {verdict} entry ({article.id})", stored
        return None, stored

    parsed = parse(LOOK_AHEAD)
    why, stored = busy(parsed)
    if why is None and parsed.held_back:
        # the first entries the pre-scan kept were all seen after all (new ids, known links):
        # the whole body decides, and a quiet feed's counts come from the whole parse
        parsed = parse()
        why, stored = busy(parsed)
    if why is not None:
        return why
    look.count("entries", parsed.entries)
    look.count("entries_skipped_seen", parsed.skipped_seen)
    look.count("articles_parsed", len(parsed.articles))
    look.count("entries_duplicate_in_feed", parsed.duplicates)
    if parsed.articles:
        look.count("articles_seen", len(parsed.articles))
    look.still_listed |= listed | set(stored)
    if parsed.ttl:
        look.ttls[feed.id] = parsed.ttl
    return None


def commit(look: Look, store: StateStore, since: datetime) -> CycleSummary:
    """Write what the cycle would have written for the quiet feeds, in one transaction (the
    same writes, in the same order: <ttl> and still-listed keys at parse, states at commit);
    their summary, as a cycle over them would give it."""
    with store.transaction():
        for feed_id, ttl in look.ttls.items():
            store.save_feed_ttl(feed_id, ttl)
        if look.still_listed:
            store.touch_seen(sorted(look.still_listed))
        store.save_feed_states(look.states)
    return store_summary(
        look.counters, look.seconds, store, [f.id for f in look.quiet], since, pipelines=0
    )


def waiting(store: StateStore, config: Config, now: datetime) -> str | None:
    """What a cycle delivers even without a feed, if anything waits for it now: a held digest
    that is due, an alert whose claim expired (its worker died), a sink's deferred alerts that
    `Dispatcher.resume` would redeliver (the sink is not down)."""
    from wirewatch.pipelines.watch import claims_due, group_due
    from wirewatch.transforms.routing.router import active_sinks
    from wirewatch.transforms.sinks.health import is_down

    if group_due(store, now):
        return "a held digest is due"
    if claims_due(store, config, now):
        return "an alert's claim expired"
    for name in sorted(active_sinks(config)):
        hours = getattr(config.sinks.get(name), "auto_redeliver_hours", 0)
        if not hours or is_down(store.sink_health(name), now):
            continue
        if store.deferred_alerts(name, now - timedelta(hours=hours)):
            return f"deferred alerts of sink {name!r} wait for redelivery"
    return None
