"""The state store file across versions and processes: migrations, refusal of newer files,
several processes opening a new file at once."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from wirewatch.transforms.state.sqlite import SCHEMA_VERSION, StateStore

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


def test_a_version_1_file_is_migrated_and_keeps_its_data(tmp_path):
    db = sqlite3.connect(tmp_path / StateStore.FILENAME)
    db.executescript(V1_SCHEMA)
    db.close()

    store = StateStore(tmp_path)
    assert store.seen(["article-1"]) == {"article-1"}
    assert store.claim_alert("r|a|hook", "hook", "{}") is False  # still sent: never again
    assert store.claim_alert("r|b|hook", "hook", "{}") is True
    store.close()
    version, columns = schema_of(tmp_path / StateStore.FILENAME)
    assert version == str(SCHEMA_VERSION) and "group_key" in columns


def test_a_file_from_a_newer_wirewatch_is_refused(tmp_path):
    StateStore(tmp_path).close()
    db = sqlite3.connect(tmp_path / StateStore.FILENAME)
    db.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    with pytest.raises(RuntimeError, match="newer than this wirewatch"):
        StateStore(tmp_path)


def _open_and_write(state_dir, barrier, results):
    barrier.wait()
    try:
        for n in range(10):
            store = StateStore(state_dir)
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
    assert StateStore(tmp_path).seen([f"k{n}" for n in range(10)]) == {f"k{n}" for n in range(10)}
