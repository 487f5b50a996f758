"""The SQLite store's own side of leases: a version 3 file gains the lease columns and keeps
its data, and one delivering owner per file, held by an OS lock, seen from real processes."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
from datetime import timedelta

import pytest

from tests.state.conftest import T0, Clock
from wirewatch.transforms.state import Lease, open_store
from wirewatch.transforms.state.interface import StoreBusy
from wirewatch.transforms.state.owner import lock_path
from wirewatch.transforms.state.sqlite import FILENAME, SCHEMA_VERSION
from wirewatch.transforms.state.sqlite_schema import MIGRATIONS

V3_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE feeds (
  feed_id TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, failures INTEGER NOT NULL DEFAULT 0,
  next_due TEXT, last_status TEXT, last_error TEXT, updated_at TEXT NOT NULL,
  ttl_minutes INTEGER);
CREATE TABLE seen (key TEXT PRIMARY KEY, seen_at TEXT NOT NULL);
CREATE TABLE alerts (
  key TEXT PRIMARY KEY, sink TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
  error TEXT, payload TEXT NOT NULL, updated_at TEXT NOT NULL, group_key TEXT);
CREATE TABLE story_alerts (
  story_id TEXT NOT NULL, rule_id TEXT NOT NULL, sink TEXT NOT NULL, alert_key TEXT NOT NULL,
  ts TEXT, PRIMARY KEY (story_id, rule_id, sink));
CREATE TABLE groups (
  group_key TEXT PRIMARY KEY, sink TEXT NOT NULL, state TEXT NOT NULL, due_at TEXT);
CREATE TABLE dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT, stage TEXT NOT NULL, source TEXT NOT NULL,
  reason TEXT NOT NULL, record TEXT NOT NULL, at TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '3');
INSERT INTO feeds VALUES ('f', '"e"', NULL, 1, '2026-11-01T11:00:00+00:00', 'ok', NULL,
  '2026-11-01T10:00:00+00:00', 15);
INSERT INTO seen VALUES ('article-1', '2026-11-01T00:00:00+00:00');
INSERT INTO alerts VALUES ('r|a|hook', 'hook', 'sent', 1, NULL, '{}',
  '2026-11-01T00:00:00+00:00', NULL);
INSERT INTO alerts VALUES ('r|b|hook', 'hook', 'sending', 0, NULL, '{"b": 1}',
  '2026-11-01T00:00:01+00:00', NULL);
"""


# --- schema 3 -> 4 ----------------------------------------------------------------------------
def test_a_version_3_file_gains_leases_and_keeps_its_data(tmp_path):
    db = sqlite3.connect(tmp_path / FILENAME)
    db.executescript(V3_SCHEMA)
    db.close()

    store = open_store(tmp_path, clock=Clock())
    assert SCHEMA_VERSION >= 4 and store.counts()["schema"] == SCHEMA_VERSION
    assert store.seen(["article-1"]) == {"article-1"}
    state = store.feed_state("f")
    assert (state.etag, state.failures, state.ttl_minutes) == ('"e"', 1, 15)
    # the 'sending' claim of a crash before leases existed has no lease: expired, re-offered
    [stuck] = store.expired_claims("hook", T0)
    assert (stuck.key, stuck.payload, stuck.lease_owner, stuck.lease_until) == (
        "r|b|hook",
        '{"b": 1}',
        None,
        None,
    )
    assert store.claim_alert("r|a|hook", "hook", "{}", Lease("w")) is False  # sent: never again
    assert store.claim_alert("r|b|hook", "hook", "{}", Lease("w")) is True
    assert store.expired_claims(None, T0) == []
    assert store.lease_due_feeds(["f"], Lease("w", 60), T0) == ["f"]
    store.heartbeat("w", "h", 1)
    assert [(w.worker, w.leases) for w in store.workers()] == [("w", ["f"])]
    store.close()

    db = sqlite3.connect(tmp_path / FILENAME)
    MIGRATIONS[4](db)  # idempotent: a step that runs again changes nothing
    columns = {
        t: {r[1] for r in db.execute(f"PRAGMA table_info({t})")} for t in ("alerts", "feeds")
    }
    db.close()
    assert {"lease_owner", "lease_until"} <= columns["alerts"] & columns["feeds"]
    with open_store(tmp_path, clock=Clock(T0 + timedelta(minutes=1))) as again:
        assert again.alert("r|b|hook").lease_owner == "w"


# --- one owner per file -----------------------------------------------------------------------
OWNER = """
import sys
from wirewatch.transforms.state import open_store
from wirewatch.transforms.state.interface import StoreBusy

store = open_store(sys.argv[1])
try:
    store.acquire_owner(sys.argv[2])
except StoreBusy as exc:
    print("busy", exc, flush=True)
    sys.exit(2)
store.mark_seen([sys.argv[2]])
print("owner", flush=True)
sys.stdin.readline()  # hold it until the test says so
store.close()
print("closed", flush=True)
"""


def start_owner(state_dir, worker: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", OWNER, str(state_dir), worker],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def second_owner(state_dir, worker: str) -> tuple[int, str]:
    proc = start_owner(state_dir, worker)
    out, err = proc.communicate("\n", timeout=60)
    return proc.returncode, out + err


@pytest.fixture
def first(tmp_path):
    proc = start_owner(tmp_path, "first")
    assert proc.stdout.readline().strip() == "owner", proc.stderr.read()
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_a_second_process_is_refused_naming_the_owners_pid_and_host(tmp_path, first):
    code, output = second_owner(tmp_path, "second")
    assert code == 2, output
    [line] = output.strip().splitlines()  # one line, no traceback
    who = f"pid {first.pid} on {socket.gethostname()}"
    assert line.startswith("busy ")
    assert who in line
    assert f"stop the other wirewatch ({who}) or use another --state-dir" in line
    first.communicate("\n", timeout=30)  # the owner stops: the store is free again
    assert second_owner(tmp_path, "third")[0] == 0


def test_an_owner_killed_with_sigkill_leaves_no_stale_lock(tmp_path, first):
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    code, output = second_owner(tmp_path, "after")
    assert code == 0, output
    with open_store(tmp_path) as store:
        assert store.seen(["first", "after"]) == {"first", "after"}


def test_opening_the_store_never_takes_ownership(tmp_path, first):
    with open_store(tmp_path) as helper:  # a Beam worker of the owner opens it too
        helper.mark_seen(["from-a-helper"])
        assert helper.seen(["first"]) == {"first"}
        with pytest.raises(StoreBusy) as caught:  # but it cannot become an owner
            helper.acquire_owner("helper")
    assert str(first.pid) in str(caught.value)
    assert lock_path(tmp_path / FILENAME).exists()


def test_the_lock_file_names_the_holder_and_is_private(tmp_path, first):
    path = lock_path(tmp_path / FILENAME)
    assert path.name == f"{FILENAME}.lock"
    assert f'"pid": {first.pid}' in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600


def test_taking_ownership_ends_the_leases_of_every_other_name(tmp_path):
    clock = Clock()
    with open_store(tmp_path, clock=clock) as before:  # a process that died holding leases
        before.claim_alert("theirs", "slack", "{}", Lease("old", 600))
        before.claim_alert("mine", "slack", "{}", Lease("new", 600))
        before.lease_due_feeds(["f", "g"], Lease("old", 600), T0)
    with open_store(tmp_path, clock=clock) as store:
        store.acquire_owner("new")
        assert [r.key for r in store.expired_claims(None, T0)] == ["theirs"]  # at once
        assert store.alert("mine").lease_until == T0 + timedelta(seconds=600)
        assert store.lease_due_feeds(["f", "g"], Lease("new", 60), T0) == ["f", "g"]
