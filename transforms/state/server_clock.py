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
    the caller's transaction, if any: never a second connection of the pool)."""

    def __init__(self, reread: float = REREAD, retry: float = RETRY):
        self._reread, self._retry = reread, retry
        self._reading: Reading | None = None
        self._next = float("-inf")  # when (`elapsed`) to read again
        self._lock = threading.Lock()

    def now(self, read: Read) -> datetime:
        reading = self._reading
        if reading is None or elapsed() >= self._next:
            reading = self._read(read, reading)
        return reading.server + timedelta(seconds=elapsed() - reading.at)

    def _read(self, read: Read, seen: Reading | None) -> Reading:
        # with a reading, a thread that finds another one reading goes on with it
        if not self._lock.acquire(blocking=seen is None):
            return seen
        try:
            if self._reading is not seen:  # another thread read while this one waited
                return self._reading
            try:
                self._reading = read(elapsed)
            except Exception:
                if seen is None:
                    raise
                self._next = elapsed() + self._retry
                return seen
            self._next = self._reading.at + self._reread
            return self._reading
        finally:
            self._lock.release()
