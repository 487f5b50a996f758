"""The shared state store: PostgreSQL, for several workers on several hosts.

Same contract as the embedded SQLite store; what differs is how each guarantee is kept when
many processes write at once, always inside the database, never in a worker:
- a claim is one `INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING` (the row comes
  back only to the one worker whose claim took);
- due feeds are leased with `SELECT ... FOR UPDATE SKIP LOCKED` and a lease expiry, so one due
  time is polled by one worker, and a dead worker's feeds come back after `lease_seconds`;
- story assignment takes a transaction-level advisory lock, so two workers that see copies of
  one story in the same second cannot both found it;
- multi-row writes are one statement over arrays (`unnest`), not a round trip per row.

Connections come from a psycopg_pool pool shared by every store object of the process that
uses the same URL (Beam opens a store per DoFn instance; a pool each would exhaust the server).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Callable, Collection, Iterable, Iterator, Mapping, Sequence

from wirewatch.transforms.errors import redact_url
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.routing.flood import GroupState
from wirewatch.transforms.state import pg_schema
from wirewatch.transforms.state.copy import KEYS, TABLES
from wirewatch.transforms.state.interface import (
    AlertRecord,
    FeedState,
    Hold,
    Lease,
    Retention,
    StoreUnavailable,
    StoryChain,
    StoryChange,
    StoryCluster,
    StoryEntry,
    StoryHead,
    StoryLink,
    StoryMatch,
    UrlMatches,
    WorkerInfo,
)
from wirewatch.transforms.state.interface import dead_letter_alert_key as alert_key
from wirewatch.transforms.state.pg_sink_health import PgSinkHealth
from wirewatch.transforms.state.rows import (
    ALERT_COLUMNS,
    CLUSTER_COLUMNS,
    ENTRY_COLUMNS,
    FEED_COLUMNS,
    ORPHANED_GROUP,
    STORY_HEAD_SELECT,
    STORY_LINK_SELECT,
    STORY_TABLES,
    alert,
    chain_of,
    chain_value,
    entry,
    entry_values,
    feed,
    feed_upsert,
    feed_values,
    finishable,
    prune_steps,
    prune_story_steps,
    split_set,
    story_heads,
    story_urls,
    story_urls_select,
)
from wirewatch.transforms.state.server_clock import Reading, ServerClock
from wirewatch.transforms.state.shared_handles import SharedHandles

CONNECT_TIMEOUT = 5
RECONNECT_FOR = 20.0  # seconds a statement outside a transaction retries a dropped connection
CONNECT_KWARGS = {
    "connect_timeout": CONNECT_TIMEOUT,
    "application_name": "wirewatch",
    "options": "-c TimeZone=UTC",  # timestamps come back in UTC, as the SQLite store's do
    # No server-side prepared statements: psycopg prepares a query after 5 runs, and a plan
    # made while the story tables were small kept scanning them whole as they grew (a 10,000
    # article backlog: 40-80 ms per candidate look-up instead of 0.3 ms). Planning each
    # statement costs well under a millisecond.
    "prepare_threshold": None,
    "autocommit": True,
}
_CLUSTER_GROWTH = (
    f"INSERT INTO stories_clusters ({CLUSTER_COLUMNS}) SELECT * FROM unnest(%s::text[], "
    "%s::text[], %s::text[], %s::float8[], %s::float8[], %s::int[], %s::int[]) "
    "ON CONFLICT (story_id) DO UPDATE SET size = stories_clusters.size + excluded.size, "
    "updates = stories_clusters.updates + excluded.updates, "
    "first_published = LEAST(stories_clusters.first_published, excluded.first_published), "
    "last_published = GREATEST(stories_clusters.last_published, excluded.last_published)"
)
"""What a batch adds to each story (interface.save_stories), one row per story."""
_INSERT_MEMBERS = (
    f"INSERT INTO stories_articles ({ENTRY_COLUMNS}) SELECT {ENTRY_COLUMNS} FROM "
    "unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
    "%s::float8[], %s::text[], %s::text[], %s::float8[], %s::text[], %s::text[], %s::text[], "
    f"%s::bytea[], %s::bytea[], %s::int[]) WITH ORDINALITY AS t({ENTRY_COLUMNS}, n) "
    "ORDER BY n RETURNING article_id, seq"
)
"""A batch's members in order (seq follows it)."""

_pools: SharedHandles = SharedHandles(lambda shared: shared[0].close())
"""url -> its pool and its server clock (server_clock.py: one reading per process and URL)"""


def _check_reachable(url: str) -> None:
    """Connect once before a pool exists: a pool retries quietly for its whole timeout, while
    one connection fails at once with the server's own reason."""
    import psycopg

    try:
        psycopg.connect(url, **CONNECT_KWARGS).close()
    except psycopg.Error as exc:
        raise StoreUnavailable(
            redact_url(url),
            f"cannot reach the state store: {_reason(exc)}",
            "start the PostgreSQL server, or correct the URL (state: in the config, or --state)",
        ) from None


def _open_pool(url: str):
    from psycopg_pool import ConnectionPool

    _check_reachable(url)
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=int(os.environ.get("WIREWATCH_PG_POOL", "4")),
        kwargs=CONNECT_KWARGS,
        open=False,
        name="wirewatch",
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT + 1)
    except Exception as exc:
        pool.close()
        raise StoreUnavailable(
            redact_url(url),
            f"cannot open a connection pool: {_reason(exc)}",
            "check the server's max_connections and the URL",
        ) from None
    return pool


def _reason(exc: BaseException) -> str:
    """The server's or libpq's first line ('connection to server at ... failed: ...')."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    return first.removeprefix("connection failed: ")


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class PostgresStore(PgSinkHealth):
    """Open with `PostgresStore(url)`; cheap after the first (the pool is per process and URL).

    `clock` stamps every write, times every lease and decides what `prune_seen` forgets; by
    default the server's clock (server_clock.py: hosts sharing the store need not agree on
    the time). Times are parameters, never the server's now() in SQL, so tests pass a clock.
    A transaction holds one pooled connection per thread; methods called inside it join it.
    """

    def __init__(self, url: str, *, clock: Callable[[], datetime] = None):
        self.url = url
        self.location = redact_url(url)
        self._pool = None
        self._local = threading.local()
        self._pool, server_clock = _pools.acquire(url, lambda: (_open_pool(url), ServerClock()))
        self._clock = clock or (lambda: server_clock.now(self._read_server_clock))
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    # --- connection and transactions -----------------------------------------------------------
    def close(self) -> None:
        if self._pool is not None:
            self._pool = None
            _pools.release(self.url)

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit: every store call on this thread inside it uses one connection and
        commits together (or not at all). Nested, it is a savepoint (psycopg's nested
        `conn.transaction()`): an exception leaving the inner block undoes only its writes."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with conn.transaction():
                yield
            return
        with self._connection() as conn, conn.transaction():
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    @contextmanager
    def _connection(self):
        import psycopg

        if self._pool is None:
            raise StoreUnavailable(self.location, "the store is closed")
        try:
            with self._pool.connection(timeout=CONNECT_TIMEOUT + 5) as conn:
                yield conn
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
            raise StoreUnavailable(
                self.location,
                f"the state store aborted a transaction: {_reason(exc)}",
                "nothing to do if it is rare: the cycle is retried; if it repeats, report it",
            ) from None
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                self.location,
                f"lost the connection to the state store: {_reason(exc)}",
                "check that the PostgreSQL server is up; the cycle is retried",
            ) from None

    @contextmanager
    def _cursor(self):
        """A cursor in the caller's transaction, or in a transaction of its own."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with conn.cursor() as cur:
                yield cur
            return
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def _statement(self, run):
        """One statement. Outside a transaction it survives a dropped connection (a server
        restart, a failover): it is retried on a fresh connection for up to RECONNECT_FOR
        seconds. That matters most right after a send, where failing to record 'sent' would
        send the alert again. Every single-statement method is safe to repeat (upserts,
        ON CONFLICT, a claim the same owner wins again). Inside a transaction the caller's
        block fails instead, and with it the cycle, which is redone."""
        if getattr(self._local, "conn", None) is not None:
            with self._cursor() as cur:
                return run(cur)
        deadline, pause = time.monotonic() + RECONNECT_FOR, 0.1
        while True:
            try:
                with self._connection() as conn, conn.cursor() as cur:
                    return run(cur)
            except StoreUnavailable:
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def _one(self, sql: str, params=()):
        return self._statement(lambda cur: cur.execute(sql, params).fetchone())

    def _all(self, sql: str, params=()) -> list:
        return self._statement(lambda cur: cur.execute(sql, params).fetchall())

    def _alerts(self, where: str, params) -> list[AlertRecord]:
        """The ledger rows `WHERE <where>` (which carries its ORDER BY) as AlertRecords."""
        return [
            alert(r) for r in self._all(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {where}", params)
        ]

    def _execute(self, sql: str, params=()) -> int:
        return self._statement(lambda cur: cur.execute(sql, params).rowcount)

    def _migrate(self) -> None:
        version = self.schema_version()
        if version == pg_schema.SCHEMA_VERSION:
            return
        with self.transaction(), self._cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (pg_schema.MIGRATION_LOCK,))
            cur.execute(pg_schema.META)
            row = cur.execute("SELECT value FROM wirewatch_meta WHERE key='schema'").fetchone()
            version = int(row[0]) if row else 0
            if version > pg_schema.SCHEMA_VERSION:
                raise StoreUnavailable(
                    self.location,
                    f"the database has schema {version}, newer than this wirewatch "
                    f"({pg_schema.SCHEMA_VERSION})",
                    "upgrade wirewatch on this host to the version the other workers run",
                )
            for target in range(version + 1, pg_schema.SCHEMA_VERSION + 1):
                cur.execute(pg_schema.MIGRATIONS[target])
            cur.execute(
                "INSERT INTO wirewatch_meta VALUES ('schema', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(pg_schema.SCHEMA_VERSION),),
            )

    def now(self) -> datetime:
        return self._clock()

    def _read_server_clock(self, elapsed: Callable[[], float]) -> Reading:
        """The server's time, stamped with `elapsed` around the query alone (not the wait
        for a connection, nor a reconnect's retries)."""

        def run(cur) -> Reading:
            before = elapsed()
            server = cur.execute("SELECT clock_timestamp()").fetchone()[0]
            return Reading(server.astimezone(timezone.utc), (before + elapsed()) / 2)

        if getattr(self._local, "conn", None) is None:
            return self._statement(run)
        # in the caller's transaction: a savepoint, so a reading that fails (and is then
        # done without: server_clock.py) leaves the transaction usable
        with self.transaction(), self._cursor() as cur:
            return run(cur)

    def schema_version(self) -> int:
        with self._cursor() as cur:
            if cur.execute("SELECT to_regclass('wirewatch_meta')").fetchone()[0] is None:
                return 0
            row = cur.execute("SELECT value FROM wirewatch_meta WHERE key='schema'").fetchone()
            return int(row[0]) if row else 0

    # --- feeds ---------------------------------------------------------------------------------
    def feed_state(self, feed_id: str) -> FeedState:
        row = self._one(f"SELECT {FEED_COLUMNS} FROM feeds WHERE feed_id=%s", (feed_id,))
        return feed(feed_id, row)

    def feed_states(self, feed_ids: Iterable[str]) -> dict[str, FeedState]:
        ids = list(dict.fromkeys(feed_ids))
        rows = {
            row[0]: row[1:]
            for row in self._all(
                f"SELECT feed_id, {FEED_COLUMNS} FROM feeds WHERE feed_id = ANY(%s)", (ids,)
            )
        }
        return {feed_id: feed(feed_id, rows.get(feed_id)) for feed_id in ids}

    def save_feed_state(self, state: FeedState) -> None:
        self.save_feed_states([state])

    def save_feed_states(self, states: Iterable[FeedState]) -> None:
        now = self._clock()
        rows = [feed_values(state, now) for state in states]
        if not rows:
            return
        with self._cursor() as cur:  # executemany: one pipelined round trip, the later row wins
            cur.executemany(feed_upsert("%s", ", lease_owner=NULL, lease_until=NULL"), rows)

    def save_feed_ttl(self, feed_id: str, ttl_minutes: int) -> None:
        self._execute(
            "INSERT INTO feeds (feed_id, ttl_minutes, updated_at) VALUES (%s,%s,%s) "
            "ON CONFLICT (feed_id) DO UPDATE SET ttl_minutes=excluded.ttl_minutes",
            (feed_id, ttl_minutes, self._clock()),
        )

    def lease_due_feeds(
        self, feed_ids: Iterable[str], lease: Lease, now: datetime, limit: int | None = None
    ) -> list[str]:
        """Rows locked by another worker's lease call are skipped (SKIP LOCKED), not waited
        for. New feeds get their row first, in sorted order, so two workers inserting the
        same feeds queue on the first one instead of deadlocking."""
        ids = sorted(set(feed_ids))
        if not ids or limit is not None and limit <= 0:
            return []
        stamp = self._clock()
        with self.transaction(), self._cursor() as cur:
            cur.execute(
                "INSERT INTO feeds (feed_id, updated_at) SELECT unnest(%s::text[]), %s "
                "ON CONFLICT DO NOTHING",
                (ids, stamp),
            )
            rows = cur.execute(
                "UPDATE feeds SET lease_owner=%(worker)s, lease_until=%(until)s "
                "WHERE feed_id IN (SELECT feed_id FROM feeds WHERE feed_id = ANY(%(ids)s) "
                "AND (next_due IS NULL OR next_due <= %(now)s) "
                "AND (lease_until IS NULL OR lease_until <= %(now)s OR lease_owner = %(worker)s) "
                "ORDER BY lease_owner IS NOT DISTINCT FROM %(worker)s DESC, "
                "next_due NULLS FIRST, feed_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) "
                "RETURNING feed_id",
                {
                    "worker": lease.owner,
                    "until": now + timedelta(seconds=lease.seconds),
                    "ids": ids,
                    "now": now,
                    "limit": limit,
                },
            ).fetchall()
        return sorted(r[0] for r in rows)

    def release_leases(self, worker: str) -> None:
        params = {"worker": worker, "now": self._clock()}
        with self.transaction(), self._cursor() as cur:
            cur.execute(
                "UPDATE feeds SET lease_owner=NULL, lease_until=NULL WHERE lease_owner=%(worker)s",
                params,
            )
            cur.execute(
                "UPDATE alerts SET lease_until=%(now)s WHERE status='sending' "
                "AND lease_owner=%(worker)s AND lease_until > %(now)s",
                params,
            )

    def renew_leases(self, worker: str, until: datetime) -> None:
        """Rows another transaction holds are skipped (SKIP LOCKED), not waited for: they
        are this worker's delivery batch's or cycle commit's, which hold them to their end
        while this renewal would hold the rows it took first; each waiting for the other, one
        was aborted as a deadlock (the batch: a failed delivery). A skipped row is renewed
        by the next renewal, a third of a lease later, or was just claimed again."""
        params = {"worker": worker, "until": until, "now": self._clock()}
        with self.transaction(), self._cursor() as cur:
            for table, key, mine in (
                ("feeds", "feed_id", ""),
                ("alerts", "key", "status='sending' AND "),
            ):
                cur.execute(
                    f"UPDATE {table} SET lease_until=%(until)s WHERE {key} IN (SELECT {key} "
                    f"FROM {table} WHERE {mine}lease_owner=%(worker)s AND lease_until > %(now)s "
                    "FOR UPDATE SKIP LOCKED)",
                    params,
                )

    def heartbeat(self, worker: str, host: str, pid: int) -> None:
        self._execute(
            "INSERT INTO workers VALUES (%(worker)s,%(host)s,%(pid)s,%(at)s,%(at)s) "
            "ON CONFLICT (worker_id) DO UPDATE SET host=excluded.host, pid=excluded.pid, "
            "heartbeat_at=excluded.heartbeat_at",
            {"worker": worker, "host": host, "pid": pid, "at": self._clock()},
        )

    def workers(self) -> list[WorkerInfo]:
        rows = self._all(
            "SELECT w.worker_id, w.host, w.pid, w.started_at, w.heartbeat_at, "
            "COALESCE(array_agg(f.feed_id ORDER BY f.feed_id) FILTER (WHERE f.feed_id IS NOT NULL),"
            " '{}') FROM workers w LEFT JOIN feeds f ON f.lease_owner = w.worker_id "
            "AND f.lease_until > %s GROUP BY w.worker_id "
            "ORDER BY w.heartbeat_at DESC, w.worker_id",
            (self._clock(),),
        )
        keys = ("worker", "host", "pid", "started_at", "heartbeat_at", "leases")
        return [WorkerInfo(**dict(zip(keys, row))) for row in rows]

    def acquire_owner(self, worker: str) -> None:
        """Nothing to take: a PostgreSQL store is shared by design, and the leases (alert
        claims, feed leases, digest claims) decide who does what."""

    # --- seen keys -------------------------------------------------------------------------------
    def seen(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        if not keys:
            return set()
        return {r[0] for r in self._all("SELECT key FROM seen WHERE key = ANY(%s)", (keys,))}

    def touch_seen(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            self._execute("UPDATE seen SET seen_at=%s WHERE key = ANY(%s)", (self._clock(), keys))

    def mark_seen(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if keys:
            self._execute(
                "INSERT INTO seen (key, seen_at) SELECT k, %s FROM unnest(%s::text[]) AS k "
                "ON CONFLICT (key) DO NOTHING",
                (self._clock(), keys),
            )

    def seen_hashes(self, keys: Iterable[str]) -> dict[str, str | None]:
        keys = list(keys)
        if not keys:
            return {}
        return dict(self._all("SELECT key, hash FROM seen WHERE key = ANY(%s)", (keys,)))

    def record_seen(self, hashes: Mapping[str, str]) -> None:
        if hashes:
            self._execute(
                "INSERT INTO seen (key, seen_at, hash) SELECT k, %s, h "
                "FROM unnest(%s::text[], %s::text[]) AS t(k, h) "
                "ON CONFLICT (key) DO UPDATE SET hash = EXCLUDED.hash",
                (self._clock(), list(hashes), list(hashes.values())),
            )

    def prune_seen(self, older_than: timedelta) -> int:
        return self._execute("DELETE FROM seen WHERE seen_at < %s", (self._clock() - older_than,))

    # --- alert ledger ----------------------------------------------------------------------------
    def alert(self, key: str) -> AlertRecord | None:
        row = self._one(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE key=%s", (key,))
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
        """One statement: each conflicting row is locked, the WHERE decides on its latest
        version, and a key comes back only to the one caller whose claim took. Rows are
        claimed in key order, so two workers claiming overlapping sets lock them in one order
        (and never wait for each other in a cycle)."""
        first: dict[str, tuple[str, str]] = {}
        for key, sink, payload in alerts:
            first.setdefault(key, (sink, payload))  # one row per key: ON CONFLICT needs that
        if not first:
            return set()
        keys = sorted(first)
        now = self._clock()
        # the arrays go in binary (%b): as text, psycopg escapes each JSON payload's quotes
        # with a regex, which cost more than the rest of a batch's delivery together
        rows = self._all(
            "INSERT INTO alerts (key, sink, status, attempts, payload, updated_at, lease_owner, "
            "lease_until) SELECT k, s, 'sending', 0, p, %(now)s, %(owner)s, %(until)s "
            "FROM unnest(%(keys)b::text[], %(sinks)b::text[], %(payloads)b::text[]) AS c(k, s, p) "
            "ORDER BY k ON CONFLICT (key) DO UPDATE SET status='sending', "
            "updated_at=excluded.updated_at, lease_owner=excluded.lease_owner, "
            "lease_until=excluded.lease_until "
            "WHERE alerts.status NOT IN ('sent', 'held') AND NOT (alerts.status = 'sending' "
            "AND alerts.lease_until IS NOT NULL AND alerts.lease_until > %(now)s "
            "AND alerts.lease_owner IS DISTINCT FROM %(owner)s) "
            "AND NOT (%(fresh)s AND alerts.status = 'sending' AND NOT (alerts.lease_owner "
            "IS NOT DISTINCT FROM %(owner)s AND COALESCE(alerts.lease_until > %(now)s, false))) "
            "RETURNING key",
            {
                "keys": keys,
                "sinks": [first[k][0] for k in keys],
                "payloads": [first[k][1] for k in keys],
                "now": now,
                "owner": lease.owner,
                "until": now + timedelta(seconds=lease.seconds),
                "fresh": fresh,
            },
        )
        return {row[0] for row in rows}

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
        """One statement: the outcomes, and when 'sent', the alerts' open dead letters
        resolved."""
        keys = list(set(keys))
        if not keys:
            return set()
        rows = self._all(
            "WITH done AS (UPDATE alerts SET status=%(status)s, attempts=attempts+%(attempts)s, "
            "error=%(error)s, updated_at=%(now)s, lease_owner=NULL, lease_until=NULL, "
            "deferred_at=CASE WHEN %(deferred)s THEN COALESCE(alerts.deferred_at, %(now)s) END "
            f"WHERE key = ANY(%(keys)s) AND {finishable('%(status)s::text', '%(owner)s::text')} "
            "RETURNING key, status), resolved AS ("
            "UPDATE dead_letters SET resolved_at=%(now)s WHERE resolved_at IS NULL "
            "AND alert_key IN (SELECT key FROM done WHERE status = 'sent')) "
            "SELECT key FROM done",
            {
                "status": status,
                "attempts": attempts,
                "error": error,
                "now": self._clock(),
                "keys": keys,
                "deferred": deferred and status == "dead",
                "owner": owner,
            },
        )
        return {row[0] for row in rows}

    def expired_claims(self, sink: str | None, now: datetime) -> list[AlertRecord]:
        return self._alerts(
            "status='sending' "
            "AND (lease_until IS NULL OR lease_until <= %(now)s) "
            "AND (%(sink)s::text IS NULL OR sink = %(sink)s) ORDER BY updated_at, key",
            {"now": now, "sink": sink},
        )

    def deferred_alerts(self, sink: str, since: datetime) -> list[AlertRecord]:
        return self._alerts(
            "sink=%s AND status IN ('dead', 'sending') "
            "AND deferred_at >= %s ORDER BY deferred_at, key",
            (sink, since),
        )

    def alerts(self, status: str, since: datetime | None = None) -> list[AlertRecord]:
        return self._alerts(
            "status=%s AND updated_at >= %s ORDER BY updated_at",
            (status, since or datetime.min.replace(tzinfo=timezone.utc)),
        )

    def held_alerts(self, group_key: str) -> list[AlertRecord]:
        return self._alerts(
            "group_key=%s AND status='held' ORDER BY updated_at",
            (group_key,),
        )

    def claim_held(self, group_key: str, lease: Lease) -> list[AlertRecord]:
        until = self._clock() + timedelta(seconds=lease.seconds)
        rows = self._all(
            "WITH claimed AS (UPDATE alerts SET status='sending', lease_owner=%s, lease_until=%s "
            f"WHERE group_key=%s AND status='held' RETURNING {ALERT_COLUMNS}) "
            "SELECT * FROM claimed ORDER BY updated_at, key",
            (lease.owner, until, group_key),
        )
        return [alert(r) for r in rows]

    # --- digest groups ---------------------------------------------------------------------------
    def group_state(self, group_key: str) -> GroupState:
        row = self._one("SELECT state FROM groups WHERE group_key=%s", (group_key,))
        return GroupState.model_validate_json(row[0]) if row else GroupState()

    def save_group(self, group_key: str, sink: str, state: GroupState, *holds: Hold) -> None:
        now = self._clock()  # before the cursor: a reading takes no second connection
        with self._cursor() as cur:  # one transaction: the caller's, or its own
            cur.execute(
                "INSERT INTO groups (group_key, sink, state, due_at, updated_at) "
                "VALUES (%s,%s,%s,%s,%s) ON CONFLICT (group_key) DO UPDATE "
                "SET sink=excluded.sink, state=excluded.state, due_at=excluded.due_at, "
                "updated_at=excluded.updated_at",
                (group_key, sink, state.model_dump_json(), state.due_at, now),
            )
            if holds:
                cur.executemany(
                    "UPDATE alerts SET status='held', group_key=%s, updated_at=%s, "
                    "payload=COALESCE(%s, payload) WHERE key=%s AND status='sending'",
                    [(group_key, hold.at or now, hold.payload, hold.key) for hold in holds],
                )

    @contextmanager
    def locked_group(self, group_key: str) -> Iterator[GroupState]:
        with self.locked_groups([group_key]) as states:
            yield states[group_key]

    @contextmanager
    def locked_groups(self, group_keys: Iterable[str]) -> Iterator[dict[str, GroupState]]:
        """Transaction-scoped advisory locks on the keys' hashes (a group's row may not exist
        yet), taken in key order, then the rows; in the caller's transaction or one of its
        own."""
        if getattr(self._local, "conn", None) is None:
            with self.transaction(), self.locked_groups(group_keys) as states:
                yield states
            return
        keys = sorted(set(group_keys))
        if not keys:
            yield {}
            return
        self._execute(
            "SELECT count(pg_advisory_xact_lock(%s, hashtext(k))) "
            "FROM (SELECT k FROM unnest(%s::text[]) AS k ORDER BY k) AS in_order",
            (pg_schema.GROUP_LOCKS, keys),
        )
        # the rows too: claim_due_groups (FOR UPDATE SKIP LOCKED) passes over them meanwhile
        rows = self._all(
            "SELECT group_key, state FROM groups WHERE group_key = ANY(%s) "
            "ORDER BY group_key FOR UPDATE",
            (keys,),
        )
        saved = {key: GroupState.model_validate_json(state) for key, state in rows}
        yield {key: saved.get(key, GroupState()) for key in keys}

    def due_groups(self, sink: str, now: datetime) -> list[str]:
        rows = self._all(
            "SELECT group_key FROM groups WHERE sink=%s AND due_at IS NOT NULL AND due_at <= %s "
            "ORDER BY due_at",
            (sink, now),
        )
        return [r[0] for r in rows]

    def claim_due_groups(self, sink: str, now: datetime, lease_seconds: float) -> list[str]:
        """Rows another flusher is claiming are skipped (SKIP LOCKED); one it claimed a moment
        ago is re-checked on its new version and is no longer due."""
        until = now + timedelta(seconds=lease_seconds)
        rows = self._all(
            "WITH due AS (SELECT group_key, COALESCE(due_at, %(now)s) AS due_at FROM groups "
            f"WHERE sink=%(sink)s AND (due_at <= %(now)s OR {ORPHANED_GROUP}) "
            "ORDER BY 2, group_key "
            "FOR UPDATE SKIP LOCKED) "
            "UPDATE groups g SET due_at=%(until)s, "
            "state=jsonb_set(g.state::jsonb, '{due_at}', to_jsonb(%(until_text)s::text))::text "
            "FROM due WHERE g.group_key = due.group_key RETURNING g.group_key, due.due_at",
            {"sink": sink, "now": now, "until": until, "until_text": until.isoformat()},
        )
        return [key for key, _ in sorted(rows, key=lambda r: (r[1], r[0]))]

    def next_group_due(self) -> datetime | None:
        row = self._one("SELECT MIN(due_at) FROM groups WHERE due_at IS NOT NULL")
        return row[0] if row else None

    # --- the first alert of each story, per rule and sink ---------------------------------------
    def story_alert(self, story_id: str, rule_id: str, sink: str) -> tuple[str, str | None] | None:
        row = self._one(
            "SELECT alert_key, ts FROM story_alerts WHERE story_id=%s AND rule_id=%s AND sink=%s",
            (story_id, rule_id, sink),
        )
        return (row[0], row[1]) if row else None

    def record_story_alert(
        self, story_id: str, rule_id: str, sink: str, alert_key: str, ts: str | None
    ) -> None:
        self.record_story_alerts([(story_id, rule_id, sink, alert_key, ts)])

    def record_story_alerts(self, records: Iterable[tuple[str, str, str, str, str | None]]) -> None:
        records = list(records)
        if records:
            self._execute(
                "INSERT INTO story_alerts SELECT * FROM unnest(%s::text[], %s::text[], "
                "%s::text[], %s::text[], %s::text[]) ON CONFLICT DO NOTHING",
                tuple(map(list, zip(*records))),
            )

    def story_thread(self, story_id: str, sink: str) -> str | None:
        return self._one(
            "SELECT min(ts) FROM story_alerts WHERE story_id=%s AND sink=%s", (story_id, sink)
        )[0]

    # --- the story index -------------------------------------------------------------------------
    def prepare_stories(self) -> None:
        """Nothing to do: the story tables are part of the migrated schema (pg_schema.py)."""

    def lock_stories(self) -> None:
        """A transaction-level advisory lock: two workers that see copies of one story in the
        same second assign them one after the other, so only one founds it."""
        self._execute("SELECT pg_advisory_xact_lock(%s)", (pg_schema.STORY_LOCK,))

    def story_links(self, article_ids: Iterable[str]) -> dict[str, StoryLink]:
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        rows = self._all(f"{STORY_LINK_SELECT} = ANY(%s)", (ids,))
        return {row[0]: StoryLink(*row[1:]) for row in rows}

    def story_urls(self, url_keys: Iterable[str], lo: float, hi: float) -> UrlMatches:
        keys = sorted(set(url_keys))
        if not keys:
            return {}
        return story_urls(self._all(story_urls_select("= ANY(%s)", "%s"), (keys, lo, hi)))

    def story_candidates(self, bands: Sequence[int], lo: float, hi: float) -> list[StoryMatch]:
        if not bands:
            return []
        rows = self._all(
            "SELECT a.article_id, a.story_id, a.published, a.full_fp, a.title_fp, "
            "a.title_words, a.entities, m.bands FROM (SELECT seq, array_agg(band) AS bands "
            "FROM stories_bands WHERE band = ANY(%s::bigint[]) GROUP BY seq) AS m "
            "JOIN stories_articles a ON a.seq = m.seq "
            "WHERE a.published BETWEEN %s AND %s ORDER BY a.seq",
            (list(bands), lo, hi),
        )
        return [StoryMatch(*row[:6], split_set(row[6]), frozenset(row[7])) for row in rows]

    def story_mark(self) -> int:
        return self._one("SELECT coalesce(max(seq), 0) FROM stories_articles")[0]

    def story_chain(self) -> StoryChain | None:
        row = self._one("SELECT value FROM wirewatch_meta WHERE key = 'stories_chain'")
        return chain_of(row[0]) if row else None

    def save_story_chain(self, chain: StoryChain) -> None:
        self._execute(
            "INSERT INTO wirewatch_meta VALUES ('stories_chain', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (chain_value(chain),),
        )

    def story_changes(self, since: int, bands: Collection[int]) -> list[StoryChange]:
        rows = self._all(
            "SELECT a.article_id, a.story_id, a.url_key, EXISTS (SELECT 1 FROM stories_bands b "
            "WHERE b.seq = a.seq AND b.band = ANY(%s::bigint[])) FROM stories_articles a "
            "WHERE a.seq > %s",
            (list(bands), since),
        )
        return [StoryChange(*row) for row in rows]

    def story_heads(self, story_ids: Iterable[str]) -> dict[str, StoryHead]:
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        return story_heads(self._all(f"{STORY_HEAD_SELECT} = ANY(%s)", (ids,)))

    def save_stories(
        self, members: Sequence[tuple[StoryEntry, Sequence[int]]], clusters: Iterable[StoryCluster]
    ) -> None:
        """Three round trips whatever the batch size: the clusters' upsert and the members'
        insert over arrays, then their bucket entries by COPY (a bundle files ~48 per article;
        as rows of one INSERT they cost 2.5x the time, all of it under the story lock)."""
        clusters = list(clusters)
        with self._cursor() as cur:
            if clusters:
                cur.execute(_CLUSTER_GROWTH, [list(column) for column in zip(*clusters)])
            if not members:
                return
            values = [entry_values(e) for e, _ in members]
            cur.execute(_INSERT_MEMBERS, [list(column) for column in zip(*values)])
            seqs = dict(cur.fetchall())
            with cur.copy("COPY stories_bands (band, seq) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "int8"])
                for e, bands in members:
                    seq = seqs[e.article_id]
                    for band in dict.fromkeys(bands):  # a bucket twice is filed once
                        copy.write_row((band, seq))

    def prune_stories(self, index_before: float, keep_after: float) -> dict[str, int]:
        counts = {}
        with self._cursor() as cur:
            for name, sql, params in prune_story_steps(index_before, keep_after):
                rowcount = cur.execute(sql.replace("?", "%s"), params).rowcount
                if name:
                    counts[name] = rowcount
        return counts

    def story_members(self, story_id: str) -> list[StoryEntry]:
        rows = self._all(
            f"SELECT {ENTRY_COLUMNS} FROM stories_articles WHERE story_id=%s "
            "ORDER BY published, seq",
            (story_id,),
        )
        return [entry(row) for row in rows]

    def story_clusters(self, limit: int, min_size: int = 1) -> list[StoryCluster]:
        rows = self._all(
            f"SELECT {CLUSTER_COLUMNS} FROM stories_clusters WHERE size >= %s "
            "ORDER BY last_published DESC, story_id LIMIT %s",
            (min_size, limit),
        )
        return [StoryCluster(*row) for row in rows]

    def story_cluster(self, story_id: str) -> StoryCluster | None:
        row = self._one(
            f"SELECT {CLUSTER_COLUMNS} FROM stories_clusters WHERE story_id=%s", (story_id,)
        )
        return StoryCluster(*row) if row else None

    def story_counts(self) -> dict[str, int]:
        return {table: self._one(f"SELECT COUNT(*) FROM {table}")[0] for table in STORY_TABLES}

    # --- dead letters ----------------------------------------------------------------------------
    def add_dead_letters(self, letters: Iterable[DeadLetter]) -> None:
        rows = [
            (d.stage, d.source, d.reason, d.model_dump_json(), d.at, alert_key(d)) for d in letters
        ]
        if rows:
            with self._cursor() as cur:
                cur.executemany(
                    "INSERT INTO dead_letters (stage, source, reason, record, at, alert_key) "
                    "VALUES (%s,%s,%s,%s,%s,%s)",
                    rows,
                )

    def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        rows = self._all("SELECT record FROM dead_letters ORDER BY id DESC LIMIT %s", (limit,))
        return [DeadLetter.model_validate(json.loads(r[0])) for r in rows]

    def counts(self) -> dict[str, int]:
        out = {"schema": self.schema_version()}
        for table in ("feeds", "seen", "dead_letters"):
            out[table] = self._one(f"SELECT COUNT(*) FROM {table}")[0]
        out["dead_letters_resolved"] = self._one(
            "SELECT COUNT(*) FROM dead_letters WHERE resolved_at IS NOT NULL"
        )[0]
        for status, n in self._all("SELECT status, COUNT(*) FROM alerts GROUP BY status"):
            out[f"alerts_{status}"] = n
        # of the dead, those that wait for their sink (resent once it is back)
        out["alerts_dead_deferred"] = self._one(
            "SELECT COUNT(*) FROM alerts WHERE status='dead' AND deferred_at IS NOT NULL"
        )[0]
        return out

    # --- retention --------------------------------------------------------------------------------
    def prune(self, now: datetime, retention: Retention) -> dict[str, int]:
        with self.transaction(), self._cursor() as cur:
            return {
                table: cur.execute(sql.replace("?", "%s"), cutoffs).rowcount
                for table, sql, cutoffs in prune_steps(now, retention)
            }

    # --- copies between stores (state copy) ------------------------------------------------------
    def is_empty(self) -> bool:
        return not any(self._one(f"SELECT EXISTS (SELECT 1 FROM {table})")[0] for table in TABLES)

    def dump_rows(self, table: str) -> Iterator[tuple]:
        columns = ", ".join(TABLES[table])
        with self._connection() as conn, conn.transaction():
            with conn.cursor(name=f"dump_{table}") as cur:
                cur.itersize = 2000
                cur.execute(f"SELECT {columns} FROM {table}")
                yield from cur

    def load_rows(self, table: str, rows: list[tuple], seq_map: dict[int, int]) -> int:
        """Insert what the store lacks (natural keys decide); returns how many were new."""
        columns = TABLES[table]
        with self.transaction(), self._cursor() as cur:
            if table in STORY_TABLES:  # seqs in commit order, as every story save keeps them
                self.lock_stories()
            if table == "stories_articles":
                return self._load_story_articles(cur, rows, seq_map)
            if table == "stories_bands":
                rows = [(band, seq_map[seq]) for band, seq in rows if seq in seq_map]
            marks = ", ".join(["%s"] * len(columns))
            key = KEYS.get(table)  # no natural primary key: this column identifies a row
            if key:
                sql = (
                    f"INSERT INTO {table} ({', '.join(columns)}) SELECT {marks} "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {key} = %s)"
                )
                rows = [(*row, row[columns.index(key)]) for row in rows]
            else:
                sql = (
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
                    "ON CONFLICT DO NOTHING"
                )
            cur.executemany(sql, rows)
            return max(cur.rowcount, 0)

    def _load_story_articles(self, cur, rows: list[tuple], seq_map: dict[int, int]) -> int:
        columns = TABLES["stories_articles"][1:]  # the target numbers its own seq
        marks = ", ".join(["%s"] * len(columns))
        cur.executemany(
            f"INSERT INTO stories_articles ({', '.join(columns)}) VALUES ({marks}) "
            "ON CONFLICT (article_id) DO NOTHING",
            [row[1:] for row in rows],
        )
        inserted = max(cur.rowcount, 0)
        source_seq = {row[1]: row[0] for row in rows}
        for seq, article_id in cur.execute(
            "SELECT seq, article_id FROM stories_articles WHERE article_id = ANY(%s)",
            (list(source_seq),),
        ):
            seq_map[source_seq[article_id]] = seq
        return inserted
