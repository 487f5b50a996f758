"""End to end: two `wirewatch run` workers on one PostgreSQL state store.

Twenty loopback feeds publish a new matching item every round. Midway, the Slack server holds
one request open, the test finds which worker sent it (the socket's owner) and kills that
worker's process group with SIGKILL; the held request is then refused (its sender is dead).
The survivor takes the dead worker's feeds over when their leases expire, and re-offers the
alert whose claim the dead worker held; the killed worker is restarted and rejoins. At the end
every item reached Slack exactly once, and no feed was fetched twice for one due time.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.e2e.test_watch import WAIT, HoldingSlackServer, Watch, wait_for
from tests.loopback import FeedServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
FEEDS = 20
LEASE = 5  # seconds: how long a dead worker's feeds and claims stay with it

CONFIG = """
feeds:
{feeds}
rules:
  - {{id: quake, query: 'earthquake'}}
routes:
  - {{sinks: [hook], max_alerts: 10000, group_wait: 0}}
sinks:
  hook: {{type: slack, webhook_url: "${{E2E_SLACK_WEBHOOK}}", retry_backoff: 0.01,
         max_retries: 1, pace: 0}}
dead_letters: "{dead}"
lease_seconds: {lease}
"""


class TimedFeedServer(FeedServer):
    """Remembers when each path was fetched."""

    def __init__(self):
        super().__init__()
        self.fetched: dict[str, list[float]] = {}

    def _handle(self, handler, body):
        with self.lock:
            self.fetched.setdefault(handler.path, []).append(time.monotonic())
        super()._handle(handler, body)


class Wires:
    """FEEDS feeds; each round adds one item with a unique, unrelated headline to every feed
    (unrelated, so story clustering never folds two of them into one story)."""

    def __init__(self, server: FeedServer):
        self.server, self.rng = server, random.Random(7)
        self.items: dict[int, list[tuple[str, str]]] = {i: [] for i in range(FEEDS)}

    def headline(self) -> str:
        words = ["".join(self.rng.choices("bcdfghjklmnpqrstvwz", k=7)) for _ in range(6)]
        return "Earthquake " + " ".join(words)

    def publish_round(self) -> None:
        now = format_datetime(datetime.now(timezone.utc), usegmt=True)
        for i in range(FEEDS):
            n = len(self.items[i]) + 1
            self.items[i].append((self.headline(), now))
            entries = "".join(
                f"<item><title>{title}</title><link>https://example.org/{i}/{k}</link>"
                f"<guid>f{i}-{k}</guid><pubDate>{at}</pubDate></item>"
                for k, (title, at) in enumerate(self.items[i], 1)
            )
            body = (
                f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>'
                f"<link>https://example.org/{i}</link>{entries}</channel></rss>"
            ).encode()
            self.server.feeds[f"/f{i}.xml"] = (200, {"Content-Type": "application/rss+xml"}, body)
            assert n == len(self.items[i])

    def titles(self) -> set[str]:
        return {title for items in self.items.values() for title, _ in items}


def peer_pid(port: int) -> int | None:
    """The pid owning the loopback TCP socket whose local port is `port` (the client side of
    a request our server is handling), from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in {f"socket:[{i}]" for i in inodes}:
                    return int(pid)
        except OSError:
            continue
    return None


class SenderAwareSlack(HoldingSlackServer):
    """Also records the client port of the held request."""

    held_port: int | None = None

    def _handle(self, handler, body):
        with self.lock:
            if self.posts + 1 == self.hold_at:
                self.held_port = handler.client_address[1]
        super()._handle(handler, body)


def received_titles(slack) -> Counter:
    return Counter(text.split("] ", 1)[1].rsplit(" https://", 1)[0] for text in slack.texts())


def test_two_workers_one_killed_mid_send_every_alert_once(tmp_path, pg_url):
    with TimedFeedServer() as feeds, SenderAwareSlack() as slack:
        wires = Wires(feeds)
        wires.publish_round()
        feed_lines = "\n".join(
            f'  - {{id: f{i}, url: "{feeds.url(f"/f{i}.xml")}", interval: 1}}' for i in range(FEEDS)
        )
        config = tmp_path / "wirewatch.yaml"
        config.write_text(
            CONFIG.format(feeds=feed_lines, dead=tmp_path / "dead.jsonl", lease=LEASE)
        )
        env = {**os.environ, "E2E_SLACK_WEBHOOK": slack.webhook_url, "PYTHONPATH": str(ROOT)}
        workers: list[Watch] = []

        def start(name: str) -> Watch:
            worker = Watch(config, pg_url, tmp_path / f"{name}.log", env, ())
            workers.append(worker)
            return worker

        try:
            a, b = start("a"), start("b")
            deadline = time.monotonic() + WAIT
            while len(slack.received) < FEEDS and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(slack.received) >= FEEDS, a.tail() + b.tail()

            # Round two; hold its fifth message open and kill whoever sent it.
            slack.hold(5, accept=False)
            wires.publish_round()
            wait_for(slack.holding, "the held request", a)
            victim_pid = peer_pid(slack.held_port)
            victim = next((w for w in (a, b) if victim_pid in _group_pids(w.proc.pid)), None)
            assert victim is not None, f"no worker owns port {slack.held_port}"
            survivor = b if victim is a else a
            victim.kill_group()
            killed_at = time.monotonic()
            slack.release.set()

            # More rounds while one worker runs; then the killed one comes back.
            for _ in range(2):
                wires.publish_round()
                time.sleep(1.5)
            restarted = start("a2")
            deadline = time.monotonic() + WAIT  # rejoined: it polls its share of the feeds
            while "feeds polled" not in restarted.tail() and time.monotonic() < deadline:
                wires.publish_round()
                time.sleep(1.5)
            wires.publish_round()

            expected = wires.titles()
            deadline = time.monotonic() + WAIT
            while set(received_titles(slack)) < expected and time.monotonic() < deadline:
                time.sleep(0.2)
            got = received_titles(slack)
            lost = expected - set(got)
            doubled = {t: n for t, n in got.items() if n > 1}
            assert not lost, f"{len(lost)} lost\n{survivor.tail()}\n{restarted.tail()}"
            assert not doubled, f"doubled: {doubled}"
            assert time.monotonic() - killed_at >= LEASE  # takeover needed the lease to end
            assert "feeds polled" in restarted.tail()  # the restarted worker took feeds again
            for path, times in feeds.fetched.items():
                gaps = [later - earlier for earlier, later in zip(times, times[1:])]
                assert min(gaps, default=1.0) >= 0.5, f"{path} fetched twice at once: {gaps}"
        finally:
            slack.release.set()
            for worker in workers:
                worker.cleanup()


def _group_pids(leader: int) -> set[int]:
    """Every pid in the process group `leader` started (wirewatch and its Beam workers)."""
    pids = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getpgid(int(pid)) == leader:
                pids.add(int(pid))
        except OSError:
            continue
    return pids
