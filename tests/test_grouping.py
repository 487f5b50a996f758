"""Flood control with an injected clock: caps and digests, group_wait, quiet hours, silences."""

from datetime import datetime, timedelta, timezone

import pytest

from tests.factories import alert
from wirewatch.transforms.config import Config, RouteConfig, Silence
from wirewatch.transforms.routing.flood import quiet_until
from wirewatch.transforms.routing.silences import silenced
from wirewatch.transforms.sinks.dispatch import Dispatcher
from wirewatch.transforms.state import open_store

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


class Recorder:
    def __init__(self):
        self.messages = []

    def send(self, a):
        self.messages.append(("single", a.match.article.article.title))

    def send_digest(self, alerts, label):
        self.messages.append(("digest", label, [a.match.article.article.title for a in alerts]))

    def close(self):
        pass


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def setup(tmp_path):
    def make(**route):
        route.setdefault("group_wait", 0)  # these tests set group_wait when they test it
        config = Config(routes=[RouteConfig(sinks=["s"], **route)])
        sink, clock = Recorder(), Clock()
        return Dispatcher(config, open_store(tmp_path), lambda name: sink, clock), sink, clock

    return make


def routed(title, group="rule:quake", severity="warning"):
    a = alert(sink="s", title=title, id=title, severity=severity)
    return a.model_copy(update={"route": 0, "group": group})


def test_cap_per_window_then_one_digest_of_the_overflow(setup):
    dispatcher, sink, clock = setup(max_alerts=2, group_interval=300)
    statuses = [dispatcher.offer(routed(f"a{i}")).status for i in range(5)]
    assert statuses == ["sent", "sent", "held", "held", "held"]
    clock.now = T0 + timedelta(seconds=299)
    assert dispatcher.flush_due("s") == []
    clock.now = T0 + timedelta(seconds=300)
    assert [o.status for o in dispatcher.flush_due("s")] == ["sent"] * 3
    assert sink.messages == [
        ("single", "a0"),
        ("single", "a1"),
        ("digest", "rule:quake", ["a2", "a3", "a4"]),
    ]
    assert dispatcher.flush_due("s") == []  # nothing is sent twice


def test_a_held_alert_whose_group_lost_its_due_time_still_goes_out(setup):
    """Two workers can cross on one group: one flushes and saves "nothing held" while the
    other holds an alert in it. The next flush sends the held alert (late, not never)."""
    from wirewatch.transforms.routing.flood import GroupState

    dispatcher, sink, clock = setup(max_alerts=1, group_interval=300)
    assert [dispatcher.offer(routed(f"a{i}")).status for i in range(2)] == ["sent", "held"]
    [key] = dispatcher.store.due_groups("s", T0 + timedelta(hours=1))
    dispatcher.store.save_group(key, "s", GroupState())  # the crossing flush's save
    assert [o.status for o in dispatcher.flush_due("s")] == ["sent"]
    assert sink.messages == [("single", "a0"), ("single", "a1")]  # a digest of one


def test_groups_are_separate(setup):
    dispatcher, sink, _ = setup(max_alerts=1, group_interval=300)
    assert dispatcher.offer(routed("a", group="entity:Mexico")).status == "sent"
    assert dispatcher.offer(routed("b", group="entity:Chile")).status == "sent"
    assert dispatcher.offer(routed("c", group="entity:Mexico")).status == "held"


def test_group_wait_turns_a_burst_into_one_message(setup):
    dispatcher, sink, clock = setup(group_wait=30)
    assert [dispatcher.offer(routed(t)).status for t in "xyz"] == ["held"] * 3
    clock.now = T0 + timedelta(seconds=30)
    dispatcher.flush_due("s")
    assert sink.messages == [("digest", "rule:quake", ["x", "y", "z"])]
    clock.now = T0 + timedelta(seconds=31)
    assert dispatcher.offer(routed("w")).status == "sent"  # the group's window is open now


def test_the_default_route_turns_a_burst_of_ten_into_one_digest(tmp_path):
    """A route with no flood settings: ten alerts of one rule within seconds are one message
    (group_wait 30 s), not ten messages and then a digest."""
    config = Config(routes=[RouteConfig(sinks=["s"])])
    assert config.routes[0].group_wait == 30
    sink, clock = Recorder(), Clock()
    dispatcher = Dispatcher(config, open_store(tmp_path), lambda name: sink, clock)
    for i in range(10):
        clock.now = T0 + timedelta(seconds=i)
        assert dispatcher.offer(routed(f"s{i}")).status == "held"
    clock.now = T0 + timedelta(seconds=30)
    dispatcher.flush_due("s")
    assert sink.messages == [("digest", "rule:quake", [f"s{i}" for i in range(10)])]


def test_a_held_alert_is_not_held_or_sent_again_when_offered_again(setup):
    dispatcher, sink, clock = setup(group_wait=30)
    a = routed("x")
    assert dispatcher.offer(a).status == "held"
    assert dispatcher.offer(a).status == "already_sent"
    clock.now = T0 + timedelta(seconds=60)
    dispatcher.flush_due("s")
    assert dispatcher.offer(a).status == "already_sent"
    assert sink.messages == [("single", "x")]


QUIET = {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}


@pytest.mark.parametrize(
    "utc_time, severity, until",
    [
        ("2026-11-26T21:30:00", "info", "2026-11-27T06:00:00"),  # 22:30 in Berlin (UTC+1)
        ("2026-11-27T05:59:00", "warning", "2026-11-27T06:00:00"),  # 06:59 in Berlin
        ("2026-11-27T06:00:00", "info", None),  # 07:00: quiet hours are over
        ("2026-11-26T12:00:00", "info", None),
        ("2026-11-26T21:30:00", "critical", None),  # critical still goes out
    ],
)
def test_quiet_hours(utc_time, severity, until):
    from wirewatch.transforms.config import QuietHours

    now = datetime.fromisoformat(utc_time).replace(tzinfo=timezone.utc)
    end = quiet_until(QuietHours(**QUIET), severity, now)
    assert end == (datetime.fromisoformat(until).replace(tzinfo=timezone.utc) if until else None)


def test_quiet_hours_deliver_a_digest_afterwards(setup):
    dispatcher, sink, clock = setup(quiet_hours=QUIET)
    clock.now = datetime(2026, 11, 26, 23, 0, tzinfo=timezone.utc)  # midnight in Berlin
    assert dispatcher.offer(routed("night 1")).status == "held"
    assert dispatcher.offer(routed("night 2")).status == "held"
    assert dispatcher.offer(routed("urgent", severity="critical")).status == "sent"
    clock.now = datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc)
    dispatcher.flush_due("s")
    assert sink.messages == [("single", "urgent"), ("digest", "rule:quake", ["night 1", "night 2"])]


def test_silences_mute_by_rule_or_entity_until_their_time():
    a = alert(rule_id="layoffs")
    until = T0 + timedelta(hours=1)
    assert silenced(a.match, [Silence(rule="layoffs", until=until)], T0)
    assert silenced(a.match, [Silence(entity="Mexico", until=until)], T0)
    assert not silenced(a.match, [Silence(entity="Chile", until=until)], T0)
    assert not silenced(a.match, [Silence(rule="layoffs", until=until)], until)


def story_alert(title, kind, story="st1"):
    a = routed(title)
    tagged = a.match.article.model_copy(update={"story_id": story, "story_kind": kind})
    return a.model_copy(update={"match": a.match.model_copy(update={"article": tagged})})


def test_story_copies_fold_into_one_digest_on_sinks_without_threads(setup):
    dispatcher, sink, clock = setup(group_interval=300)
    assert dispatcher.offer(story_alert("first", "new")).status == "sent"
    assert dispatcher.offer(story_alert("copy 1", "copy")).status == "held"
    assert dispatcher.offer(story_alert("copy 2", "copy")).status == "held"
    assert dispatcher.offer(story_alert("correction", "update")).status == "sent"
    clock.now = T0 + timedelta(seconds=300)
    dispatcher.flush_due("s")
    assert sink.messages == [
        ("single", "first"),
        ("single", "correction"),
        ("digest", "more sources for story st1", ["copy 1", "copy 2"]),
    ]


def test_a_copy_of_a_story_not_yet_alerted_is_an_alert(setup):
    dispatcher, sink, _ = setup()
    assert dispatcher.offer(story_alert("copy seen first", "copy", story="st2")).status == "sent"


def test_repeat_interval_spaces_out_the_digests_of_a_group_that_keeps_overflowing(setup):
    dispatcher, sink, clock = setup(max_alerts=1, group_interval=60, repeat_interval=600)
    assert [dispatcher.offer(routed(f"a{i}")).status for i in range(3)] == ["sent", "held", "held"]
    clock.now = T0 + timedelta(seconds=60)
    dispatcher.flush_due("s")  # first digest at the window's end
    clock.now = T0 + timedelta(seconds=61)
    assert dispatcher.offer(routed("b0")).status == "held"  # the flush opened a full window
    assert dispatcher.offer(routed("b1")).status == "held"
    clock.now = T0 + timedelta(seconds=121)
    assert dispatcher.flush_due("s") == []  # window over, but repeat_interval is not
    clock.now = T0 + timedelta(seconds=660)
    dispatcher.flush_due("s")
    assert sink.messages == [
        ("single", "a0"),
        ("digest", "rule:quake", ["a1", "a2"]),
        ("digest", "rule:quake", ["b0", "b1"]),
    ]


def test_an_alert_held_by_another_worker_during_a_flush_goes_out_next_cycle(tmp_path):
    """Worker A flushes a digest; while its message is on the wire, worker B holds a new alert
    in the same group. B's alert must not be stranded with no due time."""
    config = Config(routes=[RouteConfig(sinks=["s"], group_wait=30)])
    clock = Clock()
    b_sink = Recorder()
    b = Dispatcher(config, open_store(tmp_path), lambda name: b_sink, clock, owner="b")

    class HoldsDuringSend(Recorder):
        def send(self, a):
            super().send(a)
            assert b.offer(routed("late")).status == "held"  # B, mid-flush

    a_sink = HoldsDuringSend()
    a = Dispatcher(config, open_store(tmp_path), lambda name: a_sink, clock, owner="a")
    assert a.offer(routed("first")).status == "held"
    clock.now = T0 + timedelta(seconds=30)
    assert [o.status for o in a.flush_due("s")] == ["sent"]
    assert a_sink.messages == [("single", "first")]
    assert [o.status for o in b.flush_due("s")] == ["sent"]  # the next cycle, any worker
    assert b_sink.messages == [("single", "late")]
