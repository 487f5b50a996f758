from datetime import datetime, timedelta, timezone

from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.state.sqlite import FeedState, StateStore


def test_state_survives_reopening(tmp_path):
    store = StateStore(tmp_path)
    store.mark_seen(["a", "b"])
    store.save_feed_state(
        FeedState(
            feed_id="f", etag='"v1"', failures=2, next_due=datetime(2026, 1, 1, tzinfo=timezone.utc)
        )
    )
    store.add_dead_letters([DeadLetter.of("fetch", "f", "HTTP 500", raw=b"oops")])
    store.close()
    again = StateStore(tmp_path)
    assert again.seen(["a", "c", "b"]) == {"a", "b"}
    state = again.feed_state("f")
    assert (state.etag, state.failures, state.next_due.year) == ('"v1"', 2, 2026)
    [letter] = again.dead_letters()
    assert (letter.stage, letter.source, letter.reason, letter.raw) == (
        "fetch",
        "f",
        "HTTP 500",
        "oops",
    )


def test_ledger_never_claims_a_sent_alert_twice(tmp_path):
    store = StateStore(tmp_path)
    assert store.claim_alert("k", "slack", "{}") is True
    store.finish_alert("k", "sent", 1)
    assert store.claim_alert("k", "slack", "{}") is False
    assert StateStore(tmp_path).claim_alert("k", "slack", "{}") is False


def test_dead_alert_can_be_claimed_again_for_redelivery(tmp_path):
    store = StateStore(tmp_path)
    store.claim_alert("k", "slack", '{"x": 1}')
    store.finish_alert("k", "dead", 3, "HTTP 500")
    [dead] = store.alerts("dead")
    assert (dead.key, dead.attempts, dead.error, dead.payload) == ("k", 3, "HTTP 500", '{"x": 1}')
    assert store.claim_alert("k", "slack", '{"x": 1}') is True
    assert store.alerts("dead") == []


def test_prune_seen_removes_only_old_keys(tmp_path):
    store = StateStore(tmp_path)
    store.mark_seen(["old"])
    store._db.execute(
        "UPDATE seen SET seen_at=?",
        ((datetime.now(timezone.utc) - timedelta(days=40)).isoformat(),),
    )
    store.mark_seen(["new"])
    assert store.prune_seen(timedelta(days=30)) == 1
    assert store.seen(["old", "new"]) == {"new"}


def test_a_feeds_ttl_survives_the_end_of_cycle_state_save(tmp_path):
    store = StateStore(tmp_path)
    store.save_feed_ttl("f", 15)  # parse saw <ttl>15</ttl> on the feed's first poll
    store.save_feed_state(FeedState(feed_id="f", etag='"v2"'))  # the commit, unaware of it
    assert (store.feed_state("f").ttl_minutes, store.feed_state("f").etag) == (15, '"v2"')


def test_touch_seen_keeps_listed_keys_from_expiring(tmp_path):
    store = StateStore(tmp_path)
    store.mark_seen(["listed", "gone"])
    store._db.execute(
        "UPDATE seen SET seen_at=?",
        ((datetime.now(timezone.utc) - timedelta(days=40)).isoformat(),),
    )
    store.touch_seen(["listed"])
    assert store.prune_seen(timedelta(days=30)) == 1
    assert store.seen(["listed", "gone"]) == {"listed"}
