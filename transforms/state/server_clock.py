"""The database server's clock, read now and then and carried forward on this host's elapsed
time: what a shared store times its leases by.

Why: several hosts share one PostgreSQL store, and a lease one host writes (an alert claim, a
feed lease, a digest claim, a heartbeat) is judged by another. Timed by each host's own wall
clock, a host whose clock runs a minute ahead takes a live claim for a dead worker's and sends
the alert a second time; one that runs behind waits past a dead worker's lease. Timed by the
server's clock, the hosts' clocks need not agree.

Asking the server on every call would cost a round trip per decision (the dispatcher asks per
alert), so the server's time is read once per process and database (`clock_timestamp()`, at
the midpoint of the query alone) and carried forward on the time elapsed since, which a step
of the host's wall clock (NTP, an administrator) does not move, and which counts a suspended
VM's sleep (Linux's CLOCK_BOOTTIME; elsewhere the monotonic clock). It is read again every
REREAD seconds, so the two clocks' rates never drift far apart. A reading that fails (the
server is away) keeps the last one, good to milliseconds, and is tried again RETRY seconds
later; only a clock that never read the server fails with it.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Callable, NamedTuple

REREAD = 600.0
RETRY = 30.0


def elapsed() -> float:
    """Seconds on a clock that wall-clock steps do not move and a suspend does not stop."""
    if hasattr(time, "CLOCK_BOOTTIME"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    return time.monotonic()


class Reading(NamedTuple):
    server: datetime  # the server's time (aware)
    at: float  # `elapsed()` when the server read it


Read = Callable[[Callable[[], float]], Reading]
"""Asks the server for its time, given `elapsed` to stamp the reading with."""


class ServerClock:
    """`now(read)`: the server's time now. `read` is the calling store's own way to ask (in
    the caller's transaction, if any: never a second connection of the pool).

    No thread ever waits for another's reading: while a re-read runs, the others go on with
    the last reading; before the first, each thread asks for itself (a thread waiting for
    another's first reading while holding a pooled connection could starve the pool)."""

    def __init__(self, reread: float = REREAD, retry: float = RETRY):
        self._reread, self._retry = reread, retry
        self._reading: Reading | None = None
        self._next = float("-inf")  # when (`elapsed`) to read again
        self._lock = threading.Lock()  # held only by a re-read, and to store a reading

    def now(self, read: Read) -> datetime:
        reading = self._reading
        if reading is None:
            reading = self._first(read)
        elif elapsed() >= self._next:
            reading = self._reread_or_keep(read, reading)
        return reading.server + timedelta(seconds=elapsed() - reading.at)

    def _first(self, read: Read) -> Reading:
        fresh = read(elapsed)  # fails like any store call: there is nothing to fall back on
        with self._lock:
            if self._reading is None or fresh.at > self._reading.at:
                self._reading, self._next = fresh, fresh.at + self._reread
        return fresh

    def _reread_or_keep(self, read: Read, seen: Reading) -> Reading:
        if not self._lock.acquire(blocking=False):  # another thread is reading
            return seen
        try:
            if self._reading is not seen or elapsed() < self._next:  # read, or failed, since
                return self._reading
            try:
                fresh = read(elapsed)
            except Exception:  # noqa: BLE001 - the last reading still holds, to milliseconds
                self._next = elapsed() + self._retry
                return seen
            self._reading, self._next = fresh, fresh.at + self._reread
            return fresh
        finally:
            self._lock.release()
