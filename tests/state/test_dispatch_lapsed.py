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
