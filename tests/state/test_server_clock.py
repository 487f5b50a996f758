"""Leases on a shared store are timed by its server's clock, not by each host's.

A host whose wall clock runs ahead is played by `time_machine` (it moves this process's wall
clock, as a host's own clock would be off; the monotonic clock and the server's are untouched).
Without the server's clock, that host took another worker's live claim and feed lease for
ended ones, and one running behind waited an hour past a dead worker's lease."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import psycopg
import time_machine

from tests.factories import alert
from wirewatch.pipelines.watch import SystemClock, lease_feeds, live_workers
from wirewatch.transforms.config import Config, FeedConfig
from wirewatch.transforms.sinks.dispatch import Dispatcher
from wirewatch.transforms.state import Lease, open_store
from wirewatch.transforms.state.server_clock import ServerClock

HOUR = timedelta(hours=1)


class Recorder:
    name = "rec"

    def __init__(self):
        self.sent: list[str] = []

    def send(self, a, **_):
        self.sent.append(a.key)

    def close(self):
        pass


def server_time(pg_url: str) -> datetime:
    with psycopg.connect(pg_url) as conn:
        return conn.execute("SELECT clock_timestamp()").fetchone()[0]


def a_host_clock_off_by(offset: timedelta) -> time_machine.travel:
    return time_machine.travel(datetime.now(timezone.utc) + offset, tick=True)


def test_the_store_tells_the_servers_time_whatever_this_hosts_clock_says(pg_url):
    with a_host_clock_off_by(HOUR), open_store(pg_url) as store:
        assert abs(store.now() - datetime.now(timezone.utc) + HOUR) < timedelta(seconds=5)
        assert abs(store.now() - server_time(pg_url)) < timedelta(seconds=1)
        assert store.now().tzinfo is not None and store.now().utcoffset() == timedelta(0)


def test_a_host_whose_clock_runs_ahead_leaves_another_workers_live_claim_alone(pg_url):
    offered, recorder = alert(sink="rec"), Recorder()
    with open_store(pg_url) as first:
        assert first.claim_alert(offered.key, "rec", offered.model_dump_json(), Lease("a", 60))
        with a_host_clock_off_by(HOUR), open_store(pg_url) as store:
            dispatcher = Dispatcher(Config(), store, lambda name: recorder, owner="b")
            assert dispatcher.reoffer_expired("rec") == []
            assert store.alert(offered.key).lease_owner == "a"
        assert recorder.sent == []


def test_a_host_whose_clock_runs_ahead_leaves_another_workers_feed_lease_alone(pg_url):
    feeds = [FeedConfig(id="wire", url="https://example.org/wire.xml")]
    with open_store(pg_url) as first:
        first.heartbeat("a", "host-a", 1)
        assert first.lease_due_feeds(["wire"], Lease("a", 60), first.now()) == ["wire"]
        with a_host_clock_off_by(HOUR), open_store(pg_url) as store:
            store.heartbeat("b", "host-b", 2)
            now = SystemClock(store).now()
            assert live_workers(store, now, 60) == 2
            assert lease_feeds(feeds, store, "b", now, 60) == []


def test_a_host_whose_clock_runs_behind_takes_a_dead_workers_claim_when_it_ends(pg_url):
    offered, recorder = alert(sink="rec"), Recorder()
    with open_store(pg_url) as first:
        assert first.claim_alert(offered.key, "rec", offered.model_dump_json(), Lease("a", 1))
    time.sleep(1.5)  # "a" died: its one-second lease is over on the server's clock
    with a_host_clock_off_by(-HOUR), open_store(pg_url) as store:
        dispatcher = Dispatcher(Config(), store, lambda name: recorder, owner="b")
        assert [o.status for o in dispatcher.reoffer_expired("rec")] == ["sent"]
    assert recorder.sent == [offered.key]


def test_the_server_is_asked_once_then_again_after_the_reread_interval():
    asked = []

    def read() -> datetime:
        asked.append(1)
        return datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=len(asked))

    clock = ServerClock(read, reread=3600)
    first = clock()
    time.sleep(0.05)
    later = clock()
    assert len(asked) == 1 and timedelta(seconds=0.04) < later - first < timedelta(seconds=1)
    assert ServerClock(read, reread=0)().date().day == 3  # stale at once: asked again


def test_a_claims_lease_ends_on_the_stores_clock(store, clock):
    """Every backend: the store's `now` is the clock its leases are computed by."""
    offered = alert(sink="rec")
    assert store.now() == clock.now
    assert store.claim_alert(offered.key, "rec", offered.model_dump_json(), Lease("a", 60))
    assert store.alert(offered.key).lease_until == store.now() + timedelta(seconds=60)
