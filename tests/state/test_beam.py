"""The state wrappers in real (in-process) pipelines: the cycle's commit claims every alert,
then commits (a bundle in one transaction), then releases the alerts for delivery; dead letters
reach the store and the file."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from datetime import datetime, timezone

import pytest

apache_beam = pytest.importorskip("apache_beam")

from apache_beam.pvalue import AsIter  # noqa: E402
from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # noqa: E402
from apache_beam.testing.util import assert_that, equal_to  # noqa: E402
from apache_beam.transforms.window import GlobalWindow  # noqa: E402

from tests.factories import alert, article  # noqa: E402
from wirewatch.transforms.ingest.dedupe import seen_hashes  # noqa: E402
from wirewatch.transforms.model import DeadLetter  # noqa: E402
from wirewatch.transforms.state import FeedState, Lease, open_store  # noqa: E402
from wirewatch.transforms.state.beam import (  # noqa: E402
    CommitCycle,
    WriteDeadLetters,
    _ClaimDoFn,
    _CommitDoFn,
)
from wirewatch.transforms.state.owner import claim_owner  # noqa: E402

DUE = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)
ARTICLES = [
    article("Talks resume", link="https://example.org/a", feed_id="one"),
    article("Storm closes schools", link=None, feed_id="one"),
    article("Budget passes", link="https://example.org/c", feed_id="two"),
]
SEEN = [seen_hashes(a) for a in ARTICLES]  # what the cycle hands CommitCycle per article
KEYS = [a.id for a in ARTICLES] + ["link:https://example.org/a", "link:https://example.org/c"]
ALERTS = [alert(sink=sink, title="Quake", id="q1") for sink in ("console", "slack")]
STATES = [
    FeedState(feed_id="one", etag='"1"', next_due=DUE, last_status="ok"),
    FeedState(feed_id="two", etag='"2"', next_due=DUE, last_status="not_modified"),
]


def what_is_committed(location: str) -> tuple[int, tuple]:
    """Seen keys and feed etags in the store right now, read by a connection of our own."""
    with open_store(location) as store:
        etags = tuple(store.feed_state(f).etag for f in ("one", "two"))
        return len(store.seen(KEYS)), etags


def released(location: str, alert) -> tuple[str, str | None, tuple]:
    """What the store holds when an alert leaves CommitCycle: its claim, and what is committed."""
    with open_store(location) as store:
        record = store.alert(alert.key)
    return alert.key, record.status if record else None, what_is_committed(location)


def test_every_alert_is_claimed_and_the_cycle_committed_before_a_sending_stage_starts(tmp_path):
    location = str(tmp_path)
    pipeline = apache_beam.Pipeline(runner=FnApiRunner())
    to_commit = pipeline | "ToCommit" >> apache_beam.Create([*SEEN, *STATES])
    alerts = pipeline | "Alerts" >> apache_beam.Create(ALERTS)
    out = (alerts, to_commit) | CommitCycle(location, lease_seconds=60)
    # as Deliver sends: in a stage that reads `done` as a side input
    seen = out.alerts | "Released" >> apache_beam.Map(
        lambda a, done: released(location, a), AsIter(out.done)
    )
    everything = (len(KEYS), ('"1"', '"2"'))
    assert_that(seen, equal_to([(a.key, "sending", everything) for a in ALERTS]))
    pipeline.run().wait_until_finish()
    with open_store(location) as store:
        assert store.seen(KEYS + ["other"]) == set(KEYS)
        assert store.feed_states(["one", "two"]) == {s.feed_id: s for s in STATES}
        last_claim = max(store.alert(a.key).updated_at for a in ALERTS)
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:  # when the seen keys were written
        first_seen = datetime.fromisoformat(
            db.execute("SELECT min(seen_at) FROM seen").fetchone()[0]
        )
    assert last_claim <= first_seen  # every claim was written before the commit began


def test_a_cycle_that_dies_before_its_alerts_are_claimed_commits_nothing(tmp_path):
    location = str(tmp_path)

    def route(alert):
        raise RuntimeError("the routing stage died")

    pipeline = apache_beam.Pipeline(runner=FnApiRunner())
    to_commit = pipeline | "ToCommit" >> apache_beam.Create([*SEEN, *STATES])
    alerts = pipeline | "Alerts" >> apache_beam.Create(ALERTS) | apache_beam.Map(route)
    _ = (alerts, to_commit) | CommitCycle(location, lease_seconds=60)
    with pytest.raises(Exception, match="the routing stage died"):
        pipeline.run().wait_until_finish()
    assert what_is_committed(location) == (0, (None, None))


def test_a_bundle_of_alerts_is_claimed_in_one_step_under_the_workers_name(tmp_path):
    fn = _ClaimDoFn(str(tmp_path), lease_seconds=60, owner="host-a:1")
    fn.setup()
    fn.store = counting = CountingTransactions(fn.store)
    fn.start_bundle()
    for a in ALERTS:
        assert fn.process(a, timestamp=0, window=GlobalWindow()) is None
    assert list(fn.finish_bundle()) and counting.claim_steps == 1  # claim_alerts: atomic
    # the Dispatcher of the same worker takes each claim again; another worker cannot
    for a in ALERTS:
        assert fn.store.alert(a.key).lease_owner == "host-a:1"
        assert fn.store.claim_alert(a.key, a.sink, "{}", Lease("host-a:1", 60))
        assert not fn.store.claim_alert(a.key, a.sink, "{}", Lease("host-b:2", 60))
    fn.teardown()


class CountingTransactions:
    """Wraps a store and counts the outermost transactions it opens, and its claim steps."""

    def __init__(self, store):
        self.inner, self.opened, self.claim_steps = store, 0, 0

    def transaction(self):
        self.opened += 1
        return self.inner.transaction()

    def claim_alerts(self, alerts, lease, **kwargs):
        self.claim_steps += 1
        return self.inner.claim_alerts(alerts, lease, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_bundle_is_buffered_and_committed_in_one_transaction(tmp_path):
    fn = _CommitDoFn(str(tmp_path))
    fn.setup()
    fn.store = counting = CountingTransactions(fn.store)
    fn.start_bundle()
    for item in [*SEEN, *STATES]:
        assert list(fn.process(item, 3)) == []
    assert what_is_committed(str(tmp_path)) == (0, (None, None))  # nothing before the bundle ends
    fn.finish_bundle()
    assert counting.opened == 1
    assert what_is_committed(str(tmp_path)) == (len(KEYS), ('"1"', '"2"'))
    fn.start_bundle()
    fn.finish_bundle()  # an empty bundle writes nothing
    assert counting.opened == 1
    fn.teardown()


def test_dead_letters_reach_the_store_and_the_jsonl_file(tmp_path):
    location, path = str(tmp_path / "state"), tmp_path / "out" / "dead.jsonl"
    letters = [
        DeadLetter.of("fetch", "one", "HTTP 500", detail="https://one.example/rss"),
        DeadLetter.of("parse", "two", "not a feed", raw=b"<html>"),
        DeadLetter.of("deliver", "sink:slack", "HTTP 404"),
    ]
    pipeline = apache_beam.Pipeline(runner=FnApiRunner())
    written = pipeline | apache_beam.Create(letters) | WriteDeadLetters(location, str(path))
    assert_that(written, equal_to([]))
    pipeline.run().wait_until_finish()
    with open_store(location) as store:
        stored = store.dead_letters()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    key = lambda d: (d["stage"], d["source"], d["reason"], d["detail"], d["raw"])  # noqa: E731
    expected = sorted(key(d.model_dump(mode="json")) for d in letters)
    assert sorted(key(d.model_dump(mode="json")) for d in stored) == expected
    assert sorted(key(line) for line in lines) == expected


def test_the_claim_owner_is_the_drivers_name_else_this_process(monkeypatch):
    monkeypatch.setenv("WIREWATCH_WORKER", "driver:1")
    assert claim_owner() == "driver:1"
    assert CommitCycle("x", lease_seconds=60).owner == "driver:1"
    monkeypatch.delenv("WIREWATCH_WORKER")
    assert claim_owner() == f"{socket.gethostname()}:{os.getpid()}"
