"""The content hash kept with a seen key (an edited entry is evaluated again), on every backend:
read back in one batch, replaced by a later record without refreshing the key's time, unknown
(None) for keys marked without one and for rows an older schema wrote, and carried by a copy."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from tests.state.conftest import Clock
from wirewatch.transforms.state import open_store
from wirewatch.transforms.state.copy import copy_store
from wirewatch.transforms.state.sqlite import FILENAME


def test_seen_hashes_answers_many_keys_at_once_with_their_hash(store):
    keys = [f"k{i}" for i in range(1234)]  # more than one chunk of any IN (...) list
    store.record_seen({key: f"h{key}" for key in keys[::2]})
    store.mark_seen(["plain"])  # marked without a hash: unknown
    found = store.seen_hashes(keys + ["plain"])
    assert found == {**{key: f"h{key}" for key in keys[::2]}, "plain": None}
    assert store.seen(keys) == set(keys[::2])  # the hash changes nothing for `seen`
    assert store.seen_hashes([]) == {}
    store.record_seen({})


def test_a_new_hash_replaces_the_old_one_and_keeps_the_keys_time(store, clock, connect):
    store.record_seen({"a": "one", "b": "one"})
    clock.advance(days=40)
    store.record_seen({"a": "two"})  # an edit committed: not a refresh
    store.record_seen({"plain": "x"})
    assert connect().seen_hashes(["a", "b", "plain"]) == {"a": "two", "b": "one", "plain": "x"}
    assert store.prune_seen(timedelta(days=30)) == 2  # a and b kept their first time


def test_a_hash_recorded_inside_a_failed_transaction_is_undone(store):
    store.record_seen({"a": "one"})
    try:
        with store.transaction():
            store.record_seen({"a": "two"})
            raise RuntimeError("crash before the commit ends")
    except RuntimeError:
        pass
    assert store.seen_hashes(["a"]) == {"a": "one"}  # the edit is evaluated again next cycle


def test_a_version_6_sqlite_file_keeps_its_seen_keys_with_an_unknown_hash(tmp_path):
    with open_store(tmp_path, clock=Clock()) as store:
        store.mark_seen(["old"])
    db = sqlite3.connect(tmp_path / FILENAME)
    db.executescript(
        "ALTER TABLE seen DROP COLUMN hash; UPDATE meta SET value='6' WHERE key='schema';"
    )
    db.close()
    with open_store(tmp_path, clock=Clock()) as store:
        assert store.seen_hashes(["old"]) == {"old": None}
        store.record_seen({"old": "adopted"})
        assert store.seen_hashes(["old"]) == {"old": "adopted"}


def test_a_version_3_postgres_database_keeps_its_seen_keys_with_an_unknown_hash(pg_url):
    import psycopg

    with open_store(pg_url, clock=Clock()) as store:
        store.mark_seen(["old"])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE seen DROP COLUMN hash")
        conn.execute("UPDATE wirewatch_meta SET value='3' WHERE key='schema'")
    with open_store(pg_url, clock=Clock()) as store:
        assert store.seen_hashes(["old"]) == {"old": None}
        store.record_seen({"old": "adopted"})
        assert store.seen_hashes(["old"]) == {"old": "adopted"}


def test_a_copy_carries_the_hashes(tmp_path, pg_url):
    with open_store(tmp_path, clock=Clock()) as source:
        source.record_seen({"a": "one"})
        source.mark_seen(["b"])
        with open_store(pg_url, clock=Clock()) as target:
            copy_store(source, target)
            assert target.seen_hashes(["a", "b"]) == {"a": "one", "b": None}


def test_story_thread_is_the_storys_first_message_on_the_sink_whichever_rule(store):
    assert store.story_thread("s1", "slack") is None
    store.record_story_alert("s1", "oil", "slack", "oil|a|slack", "1795701900.000200")
    store.record_story_alert("s1", "energy", "slack", "energy|a|slack", "1795701800.000100")
    store.record_story_alert("s1", "oil", "hook", "oil|a|hook", None)  # no threads there
    store.record_story_alert("s2", "oil", "slack", "oil|b|slack", "1795700000.000100")
    assert store.story_thread("s1", "slack") == "1795701800.000100"
    assert store.story_thread("s1", "hook") is None
