"""Per-process handles several store objects share: the first user opens one, the last closes it.

Stores are cheap to open (one per DoFn, one per command), but what they stand on is not: a
PostgreSQL connection pool per URL, the owner lock's file descriptor per database. Both keep a
count of users per key, and close the handle when the count drops to zero. The table is per
process (a forked worker opens its own). Beam's `apache_beam.utils.shared` is not used: it
frees on garbage collection, and a lock must go exactly when its last store closes.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Hashable, TypeVar

H = TypeVar("H")


class SharedHandles(Generic[H]):
    def __init__(self, close: Callable[[H], None]):
        self._close = close
        self._entries: dict[Hashable, list] = {}  # key -> [handle, users]
        self._lock = threading.Lock()

    def acquire(self, key: Hashable, open_handle: Callable[[], H]) -> H:
        """The key's handle, opened by `open_handle` if no one holds it; counts one user. An
        exception from `open_handle` leaves nothing behind."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = [open_handle(), 0]
            entry[1] += 1
            return entry[0]

    def release(self, key: Hashable) -> None:
        """One user fewer; the last one closes the handle. An unknown key is a no-op."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del self._entries[key]
                self._close(entry[0])
