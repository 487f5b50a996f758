"""Fetch the feeds of many hosts at once, each host politely, all within the cycle deadline.

Why: feeds used to be fetched one host after another, so a host that trickles added its whole
fetch deadline to the cycle and every other host's alerts waited for it. Here:
- each host gets at most `per_host` lanes; a lane fetches that host's feeds one after another
  (it takes the next one from the host's queue), so a host never has more than `per_host`
  requests in flight, while lanes of different hosts run side by side (MAX_LANES threads);
- the cycle deadline (the cycle's start plus `fetch.cycle_deadline`, on `clock`) bounds them
  all: a fetch gets only what is left of it (the fetch's watchdog cuts the socket when it
  passes), a feed whose turn comes after it is not started, and `results()` stops waiting a
  moment after it. Each such feed comes back `late`: the caller dead-letters it as `timeout`
  and leaves its schedule alone, so it is due again next cycle. (A feed that is slow by itself
  fails on its own, shorter, `fetch.deadline` first, and is backed off as usual.)
Threads only do HTTP: the caller reads feed states before `submit` and writes after `results`,
on its own thread, so no store connection is ever shared between threads.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Callable, Iterator, NamedTuple

from wirewatch.transforms.config import FeedConfig, FetchSettings
from wirewatch.transforms.ingest.fetch import FetchResult

MAX_LANES = 16
"""Requests in flight at once over all hosts (per worker)."""
MIN_LEFT = 0.05
"""Seconds of the cycle deadline a fetch needs to be started at all (less cannot finish)."""
GRACE = 1.0
"""Seconds `results()` waits past the deadline (and the connect timeout, which the watchdog
cannot cut) for lanes to hand in their cut fetches."""

FetchOne = Callable[[FeedConfig, float], FetchResult]
"""Fetches one feed in at most the given seconds (the caller binds client and validators)."""


class FeedFetch(NamedTuple):
    feed: FeedConfig
    result: FetchResult
    late: bool
    """Not fetched by the cycle deadline (cut, or never started): due again, not a failure."""


class CycleFetch:
    """One bundle's fetches: `submit` each host's feeds, then read `results` once."""

    def __init__(
        self, settings: FetchSettings, *, clock: Callable[[], float] = time.time, lanes=MAX_LANES
    ):
        self.settings, self.clock = settings, clock
        self.deadline = f"cycle deadline of {settings.cycle_deadline:g} s"
        self._pool = ThreadPoolExecutor(lanes, thread_name_prefix="wirewatch-fetch")
        self._feeds: list[FeedConfig] = []
        self._lanes: list[tuple[float, Future[list[tuple[int, FeedFetch]]]]] = []

    def submit(
        self, feeds: list[FeedConfig], fetch_one: FetchOne, started: float, lanes: int = 0
    ) -> None:
        """Queue one host's feeds, in order, over `lanes` of the host's `per_host` (all of them
        by default; 1 for the feeds of one politeness lane, fetch.lanes); `started` is
        when the cycle started (on `clock`)."""
        deadline_at = started + self.settings.cycle_deadline
        queue = deque(enumerate(feeds, start=len(self._feeds)))
        self._feeds += feeds
        for _ in range(min(lanes or self.settings.per_host, len(queue))):
            lane = self._pool.submit(self._lane, queue, fetch_one, deadline_at)
            self._lanes.append((deadline_at, lane))

    def results(self) -> Iterator[FeedFetch]:
        """Every submitted feed once, in submission order. Waits at most until the latest
        deadline plus the connect timeout and GRACE; what is not done by then is late."""
        if self._lanes:
            until = max(at for at, _ in self._lanes) + self.settings.connect_timeout + GRACE
            wait([lane for _, lane in self._lanes], timeout=max(0.0, until - self.clock()))
        done: dict[int, FeedFetch] = {}
        try:
            for _, lane in self._lanes:
                if lane.done():
                    done.update(lane.result())  # a bug in fetch_one raises here, as it should
        finally:  # raised or not: an open pool's idle threads would hold up the process's exit
            self._pool.shutdown(wait=False, cancel_futures=True)
        for index, feed in enumerate(self._feeds):
            yield done.get(index) or self._late(feed, f"still fetching after the {self.deadline}")

    def _lane(
        self, queue: deque[tuple[int, FeedConfig]], fetch_one: FetchOne, deadline_at: float
    ) -> list[tuple[int, FeedFetch]]:
        done = []
        while True:
            try:
                index, feed = queue.popleft()
            except IndexError:
                return done
            left = deadline_at - self.clock()
            if left < MIN_LEFT:
                why = f"not started: the {self.deadline} passed before its turn"
                done.append((index, self._late(feed, why)))
                continue
            result = fetch_one(feed, left)
            if result.outcome == "deadline" and left < self.settings.deadline:
                why = f"cut by the {self.deadline} after {result.bytes_read} bytes"
                done.append((index, self._late(feed, why)))
            else:
                done.append((index, FeedFetch(feed, result, late=False)))

    @staticmethod
    def _late(feed: FeedConfig, why: str) -> FeedFetch:
        error = f"{why}; the feed stays due and is fetched next cycle"
        result = FetchResult(url=feed.url, status="failed", outcome="timeout", error=error)
        return FeedFetch(feed, result, late=True)
