"""Where the state store lives, as one location string every command and DoFn opens, and
`owning(location)`: the store as the process that delivers holds it.

Precedence: --state URL, then --state-dir DIR (meaning sqlite:///DIR/state.sqlite3), then the
config's `state:` URL, then its `state_dir`, then the user state directory. A location is a
directory or a URL (transforms/state/location.py decides which backend opens it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Iterator

from wirewatch.transforms.config import Config
from wirewatch.transforms.errors import Problem, WirewatchError
from wirewatch.transforms.state import StateStore, open_store
from wirewatch.transforms.state.faults import StoreFault
from wirewatch.transforms.state.location import SQLITE_PREFIX, sqlite_path
from wirewatch.transforms.state.owner import worker_name
from wirewatch.transforms.state.sqlite import SqliteStore


def resolve_state(config: Config, url: str | None = None, state_dir: str | None = None) -> str:
    """The store's location from the command line (`--state`, `--state-dir`) and the config."""
    for location in (url, state_dir, config.state, config.state_dir):
        if location:
            return location
    from platformdirs import user_state_dir

    return user_state_dir("wirewatch")


def must_exist(
    location: str, what: str, fix: str = "`wirewatch run` makes it; check --state-dir or --state"
) -> None:
    """A SQLite store that is only to be read must be there: opening it makes an empty one,
    which then reads as a store where nothing ever ran (a mistyped --state-dir)."""
    path = sqlite_path(location)
    if path is not None and not path.exists():
        raise WirewatchError(
            [Problem(file=what, message=f"{location}: there is no state file {path}", fix=fix)]
        )


def open_readable(location: str) -> StateStore:
    """The store, checked, for a command that only reads it; a read-only SQLite file is opened
    read-only (and said so), not refused."""
    try:
        return open_store(location, check=True)
    except StoreFault as fault:
        if fault.kind != "read-only":
            raise
    store = open_store(location, check=True, readonly=True)
    print(f"note: {store.location} is read-only: showing it without writing", file=sys.stderr)
    return store


def local_dir(location: str) -> str:
    """A folder on this machine for files that go with the store (the dead-letter JSONL):
    the state directory, the SQLite file's folder, else the user state directory."""
    if "://" not in location:
        return location
    if location.startswith(SQLITE_PREFIX):
        return str(Path(location[len(SQLITE_PREFIX) :]).parent)
    from platformdirs import user_state_dir

    return user_state_dir("wirewatch")


def add_state_arguments(parser) -> None:
    """--state and --state-dir, the same on every command that opens the store."""
    parser.add_argument(
        "--state",
        metavar="URL",
        help="state store URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB "
        "(default: the config's state:, else --state-dir)",
    )
    parser.add_argument(
        "--state-dir",
        help="state directory, meaning sqlite:///DIR/state.sqlite3 "
        "(default: config state_dir, else the user state dir)",
    )


def process_running(pid: int) -> bool:
    """Whether process `pid` exists on this host (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def dead_local_workers(store: StateStore, worker: str) -> list[str]:
    """Workers this host ran whose process is gone (a killed predecessor). Workers that
    share a host name are taken to share its processes (one machine, or one pod)."""
    host = socket.gethostname()
    return [
        w.worker
        for w in store.workers()
        if w.host == host and w.worker != worker and not process_running(w.pid)
    ]


@contextlib.contextmanager
def owning(location: str) -> Iterator[StateStore]:
    """The store, opened and owned by this process for the block (an embedded store has one
    owner at a time: a second process gets StoreBusy, exit 2). The worker name goes into the
    environment, so this process's Beam workers claim alerts under it. Always this process's
    own name: an inherited one belongs to the process that started us (a test runner, a shell
    that ran wirewatch in-process), and two workers sharing a name would share their claims.

    The owner checks the whole file when it opens it (a damaged, truncated or read-only file
    fails here, as one line), and a failure that leaves the block is traced back to the file
    when the file is what broke (`fault_behind`)."""
    worker = os.environ["WIREWATCH_WORKER"] = worker_name()
    store = open_store(location, check=True)
    beam_log = logging.getLogger(BEAM_DOFN_LOGGER)
    beam_log.addFilter(_no_fault_traceback)
    try:
        store.acquire_owner(worker)
        for dead in dead_local_workers(store, worker):  # a restart polls its feeds at once,
            store.release_leases(dead)  # not after lease_seconds (a shared store has no lock)
        yield store
    except Exception as exc:
        fault = fault_behind(exc, store)
        if fault is None:
            raise
        raise fault from None
    finally:
        beam_log.removeFilter(_no_fault_traceback)
        store.close()


BEAM_DOFN_LOGGER = "apache_beam.runners.common"
"""Where Beam logs a DoFn's exception, with its traceback, before raising it again."""


def _no_fault_traceback(record: logging.LogRecord) -> bool:
    """Drop Beam's logged traceback of a store fault: the CLI reports the fault as one line."""
    error = record.exc_info[1] if record.exc_info else None
    return not (isinstance(error, StoreFault) or StoreFault.__name__ in record.getMessage())


def fault_behind(exc: BaseException, store: StateStore) -> StoreFault | None:
    """The StoreFault that caused `exc`: itself, or, for anything else (Beam wraps a worker's
    error in a RuntimeError with the whole traceback as text), what checking the SQLite file
    now finds. None when the file is fine: then `exc` is the story."""
    if isinstance(exc, StoreFault):
        return exc
    if isinstance(exc, WirewatchError) or not isinstance(store, SqliteStore):
        return None
    try:
        store.verify()
    except StoreFault as fault:
        return fault
    except Exception:  # noqa: BLE001  (no better explanation than `exc`)
        return None
    return None
