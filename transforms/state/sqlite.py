"""The embedded state store: one SQLite file that makes cycles restart-safe.

`SqliteStore` implements the StateStore Protocol (interface.py) for one machine. WAL mode and a
busy timeout make it safe for several worker processes on one machine; a distributed runner
needs a shared backend implementing the same Protocol. The tables and their migrations are in
sqlite_schema.py, the story index's SQL in sqlite_stories.py.

Why a ledger and not just "seen" keys: an article is marked seen only after all of its alerts were
delivered or dead-lettered, so a crash mid-cycle re-processes it, and the ledger then stops the
alerts that did go out from going out again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, TypeVar

from wirewatch.transforms.errors import WirewatchError
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.routing.flood import GroupState
from wirewatch.transforms.state.faults import StoreFault, fault_of, newer_schema, read_only
from wirewatch.transforms.state.interface import (
    AlertRecord,
    FeedState,
    Hold,
    Lease,
    Retention,
)
from wirewatch.transforms.state.interface import dead_letter_alert_key as alert_key
from wirewatch.transforms.state.rows import (
    ALERT_COLUMNS,
    FEED_COLUMNS,
    alert,
    feed,
    feed_upsert,
    feed_values,
    finishable,
    prune_steps,
)
from wirewatch.transforms.state.sqlite_copy import SqliteCopy
from wirewatch.transforms.state.sqlite_leases import SqliteLeases, claimable, iso
from wirewatch.transforms.state.sqlite_schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION
from wirewatch.transforms.state.sqlite_stories import SqliteStories

__all__ = ["DEAD_LETTERS", "FILENAME", "SCHEMA_VERSION", "AlertRecord", "FeedState", "SqliteStore"]

FILENAME = "state.sqlite3"
"""The file a state directory holds (`--state-dir DIR` means DIR/state.sqlite3)."""
DEAD_LETTERS = "dead-letters.jsonl"
"""The dead letters' file beside the database, unless the config names another."""

_CHUNK = 500  # keys per `IN (...)`: far below SQLite's limit on host parameters
T = TypeVar("T")


def _retry_locked(step: Callable[[], T], attempts: int = 100, pause: float = 0.05) -> T:
    """Run `step`, retrying while another process holds a lock SQLite will not wait for."""
    for attempt in range(attempts):
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(pause)
    raise AssertionError("unreachable")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def private_files(path: Path, private_dir: bool = False) -> None:
    """The store's folder 0700 when it is created (or is a state directory that holds only
    the store's files), the database file 0600 before SQLite first writes it: SQLite gives
    the -wal and -shm files the database file's mode. Those files, and such a state
    directory, are tightened when their modes are wider."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif private_dir and _holds_only_the_store(folder, path.name):
        _tighten(folder, 0o700, stat.S_ISDIR)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        _tighten(name, 0o600, stat.S_ISREG)


def _holds_only_the_store(folder: Path, database: str) -> bool:
    """Is `folder` a state directory of its own: nothing in it but the database and the files
    named after it (-wal, -shm, .lock, kept copies) and the dead letters? Any other folder
    given as one (a home directory, a project, /tmp, /etc) is not ours to chmod, whoever
    runs wirewatch: to root every folder looks like its own."""
    try:
        names = os.listdir(folder)
        if folder.stat().st_mode & stat.S_ISVTX:  # a shared one, like /tmp
            return False
    except OSError:
        return False
    return all(name.startswith(database) or name == DEAD_LETTERS for name in names)


def _tighten(path: Path, mode: int, kind: Callable[[int], bool]) -> None:
    """Take from `path` the permissions `mode` does not grant, if it is of this `kind` (not a
    link to one) and ours; anything else is left alone. Only taken: a read-only file or
    folder stays read-only (`wirewatch state` shows it without writing)."""
    try:
        st = path.lstat()
        now = st.st_mode & 0o777
        if kind(st.st_mode) and now & ~mode and st.st_uid == os.geteuid():
            path.chmod(now & mode)
    except OSError:
        pass


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """A connection; read-only (`mode=ro`) when asked. A read-only folder cannot hold the
    -shm file a WAL reader needs: then the file is opened as immutable (nobody can write it
    meanwhile anyway: nobody can create its -wal file either)."""
    kwargs = {"timeout": 30, "isolation_level": None, "check_same_thread": False}
    if not readonly:
        return sqlite3.connect(path, **kwargs)
    uri = path.absolute().as_uri()
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, **kwargs)
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:  # no -shm and none can be made ("unable to open",
        db.close()  # "attempt to write a readonly database", depending on what exists)
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, **kwargs)


def _fault(exc: BaseException, location: str) -> BaseException:
    """The StoreFault for an error at open (an OSError: the file or folder cannot be made)."""
    if isinstance(exc, NotADirectoryError):
        return StoreFault(
            location,
            "the state directory is a file",
            "give --state-dir (or state_dir:) a folder, or a sqlite:///PATH URL for the file",
            kind="not a folder",
        )
    if isinstance(exc, OSError):
        return read_only(location, f"cannot create the state file: {exc.strerror or exc}")
    fault: WirewatchError | None = fault_of(exc, location)
    return fault if fault is not None else exc


class SqliteStore(SqliteStories, SqliteLeases, SqliteCopy):
    """`SqliteStore(path)` opens (and creates or migrates) the database file at `path`.

    Cheap to open, so open one per DoFn in setup(). One connection, shared by the threads of
    its owner: `transaction()` holds a lock for its duration. `clock` (default: wall time) stamps
    writes and decides what `prune_seen` forgets; tests pass their own.
    """

    FILENAME = FILENAME

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], datetime] = _utc_now,
        readonly: bool = False,
        check: bool = False,
        private_dir: bool = False,
    ):
        """`readonly`: open without writing anything (no migration, no WAL switch), for
        `wirewatch state` on a read-only file or folder. `check`: also read every page
        (`PRAGMA quick_check`) and try the write lock, so a damaged or read-only file is
        reported at start, not mid-cycle (what the owning process does, once; DoFns skip it).
        `private_dir`: the folder is a state directory (not a sqlite URL's folder, which may
        be shared): make it 0700. Every fault is one StoreFault line (faults.py)."""
        self.path = Path(path)
        self.location = str(self.path)
        self._clock = clock
        self._lock = threading.RLock()
        self._depth = 0  # open transaction() blocks of the thread holding _lock
        self.readonly = readonly
        try:
            if not readonly:
                private_files(self.path, private_dir)
            self._db = _connect(self.path, readonly)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise _fault(exc, self.location) from None
        try:
            self._open(check)
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise _fault(exc, self.location) from None
            raise

    def _open(self, check: bool) -> None:
        self._db.execute("PRAGMA busy_timeout=30000")
        version = _retry_locked(self._schema_version)  # a new file: another may be creating it
        if version > SCHEMA_VERSION:
            raise newer_schema(self.location, version, SCHEMA_VERSION)
        if check:
            self._quick_check()
        if self.readonly:
            if version < SCHEMA_VERSION:
                raise read_only(
                    self.location,
                    f"the state file is read-only and from an older wirewatch (schema "
                    f"{version}), so it cannot be migrated to schema {SCHEMA_VERSION}",
                )
            return
        _retry_locked(self._enable_wal)
        self._db.execute("PRAGMA synchronous=NORMAL")
        _retry_locked(self._migrate)
        if check:  # a read-only file fails here, at start, not at the cycle's first write
            self._probe_write()

    def _quick_check(self) -> None:
        problems = [row[0] for row in self._db.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            raise StoreFault(
                self.location, f"the state file is damaged (SQLite quick_check: {problems[0]})"
            )

    def verify(self) -> None:
        """Read every page and try a write, on a new connection (this one may hold the pages
        in its cache): raises the StoreFault that explains a failure (a cycle that died of a
        damaged page shows up wrapped by Beam; this finds the cause on the file itself)."""
        SqliteStore(self.path, readonly=self.readonly, check=True).close()

    def _probe_write(self) -> None:
        """Write a row and take it back: an empty transaction does not find a read-only file,
        the first write does."""

        class _Probe(Exception):
            pass

        try:
            with self.transaction():
                self._db.execute("UPDATE meta SET value=value WHERE key='schema'")
                raise _Probe
        except _Probe:
            pass

    def now(self) -> datetime:
        return self._clock()

    def _now(self) -> str:
        return self._clock().isoformat()

    def _enable_wal(self) -> None:
        # WAL is a property of the file: switch once. Switching needs an exclusive lock that
        # SQLite does not wait for, hence the retry when another worker opens the file too.
        if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._db.execute("PRAGMA journal_mode=WAL")

    def _migrate(self) -> None:
        """Bring the file to SCHEMA_VERSION: a new file gets SCHEMA, an older one its
        migrations in order, in one transaction (a crash leaves the old version intact)."""
        if self._schema_version() == SCHEMA_VERSION:
            return  # the common case: every DoFn opens the store, most files are current
        with self.transaction():
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise newer_schema(self.location, version, SCHEMA_VERSION)
            if version and version < SCHEMA_VERSION:
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    MIGRATIONS[target](self._db)
            for statement in filter(str.strip, SCHEMA.split(";")):
                self._db.execute(statement)  # idempotent: IF NOT EXISTS
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )

    def _schema_version(self) -> int:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError as exc:  # no meta table: a new file
            if "no such table" not in str(exc):
                raise
            return 0
        return int(row[0]) if row else 0

    # --- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        self._release_owner()
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE: the file's write lock, so it is atomic
        across threads and processes). Nested, it is a savepoint: an exception leaving the
        inner block undoes only the inner block's writes."""
        with self._lock:
            depth = self._depth
            if depth == 0:
                begin, commit, rollback = "BEGIN IMMEDIATE", ("COMMIT",), ("ROLLBACK",)
                self._transactions += 1  # which one is open: sqlite_stories.py asks
            else:
                name = f"wirewatch_{depth}"
                begin = f"SAVEPOINT {name}"
                commit = (f"RELEASE {name}",)
                rollback = (f"ROLLBACK TO {name}", f"RELEASE {name}")
            with self._faults():
                self._db.execute(begin)
                self._depth = depth + 1
                try:
                    yield
                except BaseException:
                    self._depth = depth
                    for statement in rollback:
                        self._db.execute(statement)
                    raise
                self._depth = depth
                for statement in commit:
                    self._db.execute(statement)
                if depth == 0:
                    self._committed = self._transactions  # sqlite_stories.py asks

    @contextmanager
    def _faults(self) -> Iterator[None]:
        """A SQLite error that means the file needs a person leaves as one StoreFault line
        (found mid-run: a damaged page, a file made read-only); nothing else is touched."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            fault = fault_of(exc, self.location)
            if fault is None:
                raise
            raise fault from None

    @contextmanager
    def _write(self) -> Iterator[None]:
        """A method's writes: a transaction of their own, or part of the caller's open one.

        Joining, not a savepoint: with a savepoint open SQLite first copies every page a
        statement changes to a statement journal; a savepoint per call cost loading 10,000
        articles into the story index ~20% more CPU (median of 5: 10.1 s against 8.2 s). Each
        statement is atomic anyway; a method that raises inside a caller's transaction leaves
        that transaction to be rolled back by the caller's block (the exception leaves it)."""
        with self._lock:
            if self._depth:
                yield
                return
            with self.transaction():
                yield

    # --- feeds --------------------------------------------------------------------------------
    def feed_state(self, feed_id: str) -> FeedState:
        row = self._db.execute(
            f"SELECT {FEED_COLUMNS} FROM feeds WHERE feed_id=?", (feed_id,)
        ).fetchone()
        return feed(feed_id, row)

    def feed_states(self, feed_ids: Iterable[str]) -> dict[str, FeedState]:
        ids = list(dict.fromkeys(feed_ids))
        rows: dict[str, tuple] = {}
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT feed_id, {FEED_COLUMNS} FROM feeds WHERE feed_id IN ({marks})", chunk
            ):
                rows[row[0]] = row[1:]
        return {feed_id: feed(feed_id, rows.get(feed_id)) for feed_id in ids}

    def save_feed_state(self, state: FeedState) -> None:
        self.save_feed_states([state])

    def save_feed_states(self, states: Iterable[FeedState]) -> None:
        now = self._now()
        rows = [feed_values(state, now, datetime.isoformat) for state in states]
        if not rows:
            return
        with self._write():
            self._db.executemany(feed_upsert("?", ", lease_owner=NULL, lease_until=NULL"), rows)

    def save_feed_ttl(self, feed_id: str, ttl_minutes: int) -> None:
        with self._write():
            self._db.execute(
                "INSERT INTO feeds (feed_id, updated_at, ttl_minutes) VALUES (?,?,?) "
                "ON CONFLICT(feed_id) DO UPDATE SET ttl_minutes=excluded.ttl_minutes",
                (feed_id, self._now(), ttl_minutes),
            )

    # --- seen articles ------------------------------------------------------------------------
    def seen(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        found: set[str] = set()
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self._db.execute(f"SELECT key FROM seen WHERE key IN ({marks})", chunk)
            )
        return found

    def touch_seen(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            now = self._now()
            with self._write():
                self._db.executemany(
                    "UPDATE seen SET seen_at=? WHERE key=?", [(now, k) for k in keys]
                )

    def mark_seen(self, keys: Iterable[str]) -> None:
        now = self._now()
        with self._write():
            self._db.executemany(
                "INSERT OR IGNORE INTO seen (key, seen_at) VALUES (?, ?)", [(k, now) for k in keys]
            )

    def seen_hashes(self, keys: Iterable[str]) -> dict[str, str | None]:
        keys = list(keys)
        found: dict[str, str | None] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                self._db.execute(f"SELECT key, hash FROM seen WHERE key IN ({marks})", chunk)
            )
        return found

    def record_seen(self, hashes: Mapping[str, str]) -> None:
        now = self._now()
        with self._write():
            self._db.executemany(
                "INSERT INTO seen (key, seen_at, hash) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET hash=excluded.hash",
                [(k, now, h) for k, h in hashes.items()],
            )

    def prune_seen(self, older_than: timedelta) -> int:
        cutoff = (self._clock() - older_than).isoformat()
        with self._write():
            return self._db.execute("DELETE FROM seen WHERE seen_at < ?", (cutoff,)).rowcount

    # --- alert ledger -------------------------------------------------------------------------
    def alert(self, key: str) -> AlertRecord | None:
        row = self._db.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE key=?", (key,)).fetchone()
        return alert(row) if row else None

    def claim_alert(
        self, key: str, sink: str, payload: str, lease: Lease = Lease(), *, fresh: bool = False
    ) -> bool:
        return key in self.claim_alerts([(key, sink, payload)], lease, fresh=fresh)

    def claim_alerts(
        self,
        alerts: Iterable[tuple[str, str, str]],
        lease: Lease = Lease(),
        *,
        fresh: bool = False,
    ) -> set[str]:
        now = self._clock()
        until = iso(now + timedelta(seconds=lease.seconds))
        claimed = set()
        with self._write():  # BEGIN IMMEDIATE: no other writer between the checks and the sets
            for key, sink, payload in alerts:
                row = self._db.execute(
                    "SELECT status, lease_owner, lease_until FROM alerts WHERE key=?", (key,)
                ).fetchone()
                if not claimable(row, lease.owner, iso(now), fresh):
                    continue
                self._db.execute(
                    "INSERT INTO alerts (key, sink, status, attempts, payload, updated_at, "
                    "lease_owner, lease_until) VALUES (?,?,'sending',0,?,?,?,?) ON CONFLICT(key) "
                    "DO UPDATE SET status='sending', updated_at=excluded.updated_at, "
                    "lease_owner=excluded.lease_owner, lease_until=excluded.lease_until",
                    (key, sink, payload, now.isoformat(), lease.owner, until),
                )
                claimed.add(key)
        return claimed

    def finish_alert(
        self,
        key: str,
        status: str,
        attempts: int,
        error: str | None = None,
        deferred: bool = False,
        owner: str | None = None,
    ) -> bool:
        return key in self.finish_alerts([key], status, attempts, error, deferred, owner)

    def finish_alerts(
        self,
        keys: Iterable[str],
        status: str,
        attempts: int,
        error: str | None = None,
        deferred: bool = False,
        owner: str | None = None,
    ) -> set[str]:
        now = self._now()
        deferred_at = iso(self._clock()) if deferred and status == "dead" else None
        finished = set()
        with self._write():
            for key in keys:
                written = self._db.execute(
                    "UPDATE alerts SET status=:status, attempts=attempts+:attempts, "
                    "error=:error, updated_at=:now, lease_owner=NULL, lease_until=NULL, "
                    "deferred_at=CASE WHEN :deferred_at IS NULL THEN NULL "
                    "ELSE COALESCE(deferred_at, :deferred_at) END "
                    f"WHERE key=:key AND {finishable(':status', ':owner')}",
                    {
                        "status": status,
                        "attempts": attempts,
                        "error": error,
                        "now": now,
                        "deferred_at": deferred_at,
                        "key": key,
                        "owner": owner,
                    },
                )
                if written.rowcount:
                    finished.add(key)
            if status == "sent" and finished:
                self._db.executemany(
                    "UPDATE dead_letters SET resolved_at=? "
                    "WHERE alert_key=? AND resolved_at IS NULL",
                    [(now, key) for key in finished],
                )
        return finished

    def alerts(self, status: str, since: datetime | None = None) -> list[AlertRecord]:
        rows = self._db.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts "
            "WHERE status=? AND updated_at>=? ORDER BY updated_at",
            (status, since.isoformat() if since else ""),
        ).fetchall()
        return [alert(r) for r in rows]

    def held_alerts(self, group_key: str) -> list[AlertRecord]:
        rows = self._db.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts "
            "WHERE group_key=? AND status='held' ORDER BY updated_at",
            (group_key,),
        ).fetchall()
        return [alert(r) for r in rows]

    def story_alert(self, story_id: str, rule_id: str, sink: str) -> tuple[str, str | None] | None:
        row = self._db.execute(
            "SELECT alert_key, ts FROM story_alerts WHERE story_id=? AND rule_id=? AND sink=?",
            (story_id, rule_id, sink),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def record_story_alert(
        self, story_id: str, rule_id: str, sink: str, alert_key: str, ts: str | None
    ) -> None:
        self.record_story_alerts([(story_id, rule_id, sink, alert_key, ts)])

    def record_story_alerts(self, records: Iterable[tuple[str, str, str, str, str | None]]) -> None:
        with self._write():
            self._db.executemany("INSERT OR IGNORE INTO story_alerts VALUES (?,?,?,?,?)", records)

    def story_thread(self, story_id: str, sink: str) -> str | None:
        return self._db.execute(
            "SELECT min(ts) FROM story_alerts WHERE story_id=? AND sink=?", (story_id, sink)
        ).fetchone()[0]

    # --- flood-control groups -----------------------------------------------------------------
    def group_state(self, group_key: str) -> GroupState:
        row = self._db.execute(
            "SELECT state FROM groups WHERE group_key=?", (group_key,)
        ).fetchone()
        return GroupState.model_validate_json(row[0]) if row else GroupState()

    def save_group(self, group_key: str, sink: str, state: GroupState, *holds: Hold) -> None:
        with self._write():
            self._db.execute(
                "INSERT OR REPLACE INTO groups (group_key, sink, state, due_at, updated_at) "
                "VALUES (?,?,?,?,?)",
                (
                    group_key,
                    sink,
                    state.model_dump_json(),
                    state.due_at.isoformat() if state.due_at else None,
                    self._now(),
                ),
            )
            self._db.executemany(
                "UPDATE alerts SET status='held', group_key=?, updated_at=?, "
                "payload=COALESCE(?, payload) WHERE key=? AND status='sending'",
                [
                    (group_key, (hold.at or self._clock()).isoformat(), hold.payload, hold.key)
                    for hold in holds
                ],
            )

    @contextmanager
    def locked_group(self, group_key: str) -> Iterator[GroupState]:
        with self.locked_groups([group_key]) as states:
            yield states[group_key]

    @contextmanager
    def locked_groups(self, group_keys: Iterable[str]) -> Iterator[dict[str, GroupState]]:
        with self._write():  # the file's write lock (BEGIN IMMEDIATE), or the caller's
            yield {key: self.group_state(key) for key in sorted(set(group_keys))}

    def due_groups(self, sink: str, now: datetime) -> list[str]:
        return [
            r[0]
            for r in self._db.execute(
                "SELECT group_key FROM groups WHERE sink=? AND due_at IS NOT NULL AND due_at<=? "
                "ORDER BY due_at",
                (sink, now.isoformat()),
            )
        ]

    def next_group_due(self) -> datetime | None:
        row = self._db.execute("SELECT MIN(due_at) FROM groups WHERE due_at IS NOT NULL").fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    # --- dead letters -------------------------------------------------------------------------
    def add_dead_letters(self, letters: Iterable[DeadLetter]) -> None:
        with self._write():
            self._db.executemany(
                "INSERT INTO dead_letters (stage, source, reason, record, at, alert_key) "
                "VALUES (?,?,?,?,?,?)",
                [
                    (
                        d.stage,
                        d.source,
                        d.reason,
                        d.model_dump_json(),
                        d.at.isoformat(),
                        alert_key(d),
                    )
                    for d in letters
                ],
            )

    def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        rows = self._db.execute(
            "SELECT record FROM dead_letters ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [DeadLetter.model_validate(json.loads(r[0])) for r in rows]

    # --- retention ----------------------------------------------------------------------------
    def prune(self, now: datetime, retention: Retention) -> dict[str, int]:
        with self._write():
            return {
                table: self._db.execute(sql, tuple(map(iso, cutoffs))).rowcount
                for table, sql, cutoffs in prune_steps(now, retention)
            }

    # --- totals -------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        out = {"schema": self._schema_version()}
        out.update(
            {
                t: self._db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("feeds", "seen", "dead_letters")
            }
        )
        out["dead_letters_resolved"] = self._db.execute(
            "SELECT COUNT(*) FROM dead_letters WHERE resolved_at IS NOT NULL"
        ).fetchone()[0]
        for status, n in self._db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status"):
            out[f"alerts_{status}"] = n
        # of the dead, those that wait for their sink (resent once it is back)
        out["alerts_dead_deferred"] = self._db.execute(
            "SELECT COUNT(*) FROM alerts WHERE status='dead' AND deferred_at IS NOT NULL"
        ).fetchone()[0]
        return out
