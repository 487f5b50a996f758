"""Backtest one rule over an archive of saved feed snapshots: the alerts it would have SENT.

Why not "every matching entry": an archive holds each article once per snapshot that listed
it, so counting matches counts copies (one feed's history: 1,492 "matches" were ~110 articles).
Here the archive is replayed as the live pipeline would have polled it, snapshot by snapshot in
poll order, through the live cores themselves: parse_feed, the first-poll backfill window,
DropSeen's `seen_verdict` against the content hash kept with each seen key (an entry whose title
or summary its feed edited is evaluated again, marked edited) and `keep_first`, tagging, the
StoryIndex, the rule, routing and silences, and the sinks' Dispatcher (flood control,
more-sources and thread replies, an edited entry's Updated alert, digests), on a throwaway
SQLite store whose clock is the snapshot's poll time. The sinks record instead of sending.

Speed: the live path parses every entry (only a parse tells an edit). Here an entry that is
byte for byte what was parsed before, under a seen key still holding that parse's hash, is
cut by parse_feed's pre-scan (`seen_of`): DropSeen would call it seen, so the counts are the
same, and a history that lists each article in ~70 snapshots is not parsed ~70 times.

Memory is bounded: one snapshot is read at a time; what stays is the seen keys, the story
index (in the temporary store, on disk), one entry digest per article and the few matches
listed (`limit`).

Poll time of a snapshot: `<unixtime>` or `NNNNN_<unixtime>` in its file name (how the archiver
names them), else the file's mtime. Feed id: the first folder below the archive (`ARCHIVE/<feed
id>/...`), else the archive folder's own name. Files and folders whose name starts with a dot
are skipped only below the archive, so an archive under ~/.cache is read. Pure: no Beam.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from lxml import etree

from wirewatch.pipelines.tooling.inputs import files_below, read_bytes, sniff
from wirewatch.transforms.config import Config, FeedConfig
from wirewatch.transforms.errors import Problem
from wirewatch.transforms.ingest import prescan
from wirewatch.transforms.ingest.dedupe import (
    backfill_cutoff,
    content_hash,
    is_backfill,
    keep_first,
    seen_hashes,
    seen_verdict,
)
from wirewatch.transforms.ingest.ids import article_id
from wirewatch.transforms.model import Alert, Article, Match, TaggedArticle
from wirewatch.transforms.routing.router import Router
from wirewatch.transforms.routing.silences import silenced
from wirewatch.transforms.rules.schema import RuleConfig

_STAMP = re.compile(r"(?:^|_)(\d{9,11})$")
NO_ROUTE_SINK = "(no route)"
"""The sink a rule that no route selects is counted on (no flood control)."""


@dataclass(frozen=True)
class Snapshot:
    path: Path
    feed_id: str
    polled: datetime


def snapshots(archive: Path) -> list[Snapshot]:
    """The archive's files in poll order (then path): a file on its own, or a folder's files."""
    if not archive.is_dir():
        return [Snapshot(archive, archive.parent.name or "archive", _poll_time(archive))]
    found = []
    for path in files_below(archive):
        parts = path.relative_to(archive).parts
        feed_id = parts[0] if len(parts) > 1 else (archive.resolve().name or "archive")
        found.append(Snapshot(path, feed_id, _poll_time(path)))
    return sorted(found, key=lambda s: (s.polled, str(s.path)))


def _poll_time(path: Path) -> datetime:
    stamp = _STAMP.search(path.stem)
    if stamp:
        return datetime.fromtimestamp(int(stamp.group(1)), timezone.utc)
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    except OSError:  # a link to nothing: read, it is an input error; it needs a place in line
        return datetime.fromtimestamp(path.lstat().st_mtime, timezone.utc)


Kind = str  # "top_level", "replies" (thread replies or more-sources), "updates", "digests"
KINDS = ("top_level", "replies", "updates", "digests")


@dataclass
class Report:
    """What the backtest found. `by_day`: day (YYYY-MM-DD, UTC) -> kind -> messages."""

    snapshots: int = 0
    entries: int = 0  # entries in all snapshots (every saved copy)
    articles: int = 0  # distinct new articles (what the live pipeline would have processed)
    edited: int = 0  # seen entries whose feed changed the title or summary: evaluated again
    backlog: int = 0  # first-poll entries older than the feed's backfill window: seen, not run
    matched: int = 0  # distinct articles the rule matched (silenced ones included)
    copies: int = 0  # saved copies of the matched articles
    silenced: int = 0
    sent: Counter = field(default_factory=Counter)  # kind -> messages
    by_sink: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_day: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    problems: list[Problem] = field(default_factory=list)
    latest: list = field(default_factory=list)  # heap of (published, id, tagged, match)

    @property
    def alerts(self) -> int:
        return sum(self.sent.values())

    def matches(self) -> list[tuple[TaggedArticle, Match]]:
        """The listed matches, newest first."""
        return [(t, m) for _, _, t, m in sorted(self.latest, key=lambda e: e[:2], reverse=True)]


class _RecordingSink:
    """Stands in for a sink: counts the messages it would have posted, by kind and day.
    `threads`: whether the real sink replies in threads (a Slack bot token, not a webhook)."""

    def __init__(self, name: str, threads: bool, report: Report, day: Callable[[], str]):
        self.name, self.threads, self._report, self._day = name, threads, report, day

    def _count(self, kind: Kind) -> None:
        self._report.sent[kind] += 1
        self._report.by_sink[self.name][kind] += 1
        self._report.by_day[self._day()][kind] += 1

    def send(self, alert: Alert, thread_ts: str | None = None) -> str:
        """An alert on its own: an edited entry's (Updated, top-level or in the story's
        thread), a held more-sources copy, or a top-level alert."""
        if alert.match.article.article.edited:
            self._count("updates")
        elif alert.group.startswith("more sources for story") or thread_ts:
            self._count("replies")
        else:
            self._count("top_level")
        return thread_ts or f"ts:{alert.key}"

    def send_digest(self, alerts: list[Alert], label: str) -> None:
        self._count("replies" if label.startswith("more sources for story") else "digests")

    def reply(self, alert: Alert, thread_ts: str) -> None:
        self._count("replies")

    def close(self) -> None:
        pass


def _threads(config: Config, sink: str) -> bool:
    """As SlackSink.threads: the Web API (token) when no webhook is set."""
    conf = config.sinks.get(sink)
    if getattr(conf, "type", None) != "slack":
        return False
    hook = getattr(conf, "webhook_url", None)
    return not (hook and hook.get_secret_value()) and bool(getattr(conf, "token", None))


_DATES = re.compile(
    rb"<((?:[\w.-]+:)?(?:pubDate|date|updated|published|modified|issued))\b[^>]*>[^<]*</\1>"
)
"""An entry's dates: feeds re-stamp listed entries (WSJ, The Economist), and neither the
article id nor the content hash depends on them, so they are left out of the digest."""


class ListedEntries:
    """A snapshot's entries: article id (as the pre-scan predicts it) -> a digest of the entry's
    XML; empty when only a full parse can tell (not well-formed UTF-8 XML of a known shape, or
    xml:base). The id is predicted once per distinct entry: a history lists each many times."""

    def __init__(self) -> None:
        self._ids: dict[bytes, str | None] = {}  # digest -> predicted id

    def __call__(self, data: bytes, feed_id: str) -> dict[str, bytes]:
        scan = None if b"base=" in data else prescan.read_all(data)
        if scan is None:
            return {}
        found: dict[str, bytes] = {}
        prefix = feed_id.encode() + b"\x00"
        for element in scan.kept_entries:
            xml = _DATES.sub(b"", etree.tostring(element, with_tail=False))
            digest = hashlib.blake2b(prefix + xml, digest_size=16).digest()
            if digest not in self._ids:
                key = prescan.predict_key(element, "")
                self._ids[digest] = None if key is None else article_id(feed_id, key)
            ident = self._ids[digest]
            if ident is not None:
                found.setdefault(ident, digest)  # the first, as parse_feed keeps it
        return found


class PollClock:
    """The replay's time: the poll time of the snapshot being replayed. The store, the story
    index and the dispatcher all read it, so leases, windows and digests follow the archive."""

    def __init__(self) -> None:
        self.now = datetime.fromtimestamp(0, timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Backtest:
    """Replays snapshots one at a time (`feed`), then `finish()` sends what is still held."""

    config: Config
    rule: RuleConfig
    ruleset: object  # a RuleSet holding the compiled rule
    tag: Callable  # article -> TaggedArticle (inputs.make_tagger)
    store: object  # a StateStore (throwaway) opened with `clock`
    clock: PollClock
    limit: int = 50
    report: Report = field(default_factory=Report)

    def __post_init__(self):
        from wirewatch.transforms.sinks.dispatch import Dispatcher
        from wirewatch.transforms.stories import StoryIndex

        self._day = self.clock.now.date().isoformat()
        self.seen: dict[str, str] = {}  # the live seen keys (ids, link: keys) -> content hash
        self.matched_ids: set[str] = set()
        # article id -> (digest of its entry's XML, content hash) as last parsed
        self.parsed: dict[str, tuple[bytes, str]] = {}
        self.listed = ListedEntries()
        self.polled_feeds: set[str] = set()
        self.feeds = {f.id: f for f in self.config.feeds}
        config = self.config.model_copy(update={"rules": [*self.config.rules, self.rule]})
        self.router = Router(config)
        # the sinks the live run would deliver to (an optional Slack sink without credentials
        # is skipped there too); a rule no route selects is counted on one plain sink
        pairs = self.router.deliveries[self.rule.id] or [(-1, NO_ROUTE_SINK)]
        self.router.deliveries[self.rule.id] = pairs
        self.sink_names = list(dict.fromkeys(s for _, s in pairs))
        self.stories = StoryIndex(self.store, config.stories, clock=self.clock)
        self.dispatcher = Dispatcher(
            config,
            self.store,
            lambda name: _RecordingSink(
                name, _threads(config, name), self.report, lambda: self._day
            ),
            clock=self.clock,
            owner="backtest",
        )

    def _at(self, moment: datetime) -> None:
        self.clock.now, self._day = moment, moment.date().isoformat()

    def feed(self, snap: Snapshot) -> None:
        """One poll: what was new or edited in it goes through the pipeline; due digests go
        out."""
        self._at(snap.polled)
        self.report.snapshots += 1
        try:
            data = snap.path.read_bytes()
        except OSError as exc:
            self.report.problems.append(Problem(str(snap.path), message=f"cannot read: {exc}"))
            return
        first_poll = snap.feed_id not in self.polled_feeds
        self.polled_feeds.add(snap.feed_id)
        articles, backfill = self._new_articles(snap, data, first_poll)
        for article in articles + backfill:
            self.seen.update(seen_hashes(article))  # CommitCycle: its keys with its hash
        self.report.articles += sum(1 for a in articles if not a.edited)
        self.report.edited += sum(1 for a in articles if a.edited)
        self.report.backlog += len(backfill)
        if articles:
            self._process(articles)
        for sink in self.sink_names:
            self.dispatcher.flush_due(sink)

    def _new_articles(
        self, snap: Snapshot, data: bytes, first_poll: bool
    ) -> tuple[list[Article], list[Article]]:
        """(new and edited articles, first-poll backlog) of one snapshot, as ParseFeeds and
        DropSeen give them: every entry parsed, each judged by `seen_verdict` against the
        content hash kept with its seen keys."""
        if sniff(data, snap.path.suffix.lower()) == "feed":
            from wirewatch.transforms.ingest.parse import parse_feed

            listed = self.listed(data, snap.feed_id)
            result = parse_feed(
                data,
                feed_id=snap.feed_id,
                feed_url=snap.path.resolve().as_uri(),
                fetched_at=snap.polled,
                seen_of=lambda ids: self._unchanged(ids, listed),
            )
            self.report.entries += result.entries
            self.report.problems += [
                Problem(str(snap.path), message=f"{d.reason}: {d.detail}")
                for d in result.dead_letters
            ]
            for article in result.articles:
                if article.id in listed:
                    self.parsed[article.id] = (listed[article.id], content_hash(article))
            parsed = list(result.articles)
        else:  # a JSONL of articles (a past run's output) or another input: its items
            loaded = read_bytes(data, str(snap.path), snap.path.suffix.lower())
            self.report.problems += loaded.problems
            parsed = [i.article if isinstance(i, TaggedArticle) else i for i in loaded.items]
            self.report.entries += len(parsed)
            self.report.copies += sum(1 for a in parsed if a.id in self.matched_ids)
            first_poll = False  # articles a run already took in: no poll, no backlog window
        feed = self.feeds.get(snap.feed_id)
        hours = feed.backfill_hours if feed else FeedConfig.model_fields["backfill_hours"].default
        cutoff = backfill_cutoff(hours, first_poll=first_poll, now=snap.polled)
        backfill = [a for a in parsed if is_backfill(a, cutoff)]
        by_key: dict[str, list[Article]] = defaultdict(list)
        for article in parsed:
            if is_backfill(article, cutoff):
                continue
            verdict = seen_verdict(article, self.seen)
            if verdict == "edited":
                article = article.model_copy(update={"edited": True})
            if verdict in ("new", "edited"):
                by_key[article.dedupe_key].append(article)
        return [keep_first(group)[0] for group in by_key.values()], backfill

    def _unchanged(self, ids: list[str], listed: dict[str, bytes]) -> set[str]:
        """parse_feed's `seen_of`: the entries that need no parse, because they are byte for
        byte what was parsed before under a seen key whose hash is still that parse's
        (DropSeen would call them seen). Counts the saved copies of matched articles."""
        self.report.copies += sum(1 for i in ids if i in self.matched_ids)
        return {
            i for i in ids if i in listed and self.parsed.get(i) == (listed[i], self.seen.get(i))
        }

    def _process(self, articles: list[Article]) -> None:
        """Tag, assign stories (publication order), match, route, offer to the sinks."""
        tagged = sorted(
            (self.tag(a) for a in articles), key=lambda t: (t.article.published, t.article.id)
        )
        assigned = self.stories.assign_many([(t.article, t.entities) for t in tagged])
        alerts: dict[str, list[Alert]] = defaultdict(list)
        for item, story in zip(tagged, assigned):
            item = item.model_copy(update={"story_id": story.story_id, "story_kind": story.kind})
            for match in self.ruleset.match(item):
                self._matched(item, match)
                if silenced(match, self.config.silences, self.clock.now):
                    self.report.silenced += 1
                    continue
                for alert in self.router.route(match):
                    alerts[alert.sink].append(alert)
        for offered in alerts.values():
            offered.sort(key=lambda a: (a.match.article.article.published, a.key))
            for alert in offered:
                self.dispatcher.offer(alert)

    def _matched(self, item: TaggedArticle, match: Match) -> None:
        """A distinct article the rule matched (an edited one it matched before is not)."""
        if item.article.id in self.matched_ids:
            return
        self.report.matched += 1
        self.report.copies += 1
        self.matched_ids.add(item.article.id)
        entry = (item.article.published, item.article.id, item, match)
        if len(self.report.latest) < self.limit:
            heapq.heappush(self.report.latest, entry)
        elif self.limit and entry[:2] > self.report.latest[0][:2]:
            heapq.heapreplace(self.report.latest, entry)

    def finish(self) -> Report:
        """Held alerts and digests go out as the next cycles would send them (a day later at
        most, past any quiet hours); counted on the last snapshot's day."""
        day = self._day
        routes = self.config.routes
        wait = max([r.group_wait + r.group_interval + r.repeat_interval for r in routes] or [0])
        self.clock.now += timedelta(days=1, seconds=wait)
        for sink in self.sink_names:
            self.dispatcher.flush_due(sink)
        self._day = day
        return self.report


def run_backtest(
    archive: Path,
    config: Config,
    rule: RuleConfig,
    ruleset,
    tag: Callable,
    *,
    limit: int = 50,
    progress: Callable[[int, int, Report], None] | None = None,
) -> Report:
    """Replay `archive` (see the module docstring) on a throwaway store; `progress(done, total,
    report)` after each snapshot."""
    from wirewatch.transforms.state import open_store

    polls = snapshots(archive)
    with tempfile.TemporaryDirectory(prefix="wirewatch-backtest-") as tmp:
        clock = PollClock()
        with open_store(tmp, clock=clock) as store:
            test = Backtest(config, rule, ruleset, tag, store, clock, limit)
            for done, snap in enumerate(polls, 1):
                test.feed(snap)
                if progress:
                    progress(done, len(polls), test.report)
            report = test.finish()
    if not polls:
        report.problems.append(Problem(str(archive), message="the folder holds no files"))
    return report
