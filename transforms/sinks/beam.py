"""Beam wrapper for delivery: alerts grouped by sink, sent through the Dispatcher.

Delivery is grouped by sink: one sink's alerts go out in order from one worker (pacing per
channel is then simple), and a sink that fails or stalls never holds up another sink's group.
The grouping is a side input: one element per active sink, whose alerts it looks up by sink
(a multimap). A flatten of alerts and ticks and a group-by-key did the same with two more
stages, each decoding and encoding every alert again (with worker processes a stage costs
about half a second of its own).
"""

from __future__ import annotations

import logging
import pickle
from typing import Iterable, Mapping

import apache_beam as beam
from apache_beam.pvalue import AsIter, AsMultiMap, PCollection, TaggedOutput

from wirewatch.transforms.beam_support.cache import ref
from wirewatch.transforms.beam_support.metrics import Counters
from wirewatch.transforms.config import Config
from wirewatch.transforms.model import Alert
from wirewatch.transforms.routing.router import active_sinks
from wirewatch.transforms.sinks.dispatch import Dispatcher, Outcome, reached
from wirewatch.transforms.sinks.registry import build_sink
from wirewatch.transforms.state.beam import Committed, StoreDoFn, write_dead_letters
from wirewatch.transforms.state.owner import claim_owner

log = logging.getLogger("wirewatch")


class _DeliverSinkDoFn(StoreDoFn):
    """First the sink's deferred alerts once it is back (they failed or met it down in an
    earlier cycle), then all of its new alerts in order, then its alerts whose claim expired
    (a worker died mid-send), then the sink's held groups that are due.

    If a step fails (the store, a bug), the cycle fails, and with it this bundle's outputs:
    the dead letters of the alerts already recorded dead are then written here, at once
    (`dead_letters`: the file), or they would be in the ledger and nowhere a person reads."""

    def __init__(self, config: Config, state_dir: str, owner: str, dead_letters: str | None):
        super().__init__(state_dir)
        self.config_ref = ref(config)  # decoded once per process, not once per cycle
        self.owner, self.dead_letters = owner, dead_letters
        # one per outcome status; deferred: dead until the sink is back; skipped: deferred
        # without a try; digested: sent inside a digest
        self.count = Counters(
            *(f"alerts_{status}" for status in ("sent", "already_sent", "held", "dead")),
            "alerts_deferred",
            "alerts_skipped",
            "alerts_digested",
        )

    def setup(self) -> None:
        super().setup()
        config = self.config_ref.value
        self.dispatcher = Dispatcher(
            config, self.store, lambda name: build_sink(name, config.sinks[name]), owner=self.owner
        )

    def teardown(self) -> None:
        self.dispatcher.close()
        super().teardown()

    def process(
        self,
        name: str,
        by_sink: Mapping[str, Iterable[bytes]],
        committed=(),  # a barrier, unread
    ) -> Iterable[Outcome | TaggedOutput]:
        ordered = sorted(  # a sink without alerts maps to none
            map(pickle.loads, by_sink[name]),
            key=lambda a: (a.match.article.article.published, a.key),
        )
        dispatcher, outcomes = self.dispatcher, []
        try:
            outcomes += dispatcher.resume(name)
            outcomes += dispatcher.offer_all(ordered)
            outcomes += dispatcher.reoffer_expired(name)
            outcomes += dispatcher.flush_due(name)
        except Exception as error:
            letters = [o.dead_letter for o in outcomes + reached(error) if o.dead_letter]
            if letters and self.dead_letters:
                self._write_at_once(name, letters)
            raise
        count = self.count
        for outcome in outcomes:
            count[f"alerts_{outcome.status}"].inc()
            if outcome.deferred:
                count.alerts_deferred.inc()
            if outcome.skipped:
                count.alerts_skipped.inc()
            if outcome.digested:
                count.alerts_digested.inc()
            if outcome.dead_letter is not None:
                yield TaggedOutput(Deliver.DEAD, outcome.dead_letter)
            yield outcome

    def _write_at_once(self, name: str, letters: list) -> None:
        """The dead letters of a delivery that failed, written now; the failure goes on
        whatever happens here (the store may be what failed: the file is written first)."""
        try:
            write_dead_letters(self.store, self.dead_letters, letters)
        except Exception as lost:  # noqa: BLE001  say it; the delivery's own error is raised
            log.error(f"sink {name}: {len(letters)} dead letters not all written: {lost}")


def _keyed_by_sink(alert: Alert) -> tuple[str, bytes]:
    """The alert pickled, under its sink. Why pickled here: the local engine's driver decodes
    every element of a side input and encodes it again to file it by key and window, which
    for an alert (a pydantic model) is a pickle round trip; bytes it only copies."""
    return alert.sink, pickle.dumps(alert, pickle.HIGHEST_PROTOCOL)


class Deliver(beam.PTransform):
    """PCollection[Alert], or CommitCycle's Committed (sending starts once its `done` is
    complete) -> OUTCOMES (one Outcome per alert offered or digest member sent) and DEAD (a
    DeadLetter per alert its sink gave up on). `dead_letters`: the cycle's dead-letter file,
    where a failed delivery writes the dead letters it had recorded (see _DeliverSinkDoFn).

    Every active sink gets its call each cycle, so held digests go out when due even in a
    cycle that brought no new alert for that sink.
    """

    OUTCOMES = "outcomes"
    DEAD = "dead"

    def __init__(self, config: Config, state_dir: str, dead_letters: str | None = None):
        super().__init__()
        self.config, self.state_dir, self.dead_letters = config, state_dir, dead_letters
        self.sinks = sorted(active_sinks(config))
        self.owner = claim_owner()  # the cycle's claims are taken under this name (CommitCycle)

    def expand(self, alerts: PCollection[Alert] | Committed) -> beam.pvalue.DoOutputsTuple:
        after = ()
        if isinstance(alerts, tuple):
            alerts, done = alerts
            after = (AsIter(done),)  # a barrier: never iterated
        by_sink = alerts | "BySink" >> beam.Map(_keyed_by_sink)
        send = _DeliverSinkDoFn(self.config, self.state_dir, self.owner, self.dead_letters)
        return (
            alerts.pipeline
            | "Sinks" >> beam.Create(self.sinks)
            | "Send"
            >> beam.ParDo(send, AsMultiMap(by_sink), *after).with_outputs(
                self.DEAD, main=self.OUTCOMES
            )
        )
