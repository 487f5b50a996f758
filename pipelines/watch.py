"""The continuous watch: a driver loop that runs one short batch cycle per tick.

Why not a streaming pipeline: Beam's Python DirectRunner cannot run an unbounded poller well
(see DESIGN.md). Each tick runs the cycle pipeline over the feeds that are due; all schedule state
lives in the state store, so a restart continues where the last committed cycle ended.

Signals: the first SIGINT/SIGTERM lets the current cycle finish and then exits 0; a second one
aborts at once (nothing half-done is committed: see CommitCycle).
"""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime, timezone

from transforms.config import Config, FeedConfig
from transforms.store import StateStore

MAX_SLEEP = 5.0


def feeds_due(feeds: list[FeedConfig], store: StateStore, now: datetime) -> list[FeedConfig]:
    due = []
    for feed in feeds:
        next_due = store.feed_state(feed.id).next_due
        if next_due is None or next_due <= now:
            due.append(feed)
    return due


def seconds_until_next(feeds: list[FeedConfig], store: StateStore, now: datetime) -> float:
    times = [store.feed_state(f.id).next_due for f in feeds]
    pending = [(t - now).total_seconds() for t in times if t is not None]
    return max(0.0, min(pending)) if pending and all(t is not None for t in times) else 0.0


class StopFlag:
    """First signal: stop after this cycle. Second signal: abort now."""

    def __init__(self):
        self.event = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if self.event.is_set():
            print("wirewatch: aborting", file=sys.stderr)
            raise KeyboardInterrupt
        print("wirewatch: stopping after the current cycle (signal again to abort)",
              file=sys.stderr)
        self.event.set()


def watch(config: Config, state_dir: str, beam_args: list[str], *, interval: float | None = None,
          cycles: int | None = None) -> int:
    from pipelines.commands.run import run_cycle
    feeds = [f.model_copy(update={"interval": interval}) if interval else f for f in config.feeds]
    stop = StopFlag()
    stop.install()
    store = StateStore(state_dir)
    done = 0
    try:
        while not stop.event.is_set() and (cycles is None or done < cycles):
            now = datetime.now(timezone.utc)
            due = feeds_due(feeds, store, now)
            if due:
                summary = run_cycle(config, due, state_dir, beam_args)
                done += 1
                g = summary.get
                print(f"{now:%Y-%m-%dT%H:%M:%SZ} cycle {done}: {len(due)} feeds polled "
                      f"({g('feeds_failed')} failed), {g('articles_new')} new articles, "
                      f"{g('matches')} matches, {g('alerts_sent')} alerts sent, "
                      f"{g('dead_letters')} dead letters, {summary.seconds:.2f} s",
                      file=sys.stderr, flush=True)
                continue
            wait = seconds_until_next(feeds, store, datetime.now(timezone.utc))
            stop.event.wait(min(MAX_SLEEP, max(0.05, wait)))
    finally:
        store.close()
    return 0

