"""Retention on every backend (conftest.BACKENDS), with the store's injected clock: `prune`
forgets what is past its retention in each table and nothing that may still be needed (a claim
in flight, a held alert, an unresolved recent dead letter); a successful send resolves the
alert's dead letters (`finish_alert`), and `counts` tells resolved ones apart."""

from __future__ import annotations

from datetime import timedelta

from tests.state.conftest import T0
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.routing.flood import GroupState
from wirewatch.transforms.state import Hold, Lease, Retention

DAYS = {"seen_days": 30, "ledger_days": 60, "dead_letter_days": 30, "group_days": 7}
NOTHING = {"seen": 0, "dead_letters": 0, "alerts": 0, "story_alerts": 0, "groups": 0, "workers": 0}


def prune(store, at, **days):
    return store.prune(at, Retention(**{**DAYS, **days}))


def letter(key: str, at=T0) -> DeadLetter:
    """A delivery dead letter of alert `key`, as the dispatcher writes it, dated `at`."""
    return DeadLetter.of("deliver", "sink:slack", "HTTP 500", detail=key).model_copy(
        update={"at": at}
    )


def final(store, key: str, status: str, error: str | None = None) -> None:
    store.claim_alert(key, "slack", "{}")
    store.finish_alert(key, status, 1, error)


def test_nothing_to_prune_in_an_empty_store(store):
    assert prune(store, T0) == NOTHING


def test_seen_keys_go_after_seen_retention(store, clock):
    store.mark_seen(["old"])
    clock.advance(days=20)
    store.mark_seen(["new"])
    assert prune(store, T0 + timedelta(days=31))["seen"] == 1
    assert store.seen(["old", "new"]) == {"new"}


def test_sent_ledger_rows_go_after_ledger_retention_with_their_story_alert(store, clock):
    final(store, "old", "sent")
    store.record_story_alert("s1", "r", "slack", "old", "1.0")
    clock.advance(days=10)
    final(store, "new", "sent")
    store.record_story_alert("s2", "r", "slack", "new", "2.0")
    assert prune(store, T0 + timedelta(days=59)) == NOTHING  # seen retention is not enough
    counts = prune(store, T0 + timedelta(days=61))
    assert (counts["alerts"], counts["story_alerts"]) == (1, 1)
    assert store.alert("old") is None and store.story_alert("s1", "r", "slack") is None
    assert store.alert("new").status == "sent"
    assert store.story_alert("s2", "r", "slack") == ("new", "2.0")


def test_sending_and_held_rows_survive_any_age(store):
    store.claim_alert("sending", "slack", "{}")
    store.claim_alert("held", "slack", "{}")
    store.save_group("g", "slack", GroupState(due_at=T0), Hold("held"))
    assert prune(store, T0 + timedelta(days=3650)) == NOTHING
    assert store.alert("sending").status == "sending"
    assert [r.key for r in store.held_alerts("g")] == ["held"]


def test_a_dead_alert_stays_while_its_dead_letter_is_open(store):
    final(store, "k", "dead", "HTTP 500")
    store.add_dead_letters([letter("k")])
    later = T0 + timedelta(days=61)
    assert prune(store, later, dead_letter_days=90) == NOTHING  # still redeliverable
    assert [r.key for r in store.alerts("dead")] == ["k"]
    assert [d.detail for d in store.dead_letters()] == ["k"]
    counts = prune(store, T0 + timedelta(days=91), dead_letter_days=90)
    assert (counts["dead_letters"], counts["alerts"]) == (1, 1)  # its letter expired: both go
    assert store.alerts("dead") == [] and store.dead_letters() == []


def test_unresolved_recent_dead_letters_survive_old_ones_go(store):
    store.add_dead_letters([DeadLetter.of("parse", "f", "bad XML").model_copy(update={"at": T0})])
    store.add_dead_letters([letter("k", at=T0 + timedelta(days=20))])
    assert prune(store, T0 + timedelta(days=31))["dead_letters"] == 1
    assert [(d.stage, d.detail) for d in store.dead_letters()] == [("deliver", "k")]


def test_a_redelivered_alert_resolves_its_dead_letters(store, clock):
    final(store, "k", "dead", "HTTP 500")
    store.add_dead_letters([letter("k"), letter("other")])
    assert store.counts()["dead_letters_resolved"] == 0
    clock.advance(hours=1)
    assert store.claim_alert("k", "slack", "{}") is True  # redeliver (or an expired claim)
    store.finish_alert("k", "sent", 1)
    counts = store.counts()
    assert (counts["dead_letters"], counts["dead_letters_resolved"]) == (2, 1)
    final(store, "unrelated", "sent")
    assert store.counts()["dead_letters_resolved"] == 1


def test_a_resolved_dead_letter_is_pruned_after_its_retention_only(store, clock):
    final(store, "k", "dead", "HTTP 500")
    store.add_dead_letters([letter("k")])
    store.claim_alert("k", "slack", "{}")
    store.finish_alert("k", "sent", 1)
    assert prune(store, T0 + timedelta(days=29)) == NOTHING
    assert prune(store, T0 + timedelta(days=31))["dead_letters"] == 1
    assert store.dead_letters() == []
    assert store.alert("k").status == "sent"  # the ledger keeps the key longer
    assert prune(store, T0 + timedelta(days=61))["alerts"] == 1


def test_idle_groups_go_after_group_retention(store, clock):
    store.save_group("idle", "slack", GroupState(last_digest_at=T0))
    store.save_group("due", "slack", GroupState(due_at=T0 + timedelta(minutes=5)))
    store.claim_alert("h", "slack", "{}")
    store.save_group("holding", "slack", GroupState(), Hold("h"))
    clock.advance(days=5)
    store.save_group("recent", "slack", GroupState())
    assert prune(store, T0 + timedelta(days=6)) == NOTHING
    assert prune(store, T0 + timedelta(days=8))["groups"] == 1
    assert store.group_state("idle") == GroupState()  # forgotten: starts fresh
    assert store.due_groups("slack", T0 + timedelta(days=8)) == ["due"]
    assert [r.key for r in store.held_alerts("holding")] == ["h"]
    assert prune(store, T0 + timedelta(days=13))["groups"] == 1  # "recent", now idle too


def test_the_ledger_keeps_a_row_at_least_as_long_as_the_seen_key(store):
    final(store, "k", "sent")
    assert prune(store, T0 + timedelta(days=25), seen_days=30, ledger_days=20)["alerts"] == 0
    assert store.alert("k").status == "sent"  # its article may still come back: keep it
    assert prune(store, T0 + timedelta(days=31), seen_days=30, ledger_days=20)["alerts"] == 1


def test_pruning_is_seen_from_another_connection(store, connect, clock):
    final(store, "k", "sent")
    store.mark_seen(["a"])
    prune(store, T0 + timedelta(days=61))
    other = connect()
    assert other.alert("k") is None and other.seen(["a"]) == set()


def test_workers_go_a_retention_after_their_last_heartbeat_unless_they_hold_a_lease(store, clock):
    store.heartbeat("gone:1", "gone", 1)
    store.heartbeat("leasing:2", "leasing", 2)  # its beat is as old, but it holds a feed
    store.heartbeat("claiming:3", "claiming", 3)  # ... or an alert claim
    clock.advance(days=8)
    store.heartbeat("live:4", "live", 4)
    at = clock.now
    store.lease_due_feeds(["f"], Lease("leasing:2", 3600), at)
    store.claim_alert("k", "slack", "{}", Lease("claiming:3", 3600))
    assert prune(store, at, worker_days=9)["workers"] == 0
    assert prune(store, at, worker_days=7)["workers"] == 1
    assert [w.worker for w in store.workers()] == ["live:4", "claiming:3", "leasing:2"]
    later = at + timedelta(hours=2)  # both leases ran out: nothing keeps those two now
    assert prune(store, later, worker_days=7)["workers"] == 2
    assert [w.worker for w in store.workers()] == ["live:4"]
