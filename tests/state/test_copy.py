"""`state copy`: every table moves between backends, a second copy adds nothing, a non-empty
target is refused unless merging, and the copy reads back the same through the interface."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest

from tests.state.conftest import T0, Clock
from tests.state.test_contract import entry, found
from wirewatch.pipelines.cli import main
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.routing.flood import GroupState
from wirewatch.transforms.state import FeedState, Hold, StateStore, open_store
from wirewatch.transforms.state.copy import LEFT_OUT, TABLES, CopyRefused, copy_store
from wirewatch.transforms.state.interface import SinkHealth, StoryCluster
from wirewatch.transforms.state.sqlite import SqliteStore


def fill(store: StateStore) -> None:
    """Something in every table, through the interface only."""
    store.save_feed_state(FeedState(feed_id="f", etag='"e"', failures=1, next_due=T0))
    store.save_feed_ttl("g", 15)
    store.mark_seen(["a", "b", "c"])
    store.claim_alert("sent", "slack", '{"n": 1}')
    store.finish_alert("sent", "sent", 1)
    store.claim_alert("dead", "hook", '{"n": 2}')
    store.finish_alert("dead", "dead", 3, "HTTP 500")
    store.claim_alert("held", "slack", '{"n": 3}')
    store.save_group("grp", "slack", GroupState(due_at=T0 + timedelta(minutes=5)), Hold("held"))
    store.record_story_alert("s-a", "quake", "slack", "sent", "1700000000.1")
    store.add_dead_letters(
        [DeadLetter.of("fetch", "f", "HTTP 500"), DeadLetter.of("parse", "g", "bad")]
    )
    store.claim_alert("redelivered", "hook", '{"n": 4}')  # died, then went out: resolved
    store.finish_alert("redelivered", "dead", 1, "HTTP 503")
    store.add_dead_letters(
        [DeadLetter.of("deliver", "sink:hook", "HTTP 503", detail="redelivered", raw="{}")]
    )
    store.finish_alert("redelivered", "sent", 1)
    store.prepare_stories()
    found(store, entry("a", "s-a", 100.0, entities=frozenset({"p"})), [1, -2])
    b = entry("b", "s-a", 150.0, kind="copy", matched="a")
    store.save_stories([(b, [1, 3])], [StoryCluster("s-a", "a", "title a", 150.0, 150.0, 1, 0)])
    found(store, entry("c", "s-c", 120.0), [])
    store.save_sink_health(  # a sink parked by a long Retry-After: the copy keeps it parked
        SinkHealth(sink="hook", failures=2, down_until=T0 + timedelta(hours=1), reason="429")
    )


def read(store: StateStore) -> dict:
    """What the interface reads back, for comparing two stores."""
    store.prepare_stories()
    return {
        "feeds": store.feed_states(["f", "g"]),
        "seen": store.seen(["a", "b", "c", "d"]),
        "alerts": {k: store.alert(k) for k in ("sent", "dead", "held")},
        "held": [r.key for r in store.held_alerts("grp")],
        "group": store.group_state("grp"),
        "due": store.next_group_due(),
        "story_alert": store.story_alert("s-a", "quake", "slack"),
        "letters": [(d.stage, d.source, d.reason, d.at) for d in store.dead_letters()],
        "members": store.story_members("s-a") + store.story_members("s-c"),
        "clusters": store.story_clusters(10),
        "candidates": store.story_candidates([1, -2, 3], 0.0, 1000.0),
        "story_counts": store.story_counts(),
        "resolved": store.counts()["dead_letters_resolved"],
        "sink_health": [store.sink_health(sink) for sink in ("hook", "slack")],
    }


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'old' / 'state.sqlite3'}"


def test_sqlite_to_postgres_and_back_keeps_everything(sqlite_url, pg_url, tmp_path):
    clock = Clock()
    with open_store(sqlite_url, clock=clock) as source:
        fill(source)
        expected = read(source)
    with open_store(sqlite_url) as source, open_store(pg_url) as target:
        first = copy_store(source, target)
        assert first == {
            "feeds": 2,
            "seen": 3,
            "alerts": 4,
            "story_alerts": 1,
            "groups": 1,
            "dead_letters": 3,
            "sink_health": 1,
            "stories_articles": 3,
            "stories_bands": 4,
            "stories_clusters": 2,
        }
        assert read(target) == expected
        with pytest.raises(CopyRefused):
            copy_store(source, target)  # not empty, no merge
        assert copy_store(source, target, merge=True) == dict.fromkeys(TABLES, 0)
    back = f"sqlite:///{tmp_path / 'back' / 'state.sqlite3'}"
    with open_store(pg_url) as source, open_store(back) as target:
        assert copy_store(source, target) == first
        assert read(target) == expected


def test_a_merge_adds_only_what_the_target_lacks(sqlite_url, pg_url):
    with open_store(sqlite_url) as source:
        source.mark_seen(["a", "b"])
        source.add_dead_letters([DeadLetter.of("fetch", "f", "HTTP 500")])
    with open_store(pg_url) as target:
        target.mark_seen(["b", "z"])
    with open_store(sqlite_url) as source, open_store(pg_url) as target:
        copied = copy_store(source, target, merge=True)
        assert (copied["seen"], copied["dead_letters"]) == (1, 1)
        assert target.seen(["a", "b", "z"]) == {"a", "b", "z"}


def test_a_merge_into_a_live_store_loads_stories_under_the_story_lock(sqlite_url, pg_url):
    """Every story save takes the story lock, so seqs come in commit order; a merge's story
    rows taken before a worker's commit and committed after it would sit below what that
    commit's mark (and the parts' chain) says was seen."""
    with open_store(sqlite_url) as source:
        source.prepare_stories()
        found(source, entry("a", "s-a", 100.0), [1])
        rows = list(source.dump_rows("stories_articles"))
    with open_store(pg_url) as worker, open_store(pg_url) as target:
        locked, waited = threading.Event(), []

        def commit_slowly():
            with worker.transaction():
                worker.lock_stories()
                locked.set()
                time.sleep(0.5)

        committing = threading.Thread(target=commit_slowly)
        committing.start()
        locked.wait(10)
        started = time.monotonic()
        target.load_rows("stories_articles", rows, {})
        waited.append(time.monotonic() - started)
        committing.join(10)
        assert waited[0] >= 0.3


def test_the_command_prints_rows_per_table_and_refuses_a_full_target(
    sqlite_url, pg_url, tmp_path, capsys
):
    config = tmp_path / "wirewatch.yaml"
    config.write_text("feeds: []\n")
    with open_store(sqlite_url) as source:
        source.mark_seen(["a", "b"])
    args = ["state", "copy", "--config", str(config), "--from", sqlite_url, "--to", pg_url]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "seen: 2 rows" in out and "feeds: 0 rows" in out
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--merge" in err
    assert main([*args, "--merge", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["copied"] == dict.fromkeys(TABLES, 0)
    assert report["to"] == pg_url


def tables_of(store: StateStore) -> set[str]:
    """The tables a store holds, by their names in the copy's neutral form."""
    store.prepare_stories()
    if isinstance(store, SqliteStore):
        names = {
            r[0] for r in store._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        names = {"stories_bands" if n == "stories_bandsets" else n for n in names}
        return {n for n in names if not n.startswith("sqlite_")}
    rows = store._all(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    return {r[0] for r in rows}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_copy_moves_every_table_but_those_it_leaves_out_on_purpose(backend, request, tmp_path):
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    with open_store(url or f"sqlite:///{tmp_path / 'state.sqlite3'}") as store:
        tables = tables_of(store)
    assert set(TABLES) <= tables
    assert tables - set(TABLES) <= set(LEFT_OUT), "a new table: copy it, or say why not"


def test_copying_from_a_store_that_does_not_exist_is_refused(tmp_path, capsys):
    """It made an empty store there, copied 0 rows and exited 0 (so did the README's own
    example, whose three-slash URL meant a relative path)."""
    missing = f"sqlite:///{tmp_path}/nowhere/state.sqlite3"  # tmp_path is absolute: 4 slashes
    target = f"sqlite:///{tmp_path / 'to.sqlite3'}"
    assert main(["state", "copy", "--from", missing, "--to", target]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith(f"error: state copy: --from: {missing}: there is no state file ")
    assert err.endswith("Fix: check the path (an absolute one takes four slashes: sqlite:////PATH)")
    assert not (tmp_path / "nowhere").exists()
