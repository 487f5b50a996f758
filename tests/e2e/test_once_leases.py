"""End to end: `wirewatch run --once` beside other workers on one PostgreSQL store.

A `run --once` holds its alert claims for `lease_seconds`, like a watch worker. When Slack holds
its delivery longer than that, the claim must be renewed while the process lives: else another
worker (a second `run --once`, or a watch loop) takes the claim over as a dead worker's and
sends the alert a second time. And two `run --once` processes that poll the same feed at the
same moment (each polls every feed, by design) send each alert once: the ledger's claims and the
story index's lock decide, not the feed schedule. A digest one run is sending is not sent again
by another run that releases held bursts (`release_bursts` makes a claimed group due again when
`group_wait` is longer than the group's claim): the digest's alerts are claimed in the ledger.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.e2e.test_watch import WAIT, HoldingSlackServer, Watch
from tests.loopback import FeedServer
from wirewatch.transforms.state import open_store

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LEASE = 5  # seconds: the shortest lease the config allows


def rss(*titles: str, feed: str = "wire") -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://example.org/{feed}/{n}</link>"
        f"<guid>{feed}-{n}</guid>"
        f"<pubDate>Mon, 30 Nov 2026 08:00:0{n % 10} GMT</pubDate></item>"
        for n, title in enumerate(titles)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode()


def headline(seed: str) -> str:
    """A matching headline of unrelated words, so no two are folded into one story."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    words = ["".join(chr(97 + int(c, 16)) for c in digest[i : i + 7]) for i in range(0, 42, 7)]
    return "Earthquake " + " ".join(words)


def write_config(
    tmp_path: Path, feeds: FeedServer, paths: list[str], *, group_wait=0, lease=LEASE
) -> Path:
    """One rule, one Slack sink that never retries (a retry would be a second copy of its
    own) and waits as long as the test holds a request."""
    hook = {"type": "slack", "webhook_url": "${E2E_SLACK_WEBHOOK}", "max_retries": 0}
    config = {
        "feeds": [
            {"id": p.strip("/").split(".")[0], "url": feeds.url(p), "backfill_hours": None}
            for p in paths
        ],
        "rules": [{"id": "quake", "query": "earthquake"}],
        "routes": [{"sinks": ["hook"], "group_wait": group_wait, "max_alerts": 1000}],
        "sinks": {"hook": {**hook, "retry_backoff": 0.01, "pace": 0, "timeout": 300}},
        "dead_letters": str(tmp_path / "dead.jsonl"),
        "lease_seconds": lease,
    }
    path = tmp_path / "wirewatch.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def once(config: Path, state: str, slack_url: str, log: Path) -> subprocess.Popen:
    """`wirewatch run --once` in its own process group, its output in `log`."""
    env = {**os.environ, "E2E_SLACK_WEBHOOK": slack_url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "wirewatch.pipelines.cli", "run", "--once"]
    return subprocess.Popen(
        [*command, "--config", str(config), "--state", state],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def finished(proc: subprocess.Popen, log: Path) -> int:
    try:
        return proc.wait(WAIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"run --once did not finish:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def killed_at_exit(procs: list[subprocess.Popen]):
    """The processes, killed (their whole group) if still running when the block ends."""
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def held_run(config: Path, pg_url: str, slack: HoldingSlackServer, log: Path):
    """A `run --once` whose first Slack request Slack holds open: yields it once held; the
    request is released (accepted) when the block ends, if the block did not release it."""
    slack.hold(1, accept=True)
    with killed_at_exit([once(config, pg_url, slack.webhook_url, log)]) as (proc,):
        try:
            deadline = time.monotonic() + WAIT
            while not slack.holding.wait(0.05):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nothing reached Slack:\n{log.read_text()[-3000:]}")
            yield proc
        finally:
            slack.release.set()


def second_worker(kind: str, config: Path, pg_url: str, slack_url: str, log: Path) -> int:
    """Another worker on the store while the first one's claim is past its first lease: a
    second `run --once` to its end, or a watch loop until it has nothing left to do (its
    first tick re-offers every expired claim), then stopped."""
    if kind == "once":
        with killed_at_exit([once(config, pg_url, slack_url, log)]) as (proc,):
            return finished(proc, log)
    env = {**os.environ, "E2E_SLACK_WEBHOOK": slack_url, "PYTHONPATH": str(ROOT)}
    watch = Watch(config, pg_url, log, env, ())
    try:
        watch.wait_logged("idle: next feed or digest due")
        watch.proc.send_signal(signal.SIGTERM)
        return watch.wait()
    finally:
        watch.cleanup()


@pytest.mark.parametrize("second", ["once", "watch"])
def test_a_claim_held_by_a_slow_send_is_renewed_and_never_sent_twice(tmp_path, pg_url, second):
    with FeedServer() as feeds, HoldingSlackServer() as slack:
        feeds.feeds["/wire.xml"] = (200, {}, rss("Earthquake off the coast"))
        config = write_config(tmp_path, feeds, ["/wire.xml"])
        log = tmp_path / "once.log"
        with held_run(config, pg_url, slack, log) as first:
            with open_store(pg_url) as store:
                [claim] = store.alerts("sending")
            # The claim's first lease runs out (on the store's clock, this machine's): the one
            # wait on time itself, since the lease's length is what is under test.
            ends = claim.lease_until.timestamp() - datetime.now(timezone.utc).timestamp()
            time.sleep(max(0.0, ends) + 1.5)
            assert second_worker(second, config, pg_url, slack.webhook_url, log) == 0
            slack.release.set()
            assert finished(first, log) == 0
        assert slack.texts() == ["[quake] Earthquake off the coast https://example.org/wire/0"]
        with open_store(pg_url) as store:
            assert [a.status for a in store.alerts("sent")] == ["sent"]


class BarrierFeedServer(FeedServer):
    """Answers each feed path only once `parties` requests for it arrived (or a short wait
    passed), so concurrent `run --once` processes poll the same content at the same time."""

    def __init__(self, parties: int):
        super().__init__()
        self.parties = parties
        self.barriers: dict[str, threading.Barrier] = {}
        self.broken = 0

    def _handle(self, handler, body):
        with self.lock:
            barrier = self.barriers.setdefault(handler.path, threading.Barrier(self.parties))
        try:
            barrier.wait(WAIT / 4)
        except threading.BrokenBarrierError:
            with self.lock:
                self.broken += 1
        super()._handle(handler, body)


def test_two_runs_polling_the_same_feeds_at_once_send_each_alert_once(tmp_path, pg_url):
    paths = [f"/w{i}.xml" for i in range(4)]
    with BarrierFeedServer(parties=2) as feeds, HoldingSlackServer() as slack:
        for i, path in enumerate(paths):
            titles = [headline(f"{i}-{k}") for k in range(3)] + ["Markets calm"]
            feeds.feeds[path] = (200, {}, rss(*titles, feed=f"w{i}"))
        config = write_config(tmp_path, feeds, paths)
        log = tmp_path / "once.log"
        runs = [once(config, pg_url, slack.webhook_url, log) for _ in range(2)]
        with killed_at_exit(runs):
            assert [finished(proc, log) for proc in runs] == [0, 0]
        assert feeds.broken == 0  # both runs fetched every feed together
        texts = slack.texts()
        assert len(texts) == 12, texts
        assert len(set(texts)) == 12, sorted(texts)


def test_a_digest_being_sent_is_not_released_and_sent_again_by_another_run(tmp_path, pg_url):
    """The first run holds a burst and sends it as one digest (its group claimed for
    lease_seconds); while Slack holds that digest, a second run must not take the claimed
    group for a burst of its own to release (group_wait is longer than the claim) and send
    the digest again."""
    with FeedServer() as feeds, HoldingSlackServer() as slack:
        feeds.feeds["/wire.xml"] = (200, {}, rss(headline("a"), headline("b")))
        config = write_config(tmp_path, feeds, ["/wire.xml"], group_wait=600, lease=60)
        log = tmp_path / "once.log"
        with held_run(config, pg_url, slack, log) as first:  # the digest, held open
            assert second_worker("once", config, pg_url, slack.webhook_url, log) == 0
            slack.release.set()
            assert finished(first, log) == 0
        assert len(slack.received) == 1, slack.texts()
        with open_store(pg_url) as store:
            assert len(store.alerts("sent")) == 2
