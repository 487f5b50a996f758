"""The SQLite backend's own promises: the file across versions and processes (migrations,
refusal of newer files, several processes opening a new file at once), where a location puts
the file, and the story look-up's query plan."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3

import pytest

from tests.state.conftest import T0, Clock
from tests.state.test_sqlite_leases import V3_SCHEMA
from wirewatch.transforms.errors import WirewatchError
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.state import Retention, StoreLocationError, open_store
from wirewatch.transforms.state.faults import StoreFault
from wirewatch.transforms.state.sqlite import FILENAME, SCHEMA_VERSION, SqliteStore
from wirewatch.transforms.state.sqlite_schema import MIGRATIONS
from wirewatch.transforms.state.sqlite_stories import CANDIDATES

V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE feeds (
  feed_id TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, failures INTEGER NOT NULL DEFAULT 0,
  next_due TEXT, last_status TEXT, last_error TEXT, updated_at TEXT NOT NULL);
CREATE TABLE seen (key TEXT PRIMARY KEY, seen_at TEXT NOT NULL);
CREATE TABLE alerts (
  key TEXT PRIMARY KEY, sink TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
  error TEXT, payload TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT, stage TEXT NOT NULL, source TEXT NOT NULL,
  reason TEXT NOT NULL, record TEXT NOT NULL, at TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1');
INSERT INTO seen VALUES ('article-1', '2026-11-01T00:00:00+00:00');
INSERT INTO alerts VALUES ('r|a|hook', 'hook', 'sent', 1, NULL, '{}', '2026-11-01T00:00:00+00:00');
"""


def schema_of(path) -> tuple[str, set[str]]:
    db = sqlite3.connect(path)
    version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0]
    columns = {row[1] for row in db.execute("PRAGMA table_info(alerts)")}
    db.close()
    return version, columns


# --- the file across versions and processes ---------------------------------------------------
def test_a_version_1_file_is_migrated_and_keeps_its_data(tmp_path):
    db = sqlite3.connect(tmp_path / FILENAME)
    db.executescript(V1_SCHEMA)
    db.close()

    store = open_store(tmp_path)
    assert store.seen(["article-1"]) == {"article-1"}
    assert store.claim_alert("r|a|hook", "hook", "{}") is False  # still sent: never again
    assert store.claim_alert("r|b|hook", "hook", "{}") is True
    store.close()
    version, columns = schema_of(tmp_path / FILENAME)
    assert version == str(SCHEMA_VERSION) and "group_key" in columns


def test_a_version_4_file_gains_retention_and_resolves_its_old_dead_letters(tmp_path):
    """Schema 5: a delivery dead letter written before it names its alert only inside the
    record; the migration files it under that alert, so sending the alert resolves it, and
    the groups table gains the time that retention prunes idle groups by."""
    db = sqlite3.connect(tmp_path / FILENAME)
    db.executescript(V3_SCHEMA)
    MIGRATIONS[4](db)
    old = DeadLetter.of("deliver", "sink:hook", "HTTP 500", detail="r|c|hook")
    db.execute(
        "INSERT INTO dead_letters (stage, source, reason, record, at) VALUES (?,?,?,?,?)",
        ("deliver", "sink:hook", "HTTP 500", old.model_dump_json(), old.at.isoformat()),
    )
    db.execute("INSERT INTO groups VALUES ('g', 'hook', '{}', NULL)")
    db.execute("UPDATE meta SET value='4' WHERE key='schema'")
    db.commit()
    db.close()

    with open_store(tmp_path, clock=Clock()) as store:
        assert store.counts()["schema"] == SCHEMA_VERSION
        store.claim_alert("r|c|hook", "hook", "{}")
        store.finish_alert("r|c|hook", "sent", 1)
        assert store.counts()["dead_letters_resolved"] == 1
        days = {"seen_days": 30, "ledger_days": 60, "dead_letter_days": 30, "group_days": 7}
        assert (
            store.prune(T0, Retention(**days))["groups"] == 1
        )  # no time known, nothing held or due


def test_a_file_from_a_newer_wirewatch_is_refused(tmp_path):
    open_store(tmp_path).close()
    db = sqlite3.connect(tmp_path / FILENAME)
    db.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    with pytest.raises(StoreFault, match="newer than this wirewatch") as refused:
        open_store(tmp_path)
    assert refused.value.kind == "newer"


def _open_and_write(state_dir, barrier, results):
    barrier.wait()
    try:
        for n in range(10):
            store = open_store(state_dir)
            store.mark_seen([f"k{n}"])
            store.close()
        results.put("ok")
    except Exception as exc:  # noqa: BLE001  (reported to the test)
        results.put(repr(exc))


def test_several_processes_can_open_a_new_file_at_once(tmp_path):
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [
        ctx.Process(target=_open_and_write, args=(str(tmp_path), barrier, results))
        for _ in range(4)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(10)
    assert outcomes == ["ok"] * 4
    assert open_store(tmp_path).seen([f"k{n}" for n in range(10)]) == {f"k{n}" for n in range(10)}


def test_the_file_is_in_wal_mode(tmp_path):
    with open_store(tmp_path):
        pass
    db = sqlite3.connect(tmp_path / FILENAME)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


# --- locations --------------------------------------------------------------------------------
def test_a_state_directory_and_a_sqlite_url_name_the_same_file(tmp_path, monkeypatch):
    with open_store(tmp_path / "dir") as store:
        assert isinstance(store, SqliteStore)
        assert store.location == str(tmp_path / "dir" / FILENAME)
        store.mark_seen(["a"])
    with open_store(f"sqlite:///{tmp_path / 'dir' / FILENAME}") as same:
        assert same.seen(["a"]) == {"a"}
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///relative/wire.db") as relative:  # three slashes: relative path
        assert relative.location == "relative/wire.db"
    assert (tmp_path / "relative" / "wire.db").exists()


@pytest.mark.parametrize(
    "location, says",
    [
        ("mysql://ann:s3cret@db.example:3306/wire", "unknown state store URL scheme 'mysql'"),
        ("redis://localhost/0", "unknown state store URL scheme 'redis'"),
        ("sqlite://host/state.db", "needs the database file's path"),
        ("sqlite:///", "needs the database file's path"),
    ],
)
def test_a_location_no_backend_takes_is_one_clear_error(location, says):
    with pytest.raises(StoreLocationError) as caught:
        open_store(location)
    assert isinstance(caught.value, WirewatchError)
    message = str(caught.value)
    assert says in message
    assert "s3cret" not in message  # the URL is named, its password is not
    assert message.startswith(location.replace("s3cret", "***") + ": ")
    assert "a state directory DIR" in message and "sqlite:///PATH" in message


# --- the story look-up ------------------------------------------------------------------------
def test_story_lookup_reads_candidates_by_key_never_scans(tmp_path):
    """The buckets are looked up in memory (band_index.py); the candidates' rows by seq."""
    with open_store(tmp_path) as store:
        store.prepare_stories()
        plan = store._db.execute(  # white box: this backend's query plan
            "EXPLAIN QUERY PLAN " + CANDIDATES, ("[1, 2, 3]", 0.0, 1.0)
        ).fetchall()
    text = " ".join(row[-1] for row in plan)
    assert "SEARCH stories_articles USING INTEGER PRIMARY KEY" in text, text
    assert not re.search(r"SCAN stories_", text), text  # the seq list itself is read whole
