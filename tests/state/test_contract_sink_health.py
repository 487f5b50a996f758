"""The sink-health contract, on every backend (conftest.BACKENDS): alerts deferred by a sink
that was down (`finish_alert(deferred=True)`, `deferred_alerts`) keep the order they first
failed in, and each sink's health is one record every worker and every restart reads."""

from __future__ import annotations

from datetime import timedelta

from tests.state.conftest import T0
from wirewatch.transforms.state import Lease
from wirewatch.transforms.state.interface import SinkHealth


def dead(store, key: str, *, deferred: bool, sink: str = "slack") -> None:
    store.claim_alert(key, sink, f'{{"key": "{key}"}}')
    store.finish_alert(key, "dead", 1, "HTTP 500", deferred=deferred)


def test_deferred_alerts_come_back_in_the_order_they_first_failed(store, clock):
    dead(store, "first", deferred=True)
    clock.advance(seconds=10)
    dead(store, "permanent", deferred=False)  # a 404: a person must look, never automatic
    dead(store, "other-sink", deferred=True, sink="hook")
    clock.advance(seconds=10)
    dead(store, "second", deferred=True)
    clock.advance(seconds=10)
    dead(store, "first", deferred=True)  # failed again: keeps its place
    assert [r.key for r in store.deferred_alerts("slack", T0)] == ["first", "second"]
    assert store.alert("first").deferred_at == T0
    assert store.alert("first").attempts == 2 and store.alert("permanent").deferred_at is None
    assert [r.key for r in store.deferred_alerts("slack", T0 + timedelta(seconds=5))] == [
        "second"
    ]  # older than `since`: left for a person


def test_sending_it_or_a_permanent_failure_ends_the_deferral(store, clock):
    dead(store, "a", deferred=True)
    dead(store, "b", deferred=True)
    store.claim_alert("a", "slack", "{}", Lease("w1"))  # being redelivered: still listed,
    [in_flight, waiting] = store.deferred_alerts("slack", T0)  # so others see it in flight
    assert (in_flight.key, in_flight.status, in_flight.lease_owner) == ("a", "sending", "w1")
    assert (waiting.key, waiting.status) == ("b", "dead")
    store.finish_alert("a", "sent", 1)
    store.claim_alert("b", "slack", "{}")
    store.finish_alert("b", "dead", 1, "HTTP 404")
    assert store.deferred_alerts("slack", T0) == []
    assert store.alert("a").deferred_at is None and store.alert("b").deferred_at is None
    assert [r.key for r in store.alerts("dead")] == ["b"]  # still there for `redeliver`


def test_a_sink_never_saved_is_healthy(store):
    assert store.sink_health("slack") == SinkHealth(sink="slack")


def test_sink_health_is_shared_by_workers_and_survives_a_restart(store, connect, clock):
    until = T0 + timedelta(seconds=60)
    store.save_sink_health(
        SinkHealth(sink="slack", failures=2, down_until=until, reason="HTTP 500")
    )
    clock.advance(seconds=1)
    other = connect()  # another worker, or this one after a restart
    health = other.sink_health("slack")
    assert (health.failures, health.down_until, health.reason, health.updated_at) == (
        2,
        until,
        "HTTP 500",
        T0,
    )
    other.save_sink_health(SinkHealth(sink="slack"))  # back: the last writer wins
    assert store.sink_health("slack").down_until is None
    assert store.sink_health("slack").updated_at == T0 + timedelta(seconds=1)
    assert store.sink_health("hook") == SinkHealth(sink="hook")
