"""The dispatcher when its claim lapsed mid-send and another worker took the alert over, on
every backend: its failure is not reported as the alert's."""

from __future__ import annotations

from tests.factories import alert
from wirewatch.transforms.config import Config
from wirewatch.transforms.sinks.base import DeliveryError
from wirewatch.transforms.sinks.dispatch import Dispatcher
from wirewatch.transforms.state import Lease


def test_a_failure_after_another_worker_took_the_claim_is_no_dead_letter(store, connect, clock):
    """a's send outlasts its lease, b claims the alert and sends it; a's failure then writes
    nothing: no 'dead' outcome and no dead letter that b's 'sent' would never resolve."""
    other, offered = connect(), alert(sink="rec")

    class SlowFailing:
        name = "rec"

        def send(self, a, **_):
            clock.advance(seconds=Config().lease_seconds)
            assert other.claim_alert(a.key, "rec", a.model_dump_json(), Lease("b", 60))
            raise DeliveryError("HTTP 500", transient=True)

        def close(self):
            pass

    dispatcher = Dispatcher(Config(), store, lambda name: SlowFailing(), clock=clock, owner="a")
    outcome = dispatcher.offer(offered)
    assert (outcome.status, outcome.dead_letter) == ("already_sent", None)
    record = store.alert(offered.key)
    assert (record.status, record.lease_owner) == ("sending", "b")
    other.finish_alert(offered.key, "sent", 1, owner="b")
    counts = store.counts()
    assert counts["dead_letters"] == 0


def test_a_hold_after_another_worker_sent_the_alert_does_not_hold_it_again(store, connect, clock):
    """a claims x and stalls past its lease; b re-offers x, holds it and sends it in the
    group's digest. a then decides to hold x: its hold changes nothing, so x goes out once."""
    from wirewatch.transforms.config.models import RouteConfig

    config = Config(
        routes=[RouteConfig(sinks=["rec"], max_alerts=1, group_interval=3600, group_wait=0)],
        sinks={"rec": {"type": "jsonl", "path": "unused.jsonl"}},
    )

    class Recording:
        name, sent = "rec", []

        def send(self, a, **_):
            self.sent.append(a.key)

        def send_digest(self, alerts, label):
            self.sent.extend(a.key for a in alerts)

        def close(self):
            pass

    sink = Recording()
    a = Dispatcher(config, store, lambda name: sink, clock=clock, owner="a")
    b = Dispatcher(config, connect(), lambda name: sink, clock=clock, owner="b")
    first, x = (alert(sink="rec", id=i).model_copy(update={"route": 0}) for i in ("p", "x"))
    assert b.offer(first).status == "sent"
    assert a._claim(x)  # then a stalls
    clock.advance(seconds=config.lease_seconds + 1)
    assert [o.status for o in b.reoffer_expired("rec")] == ["held"]
    clock.advance(seconds=3600)
    b.flush_due("rec")
    assert store.alert(x.key).status == "sent"
    a._deliver_claimed(x)  # a wakes up: the window is full, so it decides to hold x
    assert store.alert(x.key).status == "sent"
    clock.advance(seconds=7200)
    b.flush_due("rec")
    assert sorted(sink.sent) == sorted([first.key, x.key])
