"""Chaos soak: watch mode over rotating feeds with SIGKILLs, Slack 429/500 bursts and an outage.

Counts every alert that should have gone out and every one that did, per sink, and fails (exit 1)
when one was lost or doubled, so it can gate a release:

    python bench/chaos.py [--minutes 30] [--outage-minutes 5] [--seed 1]
                          [--datasets ../shared/datasets/feeds] [--backend sqlite|postgresql]

The world:
- Feeds on a loopback feed server rotate on the harness's clock: every --rotate seconds (one
  *cycle*, counted by the feed server's rotation clock, never by wirewatch's polls) each feed gains
  1-3 new items and drops those whose lifetime ran out. An item's lifetime is 1-4 cycles, drawn
  when it appears; it is visible from the start of its first cycle to the end of its last.
  Synthetic items (the default, deterministic per --seed) have distinct random headlines, about
  half starting with "Earthquake" (the rule matches those). With --datasets, the real snapshot
  items of DIR/<feed>/*.xml are replayed instead (each distinct link once, in the order the
  snapshots first show it, under its first feed; the rule then matches every item).
- `wirewatch run --interval N` (the real watch loop, a subprocess, one at a time) posts to a
  loopback Slack webhook and appends to a JSONL sink, with the shipped taxonomy and gazetteer and
  the sinks' default retry settings.
- Chaos on the harness's own schedule (deterministic per --seed): SIGKILLs of the whole process
  group every 20-100 s, about half of them while the Slack server holds a request open (the
  held request is then refused with 503: its sender is gone, so Slack never posted it), each
  followed by an immediate restart (a kill waits until the process has run 15 s); bursts of 429
  (Retry-After 1-3 s) and of 500, each hitting the next 3-8 requests whenever they come; one 429
  with a long Retry-After (--long-retry-after); one outage of --outage-minutes during which every
  Slack request gets 503.
- Then a quiet drain: no new items, no chaos (failures not yet consumed are dropped), Slack
  healthy, the feeds rotate until empty, and
  the harness waits until every expected alert arrived or --drain seconds passed.

Counted per sink: expected = items that matched the rule and stayed in their feed for at least
two cycles; delivered = expected items whose link reached the sink; lost = expected minus
delivered; doubled = items whose link reached the sink in more than one message (a digest line
counts as a delivery of its item); unexpected = delivered items that should not alert at all.
Items that lived one cycle only are reported apart (delivered / total), never counted as lost.
`--manual-redeliver` runs `wirewatch redeliver` once after the drain (off by default: alerts
dead-lettered during the outage then count as lost unless the product redelivers them itself).
Artifacts (watch log, Slack messages, items, chaos events, the SQLite store) stay in --out, or in
a temporary folder that is kept and printed when the gate fails.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.loopback import FeedServer, SlackServer  # noqa: E402

CONFIG = """
include:                 # the shipped taxonomy and gazetteer: the realistic amount of config
  - {root}/configs/taxonomy/*.yaml
  - {root}/configs/entities/*.yaml
feeds:
{feeds}
rules:
  - {{id: chaos, query: '{query}'}}
routes:
  - {{sinks: [slack, file], max_alerts: 10000, group_interval: 60, group_wait: 0}}
sinks:
  slack: {{type: slack, webhook_url: "${{CHAOS_SLACK_WEBHOOK}}"}}
  file: {{type: jsonl, path: "{alerts}"}}
dead_letters: "{dead}"
"""
LINK = re.compile(r"<(https?://[^|>]+)\|")
LETTERS = "bcdfghjklmnpqrstvwz"


# --------------------------------------------------------------------------- the feeds


@dataclass
class Item:
    feed: str
    guid: str
    link: str
    title: str
    summary: str
    published: str  # RFC 822
    matches: bool  # the rule should alert on it
    lifetime: int  # cycles
    first: int = -1  # the cycle it appeared in
    appeared_at: float = 0.0  # seconds since the start

    @property
    def cycles(self) -> list[int]:
        return list(range(self.first, self.first + self.lifetime))


class Source:
    """Where new items come from: synthetic ones, or the next unseen real snapshot items."""

    def __init__(self, rng: random.Random, datasets: str | None):
        self.rng, self.counter = rng, 0
        self.real: dict[str, list[dict]] = load_real(datasets) if datasets else {}
        self.feeds = sorted(self.real) if datasets else ["wire-a", "wire-b", "wire-c"]

    def query(self) -> str:
        if self.real:
            return " OR ".join(f"feed:{feed}" for feed in self.feeds)
        return "title:earthquake"

    def new(self, feed: str) -> Item | None:
        self.counter += 1
        if self.real:
            if not self.real[feed]:
                return None
            entry = self.real[feed].pop(0)
            return Item(feed, entry["guid"], entry["link"], entry["title"], entry["summary"],
                        entry["published"], True, 0)  # fmt: skip
        words = " ".join("".join(self.rng.choices(LETTERS, k=7)) for _ in range(8))
        matches = self.rng.random() < 0.5
        title = f"{'Earthquake' if matches else 'Report'} {words}"
        n = self.counter
        return Item(
            feed,
            f"chaos-{n}",
            f"https://example.org/{feed}/{n}",
            title,
            f"{words} {words[::-1]}",
            format_datetime(datetime.now(timezone.utc), usegmt=True),
            matches,
            0,
        )


def load_real(datasets: str) -> dict[str, list[dict]]:
    """Each distinct link of DIR/<feed>/*.xml once, under the feed that showed it first, in the
    order the snapshots (sorted by their poll number) first show it."""
    import feedparser

    from wirewatch.transforms.ingest.links import canonical_link

    feeds: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for folder in sorted(glob.glob(os.path.join(datasets, "*"))):
        if not os.path.isdir(folder):
            continue
        feed, entries = os.path.basename(folder), []
        for path in sorted(glob.glob(os.path.join(folder, "*.xml"))):
            parsed = feedparser.parse(Path(path).read_bytes())
            for entry in parsed.entries:
                # served canonical (no fragment, no tracking parameters), as wirewatch links it
                link = canonical_link(entry.get("link"))
                if not link or link in seen or not entry.get("title"):
                    continue
                seen.add(link)
                when = entry.get("published_parsed") or entry.get("updated_parsed")
                at = (
                    datetime(*when[:6], tzinfo=timezone.utc) if when else datetime.now(timezone.utc)
                )
                entries.append(
                    {
                        "guid": entry.get("id") or link,
                        "link": link,
                        "title": entry.title,
                        "summary": entry.get("summary", ""),
                        "published": format_datetime(at, usegmt=True),
                    }
                )
        if entries:
            feeds[feed] = entries
    if not feeds:
        raise SystemExit(f"chaos: no <feed>/*.xml with items under {datasets}")
    return feeds


class Feeds(FeedServer):
    """The loopback feed server, recording when each item link was first served to wirewatch:
    an item never served cannot alert, whatever the sinks did."""

    def __init__(self):
        super().__init__()
        self.links: dict[str, list[str]] = {}  # path -> the links its current body carries
        self.fetched: dict[str, float] = {}  # link -> first time served (epoch seconds)
        self.polls: list[tuple[float, str]] = []  # (epoch seconds, path) of every request

    def _handle(self, handler, body):
        with self.lock:
            self.polls.append((time.time(), handler.path))
            for link in self.links.get(handler.path, ()):
                self.fetched.setdefault(link, time.time())
        super()._handle(handler, body)


class Rotation:
    """The feed server's rotation clock: each tick is one cycle."""

    def __init__(self, server: Feeds, source: Source, rng: random.Random, start: float):
        self.server, self.source, self.rng, self.start = server, source, rng, start
        self.cycle = -1
        self.items: list[Item] = []
        for feed in source.feeds:
            self._serve(feed)

    def tick(self, publish: bool) -> None:
        self.cycle += 1
        now = time.monotonic() - self.start
        if publish:
            for feed in self.source.feeds:
                for _ in range(self.rng.randint(1, 3)):
                    item = self.source.new(feed)
                    if item is None:
                        break
                    item.lifetime = self.rng.choice((1, 2, 3, 4))
                    item.first, item.appeared_at = self.cycle, now
                    self.items.append(item)
        for feed in self.source.feeds:
            self._serve(feed)

    def visible(self, feed: str) -> list[Item]:
        return [i for i in self.items if i.feed == feed and self.cycle in i.cycles]

    def live(self) -> bool:
        return any(self.cycle in i.cycles for i in self.items)

    def _serve(self, feed: str) -> None:
        visible = self.visible(feed)
        entries = "".join(
            f"<item><title>{escape(i.title)}</title><link>{escape(i.link)}</link>"
            f"<guid>{escape(i.guid)}</guid><description>{escape(i.summary)}</description>"
            f"<pubDate>{i.published}</pubDate></item>"
            for i in reversed(visible)  # newest first, like a wire
        )
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{feed}</title>'
            f"<link>https://example.org/{feed}</link>{entries}</channel></rss>"
        ).encode()
        with self.server.lock:
            self.server.feeds[f"/{feed}.xml"] = (200, {"Content-Type": "application/rss+xml"}, body)
            self.server.links[f"/{feed}.xml"] = [i.link for i in visible]


# --------------------------------------------------------------------------- Slack


class ChaosSlack(SlackServer):
    """The loopback webhook plus an outage switch (503 to everything), a hold (the next request
    is held open until released, then refused: its sender was killed meanwhile), and counts of
    every status it answered."""

    def __init__(self):
        super().__init__()
        self.outage = False
        self.statuses: Counter = Counter()
        self.log: list[dict] = []  # accepted messages with their time
        self.hold_armed = False
        self.holding = threading.Event()
        self.release = threading.Event()

    def arm_hold(self) -> None:
        with self.lock:
            self.hold_armed = True
            self.holding, self.release = threading.Event(), threading.Event()

    def disarm_hold(self) -> None:
        with self.lock:
            self.hold_armed = False
            self.release.set()

    def _handle(self, handler, body):
        with self.lock:
            outage = self.outage
            hold = self.hold_armed and not outage
            if hold:
                self.hold_armed = False
                holding, release = self.holding, self.release
        if outage:
            self.statuses["outage"] += 1
            return self._reply(handler, 503, {}, b"outage")
        if hold:
            holding.set()
            release.wait(120)
            self.statuses["held"] += 1
            return self._reply(handler, 503, {}, b"sender gone")
        super()._handle(handler, body)
        with self.lock:
            for message in self.received[len(self.log) :]:
                self.log.append({"at": time.time(), "message": message})

    def _reply(self, handler, status, headers, body):
        with self.lock:
            self.statuses[status] += 1
        try:
            SlackServer._reply(handler, status, headers, body)
        except OSError:
            pass  # the sender is gone


def links_of(message: dict) -> set[str]:
    """The item links one Slack message delivers: the headline of an alert, every line of a
    digest. The fallback text carries the link too (alerts), as a last resort."""
    found = set(LINK.findall(json.dumps(message.get("blocks", []))))
    if not found:
        found = set(re.findall(r"https?://\S+", message.get("text", "")))
    return {link.replace("&amp;", "&") for link in found}


def links_of_jsonl(path: Path) -> list[set[str]]:
    """The item links of each line of the JSONL sink (an alert, or a digest of alerts)."""
    if not path.exists():
        return []
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            lines.append({"<torn line>"})
            continue
        alerts = record.get("alerts", [record])
        lines.append({a["match"]["article"]["article"]["link"] for a in alerts})
    return lines


# --------------------------------------------------------------------------- wirewatch


class Watch:
    """`wirewatch run` in its own process group, restarted after each kill."""

    def __init__(self, config: Path, state_args: list[str], log: Path, env: dict, interval: float):
        self.cmd = [
            sys.executable,
            "-m",
            "wirewatch.pipelines.cli",
            "run",
            "--config",
            str(config),
            *state_args,
            "--interval",
            f"{interval:g}",
        ]
        self.log, self.env = log, env
        self.proc: subprocess.Popen | None = None
        self.starts, self.started = 0, 0.0
        self.exits: list[int] = []  # exits nobody asked for

    def start(self) -> None:
        with open(self.log, "ab") as out:
            out.write(f"=== chaos: start {self.starts + 1} at {time.time():.3f}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.cmd,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        self.started = time.monotonic()

    def check(self) -> None:
        """Restart it if it exited by itself (counted: it should not)."""
        if self.proc is not None and self.proc.poll() is not None:
            self.exits.append(self.proc.returncode)
            self.start()

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        with open(self.log, "ab") as out:
            out.write(f"=== chaos: SIGKILL at {time.time():.3f}\n".encode())

    def stop(self) -> int:
        if self.proc.poll() is not None:
            return self.proc.returncode
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()


# --------------------------------------------------------------------------- the schedule


@dataclass
class Schedule:
    """Seconds since the start, all drawn from the seed before anything runs."""

    kills: list[tuple[float, bool]] = field(default_factory=list)  # (at, while a request is held)
    bursts: list[tuple[float, int, int]] = field(default_factory=list)  # (at, status, count)
    long_429: float | None = None
    outage: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def draw(cls, rng: random.Random, seconds: float, outage: float, long_after: float) -> Schedule:
        plan = cls()
        at = rng.uniform(20, 60)
        while at < seconds:
            plan.kills.append((at, rng.random() < 0.5))
            at += rng.uniform(20, 100)
        at = rng.uniform(10, 40)
        while at < seconds:
            status = rng.choice((429, 500))
            plan.bursts.append((at, status, rng.randint(3, 8)))
            at += rng.uniform(30, 90)
        if outage > 0:
            begin = rng.uniform(0.2 * seconds, max(0.2 * seconds, 0.85 * seconds - outage))
            plan.outage = (begin, begin + outage)
        if long_after > 0:  # away from the outage: the sink parks for long_after seconds
            for _ in range(100):
                plan.long_429 = rng.uniform(0.1 * seconds, 0.9 * seconds)
                if not plan.outage[0] - long_after - 10 < plan.long_429 < plan.outage[1] + 10:
                    break
        return plan


# --------------------------------------------------------------------------- counting


def ledger(state: list[str]) -> tuple[dict, dict]:
    """The store's view, read after the run: (link, sink) -> ledger status, and alert key ->
    the newest dead-letter reason. Read straight from the tables (SQLite or PostgreSQL): this
    explains lost alerts, it is not what counts them."""
    query_alerts = "SELECT key, sink, status, payload FROM alerts"
    query_dead = "SELECT alert_key, reason FROM dead_letters WHERE stage = 'deliver' ORDER BY id"
    if state[0] == "--state-dir":
        import sqlite3

        db = sqlite3.connect(f"file:{state[1]}/state.sqlite3?mode=ro", uri=True)
        alerts, dead = db.execute(query_alerts).fetchall(), db.execute(query_dead).fetchall()
        db.close()
    else:
        import psycopg

        with psycopg.connect(state[1]) as db:
            alerts = db.execute(query_alerts).fetchall()
            dead = db.execute(query_dead).fetchall()
    reasons = {key: reason for key, reason in dead if key}
    rows = {}
    for key, sink, status, payload in alerts:
        alert = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
        link = alert["match"]["article"]["article"]["link"]
        rows[(link, sink)] = (status, reasons.get(key))
    return rows, reasons


def why_lost(link: str, sink: str, fetched: dict[str, float], rows: dict, unpolled=None) -> str:
    if link not in fetched:
        gap = f": {unpolled(link)}" if unpolled else ""
        return f"never fetched (wirewatch did not poll its feed while it was visible){gap}"
    status, reason = rows.get((link, sink), (None, None))
    if status is None:
        return "fetched, but no ledger row (never claimed)"
    return f"ledger '{status}'" + (f": {reason}" if reason else "")


def poll_gap(item: Item, polls: list[tuple[float, str]], start: float, rotate: float) -> str:
    """The polls of the item's feed around its life: when wirewatch polled before and after."""
    times = [t - start for t, path in polls if path == f"/{item.feed}.xml"]
    begin, end = item.first * rotate, (item.first + item.lifetime) * rotate
    before = max((t for t in times if t < begin), default=None)
    after = min((t for t in times if t >= end), default=None)
    fmt = lambda t: "never" if t is None else f"{t:.0f} s"  # noqa: E731
    return (
        f"visible {begin:.0f}-{end:.0f} s, its feed polled last at {fmt(before)} before and "
        f"next at {fmt(after)}"
    )


def count(items: list[Item], deliveries: list[set[str]], explain) -> dict:
    """Expected, delivered, lost, doubled and unexpected for one sink's deliveries (the set of
    item links of each message or line)."""
    times = Counter(link for message in deliveries for link in message)
    by_link = {i.link: i for i in items}
    expected = [i for i in items if i.matches and i.lifetime >= 2]
    short = [i for i in items if i.matches and i.lifetime < 2]
    lost = [i.link for i in expected if not times[i.link]]
    doubled = {link: n for link, n in times.items() if n > 1}
    unexpected = [
        link for link in times if link not in by_link or not by_link[link].matches
    ]  # fmt: skip
    return {
        "expected": len(expected),
        "delivered": sum(1 for i in expected if times[i.link]),
        "lost": len(lost),
        "doubled": len(doubled),
        "unexpected": len(unexpected),
        "messages": len(deliveries),
        "short_lived_delivered": sum(1 for i in short if times[i.link]),
        "short_lived": len(short),
        "lost_links": {link: explain(link) for link in lost[:50]},
        "doubled_links": dict(list(doubled.items())[:50]),
        "unexpected_links": unexpected[:50],
    }


# --------------------------------------------------------------------------- the run


def run(args, work: Path, state_args: list[str]) -> dict:
    rng = random.Random(args.seed)
    source = Source(random.Random(args.seed + 1), args.datasets)
    chaos_seconds = args.minutes * 60
    plan = Schedule.draw(rng, chaos_seconds, args.outage_minutes * 60, args.long_retry_after)
    events: list[dict] = []
    started = time.monotonic()

    def note(kind: str, **extra) -> None:
        events.append({"at": round(time.monotonic() - started, 2), "event": kind, **extra})
        if args.verbose:
            print(f"  {events[-1]}", flush=True)

    with Feeds() as feeds, ChaosSlack() as slack:
        rotation = Rotation(feeds, source, random.Random(args.seed + 2), started)
        config = work / "chaos.yaml"
        feed_lines = "\n".join(
            f'  - {{id: {feed}, url: "{feeds.url(f"/{feed}.xml")}"'
            + (", backfill_hours: null}" if args.datasets else "}")
            for feed in source.feeds
        )
        config.write_text(
            CONFIG.format(
                root=ROOT,
                feeds=feed_lines,
                query=source.query(),
                alerts=work / "alerts.jsonl",
                dead=work / "dead-letters.jsonl",
            )
        )
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "CHAOS_SLACK_WEBHOOK": slack.webhook_url, "PYTHONPATH": path}
        env.pop("WIREWATCH_WORKER", None)
        watch = Watch(config, state_args, work / "watch.log", env, args.interval)
        rotation.tick(publish=True)
        watch.start()
        kills = list(plan.kills)
        bursts = list(plan.bursts)
        long_429 = plan.long_429
        next_tick = started + args.rotate
        held_kill: float | None = None  # when the armed hold gives up waiting for a request
        counts = Counter()
        quiet = False
        try:
            while True:
                now = time.monotonic()
                elapsed = now - started
                chaos = elapsed < chaos_seconds
                if not chaos and not quiet:  # the drain: Slack healthy from here on
                    quiet = True
                    with slack.lock:
                        dropped = len(slack.scripted[slack.WEBHOOK_PATH])
                        slack.scripted[slack.WEBHOOK_PATH].clear()
                    note("chaos over", scripted_failures_dropped=dropped)
                if now >= next_tick:
                    rotation.tick(publish=chaos)
                    next_tick += args.rotate
                    if not chaos and not rotation.live():
                        break
                watch.check()
                if chaos and plan.outage[0] <= elapsed < plan.outage[1] and not slack.outage:
                    slack.outage = True
                    note("outage begins")
                if slack.outage and (elapsed >= plan.outage[1] or not chaos):
                    slack.outage = False
                    note("outage ends")
                while chaos and bursts and bursts[0][0] <= elapsed:
                    _, status, times = bursts.pop(0)
                    if slack.outage:
                        continue  # the outage answers every request already
                    headers = {"Retry-After": str(rng.randint(1, 3))} if status == 429 else {}
                    slack.fail_next(slack.WEBHOOK_PATH, status, headers, b"chaos", times=times)
                    counts[f"burst_{status}"] += 1
                    note("burst", status=status, requests=times, **headers)
                if chaos and long_429 is not None and long_429 <= elapsed:
                    after = str(int(args.long_retry_after))
                    slack.fail_next(slack.WEBHOOK_PATH, 429, {"Retry-After": after}, b"slow down")
                    note("long 429", retry_after=after)
                    long_429 = None
                if held_kill is not None:
                    if slack.holding.is_set() or now >= held_kill:
                        held = slack.holding.is_set()
                        if held:
                            time.sleep(rng.uniform(0, 0.5))
                        watch.kill()
                        slack.disarm_hold()
                        counts["kills_held" if held else "kills"] += 1
                        note("SIGKILL", held_request=held)
                        held_kill = None
                        watch.start()
                elif chaos and kills and kills[0][0] <= elapsed and now - watch.started > 15:
                    _, hold = kills.pop(0)
                    if hold and not slack.outage:
                        slack.arm_hold()
                        # no request within 30 s (or the chaos ends first): kill anyway
                        held_kill = min(now + 30, started + chaos_seconds)
                    else:
                        watch.kill()
                        counts["kills"] += 1
                        note("SIGKILL", held_request=False)
                        watch.start()
                time.sleep(0.05)
            chaos_end = started + chaos_seconds
            note("feeds empty; draining")
            expected = {i.link for i in rotation.items if i.matches and i.lifetime >= 2}
            deadline = time.monotonic() + args.drain
            while time.monotonic() < deadline:
                watch.check()
                got_slack = set().union(*map(links_of, slack.received), set())
                got_file = set().union(*links_of_jsonl(work / "alerts.jsonl"), set())
                if expected <= got_slack and expected <= got_file:
                    break
                time.sleep(1)
            # one more interval, so a doubled alert sent right after the last one can show
            time.sleep(2 * args.interval)
            note("drain over", code=watch.stop())
            if args.manual_redeliver:
                done = subprocess.run(
                    [sys.executable, "-m", "wirewatch.pipelines.cli", "redeliver",
                     "--config", str(config), *state_args],
                    cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                )  # fmt: skip
                (work / "redeliver.log").write_text(done.stdout + done.stderr)
                note("manual redeliver", code=done.returncode)
        finally:
            if watch.proc is not None and watch.proc.poll() is None:
                os.killpg(watch.proc.pid, signal.SIGKILL)
                watch.proc.wait()
            slack.disarm_hold()
        wall = time.monotonic() - started
        received = list(slack.received)
        statuses = dict(slack.statuses)
        fetched = dict(feeds.fetched)
        polls = list(feeds.polls)
        start_epoch = time.time() - (time.monotonic() - started)
        (work / "polls.jsonl").write_text("".join(json.dumps(p) + "\n" for p in feeds.polls))
        chaos_end_epoch = time.time() - (time.monotonic() - chaos_end)
        last_message = max((m["at"] for m in slack.log), default=chaos_end_epoch)
        (work / "slack.jsonl").write_text("".join(json.dumps(m) + "\n" for m in slack.log))
    try:
        rows, _ = ledger(state_args)
    except Exception as exc:  # a diagnosis, never a reason to lose the counts
        print(f"chaos: could not read the ledger: {exc}", file=sys.stderr)
        rows = {}

    items = rotation.items
    by_link = {i.link: i for i in items}

    def unpolled(link: str) -> str:
        return poll_gap(by_link[link], polls, start_epoch, args.rotate)

    (work / "items.jsonl").write_text(
        "".join(
            json.dumps({**asdict(i), "cycles": i.cycles, "fetched_at": fetched.get(i.link)}) + "\n"
            for i in items
        )
    )
    (work / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return {
        "backend": args.backend,
        "seed": args.seed,
        "minutes": args.minutes,
        "outage_minutes": args.outage_minutes,
        "feeds": "replayed " + args.datasets if args.datasets else "synthetic",
        "rotate_seconds": args.rotate,
        "interval_seconds": args.interval,
        "cycles": rotation.cycle + 1,
        "items": len(items),
        "expected_never_fetched": sum(
            1 for i in items if i.matches and i.lifetime >= 2 and i.link not in fetched
        ),
        "matching": sum(i.matches for i in items),
        "sinks": {
            "slack": count(
                items,
                [links_of(m) for m in received],
                lambda link: why_lost(link, "slack", fetched, rows, unpolled),
            ),
            "file": count(
                items,
                links_of_jsonl(work / "alerts.jsonl"),
                lambda link: why_lost(link, "file", fetched, rows, unpolled),
            ),
        },
        "kills": counts["kills"] + counts["kills_held"],
        "kills_while_held": counts["kills_held"],
        "unexpected_exits": watch.exits,
        "starts": watch.starts,
        "slack_answers": {str(k): v for k, v in sorted(statuses.items(), key=str)},
        "bursts_429": counts["burst_429"],
        "bursts_500": counts["burst_500"],
        "outage": [round(plan.outage[0]), round(plan.outage[1])],
        "long_retry_after": args.long_retry_after,
        "manual_redeliver": args.manual_redeliver,
        "last_slack_message_after_chaos_seconds": round(last_message - chaos_end_epoch, 1),
        "wall_seconds": round(wall, 1),
        "artifacts": str(work),
    }


def table(report: dict) -> str:
    rows = [
        f"chaos: {report['minutes']:g} min of chaos over {report['feeds']} feeds on "
        f"{report['backend']}, seed {report['seed']}; one cycle = {report['rotate_seconds']:g} s "
        f"of the feed server's rotation clock ({report['cycles']} cycles); wirewatch polls every "
        f"{report['interval_seconds']:g} s",
        f"items {report['items']}, matching the rule {report['matching']}; kills "
        f"{report['kills']} ({report['kills_while_held']} while Slack held a request), "
        f"unexpected exits {report['unexpected_exits'] or 0}; 429 bursts {report['bursts_429']}, "
        f"500 bursts {report['bursts_500']}, long Retry-After {report['long_retry_after']:g} s, "
        f"outage {report['outage'][0]}-{report['outage'][1]} s; manual redeliver "
        f"{'yes' if report['manual_redeliver'] else 'no'}",
        f"Slack answered: {report['slack_answers']}",
        "",
        f"{'sink':<7}{'expected':>9}{'delivered':>10}{'lost':>6}{'doubled':>8}{'unexpected':>11}"
        f"{'messages':>9}{'1-cycle items delivered':>25}",
    ]
    for name, s in report["sinks"].items():
        rows.append(
            f"{name:<7}{s['expected']:>9}{s['delivered']:>10}{s['lost']:>6}{s['doubled']:>8}"
            f"{s['unexpected']:>11}{s['messages']:>9}"
            f"{s['short_lived_delivered']:>17} of {s['short_lived']:<4}"
        )
    rows.append(
        f"expected items wirewatch never fetched (its loop was stalled or down for their whole "
        f"life): {report['expected_never_fetched']}"
    )
    for name, s in report["sinks"].items():
        for link, why in list(s["lost_links"].items())[:20]:
            rows.append(f"{name} lost {link}: {why}")
        if s["doubled_links"]:
            rows.append(f"{name} doubled: {s['doubled_links']}")
    rows.append(
        f"wall time {report['wall_seconds']:.0f} s; last Slack message "
        f"{report['last_slack_message_after_chaos_seconds']:.0f} s after the chaos ended; "
        f"artifacts: {report['artifacts']}"
    )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30, help="chaos period (default 30)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--datasets", metavar="PATH", help="replay DIR/<feed>/*.xml snapshots")
    parser.add_argument("--outage-minutes", type=float, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--rotate",
        type=float,
        help="seconds per feed cycle (default 15; 45 with --datasets, whose first cycles tag "
        "dozens of real articles and take 20-30 s on a loaded 2-core machine)",
    )
    parser.add_argument("--interval", type=float, default=3, help="wirewatch run --interval")
    parser.add_argument(
        "--long-retry-after",
        type=float,
        default=120,
        help="one 429 with this Retry-After (0: none)",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=480,
        help="at most this many seconds of quiet drain (a sink that was down may be skipped "
        "for a backoff of up to 15 minutes; 480 s covers the backoff a 5-minute outage reaches)",
    )
    parser.add_argument("--manual-redeliver", action="store_true")
    parser.add_argument("--out", metavar="DIR", help="keep artifacts here (default: temporary)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="print chaos events")
    args = parser.parse_args()
    args.rotate = args.rotate or (45 if args.datasets else 15)

    work = Path(args.out or tempfile.mkdtemp(prefix="wirewatch-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    pg = None
    try:
        if args.backend == "postgresql":
            from tests.pgserver import start_server

            pg = start_server()
            state_args = ["--state", pg.create_database("chaos")]
        else:
            state_args = ["--state-dir", str(work / "state")]
        report = run(args, work, state_args)
    finally:
        if pg is not None:
            pg.destroy()
    failed = any(s["lost"] or s["doubled"] for s in report["sinks"].values())
    if not failed and not args.out:
        shutil.rmtree(work, ignore_errors=True)
        report["artifacts"] = "(removed)"
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
