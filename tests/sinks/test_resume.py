"""The dispatcher's side of an outage, on every store backend: deferred alerts come back once
the sink is, each exactly once and in order even with two workers resuming together; digests
wait for the sink instead of being sent into it; the webhook sink parks on a long Retry-After.
Workers are two Dispatchers on two connections to one store, with the store's clock moved."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tests.factories import alert
from tests.loopback import FeedServer
from tests.state.conftest import BACKENDS, T0, Clock
from wirewatch.transforms.config import Config, RouteConfig
from wirewatch.transforms.sinks.base import DeliveryError
from wirewatch.transforms.sinks.dispatch import Dispatcher
from wirewatch.transforms.sinks.health import BACKOFF
from wirewatch.transforms.state import open_store

SLACK = {"type": "slack", "webhook_url": "${T_HOOK}", "pace": 0}


@pytest.fixture(params=sorted(BACKENDS))
def location(request, tmp_path) -> str:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def connect(location, clock):
    opened = []

    def connect():
        opened.append(open_store(location, clock=clock))
        return opened[-1]

    yield connect
    for store in opened:
        store.close()


@pytest.fixture
def config(monkeypatch) -> Config:
    monkeypatch.setenv("T_HOOK", "https://hooks.slack.test/services/T/B/X")
    return Config(
        routes=[RouteConfig(sinks=["hook"], max_alerts=1, group_interval=60, group_wait=0)],
        sinks={"hook": SLACK},
    )


class Sink:
    """Records what it sends; `down` makes it fail as an outage would; `gate` holds a send
    until released (a worker caught mid-send)."""

    name = "hook"

    def __init__(self, down: bool = False, gate: threading.Event | None = None):
        self.sent: list[str] = []
        self.down, self.gate, self.entered = down, gate, threading.Event()

    def send(self, a):
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.down:
            raise DeliveryError("Slack webhook answered HTTP 500", transient=True)
        self.sent.append(a.match.article.article.title)

    def send_digest(self, alerts, label):
        self.sent.append("digest: " + ", ".join(a.match.article.article.title for a in alerts))

    def close(self):
        pass


def story(n: int):
    return alert(sink="hook", id=f"s{n}", title=f"Story {n}")


def test_two_workers_resume_one_backlog_each_alert_once_in_order(config, connect, clock):
    down = Dispatcher(config, connect(), lambda name: Sink(down=True), clock=clock, owner="A")
    outcomes = [down.offer(story(n)) for n in (1, 2, 3)]
    assert [(o.status, o.deferred, o.skipped) for o in outcomes] == [
        ("dead", True, False),  # tried: its retries spent
        ("dead", True, True),  # waited behind it without a try
        ("dead", True, True),
    ]
    clock.advance(seconds=1)  # the sink is back; one failure does not make it down

    gate = threading.Event()
    sink_a, sink_b = Sink(gate=gate), Sink()
    a = Dispatcher(config, connect(), lambda name: sink_a, clock=clock, owner="A")
    b = Dispatcher(config, connect(), lambda name: sink_b, clock=clock, owner="B")
    resumed: list = []
    worker_a = threading.Thread(target=lambda: resumed.extend(a.resume("hook")))
    worker_a.start()
    assert sink_a.entered.wait(10)  # A is sending story 1
    assert b.resume("hook") == []  # B finds story 1 claimed: A is on this backlog
    [late] = [b.offer(story(4))]
    assert (late.status, late.skipped) == ("dead", True)  # it waits behind the backlog
    gate.set()
    worker_a.join(10)
    assert [o.status for o in resumed] == ["sent"] * 3

    clock.advance(seconds=1)  # the next cycle, on either worker
    assert [o.status for o in b.resume("hook")] == ["sent"]
    assert [o.status for o in a.resume("hook")] == []
    assert sink_a.sent + sink_b.sent == ["Story 1", "Story 2", "Story 3", "Story 4"]
    assert [o.status for o in (a.offer(story(1)), b.offer(story(4)))] == ["already_sent"] * 2


def test_a_sink_down_twice_is_skipped_until_its_backoff_ends(config, connect, clock):
    store = connect()
    sink = Sink(down=True)
    dispatcher = Dispatcher(config, store, lambda name: sink, clock=clock)
    dispatcher.offer(story(1))
    clock.advance(seconds=1)
    assert dispatcher.resume("hook")[0].deferred  # the probe fails: down now
    health = store.sink_health("hook")
    assert health.failures == 2 and health.down_until == clock.now + timedelta(seconds=BACKOFF[0])
    assert connect().sink_health("hook") == health  # every worker sees it
    clock.advance(seconds=BACKOFF[0] - 1)
    assert dispatcher.resume("hook") == []  # still down: no try at all
    assert dispatcher.offer(story(2)).skipped

    sink.down = False
    clock.advance(seconds=1)
    assert [o.status for o in dispatcher.resume("hook")] == ["sent", "sent"]
    assert sink.sent == ["Story 1", "Story 2"]
    assert store.sink_health("hook").failures == 0


def test_a_due_digest_waits_for_the_sink_instead_of_going_into_it(config, connect, clock):
    store = connect()
    sink = Sink()
    dispatcher = Dispatcher(config, store, lambda name: sink, clock=clock)
    routed = [story(n).model_copy(update={"route": 0, "group": "g"}) for n in (1, 2, 3)]
    assert [dispatcher.offer(a).status for a in routed] == ["sent", "held", "held"]
    until = T0 + timedelta(minutes=10)
    store.save_sink_health(
        store.sink_health("hook").model_copy(update={"down_until": until, "reason": "429"})
    )
    clock.advance(seconds=61)  # the digest is due, the sink is parked
    assert dispatcher.flush_due("hook") == []
    assert store.next_group_due() == until  # the watch loop wakes when the park ends
    clock.now = until
    assert [o.status for o in dispatcher.flush_due("hook")] == ["sent", "sent"]
    assert sink.sent == ["Story 1", "digest: Story 2, Story 3"]


def test_the_webhook_sink_parks_on_a_long_retry_after(connect, clock, monkeypatch):
    from wirewatch.transforms.config import WebhookSink as WebhookSinkConfig
    from wirewatch.transforms.sinks.webhook import WebhookSink

    with FeedServer() as server:
        server.feeds["/hook"] = (429, {"Retry-After": "600"}, b"slow down")
        settings = {"type": "webhook", "url": server.url("/hook"), "max_retries": 3}
        sink = WebhookSink("hook", WebhookSinkConfig(**settings))
        config = Config(sinks={"hook": settings})
        store = connect()
        dispatcher = Dispatcher(config, store, lambda name: sink, clock=clock)
        first, second = dispatcher.offer(story(1)), dispatcher.offer(story(2))
        assert (first.deferred, first.skipped, second.skipped) == (True, False, True)
        assert len(server.requests) == 1
        assert store.sink_health("hook").down_until == T0 + timedelta(seconds=600)
        server.feeds["/hook"] = (200, {}, b"ok")
        clock.advance(seconds=600)
        assert [o.status for o in dispatcher.resume("hook")] == ["sent", "sent"]
        sink.close()


def test_a_long_backlog_is_resent_over_several_cycles_so_feeds_keep_being_polled(
    config, connect, clock
):
    """A cycle spends at most its resume budget on the backlog; what is left goes first in the
    next cycles, and the cycle's new alerts wait behind it: every alert once, in order."""
    down = Dispatcher(config, connect(), lambda name: Sink(down=True), clock=clock)
    for n in (1, 2, 3, 4, 5):
        down.offer(story(n))
    clock.advance(seconds=1)

    ticks = iter(range(1000))  # each look at the time: one second later
    sink = Sink()
    budgeted = Dispatcher(
        config,
        connect(),
        lambda name: sink,
        clock=clock,
        resume_budget=3,  # the start, then two sends fit
        monotonic=lambda: float(next(ticks)),
    )
    cycles = []
    for new in (6, 7, 8):
        resumed = budgeted.resume("hook")
        cycles.append(([o.status for o in resumed], budgeted.offer(story(new)).status))
        clock.advance(seconds=1)
    assert cycles == [
        (["sent", "sent"], "dead"),
        (["sent", "sent"], "dead"),
        (["sent"] * 2, "dead"),
    ]
    while budgeted.resume("hook"):
        clock.advance(seconds=1)
    assert sink.sent == [f"Story {n}" for n in range(1, 9)]
