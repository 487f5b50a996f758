"""Flood control counts an alert once per window, even when it is decided again: an alert
decided 'send' whose worker died before it went out is re-offered, and deciding it again
must neither count it twice nor hold it for a digest."""

from datetime import datetime, timedelta, timezone

from wirewatch.transforms.config import RouteConfig
from wirewatch.transforms.routing.flood import COUNTED_KEPT, GroupState, decide

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
ROUTE = RouteConfig(sinks=["s"], max_alerts=2, group_interval=300, group_wait=0)


def test_an_alert_decided_again_is_sent_without_counting_twice():
    first = decide(ROUTE, "info", GroupState(), T0, "a")
    assert (first.action, first.state.sent_in_window) == ("send", 1)
    again = decide(ROUTE, "info", first.state, T0 + timedelta(seconds=5), "a")  # re-offered
    assert (again.action, again.state) == ("send", first.state)
    second = decide(ROUTE, "info", again.state, T0 + timedelta(seconds=6), "b")
    assert (second.action, second.state.sent_in_window) == ("send", 2)
    third = decide(ROUTE, "info", second.state, T0 + timedelta(seconds=7), "c")
    assert third.action == "hold"  # the cap is two alerts, and only two were counted
    # a counted alert re-offered while the group holds the overflow still goes out alone
    late = decide(ROUTE, "info", third.state, T0 + timedelta(seconds=8), "b")
    assert late.action == "send"


def test_a_new_window_counts_the_alert_afresh():
    first = decide(ROUTE, "info", GroupState(), T0, "a")
    later = decide(ROUTE, "info", first.state, T0 + timedelta(seconds=301), "a")
    assert (later.action, later.state.sent_in_window, later.state.counted) == ("send", 1, ["a"])


def test_only_the_latest_keys_are_kept_and_old_states_still_load():
    route = RouteConfig(sinks=["s"], max_alerts=100, group_interval=300, group_wait=0)
    state = GroupState()
    for n in range(COUNTED_KEPT + 5):
        state = decide(route, "info", state, T0, f"k{n}").state
    assert state.counted == [f"k{n}" for n in range(5, COUNTED_KEPT + 5)]
    saved_before = '{"window_start": null, "sent_in_window": 0, "last_digest_at": null}'
    assert GroupState.model_validate_json(saved_before).counted == []
