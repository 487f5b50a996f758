"""The database server's clock, read now and then and carried forward on this host's
monotonic clock: what a shared store times its leases by.

Why: several hosts share one PostgreSQL store, and a lease one host writes (an alert claim, a
feed lease, a digest claim, a heartbeat) is judged by another. Timed by each host's own wall
clock, a host whose clock runs a minute ahead takes a live claim for a dead worker's and sends
the alert a second time; one that runs behind waits past a dead worker's lease. Timed by the
server's clock, the hosts' clocks need not agree.

Asking the server on every call would cost a round trip per decision (the dispatcher asks per
alert), so the server's time is read once (`clock_timestamp()`, taken as the midpoint of the
round trip) and advanced with `time.monotonic()`, which a step of the host's wall clock (NTP,
an administrator) does not move. It is read again every REREAD seconds, so the two clocks'
rates never drift far apart.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Callable

REREAD = 600.0


class ServerClock:
    """A clock `now()` on the server's time; `read` asks the server for it (an aware datetime)."""

    def __init__(self, read: Callable[[], datetime], reread: float = REREAD):
        self._read, self._reread = read, reread
        self._anchor: tuple[datetime, float] | None = None  # (server time, monotonic then)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        anchor = self._anchor
        if anchor is None or time.monotonic() - anchor[1] >= self._reread:
            anchor = self._anchored()
        return anchor[0] + timedelta(seconds=time.monotonic() - anchor[1])

    def _anchored(self) -> tuple[datetime, float]:
        with self._lock:  # one read when several threads find it stale at once
            anchor = self._anchor
            if anchor is None or time.monotonic() - anchor[1] >= self._reread:
                before = time.monotonic()
                server = self._read()
                anchor = self._anchor = (server, (before + time.monotonic()) / 2)
            return anchor
