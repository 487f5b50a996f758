"""A restarted worker takes over at once what its killed predecessor on this host held.

On SQLite the owner lock proves the predecessor gone; on a shared store (PostgreSQL) nothing
did, so a lone worker restarted after a kill waited lease_seconds (120 s by default) before it
polled its feeds again (seen in bench/chaos.py: 12 alerts never fetched). `owning()` now ends
the feed leases of workers on this host whose process is gone — and only those.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from wirewatch.pipelines.state import owning
from wirewatch.transforms.state import Lease, open_store


def a_dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_restart_takes_over_the_feeds_of_a_dead_worker_on_its_host_only(location):
    now = datetime.now(timezone.utc)
    host = socket.gethostname()
    dead, alive, remote = f"{host}:{a_dead_pid()}", f"{host}:{os.getppid()}", "elsewhere:1"
    with open_store(location) as store:
        store.heartbeat(dead, host, int(dead.split(":")[1]))
        store.heartbeat(alive, host, os.getppid())
        store.heartbeat(remote, "elsewhere", 1)
        for worker, feed in ((dead, "a"), (alive, "b"), (remote, "c")):
            assert store.lease_due_feeds([feed], Lease(worker, 120), now) == [feed]

    with owning(location) as store:
        later = now + timedelta(seconds=1)
        me = os.environ["WIREWATCH_WORKER"]
        taken = store.lease_due_feeds(["a", "b", "c"], Lease(me, 120), later)

    if location.startswith("postgresql"):
        assert taken == ["a"]  # the live local worker and the remote one keep theirs
    else:
        assert taken == ["a", "b", "c"]  # the owner lock proves every other name gone
