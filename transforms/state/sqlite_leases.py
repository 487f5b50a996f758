"""SqliteStore's leases and backoffs: alert claims that expire, feed leases, digest claims,
workers, the owner lock, and when a sink may be tried again (sink health, deferred alerts).

One SQLite file is written by one process at a time (BEGIN IMMEDIATE takes the file's write
lock), so every check-and-set here is one transaction and needs nothing more to be atomic
across threads and processes; the semantics are the PostgreSQL store's, where several workers
really do share the store. Times are stored as UTC ISO text, so comparing them as text
compares the instants.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable

from wirewatch.transforms.state.interface import AlertRecord, Lease, SinkHealth, WorkerInfo
from wirewatch.transforms.state.owner import OwnerLock
from wirewatch.transforms.state.rows import ALERT_COLUMNS, ORPHANED_GROUP, alert

if TYPE_CHECKING:
    from wirewatch.transforms.state.sqlite import SqliteStore

_CHUNK = 500  # ids per `IN (...)`


def iso(moment: datetime) -> str:
    """How the lease columns store a time: UTC ISO text, comparable as text."""
    return moment.astimezone(timezone.utc).isoformat()


def claimable(row, owner: str, now: str, fresh: bool = False) -> bool:
    """May `owner` claim an alert whose row holds (status, lease_owner, lease_until) at `now`?
    (None: no row yet.) The one rule of claim_alert, in Python for SQLite."""
    if row is None:
        return True
    status, holder, until = row
    if status in ("sent", "held"):
        return False
    live = until is not None and until > now
    if status == "sending" and live and holder != owner:
        return False  # another owner is sending it now
    if status == "sending" and fresh and not (live and holder == owner):
        return False  # a dead or failed sender's: expired_claims' to re-offer
    return True


class SqliteLeases:
    """The lease methods of SqliteStore (which provides `_db`, `_clock`, `_write()`, `path`)."""

    _owner: OwnerLock | None = None

    # --- alert claims -------------------------------------------------------------------------
    def expired_claims(self: SqliteStore, sink: str | None, now: datetime) -> list[AlertRecord]:
        rows = self._db.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE status='sending' "
            "AND (lease_until IS NULL OR lease_until <= ?) AND (? IS NULL OR sink = ?) "
            "ORDER BY updated_at, key",
            (iso(now), sink, sink),
        ).fetchall()
        return [alert(r) for r in rows]

    def deferred_alerts(self: SqliteStore, sink: str, since: datetime) -> list[AlertRecord]:
        rows = self._db.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE sink=? AND status IN ('dead', 'sending') "
            "AND deferred_at >= ? ORDER BY deferred_at, key",
            (sink, iso(since)),
        ).fetchall()
        return [alert(r) for r in rows]

    # --- sink health --------------------------------------------------------------------------
    def sink_health(self: SqliteStore, sink: str) -> SinkHealth:
        row = self._db.execute(
            "SELECT failures, down_until, reason, updated_at FROM sink_health WHERE sink=?",
            (sink,),
        ).fetchone()
        if row is None:
            return SinkHealth(sink=sink)
        return SinkHealth(
            sink=sink, failures=row[0], down_until=row[1], reason=row[2], updated_at=row[3]
        )

    def save_sink_health(self: SqliteStore, health: SinkHealth) -> None:
        down = iso(health.down_until) if health.down_until else None
        with self._write():
            self._db.execute(
                "INSERT INTO sink_health (sink, failures, down_until, reason, updated_at) "
                "VALUES (?,?,?,?,?) ON CONFLICT(sink) DO UPDATE SET failures=excluded.failures, "
                "down_until=excluded.down_until, reason=excluded.reason, "
                "updated_at=excluded.updated_at",
                (health.sink, health.failures, down, health.reason, iso(self._clock())),
            )

    # --- feed leases --------------------------------------------------------------------------
    def lease_due_feeds(
        self: SqliteStore,
        feed_ids: Iterable[str],
        lease: Lease,
        now: datetime,
        limit: int | None = None,
    ) -> list[str]:
        ids = list(dict.fromkeys(feed_ids))
        if not ids or limit is not None and limit <= 0:
            return []
        worker, at, until = lease.owner, iso(now), iso(now + timedelta(seconds=lease.seconds))
        with self._write():
            self._db.executemany(  # a feed never polled gets its row: the lease lives there
                "INSERT OR IGNORE INTO feeds (feed_id, updated_at) VALUES (?, ?)",
                [(feed_id, at) for feed_id in ids],
            )
            free = []  # (not mine, next_due or "", feed_id): the order a limit takes them in
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                free += self._db.execute(
                    "SELECT lease_owner IS NOT ?, COALESCE(next_due, ''), feed_id FROM feeds "
                    f"WHERE feed_id IN ({marks}) AND (next_due IS NULL OR next_due <= ?) "
                    "AND (lease_until IS NULL OR lease_until <= ? OR lease_owner = ?)",
                    (worker, *chunk, at, at, worker),
                ).fetchall()
            leased = [row[2] for row in sorted(free)[:limit]]
            self._db.executemany(
                "UPDATE feeds SET lease_owner=?, lease_until=? WHERE feed_id=?",
                [(worker, until, feed_id) for feed_id in leased],
            )
        return sorted(leased)

    def release_leases(self: SqliteStore, worker: str) -> None:
        now = iso(self._clock())
        with self._write():
            self._db.execute(
                "UPDATE feeds SET lease_owner=NULL, lease_until=NULL WHERE lease_owner=?",
                (worker,),
            )
            self._db.execute(
                "UPDATE alerts SET lease_until=? WHERE status='sending' AND lease_owner=? "
                "AND lease_until > ?",
                (now, worker, now),
            )

    def renew_leases(self: SqliteStore, worker: str, until: datetime) -> None:
        now, later = iso(self._clock()), iso(until)
        with self._write():
            self._db.execute(
                "UPDATE feeds SET lease_until=? WHERE lease_owner=? AND lease_until > ?",
                (later, worker, now),
            )
            self._db.execute(
                "UPDATE alerts SET lease_until=? WHERE status='sending' AND lease_owner=? "
                "AND lease_until > ?",
                (later, worker, now),
            )

    # --- digest claims ------------------------------------------------------------------------
    def claim_held(self: SqliteStore, group_key: str, lease: Lease) -> list[AlertRecord]:
        until = self._clock() + timedelta(seconds=lease.seconds)
        with self._write():
            held = self.held_alerts(group_key)
            self._db.executemany(
                "UPDATE alerts SET status='sending', lease_owner=?, lease_until=? WHERE key=?",
                [(lease.owner, iso(until), record.key) for record in held],
            )
        claimed = {"status": "sending", "lease_owner": lease.owner, "lease_until": until}
        return [record.model_copy(update=claimed) for record in held]

    def claim_due_groups(
        self: SqliteStore, sink: str, now: datetime, lease_seconds: float
    ) -> list[str]:
        until = iso(now + timedelta(seconds=lease_seconds))
        with self._write():
            keys = [
                r[0]
                for r in self._db.execute(
                    "SELECT group_key FROM groups WHERE sink=:sink AND (due_at<=:now OR "
                    f"{ORPHANED_GROUP}) ORDER BY COALESCE(due_at, :now), group_key",
                    {"sink": sink, "now": iso(now)},
                )
            ]
            self._db.executemany(
                "UPDATE groups SET due_at=?, state=json_set(state, '$.due_at', ?) "
                "WHERE group_key=?",
                [(until, until, key) for key in keys],
            )
        return keys

    # --- workers ------------------------------------------------------------------------------
    def heartbeat(self: SqliteStore, worker: str, host: str, pid: int) -> None:
        at = iso(self._clock())
        with self._write():
            self._db.execute(
                "INSERT INTO workers VALUES (?,?,?,?,?) ON CONFLICT(worker_id) DO UPDATE SET "
                "host=excluded.host, pid=excluded.pid, heartbeat_at=excluded.heartbeat_at",
                (worker, host, pid, at, at),
            )

    def workers(self: SqliteStore) -> list[WorkerInfo]:
        leases: dict[str, list[str]] = {}
        for owner, feed_id in self._db.execute(
            "SELECT lease_owner, feed_id FROM feeds WHERE lease_owner IS NOT NULL "
            "AND lease_until > ? ORDER BY feed_id",
            (iso(self._clock()),),
        ):
            leases.setdefault(owner, []).append(feed_id)
        return [
            WorkerInfo(
                worker=worker,
                host=host,
                pid=pid,
                started_at=started,
                heartbeat_at=beat,
                leases=leases.get(worker, []),
            )
            for worker, host, pid, started, beat in self._db.execute(
                "SELECT worker_id, host, pid, started_at, heartbeat_at FROM workers "
                "ORDER BY heartbeat_at DESC, worker_id"
            )
        ]

    # --- one owner per file -------------------------------------------------------------------
    def acquire_owner(self: SqliteStore, worker: str) -> None:
        """Take the file's owner lock; then every lease another name holds belongs to a
        process that is gone (the lock proves no other one runs), so those leases end now:
        its claims are re-offered and its feeds polled at once, not after lease_seconds."""
        if self._owner is None:
            self._owner = OwnerLock(self.path, self.location)
        self._owner.acquire(worker)
        now = iso(self._clock())
        with self._write():
            self._db.execute(
                "UPDATE alerts SET lease_until=? WHERE status='sending' AND lease_until > ? "
                "AND lease_owner IS NOT ?",
                (now, now, worker),
            )
            self._db.execute(
                "UPDATE feeds SET lease_owner=NULL, lease_until=NULL "
                "WHERE lease_owner IS NOT NULL AND lease_owner IS NOT ?",
                (worker,),
            )

    def _release_owner(self: SqliteStore) -> None:
        if self._owner is not None:
            self._owner.release()
