"""Schema migrations for sink health (SQLite 5 -> 6, PostgreSQL 2 -> 3): a store written
before it gains the sink_health table and alerts.deferred_at, its ledger intact."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from tests.state.conftest import T0, Clock
from wirewatch.transforms.state import open_store, pg_schema, sqlite_schema
from wirewatch.transforms.state.interface import SinkHealth
from wirewatch.transforms.state.sqlite import FILENAME


def written_before_and_reopened(location: str) -> None:
    """The old store holds one dead alert; reopened, it migrates and serves sink health."""
    with open_store(location, clock=Clock()) as store:
        assert store.counts()["schema"] == (
            pg_schema.SCHEMA_VERSION
            if location.startswith("postgresql")
            else sqlite_schema.SCHEMA_VERSION
        )
        [old] = store.alerts("dead")
        assert (old.key, old.error, old.deferred_at) == ("r|a|slack", "HTTP 500", None)
        assert store.deferred_alerts("slack", T0) == []  # nothing old is resent by itself
        until = T0 + timedelta(minutes=1)
        store.save_sink_health(SinkHealth(sink="slack", failures=1, down_until=until))
        assert store.sink_health("slack").down_until == until


def test_a_version_5_sqlite_file_gains_sink_health(tmp_path):
    with open_store(tmp_path, clock=Clock()) as store:
        store.claim_alert("r|a|slack", "slack", "{}")
        store.finish_alert("r|a|slack", "dead", 1, "HTTP 500")
    db = sqlite3.connect(tmp_path / FILENAME)
    db.executescript(
        "DROP INDEX alerts_deferred_idx; ALTER TABLE alerts DROP COLUMN deferred_at; "
        "DROP TABLE sink_health; UPDATE meta SET value='5' WHERE key='schema';"
    )
    db.close()
    written_before_and_reopened(f"sqlite:///{tmp_path / FILENAME}")


def test_a_version_2_postgres_database_gains_sink_health(pg_url):
    import psycopg

    with open_store(pg_url, clock=Clock()) as store:
        store.claim_alert("r|a|slack", "slack", "{}")
        store.finish_alert("r|a|slack", "dead", 1, "HTTP 500")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE alerts DROP COLUMN deferred_at")  # its index goes with it
        conn.execute("DROP TABLE sink_health")
        conn.execute("UPDATE wirewatch_meta SET value='2' WHERE key='schema'")
    written_before_and_reopened(pg_url)
