"""The StateStore lease contract, on every backend (conftest.BACKENDS): alert claims that
expire, feed leases, digest claims, the workers listing and store ownership. Two owners or
workers are two connections to one store, with the store's clock moved by the test."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from tests.state.conftest import T0
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.routing.flood import GroupState
from wirewatch.transforms.state import FeedState, Hold, Lease
from wirewatch.transforms.state.interface import CLAIM_LEASE_SECONDS, WorkerInfo

LEASE = 60.0


# --- alert claims are leases ------------------------------------------------------------------
def test_a_claim_keeps_another_owner_off_until_its_lease_ends(store, connect, clock):
    other = connect()
    assert store.claim_alert("k", "slack", '{"v": 1}', Lease("a", LEASE)) is True
    record = store.alert("k")
    assert (record.status, record.lease_owner, record.lease_until) == (
        "sending",
        "a",
        T0 + timedelta(seconds=LEASE),
    )
    assert other.claim_alert("k", "slack", "{}", Lease("b", LEASE)) is False
    clock.advance(seconds=LEASE - 1)
    assert other.claim_alert("k", "slack", "{}", Lease("b", LEASE)) is False
    clock.advance(seconds=1)  # lease_until <= now: ended
    assert other.claim_alert("k", "slack", "{}", Lease("b", LEASE)) is True
    record = store.alert("k")
    assert (record.lease_owner, record.lease_until, record.payload) == (
        "b",
        T0 + timedelta(seconds=2 * LEASE),
        '{"v": 1}',  # the first payload stays
    )
    assert store.claim_alert("k", "slack", "{}", Lease("a", LEASE)) is False


def test_the_same_owner_claims_again_and_renews_its_lease(store, connect, clock):
    assert store.claim_alert("k", "slack", "{}", Lease("a", LEASE)) is True
    clock.advance(seconds=30)
    assert connect().claim_alert("k", "slack", "{}", Lease("a", LEASE)) is True
    assert store.alert("k").lease_until == T0 + timedelta(seconds=30 + LEASE)


def test_the_default_lease_outlasts_a_send(store, clock):
    assert CLAIM_LEASE_SECONDS >= 300
    store.claim_alert("k", "slack", "{}", Lease("a"))
    assert store.alert("k").lease_until == T0 + timedelta(seconds=CLAIM_LEASE_SECONDS)


def test_sent_and_held_alerts_are_never_claimed_again_by_anyone(store, connect, clock):
    store.claim_alert("sent", "slack", "{}", Lease("a", LEASE))
    store.finish_alert("sent", "sent", 1)
    store.claim_alert("held", "slack", "{}", Lease("a", LEASE))
    store.save_group("g", "slack", GroupState(due_at=T0), Hold("held"))
    clock.advance(days=1)
    other = connect()
    for owner in ("a", "b", ""):
        assert other.claim_alert("sent", "slack", "{}", Lease(owner)) is False
        assert other.claim_alert("held", "slack", "{}", Lease(owner)) is False


def test_finishing_ends_the_lease_and_a_dead_alert_is_claimed_by_anyone(store, connect):
    store.claim_alert("k", "slack", "{}", Lease("a", LEASE))
    store.finish_alert("k", "dead", 3, "HTTP 500")
    record = store.alert("k")
    assert (record.status, record.lease_owner, record.lease_until) == ("dead", None, None)
    assert connect().claim_alert("k", "slack", "{}", Lease("b", LEASE)) is True
    assert store.alert("k").lease_owner == "b"


def test_a_late_finish_of_a_lapsed_claim_does_not_undo_sent(store, connect, clock):
    """a's send outlasted its lease; b took the claim and sent; a's late 'dead' comes after."""
    other = connect()
    assert store.claim_alert("k", "slack", "{}", Lease("a", LEASE))
    clock.advance(seconds=LEASE)
    assert other.claim_alert("k", "slack", "{}", Lease("b", LEASE))
    other.finish_alert("k", "sent", 1)
    store.finish_alert("k", "dead", 5, "timed out", deferred=True)
    record = store.alert("k")
    assert (record.status, record.error, record.deferred_at) == ("sent", None, None)
    assert store.deferred_alerts("slack", T0) == []
    assert connect().claim_alert("k", "slack", "{}", Lease("c", LEASE)) is False


def test_a_late_dead_of_a_lapsed_claim_leaves_another_owners_claim_alone(store, connect, clock):
    """a's send outlasted its lease and failed; b took the claim and is sending: a's 'dead'
    would let c redeliver it beside b."""
    other = connect()
    assert store.claim_alert("k", "slack", "{}", Lease("a", LEASE))
    clock.advance(seconds=LEASE)
    assert other.claim_alert("k", "slack", "{}", Lease("b", LEASE))
    store.finish_alert("k", "dead", 1, "HTTP 500", deferred=True, owner="a")
    record = store.alert("k")
    assert (record.status, record.lease_owner, record.error) == ("sending", "b", None)
    assert store.deferred_alerts("slack", T0) == []
    assert connect().claim_alert("k", "slack", "{}", Lease("c", LEASE)) is False
    other.finish_alert("k", "dead", 1, "HTTP 503", deferred=True, owner="b")  # b's own: written
    assert (store.alert("k").status, store.alert("k").error) == ("dead", "HTTP 503")


def test_a_late_dead_of_a_lapsed_claim_leaves_another_owners_hold_alone(store, connect, clock):
    """a's claim lapsed mid-send; b re-offered the alert and flood control held it: a's late
    'dead' would take it out of b's group (its digest would never carry it)."""
    other = connect()
    assert store.claim_alert("k", "slack", "{}", Lease("a", LEASE))
    clock.advance(seconds=LEASE)
    assert other.claim_alert("k", "slack", "{}", Lease("b", LEASE))
    other.save_group("g", "slack", GroupState(due_at=T0 + timedelta(hours=1)), Hold("k"))
    assert store.finish_alert("k", "dead", 1, "HTTP 400", owner="a") is False
    assert store.alert("k").status == "held"
    assert [r.key for r in other.held_alerts("g")] == ["k"]


def test_a_lapsed_claims_own_outcome_and_any_sent_are_written(store, connect, clock):
    assert store.claim_alert("mine", "slack", "{}", Lease("a", LEASE))
    assert store.claim_alert("k", "slack", "{}", Lease("a", LEASE))
    clock.advance(seconds=LEASE)  # lapsed, nobody took them
    assert store.finish_alert("mine", "dead", 1, "HTTP 500", owner="a") is True
    assert store.alert("mine").status == "dead"
    assert connect().claim_alert("k", "slack", "{}", Lease("b", LEASE))
    store.finish_alert("k", "sent", 1, owner="a")  # a's send went out after all
    assert store.alert("k").status == "sent"


def test_expired_claims_lists_exactly_the_expired_oldest_first(store, connect, clock):
    store.claim_alert("first", "slack", "{}", Lease("a", LEASE))
    clock.advance(seconds=1)
    store.claim_alert("hook", "hook", "{}", Lease("a", LEASE))
    clock.advance(seconds=1)
    store.claim_alert("second", "slack", "{}", Lease("a", LEASE))
    store.claim_alert("long", "slack", "{}", Lease("a", 10 * LEASE))
    store.claim_alert("done", "slack", "{}", Lease("a", LEASE))
    store.finish_alert("done", "sent", 1)
    assert store.expired_claims("slack", T0 + timedelta(seconds=LEASE - 1)) == []
    now = T0 + timedelta(seconds=LEASE + 2)  # first, hook and second have ended
    assert [r.key for r in store.expired_claims("slack", now)] == ["first", "second"]
    assert [r.key for r in store.expired_claims(None, now)] == ["first", "hook", "second"]
    [hook] = connect().expired_claims("hook", now)
    assert (hook.key, hook.sink, hook.status, hook.lease_owner) == ("hook", "hook", "sending", "a")
    clock.now = now
    assert connect().claim_alert("first", "slack", "{}", Lease("b", LEASE))
    assert [r.key for r in store.expired_claims(None, now)] == ["hook", "second"]


# --- feed leases ------------------------------------------------------------------------------
def test_two_workers_lease_disjoint_sets_of_due_feeds(store, connect):
    other = connect()
    store.save_feed_states(
        [
            FeedState(feed_id="due", next_due=T0),
            FeedState(feed_id="later", next_due=T0 + timedelta(minutes=5)),
        ]
    )
    feeds = ["due", "later", "new1", "new2"]
    assert store.lease_due_feeds(feeds[:3], Lease("w1", LEASE), T0) == ["due", "new1"]
    assert other.lease_due_feeds(feeds, Lease("w2", LEASE), T0) == ["new2"]
    assert other.lease_due_feeds(feeds, Lease("w2", LEASE), T0 + timedelta(seconds=1)) == ["new2"]
    assert store.lease_due_feeds(feeds, Lease("w1", LEASE), T0 + timedelta(seconds=2)) == [
        "due",
        "new1",
    ]  # its own leases are renewed, the other's are not taken
    assert store.lease_due_feeds([], Lease("w1", LEASE), T0) == []
    assert store.feed_state("new1") == FeedState(feed_id="new1")  # a lease is not a poll


def test_an_expired_feed_lease_is_taken_over(store, connect):
    store.lease_due_feeds(["f"], Lease("dead-worker", LEASE), T0)
    other = connect()
    assert other.lease_due_feeds(["f"], Lease("w2", LEASE), T0 + timedelta(seconds=LEASE - 1)) == []
    assert other.lease_due_feeds(["f"], Lease("w2", LEASE), T0 + timedelta(seconds=LEASE)) == ["f"]
    assert (
        store.lease_due_feeds(["f"], Lease("dead-worker", 1), T0 + timedelta(seconds=LEASE)) == []
    )


def test_saving_a_feeds_state_ends_its_lease(store, connect):
    assert store.lease_due_feeds(["a", "b"], Lease("w1", LEASE), T0) == ["a", "b"]
    store.save_feed_states([FeedState(feed_id="a", next_due=T0), FeedState(feed_id="b")])
    assert connect().lease_due_feeds(["a", "b"], Lease("w2", LEASE), T0) == ["a", "b"]
    store.save_feed_state(FeedState(feed_id="a", next_due=T0 + timedelta(minutes=5)))
    assert store.lease_due_feeds(["a"], Lease("w1", LEASE), T0) == []  # free, but not due


def test_release_leases_gives_back_only_that_workers_feeds(store, connect):
    other = connect()
    assert store.lease_due_feeds(["a", "b"], Lease("w1", LEASE), T0) == ["a", "b"]
    assert other.lease_due_feeds(["c"], Lease("w2", LEASE), T0) == ["c"]
    store.release_leases("w1")
    store.release_leases("nobody")
    assert other.lease_due_feeds(["a", "b", "c"], Lease("w3", LEASE), T0) == ["a", "b"]


def test_a_limit_leases_own_feeds_first_then_the_longest_due(store, connect):
    store.save_feed_states(
        [
            FeedState(feed_id="a-recent", next_due=T0),
            FeedState(feed_id="b-old", next_due=T0 - timedelta(hours=1)),
            FeedState(feed_id="c-older", next_due=T0 - timedelta(hours=2)),
        ]
    )
    feeds = ["a-recent", "b-old", "c-older", "d-never"]
    assert store.lease_due_feeds(feeds, Lease("w1", LEASE), T0, limit=0) == []
    assert store.lease_due_feeds(feeds, Lease("w1", LEASE), T0, limit=2) == ["c-older", "d-never"]
    assert connect().lease_due_feeds(feeds, Lease("w2", LEASE), T0, limit=1) == ["b-old"]
    assert store.lease_due_feeds(feeds, Lease("w1", LEASE), T0, limit=2) == ["c-older", "d-never"]
    assert store.lease_due_feeds(feeds, Lease("w1", LEASE), T0, limit=None) == [
        "a-recent",
        "c-older",
        "d-never",
    ]


def test_concurrent_feed_leases_never_overlap(connect):
    feeds = [f"f{i}" for i in range(40)]
    stores = [connect() for _ in range(4)]
    got = run_together(stores, lambda s, i: s.lease_due_feeds(feeds, Lease(f"w{i}", LEASE), T0))
    leased = [feed for part in got for feed in part]
    assert sorted(leased) == sorted(feeds)  # each feed once, none lost
    later = T0 + timedelta(seconds=LEASE)  # all expired: shares of 10, taken over at once
    got = run_together(stores, lambda s, i: s.lease_due_feeds(feeds, Lease(f"v{i}", 1), later, 10))
    assert sorted(feed for part in got for feed in part) == sorted(feeds)


# --- workers ----------------------------------------------------------------------------------
def test_workers_lists_each_worker_with_its_live_leases(store, connect, clock):
    assert store.workers() == []
    store.heartbeat("h1:10", "h1", 10)
    clock.advance(seconds=5)
    other = connect()
    other.heartbeat("h2:20", "h2", 20)
    store.lease_due_feeds(["b", "a"], Lease("h1:10", LEASE), clock.now)
    other.lease_due_feeds(["c"], Lease("h2:20", 1), clock.now)
    clock.advance(seconds=10)
    store.heartbeat("h1:10", "h1", 10)  # a later beat keeps its start
    assert store.workers() == [
        WorkerInfo(
            worker="h1:10",
            host="h1",
            pid=10,
            started_at=T0,
            heartbeat_at=T0 + timedelta(seconds=15),
            leases=["a", "b"],
        ),
        WorkerInfo(
            worker="h2:20",
            host="h2",
            pid=20,
            started_at=T0 + timedelta(seconds=5),
            heartbeat_at=T0 + timedelta(seconds=5),
            leases=[],  # its lease on c ran out
        ),
    ]
    store.release_leases("h1:10")
    assert [w.leases for w in connect().workers()] == [[], []]


# --- digest claims ----------------------------------------------------------------------------
def test_a_claimed_group_is_not_due_until_its_lease_ends(store, connect):
    store.save_group("late", "slack", GroupState(due_at=T0 + timedelta(minutes=1)))
    store.save_group("early", "slack", GroupState(due_at=T0))
    store.save_group("hook", "hook", GroupState(due_at=T0))
    store.save_group("future", "slack", GroupState(due_at=T0 + timedelta(hours=1)))
    now = T0 + timedelta(minutes=1)
    assert store.claim_due_groups("slack", now, LEASE) == ["early", "late"]
    until = now + timedelta(seconds=LEASE)
    assert store.group_state("early").due_at == until  # the saved state agrees
    other = connect()
    assert other.claim_due_groups("slack", now, LEASE) == []
    assert other.due_groups("slack", now) == []
    assert other.claim_due_groups("slack", until, LEASE) == ["early", "late"]  # flusher died
    store.save_group("early", "slack", GroupState())  # a flusher that finished
    later = until + timedelta(seconds=LEASE)
    assert other.claim_due_groups("slack", later, LEASE) == ["late"]
    assert other.claim_due_groups("hook", now, LEASE) == ["hook"]


def test_a_group_holding_alerts_without_a_due_time_is_due(store, connect):
    """Two workers' read-and-save of one group can cross: a flush that found nothing held
    saves "no due time" over the other's hold. The held alert must still go out."""
    store.claim_alert("h", "slack", '"h"', Lease("a", LEASE))
    store.save_group("orphan", "slack", GroupState(due_at=T0 + timedelta(hours=1)), Hold("h"))
    store.save_group("orphan", "slack", GroupState())  # the crossing flush's save
    store.save_group("empty", "slack", GroupState())  # flushed, nothing held: not due
    now = T0 + timedelta(minutes=1)
    assert store.claim_due_groups("slack", now, LEASE) == ["orphan"]
    assert connect().claim_due_groups("slack", now, LEASE) == []  # claimed, as any due group
    assert [r.key for r in store.claim_held("orphan", Lease("flusher", LEASE))] == ["h"]


def test_concurrent_digest_claims_hand_each_group_to_one_caller(connect):
    first = connect()
    for i in range(30):
        first.save_group(f"g{i:02}", "slack", GroupState(due_at=T0 + timedelta(seconds=i)))
    stores = [first, connect(), connect()]
    now = T0 + timedelta(minutes=1)
    got = run_together(stores, lambda s, i: s.claim_due_groups("slack", now, LEASE))
    claimed = [key for part in got for key in part]
    assert sorted(claimed) == [f"g{i:02}" for i in range(30)]  # each group exactly once


def test_a_flusher_claims_the_held_alerts_so_no_other_sends_them_while_it_does(
    store, connect, clock
):
    for key in ("h1", "h2"):
        store.claim_alert(key, "slack", f'"{key}"', Lease("a", LEASE))
        store.save_group("g", "slack", GroupState(due_at=T0), Hold(key))
        clock.advance(seconds=1)
    store.claim_alert("other", "slack", "{}", Lease("a", LEASE))
    store.save_group("g2", "slack", GroupState(due_at=T0), Hold("other"))
    other = connect()
    claimed = store.claim_held("g", Lease("flusher", LEASE))
    assert [(r.key, r.payload, r.status, r.lease_owner) for r in claimed] == [
        ("h1", '"h1"', "sending", "flusher"),
        ("h2", '"h2"', "sending", "flusher"),
    ]
    assert other.claim_held("g", Lease("second", LEASE)) == []  # a second flusher: nothing
    assert other.held_alerts("g") == [] and [r.key for r in other.held_alerts("g2")] == ["other"]
    assert other.claim_alert("h1", "slack", "{}", Lease("second", LEASE)) is False
    clock.advance(seconds=LEASE - 1)
    store.renew_leases("flusher", clock.now + timedelta(seconds=LEASE))  # a slow digest
    clock.advance(seconds=LEASE - 1)
    assert other.expired_claims("slack", clock.now) == []
    clock.advance(seconds=1)  # the flusher died: each alert is re-offered, none is lost
    assert [r.key for r in other.expired_claims("slack", clock.now)] == ["h1", "h2"]


def test_a_locked_group_is_one_read_decide_save_across_workers(connect):
    """Two workers each count 8 alerts in one group: a decision read under the lock sees the
    other's save, so no count is lost (without it, both read the same count and one save
    overwrites the other)."""

    def count(store, i):
        for _ in range(8):
            with store.locked_group("g") as state:
                time.sleep(0.01)  # the decision, while the other worker tries to read
                counted = state.model_copy(update={"sent_in_window": state.sent_in_window + 1})
                store.save_group("g", "slack", counted)

    stores = [connect(), connect()]
    run_together(stores, count)
    assert stores[0].group_state("g").sent_in_window == 16


def test_a_group_is_not_claimed_for_a_flush_while_another_worker_decides_on_it(store, connect):
    """b decides under locked_group while a flusher claims the group: b's save of the due time
    it read must not hand the group out again while the first flusher still sends."""
    flusher, third = connect(), connect()
    store.claim_alert("h1", "slack", "{}", Lease("x", LEASE))
    store.save_group("g", "slack", GroupState(due_at=T0 - timedelta(seconds=1)), Hold("h1"))
    store.claim_alert("h2", "slack", "{}", Lease("b", LEASE))
    claimed: list = []
    with store.locked_group("g") as state:
        claiming = threading.Thread(
            target=lambda: claimed.append(flusher.claim_due_groups("slack", T0, LEASE))
        )
        claiming.start()
        time.sleep(0.5)
        store.save_group("g", "slack", state, Hold("h2"))  # decide(): held, due as read
    claiming.join(30)
    assert claimed[0] + third.claim_due_groups("slack", T0, LEASE) == ["g"]  # once


def test_a_locked_group_joins_the_callers_transaction(store, connect):
    with store.transaction():
        with store.locked_group("g") as state:
            store.save_group("g", "slack", state.model_copy(update={"sent_in_window": 3}))
        assert store.group_state("g").sent_in_window == 3  # saved in the open transaction
    assert connect().group_state("g").sent_in_window == 3


# --- many at once: what one claim, outcome or lock does, for a batch in one step ------------
def test_claim_alerts_grants_each_what_claim_alert_would(store, connect, clock):
    other = connect()
    other.claim_alert("theirs", "slack", "{}", Lease("b", LEASE))
    store.claim_alert("mine", "slack", '"first"', Lease("a", LEASE))
    for key, outcome in (("sent", "sent"), ("dead", "dead")):
        store.claim_alert(key, "slack", "{}", Lease("a", LEASE))
        store.finish_alert(key, outcome, 1)
    store.claim_alert("held", "slack", "{}", Lease("a", LEASE))
    store.save_group("g", "slack", GroupState(due_at=T0), Hold("held"))
    clock.advance(seconds=1)
    asked = [
        (key, "slack", f'"{key}"')
        for key in ("new", "mine", "theirs", "sent", "dead", "held", "new")
    ]
    assert store.claim_alerts(asked, Lease("a", LEASE)) == {"new", "mine", "dead"}
    until = T0 + timedelta(seconds=1 + LEASE)
    claims = {r.key: (r.payload, r.lease_owner, r.lease_until) for r in store.alerts("sending")}
    assert claims == {
        "theirs": ("{}", "b", T0 + timedelta(seconds=LEASE)),
        "mine": ('"first"', "a", until),  # renewed, the first payload kept
        "dead": ("{}", "a", until),
        "new": ('"new"', "a", until),
    }
    assert store.claim_alerts([], Lease("a", LEASE)) == set()


def test_finish_alerts_writes_each_outcome_finish_alert_would(store, connect, clock):
    other = connect()
    for key in ("k1", "k2", "lapsed"):
        store.claim_alert(key, "slack", "{}", Lease("a", LEASE))
    store.finish_alert("k2", "dead", 1, "HTTP 500", deferred=True)
    store.add_dead_letters([DeadLetter.of("deliver", "sink:slack", "HTTP 500", detail="k2")])
    clock.advance(seconds=LEASE)
    other.claim_alert("lapsed", "slack", "{}", Lease("b", LEASE))  # a's claim lapsed
    assert store.finish_alerts(["k1", "lapsed"], "dead", 1, "HTTP 400", owner="a") == {"k1"}
    assert (store.alert("lapsed").status, store.alert("k1").error) == ("sending", "HTTP 400")
    assert store.finish_alerts(["k1", "k2", "lapsed"], "sent", 2) == {"k1", "k2", "lapsed"}
    assert {r.key: r.attempts for r in store.alerts("sent")} == {"k1": 3, "k2": 3, "lapsed": 2}
    assert store.counts()["dead_letters_resolved"] == 1  # k2's, closed by its 'sent'
    assert store.finish_alerts(["k1"], "dead", 1, "late") == set()  # 'sent' stays
    assert store.finish_alerts([], "sent", 1) == set()


def test_record_story_alerts_keeps_the_first_of_each_triple(store):
    store.record_story_alert("s", "r", "slack", "k0", None)
    store.record_story_alerts(
        [
            ("s", "r", "slack", "k1", "1.0"),  # not the first: k0 was
            ("s", "r", "hook", "k2", None),
            ("s", "r", "hook", "k3", "2.0"),  # k2 came first in the batch
            ("t", "r", "slack", "k4", "3.0"),
        ]
    )
    assert store.story_alert("s", "r", "slack") == ("k0", None)
    assert store.story_alert("s", "r", "hook") == ("k2", None)
    assert store.story_alert("t", "r", "slack") == ("k4", "3.0")
    store.record_story_alerts([])


def test_save_group_holds_several_alerts_at_once(store):
    for key in ("h1", "h2"):
        store.claim_alert(key, "slack", f'"{key}"')
    earlier = T0 - timedelta(seconds=5)  # a batch saves its holds later than it held them
    holds = (Hold("h2", '"new"'), Hold("h1", at=earlier))
    store.save_group("g", "slack", GroupState(due_at=T0), *holds)
    assert [(r.key, r.payload, r.updated_at) for r in store.held_alerts("g")] == [
        ("h1", '"h1"', earlier),
        ("h2", '"new"', T0),
    ]
    assert store.group_state("g") == GroupState(due_at=T0)


def test_locked_groups_reads_every_group_and_locks_each(store, connect):
    """The states of every key (fresh where none is saved); another worker's locked_group of
    any of them waits for the block to end."""
    store.save_group("b", "slack", GroupState(sent_in_window=2))
    other, waited = connect(), []
    with store.locked_groups(["c", "b", "a", "b"]) as states:
        assert states == {"a": GroupState(), "b": GroupState(sent_in_window=2), "c": GroupState()}

        def count_b():
            with other.locked_group("b") as state:
                waited.append(state.sent_in_window)
                other.save_group("b", "slack", GroupState(sent_in_window=state.sent_in_window + 1))

        counting = threading.Thread(target=count_b)
        counting.start()
        time.sleep(0.5)
        assert waited == []  # still waiting for the lock
        store.save_group("b", "slack", GroupState(sent_in_window=5))
    counting.join(30)
    assert waited == [5] and store.group_state("b").sent_in_window == 6
    with store.locked_groups([]) as states:
        assert states == {}


def test_locked_groups_taken_in_opposite_orders_never_deadlock(connect):
    keys = [f"g{i:02}" for i in range(20)]

    def count(store, i):
        for _ in range(5):
            with store.transaction(), store.locked_groups(keys[:: 1 if i else -1]) as states:
                for key in keys:
                    bumped = GroupState(sent_in_window=states[key].sent_in_window + 1)
                    store.save_group(key, "slack", bumped)

    stores = [connect(), connect()]
    run_together(stores, count)
    assert {stores[0].group_state(key).sent_in_window for key in keys} == {10}


# --- ownership --------------------------------------------------------------------------------
def test_the_owner_of_a_store_reads_and_writes_as_before(store, connect):
    store.acquire_owner("w1")
    store.acquire_owner("w1")  # again: still the owner
    store.mark_seen(["a"])
    again = connect()  # this process again, another store object: the same owner
    again.acquire_owner("w1")
    assert again.seen(["a"]) == {"a"}
    store.close()
    again.close()
    connect().acquire_owner("w1")  # closing gave it back


def run_together(stores, call) -> list:
    """`call(store, i)` on every store at once (one thread each), results in store order."""
    barrier = threading.Barrier(len(stores))
    results: list = [None] * len(stores)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait(10)
            results[i] = call(stores[i], i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results
