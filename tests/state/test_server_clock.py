"""Leases on a shared store are timed by its server's clock, not by each host's.

A host whose wall clock runs ahead is played by `time_machine` (it moves this process's wall
clock, as a host's own clock would be off; the monotonic clock and the server's are untouched).
Without the server's clock, that host took another worker's live claim and feed lease for
ended ones, and one running behind waited an hour past a dead worker's lease."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
import time_machine

from tests.factories import alert
from tests.state.conftest import T0
from tests.test_watch_loop import FakeRunner, config_with
from wirewatch.pipelines.watch import SystemClock, keeping_leases, lease_feeds, live_workers, watch
from wirewatch.transforms.config import Config, FeedConfig
from wirewatch.transforms.sinks.dispatch import Dispatcher
from wirewatch.transforms.state import Lease, StoreUnavailable, open_store, postgres
from wirewatch.transforms.state.postgres import PostgresStore
from wirewatch.transforms.state.server_clock import Reading, ServerClock

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


def test_keeping_leases_renews_a_claim_to_the_servers_time_on_a_host_running_behind(pg_url):
    offered = alert(sink="rec")
    with a_host_clock_off_by(-HOUR), open_store(pg_url) as store:
        assert store.claim_alert(offered.key, "rec", offered.model_dump_json(), Lease("a", 3))
        with keeping_leases(store, "a", 3):
            time.sleep(1.6)  # renewed once, a third of the lease in
            lease_until = store.alert(offered.key).lease_until
    assert lease_until > server_time(pg_url) + timedelta(seconds=1)


def test_the_watch_loop_on_a_host_running_ahead_leaves_another_workers_feeds_alone(pg_url):
    """watch() itself, on its default clock: it ticks, finds both feeds leased by a live
    worker elsewhere, and polls nothing until SIGTERM."""
    fake, config = FakeRunner([]), config_with("a", "b")
    with open_store(pg_url) as other:
        other.heartbeat("other", "elsewhere", 1)
        assert other.lease_due_feeds(["a", "b"], Lease("other", 60), other.now()) == ["a", "b"]
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    stop = threading.Timer(2.5, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        with a_host_clock_off_by(HOUR):
            stop.start()
            assert watch(config, pg_url, [], runner_factory=fake.factory, cycles=1) == 0
    finally:
        stop.cancel()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert fake.calls == []


class Server:
    """A stand-in server for ServerClock: its time, how often it was asked, and whether it
    answers."""

    def __init__(self):
        self.asked, self.up = 0, True

    def read(self, elapsed) -> Reading:
        self.asked += 1
        if not self.up:
            raise StoreUnavailable("db", "lost the connection to the state store", "retry")
        return Reading(T0 + timedelta(days=self.asked), elapsed())


def test_the_server_is_read_once_then_again_after_the_reread_interval():
    server, clock = Server(), ServerClock(reread=3600)
    first = clock.now(server.read)
    time.sleep(0.05)
    later = clock.now(server.read)
    assert server.asked == 1 and timedelta(seconds=0.04) < later - first < timedelta(seconds=1)
    stale_at_once = ServerClock(reread=0)
    stale_at_once.now(server.read)
    assert stale_at_once.now(server.read).date() == (T0 + timedelta(days=3)).date()


def test_a_failed_reread_keeps_the_last_reading_and_tries_again_later():
    server, clock = Server(), ServerClock(reread=0, retry=3600)
    first = clock.now(server.read)
    server.up = False
    assert clock.now(server.read) - first < timedelta(seconds=1)  # the last reading, carried
    assert clock.now(server.read) - first < timedelta(seconds=1)
    assert server.asked == 2  # not asked again until `retry` passed


def test_a_clock_that_never_read_the_server_fails_with_it():
    server = Server()
    server.up = False
    with pytest.raises(StoreUnavailable):
        ServerClock().now(server.read)


def test_stores_of_one_database_share_one_reading(pg_url, monkeypatch):
    reads = []
    read = PostgresStore._read_server_clock
    monkeypatch.setattr(
        PostgresStore, "_read_server_clock", lambda self, e: reads.append(1) or read(self, e)
    )
    with open_store(pg_url) as first, open_store(pg_url) as second:
        a, b = first.now(), second.now()
    assert len(reads) == 1 and timedelta(0) <= b - a < timedelta(seconds=1)


def test_before_the_first_reading_no_thread_waits_for_another(pg_url):
    """Each asks for itself: one holding a pooled connection while it waited for another's
    reading could leave that one without a connection to read on."""
    clock, second_read, waits = ServerClock(), threading.Event(), []

    def slow(elapsed) -> Reading:  # the first thread's reading waits for the second's
        waits.append(second_read.wait(10))
        return Reading(T0, elapsed())

    def fast(elapsed) -> Reading:
        second_read.set()
        return Reading(T0 + HOUR, elapsed())

    first = threading.Thread(target=clock.now, args=(slow,))
    first.start()
    time.sleep(0.1)
    assert clock.now(fast) - T0 - HOUR < timedelta(seconds=1)
    first.join()
    assert waits == [True]  # the second read while the first was still reading
    assert clock.now(slow) - T0 - HOUR < timedelta(seconds=1)  # the newer reading stays


def test_a_reading_that_fails_inside_a_transaction_leaves_it_usable(pg_url, monkeypatch):
    """The re-read runs in the caller's transaction; had its failure aborted it, the
    heartbeat below would fail (and the cycle with it) for a reading it could do without."""
    monkeypatch.setattr(postgres, "ServerClock", lambda: ServerClock(reread=0))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA broken")
        conn.execute(
            "CREATE FUNCTION broken.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION 'no clock here'; END $$"
        )
    with open_store(pg_url) as store:
        before = store.now()
        with store.transaction():
            store._execute("SET LOCAL search_path = broken, pg_catalog, public")
            assert store.now() - before < timedelta(seconds=5)  # the last reading, carried
            store.heartbeat("a", "host-a", 1)
        assert [w.worker for w in store.workers()] == ["a"]
