"""The embedded state store: one SQLite file that makes cycles restart-safe.

It holds what must survive a restart: each feed's HTTP validators and schedule, the keys of
articles already processed, the alert ledger (idempotency), and dead letters. WAL mode and a busy
timeout make it safe for several worker processes on one machine; a distributed runner needs a
shared backend implementing the same methods.

Why a ledger and not just "seen" keys: an article is marked seen only after all of its alerts were
delivered or dead-lettered, so a crash mid-cycle re-processes it, and the ledger then stops the
alerts that did go out from going out again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable

from pydantic import BaseModel

from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.routing.flood import GroupState

SCHEMA_VERSION = 3  # 2: alerts.group_key (digests); 3: feeds.ttl_minutes
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feeds (
  feed_id TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, failures INTEGER NOT NULL DEFAULT 0,
  next_due TEXT, last_status TEXT, last_error TEXT, updated_at TEXT NOT NULL,
  ttl_minutes INTEGER);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, seen_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS seen_at_idx ON seen (seen_at);
CREATE TABLE IF NOT EXISTS alerts (
  key TEXT PRIMARY KEY, sink TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
  error TEXT, payload TEXT NOT NULL, updated_at TEXT NOT NULL, group_key TEXT);
CREATE INDEX IF NOT EXISTS alerts_status_idx ON alerts (status, updated_at);
CREATE INDEX IF NOT EXISTS alerts_group_idx ON alerts (group_key, status);
CREATE TABLE IF NOT EXISTS story_alerts (
  story_id TEXT NOT NULL, rule_id TEXT NOT NULL, sink TEXT NOT NULL, alert_key TEXT NOT NULL,
  ts TEXT, PRIMARY KEY (story_id, rule_id, sink));
CREATE TABLE IF NOT EXISTS groups (
  group_key TEXT PRIMARY KEY, sink TEXT NOT NULL, state TEXT NOT NULL, due_at TEXT);
CREATE INDEX IF NOT EXISTS groups_due_idx ON groups (sink, due_at);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT, stage TEXT NOT NULL, source TEXT NOT NULL,
  reason TEXT NOT NULL, record TEXT NOT NULL, at TEXT NOT NULL);
"""


def _add_column(db: sqlite3.Connection, table: str, column: str, decl: str) -> None:
    if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")


# target version -> step from the version before. Steps run inside the open transaction and
# must be idempotent; tables and indexes that are only new come from _SCHEMA (IF NOT EXISTS).
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    2: lambda db: _add_column(db, "alerts", "group_key", "TEXT"),
    3: lambda db: _add_column(db, "feeds", "ttl_minutes", "INTEGER"),
}


def _retry_locked(step: Callable[[], None], attempts: int = 100, pause: float = 0.05) -> None:
    """Run `step`, retrying while another process holds a lock SQLite will not wait for."""
    for attempt in range(attempts):
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(pause)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class FeedState(BaseModel):
    feed_id: str
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_due: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    ttl_minutes: int | None = None  # the feed's own <ttl>, a floor on its poll interval


class AlertRecord(BaseModel):
    key: str
    sink: str
    status: str  # sending | held (waiting for a digest) | sent | dead
    attempts: int
    error: str | None
    payload: str  # Alert JSON, so a dead alert can be redelivered without the article
    updated_at: datetime


class StateStore:
    """Open with `StateStore(state_dir)`; cheap to open, so open one per DoFn in setup()."""

    FILENAME = "state.sqlite3"

    def __init__(self, state_dir: str | Path):
        self.path = Path(state_dir) / self.FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA busy_timeout=30000")
        _retry_locked(self._enable_wal)
        self._db.execute("PRAGMA synchronous=NORMAL")
        _retry_locked(self._migrate)

    def _enable_wal(self) -> None:
        # WAL is a property of the file: switch once. Switching needs an exclusive lock that
        # SQLite does not wait for, hence the retry when another worker opens the file too.
        if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            self._db.execute("PRAGMA journal_mode=WAL")

    def _migrate(self) -> None:
        """Bring the file to SCHEMA_VERSION: a new file gets _SCHEMA, an older one its
        migrations in order, in one transaction (a crash leaves the old version intact)."""
        if self._schema_version() == SCHEMA_VERSION:
            return  # the common case: every DoFn opens the store, most files are current
        with self._tx():
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema {version}, newer than this wirewatch "
                    f"({SCHEMA_VERSION}); upgrade wirewatch or use another "
                    f"--state-dir"
                )
            if version and version < SCHEMA_VERSION:
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    _MIGRATIONS[target](self._db)
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(statement)  # idempotent: IF NOT EXISTS
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )

    def _schema_version(self) -> int:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError:  # no meta table: a new file
            return 0
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self):
        """One write transaction; the lock serialises threads sharing this connection."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- feeds --------------------------------------------------------------------------------
    def feed_state(self, feed_id: str) -> FeedState:
        row = self._db.execute(
            "SELECT etag, last_modified, failures, next_due, last_status, last_error, "
            "ttl_minutes FROM feeds WHERE feed_id=?",
            (feed_id,),
        ).fetchone()
        if row is None:
            return FeedState(feed_id=feed_id)
        return FeedState(
            feed_id=feed_id,
            etag=row[0],
            last_modified=row[1],
            failures=row[2],
            next_due=row[3],
            last_status=row[4],
            last_error=row[5],
            ttl_minutes=row[6],
        )

    def save_feed_state(self, state: FeedState) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO feeds (feed_id, etag, last_modified, failures, next_due, last_status, "
                "last_error, updated_at, ttl_minutes) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(feed_id) DO UPDATE SET etag=excluded.etag, "
                "last_modified=excluded.last_modified, failures=excluded.failures, "
                "next_due=excluded.next_due, last_status=excluded.last_status, "
                "last_error=excluded.last_error, updated_at=excluded.updated_at, "
                "ttl_minutes=COALESCE(excluded.ttl_minutes, feeds.ttl_minutes)",
                (
                    state.feed_id,
                    state.etag,
                    state.last_modified,
                    state.failures,
                    state.next_due.isoformat() if state.next_due else None,
                    state.last_status,
                    state.last_error,
                    _now(),
                    state.ttl_minutes,
                ),
            )

    def save_feed_ttl(self, feed_id: str, ttl_minutes: int) -> None:
        """The feed's <ttl>, used as a floor on its poll interval from the next poll on."""
        with self._tx():
            self._db.execute(
                "INSERT INTO feeds (feed_id, updated_at, ttl_minutes) VALUES (?,?,?) "
                "ON CONFLICT(feed_id) DO UPDATE SET ttl_minutes=excluded.ttl_minutes",
                (feed_id, _now(), ttl_minutes),
            )

    # --- seen articles ------------------------------------------------------------------------
    def seen(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self._db.execute(f"SELECT key FROM seen WHERE key IN ({marks})", chunk)
            )
        return found

    def touch_seen(self, keys: Iterable[str]) -> None:
        """Refresh keys still listed by their feed, so retention only forgets what left it."""
        keys = list(keys)
        if keys:
            now = _now()
            with self._tx():
                self._db.executemany(
                    "UPDATE seen SET seen_at=? WHERE key=?", [(now, k) for k in keys]
                )

    def mark_seen(self, keys: Iterable[str]) -> None:
        now = _now()
        with self._tx():
            self._db.executemany(
                "INSERT OR IGNORE INTO seen VALUES (?, ?)", [(k, now) for k in keys]
            )

    def prune_seen(self, older_than: timedelta) -> int:
        cutoff = (datetime.now(timezone.utc) - older_than).isoformat()
        with self._tx():
            return self._db.execute("DELETE FROM seen WHERE seen_at < ?", (cutoff,)).rowcount

    # --- alert ledger -------------------------------------------------------------------------
    def alert(self, key: str) -> AlertRecord | None:
        row = self._db.execute(
            "SELECT key, sink, status, attempts, error, payload, updated_at "
            "FROM alerts WHERE key=?",
            (key,),
        ).fetchone()
        return AlertRecord(**dict(zip(AlertRecord.model_fields, row))) if row else None

    def claim_alert(self, key: str, sink: str, payload: str) -> bool:
        """Record intent to send. False when the alert was already sent (never send it again)."""
        with self._tx():
            row = self._db.execute("SELECT status FROM alerts WHERE key=?", (key,)).fetchone()
            if row and row[0] in ("sent", "held"):
                return False
            self._db.execute(
                "INSERT INTO alerts VALUES (?,?,'sending',0,NULL,?,?,NULL) ON CONFLICT(key) DO "
                "UPDATE SET status='sending', updated_at=excluded.updated_at",
                (key, sink, payload, _now()),
            )
            return True

    def finish_alert(self, key: str, status: str, attempts: int, error: str | None = None) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE alerts SET status=?, attempts=attempts+?, error=?, "
                "updated_at=? WHERE key=?",
                (status, attempts, error, _now(), key),
            )

    # --- flood-control groups -------------------------------------------------------------
    def group_state(self, group_key: str) -> GroupState:
        row = self._db.execute(
            "SELECT state FROM groups WHERE group_key=?", (group_key,)
        ).fetchone()
        return GroupState.model_validate_json(row[0]) if row else GroupState()

    def save_group(
        self,
        group_key: str,
        sink: str,
        state: GroupState,
        hold_key: str | None = None,
        hold_payload: str | None = None,
    ) -> None:
        """Save a group's state; with `hold_key`, that claimed alert now waits in the group."""
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO groups VALUES (?,?,?,?)",
                (
                    group_key,
                    sink,
                    state.model_dump_json(),
                    state.due_at.isoformat() if state.due_at else None,
                ),
            )
            if hold_key:
                self._db.execute(
                    "UPDATE alerts SET status='held', group_key=?, updated_at=?, "
                    "payload=COALESCE(?, payload) WHERE key=?",
                    (group_key, _now(), hold_payload, hold_key),
                )

    # --- the first alert of each story, per rule and sink (thread parent) --------------------
    def story_alert(self, story_id: str, rule_id: str, sink: str) -> tuple[str, str | None] | None:
        """(alert key, Slack ts or None) of the story's first alert for this rule and sink."""
        row = self._db.execute(
            "SELECT alert_key, ts FROM story_alerts WHERE story_id=? AND rule_id=? AND sink=?",
            (story_id, rule_id, sink),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def record_story_alert(
        self, story_id: str, rule_id: str, sink: str, alert_key: str, ts: str | None
    ) -> None:
        with self._tx():
            self._db.execute(
                "INSERT OR IGNORE INTO story_alerts VALUES (?,?,?,?,?)",
                (story_id, rule_id, sink, alert_key, ts),
            )

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

    def held_alerts(self, group_key: str) -> list[AlertRecord]:
        rows = self._db.execute(
            "SELECT key, sink, status, attempts, error, payload, updated_at FROM alerts "
            "WHERE group_key=? AND status='held' ORDER BY updated_at",
            (group_key,),
        ).fetchall()
        return [AlertRecord(**dict(zip(AlertRecord.model_fields, r))) for r in rows]

    def alerts(self, status: str, since: datetime | None = None) -> list[AlertRecord]:
        rows = self._db.execute(
            "SELECT key, sink, status, attempts, error, payload, updated_at FROM alerts "
            "WHERE status=? AND updated_at>=? ORDER BY updated_at",
            (status, since.isoformat() if since else ""),
        ).fetchall()
        return [AlertRecord(**dict(zip(AlertRecord.model_fields, r))) for r in rows]

    # --- dead letters -------------------------------------------------------------------------
    def add_dead_letters(self, letters: Iterable[DeadLetter]) -> None:
        with self._tx():
            self._db.executemany(
                "INSERT INTO dead_letters (stage, source, reason, record, at) VALUES (?,?,?,?,?)",
                [
                    (d.stage, d.source, d.reason, d.model_dump_json(), d.at.isoformat())
                    for d in letters
                ],
            )

    def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        rows = self._db.execute(
            "SELECT record FROM dead_letters ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [DeadLetter.model_validate(json.loads(r[0])) for r in rows]

    def counts(self) -> dict[str, int]:
        out = {"schema": self._schema_version()}
        out.update(
            {
                t: self._db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("feeds", "seen", "dead_letters")
            }
        )
        for status, n in self._db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status"):
            out[f"alerts_{status}"] = n
        return out
