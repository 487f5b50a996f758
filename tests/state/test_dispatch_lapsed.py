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


def test_a_cycles_new_alert_does_not_take_over_a_dead_senders_claim(
    store, connect, clock, tmp_path
):
    """a is killed inside a JSONL batch after the line reached the file, before the ledger's
    commit: the alert stays 'sending'. Its entry is edited meanwhile, so b's cycle makes the
    same key again. b's fresh claims (its commit's, its offer) leave the row alone, and the
    re-offer of the expired claim asks the file first: one line, not two."""
    from contextlib import contextmanager

    from wirewatch.transforms.sinks.jsonl import JsonlSink

    path = tmp_path / "out.jsonl"
    config = Config(sinks={"file": {"type": "jsonl", "path": str(path)}})

    class Killed(BaseException):
        pass

    class DiesBeforeTheCommit(JsonlSink):
        @contextmanager
        def batch(self):
            with super().batch():
                yield
                raise Killed  # stands for SIGKILL after the lines, before the commit

    x = alert(sink="file", id="x")
    lease_a, lease_b = Lease("a", config.lease_seconds), Lease("b", config.lease_seconds)
    assert store.claim_alerts([(x.key, x.sink, x.model_dump_json())], lease_a, fresh=True)
    a = Dispatcher(config, store, lambda n: DiesBeforeTheCommit(n, config.sinks[n]), owner="a")
    try:
        a.offer_all([x])
    except Killed:
        pass
    assert store.alert(x.key).status == "sending" and len(path.read_text().splitlines()) == 1
    clock.advance(seconds=config.lease_seconds + 1)  # SQLite: the restart's owner lock does this

    other = connect()
    b = Dispatcher(config, other, lambda n: JsonlSink(n, config.sinks[n]), owner="b")
    assert other.claim_alerts([(x.key, x.sink, x.model_dump_json())], lease_b, fresh=True) == set()
    assert [o.status for o in b.offer_all([x])] == ["already_sent"]
    assert [o.status for o in b.reoffer_expired("file")] == ["already_sent"]  # the file has it
    assert other.alert(x.key).status == "sent"
    assert len(path.read_text().splitlines()) == 1
    # a live claim of one's own is still granted to a fresh claim (a retry inside one cycle)
    y = alert(sink="file", id="y")
    assert other.claim_alert(y.key, y.sink, y.model_dump_json(), lease_b, fresh=True)
    assert other.claim_alert(y.key, y.sink, y.model_dump_json(), lease_b, fresh=True)
