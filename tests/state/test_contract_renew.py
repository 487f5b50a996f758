"""renew_leases, on every backend: a live worker keeps its feeds and claims however long its
cycle runs; a dead worker's leases still run out; nobody else's lease moves."""

from __future__ import annotations

from datetime import timedelta

from tests.state.conftest import T0
from wirewatch.transforms.state import Lease

LEASE = 60.0


def test_renewing_keeps_a_live_workers_feeds_and_claims(store, connect, clock):
    other = connect()
    assert store.lease_due_feeds(["f", "g"], Lease("w1", LEASE), T0) == ["f", "g"]
    assert store.claim_alert("k", "slack", "{}", Lease("w1", LEASE)) is True
    assert other.lease_due_feeds(["h"], Lease("w2", LEASE), T0) == ["h"]
    clock.advance(seconds=LEASE - 1)
    store.renew_leases("w1", clock.now + timedelta(seconds=LEASE))
    later = T0 + timedelta(seconds=LEASE + 5)
    clock.now = later
    assert other.lease_due_feeds(["f", "g"], Lease("w2", LEASE), later) == []  # still w1's
    assert other.claim_alert("k", "slack", "{}", Lease("w2", LEASE)) is False
    assert other.lease_due_feeds(["h"], Lease("w3", LEASE), later) == ["h"]  # w2's was not renewed


def test_an_ended_lease_is_not_revived_by_renewing(store, connect, clock):
    assert store.lease_due_feeds(["f"], Lease("w1", LEASE), T0) == ["f"]
    store.claim_alert("k", "slack", "{}", Lease("w1", LEASE))
    clock.advance(seconds=LEASE + 1)
    store.renew_leases("w1", clock.now + timedelta(seconds=LEASE))
    assert connect().lease_due_feeds(["f"], Lease("w2", LEASE), clock.now) == ["f"]
    assert [r.key for r in store.expired_claims("slack", clock.now)] == ["k"]


def test_released_claims_are_expired_at_once_and_not_renewed(store, connect, clock):
    """A failed cycle gives its claims back: they are re-offered now, and the worker's next
    cycle, which renews what it holds, does not take them back into its lease."""
    other = connect()
    store.claim_alert("mine", "slack", "{}", Lease("w1", LEASE))
    other.claim_alert("theirs", "slack", "{}", Lease("w2", LEASE))
    assert store.claim_alert("done", "slack", "{}", Lease("w1", LEASE))
    store.finish_alert("done", "sent", 1)
    store.release_leases("w1")
    assert [r.key for r in other.expired_claims("slack", clock.now)] == ["mine"]
    store.renew_leases("w1", clock.now + timedelta(seconds=LEASE))
    assert [r.key for r in other.expired_claims(None, clock.now)] == ["mine"]
    assert other.claim_alert("mine", "slack", "{}", Lease("w2", LEASE)) is True
    assert store.alert("done").status == "sent"
