"""End to end: `wirewatch run` in watch mode, as a real subprocess, against a loopback feed server
that changes its feed between polls and a loopback Slack server.

The crash case: the Slack server holds one alert's request open (so the crash lands mid-cycle,
after an earlier alert of the same cycle went out and before the cycle committed), the test
kills the whole process group with SIGKILL (what a service manager does when the service dies),
then restarts: every expected alert reaches Slack exactly once. Run in-process and with two
worker processes (which catches most of what breaks on a distributed runner).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.loopback import FeedServer, SlackServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TWO_PROCESSES = ("--direct_num_workers=2", "--direct_running_mode=multi_processing")
WAIT = 60.0  # seconds: generous for a loaded 2-core machine; the happy path takes a few

CONFIG = """
feeds:
  - {{id: wire, url: "{feed}"}}
rules:
  - {{id: quake, query: 'earthquake'}}
routes:
  - {{sinks: [hook], group_wait: 0}}
sinks:
  hook: {{type: slack, webhook_url: "${{E2E_SLACK_WEBHOOK}}", retry_backoff: 0.01,
         max_retries: 1}}
dead_letters: "{dead}"
"""


class HoldingSlackServer(SlackServer):
    """A Slack webhook that can hold the n-th message's request open until released. A held
    request is then accepted, or refused (503: its sender is dead by then)."""

    def __init__(self):
        super().__init__()
        self.posts = 0
        self.hold_at: int | None = None
        self.accept_held = False
        self.holding = threading.Event()
        self.release = threading.Event()

    def hold(self, nth_from_now: int, *, accept: bool) -> None:
        """Hold the n-th request from now; new events, so an earlier hold cannot leak in."""
        with self.lock:
            self.hold_at, self.accept_held = self.posts + nth_from_now, accept
            self.holding, self.release = threading.Event(), threading.Event()

    def _handle(self, handler, body):
        with self.lock:
            self.posts += 1
            hold = self.posts == self.hold_at
            accept, holding, release = self.accept_held, self.holding, self.release
        if not hold:
            return super()._handle(handler, body)
        holding.set()
        release.wait(WAIT)
        if accept:
            return super()._handle(handler, body)
        try:
            self._reply(handler, 503, {}, b"sender gone")
        except OSError:
            pass


class Wire:
    """The feed: items added over time, each published when added; `remove` takes items off
    the feed, as a busy real feed drops its oldest entries."""

    def __init__(self, server: FeedServer):
        self.server, self.items, self.added = server, [], 0

    def add(self, *titles: str) -> None:
        now = datetime.now(timezone.utc) - timedelta(minutes=5)
        for title in titles:
            self.added += 1
            n = self.added
            self.items.append((n, title, now + timedelta(seconds=n)))
        self._publish()

    def remove(self, *titles: str) -> None:
        self.items = [item for item in self.items if item[1] not in titles]
        self._publish()

    def _publish(self) -> None:
        entries = "".join(
            f"<item><title>{title}</title><link>https://example.org/{n}</link><guid>g{n}</guid>"
            f"<pubDate>{format_datetime(at, usegmt=True)}</pubDate></item>"
            for n, title, at in self.items
        )
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
            f"<link>https://example.org/</link>{entries}</channel></rss>"
        ).encode()
        self.server.feeds["/wire.xml"] = (200, {"Content-Type": "application/rss+xml"}, body)


class Watch:
    """`wirewatch run` (watch mode) in its own process group. A reader thread copies its output
    to the log file and wakes whoever waits for a line, so tests wait on output, not on time."""

    def __init__(self, config: Path, state: Path | str, log: Path, env: dict, beam_args):
        self.log = log
        self.handle = open(log, "ab")
        self.lines: list[str] = []
        self.ended = False  # the output pipe closed: the process (group) is gone
        self.changed = threading.Condition()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wirewatch.pipelines.cli",
                "run",
                "--config",
                str(config),
                *(["--state-dir", str(state)] if isinstance(state, Path) else ["--state", state]),
                "--interval",
                "1",
                *beam_args,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            self.handle.write(raw)
            self.handle.flush()
            with self.changed:
                self.lines.append(raw.decode(errors="replace"))
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def tail(self) -> str:
        with self.changed:
            return "".join(self.lines)[-3000:]

    def wait_logged(self, text: str) -> None:
        """Until a line containing `text` is printed; fails if the process ends first."""

        def printed() -> bool:
            return any(text in line for line in self.lines)

        with self.changed:
            self.changed.wait_for(lambda: printed() or self.ended, WAIT)
            if printed():
                return
        pytest.fail(f"wirewatch never printed {text!r}:\n{self.tail()}")

    def _finish(self) -> None:
        self.reader.join(WAIT)
        self.proc.stdout.close()
        self.handle.close()

    def kill_group(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(WAIT)
        self._finish()

    def wait(self) -> int:
        code = self.proc.wait(WAIT)
        self._finish()
        return code

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._finish()


def wait_for(event: threading.Event, what: str, watch: Watch) -> None:
    """Until `event` is set; fails at once if wirewatch exits first (short waits on the event,
    which returns the moment it is set, with a look at the process in between)."""
    deadline = time.monotonic() + WAIT
    while not event.wait(0.05):
        if watch.proc.poll() is not None:
            pytest.fail(
                f"wirewatch exited ({watch.proc.returncode}) while waiting for {what}:\n"
                + watch.tail()
            )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{watch.tail()}")


@contextlib.contextmanager
def watch_world(tmp_path: Path, state: Path | str, config_text: str = CONFIG):
    """The feed, the Slack server and a starter of watch processes on `state` (a state
    directory, or a store URL); `config_text` is a template with {feed} and {dead}."""
    with FeedServer() as feeds, HoldingSlackServer() as slack:
        wire = Wire(feeds)
        config = tmp_path / "wirewatch.yaml"
        config.write_text(
            config_text.format(feed=feeds.url("/wire.xml"), dead=tmp_path / "dead.jsonl")
        )
        env = {**os.environ, "E2E_SLACK_WEBHOOK": slack.webhook_url, "PYTHONPATH": str(ROOT)}
        started: list[Watch] = []

        def start(*beam_args) -> Watch:
            watch = Watch(config, state, tmp_path / "watch.log", env, beam_args)
            started.append(watch)
            return watch

        try:
            yield wire, slack, start
        finally:
            slack.release.set()
            for watch in started:
                watch.cleanup()


@pytest.fixture
def world(tmp_path):
    with watch_world(tmp_path, tmp_path / "state") as parts:
        yield parts


def received_titles(slack: SlackServer) -> Counter:
    return Counter(text.split("] ", 1)[1].rsplit(" https://", 1)[0] for text in slack.texts())


@pytest.mark.parametrize("beam_args", [(), TWO_PROCESSES], ids=["in_process", "two_processes"])
def test_kill_9_mid_cycle_then_restart_sends_each_alert_exactly_once(world, beam_args):
    wire, slack, start = world
    # The first cycle brings three alerts: the first goes out, the second is held open, crash.
    wire.add("Earthquake one", "Markets calm", "Earthquake two", "Earthquake three")
    slack.hold(2, accept=False)
    first = start(*beam_args)
    wait_for(slack.holding, "the held request", first)
    first.kill_group()
    slack.release.set()
    assert received_titles(slack) == {"Earthquake one": 1}

    wire.add("Earthquake four")  # published while wirewatch was down
    slack.hold(3, accept=True)  # the last alert of the restart's first cycle ("four")
    second = start(*beam_args, "--cycles", "2")
    wait_for(slack.holding, "the restart's first cycle to deliver", second)
    wire.add("Earthquake five")  # so the second cycle's poll finds one new item
    slack.release.set()
    assert second.wait() == 0
    assert received_titles(slack) == {
        f"Earthquake {n}": 1 for n in ("one", "two", "three", "four", "five")
    }
    log = second.log.read_text()
    assert "cycle 1: 1 feeds polled" in log and "cycle 2: 1 feeds polled" in log


def test_sigterm_finishes_the_cycle_in_flight_and_exits_0(world):
    wire, slack, start = world
    wire.add("Earthquake one")
    slack.hold(1, accept=True)
    watch = start()
    wait_for(slack.holding, "the held request", watch)
    watch.proc.send_signal(signal.SIGTERM)
    watch.wait_logged("stopping after the current cycle")  # the handler ran
    with pytest.raises(subprocess.TimeoutExpired):
        watch.proc.wait(0.5)  # and it is still finishing its cycle, held open by Slack
    slack.release.set()
    assert watch.wait() == 0
    log = watch.log.read_text()
    assert "stopping after the current cycle" in log
    assert "cycle 1: 1 feeds polled" in log and "1 alerts sent" in log
    assert "cycle 2" not in log
    assert received_titles(slack) == {"Earthquake one": 1}
