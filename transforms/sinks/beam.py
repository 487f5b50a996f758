"""Beam wrapper for delivery: alerts grouped by sink, sent through the Dispatcher.

Delivery is grouped by sink: one sink's alerts go out in order from one worker (pacing per
channel is then simple), and a sink that fails or stalls never holds up another sink's group.
"""

from __future__ import annotations

from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from wirewatch.transforms.beam_support.cache import ref
from wirewatch.transforms.beam_support.metrics import NS
from wirewatch.transforms.config import Config
from wirewatch.transforms.state.beam import StoreDoFn

DEAD = "dead"


class _DeliverSinkDoFn(StoreDoFn):
    """All of one sink's new alerts in order, then the sink's held groups that are due."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__(state_dir)
        self.config_ref = ref(config)  # decoded once per process, not once per cycle

    def setup(self):
        from wirewatch.transforms.sinks.base import build_sink
        from wirewatch.transforms.sinks.dispatch import Dispatcher

        super().setup()
        self.config = self.config_ref.value
        self.dispatcher = Dispatcher(
            self.config, self.store, lambda name: build_sink(name, self.config.sinks[name])
        )

    def teardown(self):
        self.dispatcher.close()
        super().teardown()

    def process(self, sink_alerts) -> Iterable:
        name, alerts = sink_alerts
        ordered = sorted(
            (a for a in alerts if a is not None),
            key=lambda a: (a.match.article.article.published, a.key),
        )
        outcomes = [self.dispatcher.offer(alert) for alert in ordered]
        outcomes += self.dispatcher.flush_due(name)
        for outcome in outcomes:
            Metrics.counter(NS, f"alerts_{outcome.status}").inc()
            Metrics.counter(f"{NS}.sink", f"{name}.{outcome.status}").inc()
            if outcome.dead_letter is not None:
                yield beam.pvalue.TaggedOutput(DEAD, outcome.dead_letter)
            yield outcome


class Deliver(beam.PTransform):
    """PCollection[Alert] -> Outcome main output and DEAD output (alerts that gave up).

    Every active sink also gets a tick (None) each cycle, so held digests go out when due even
    in a cycle that brought no new alert for that sink.
    """

    def __init__(self, config: Config, state_dir: str):
        super().__init__()
        self.config, self.state_dir = config, state_dir

    def expand(self, alerts):
        from wirewatch.transforms.routing.router import active_sinks

        ticks = (
            alerts.pipeline
            | "SinkTicks" >> beam.Create(sorted(active_sinks(self.config)))
            | "Tick" >> beam.Map(lambda name: (name, None))
        )
        keyed = alerts | "BySink" >> beam.Map(lambda a: (a.sink, a))
        return (
            (keyed, ticks)
            | "WithTicks" >> beam.Flatten()
            | "GroupBySink" >> beam.GroupByKey()
            | "Send"
            >> beam.ParDo(_DeliverSinkDoFn(self.config, self.state_dir)).with_outputs(
                DEAD, main="outcomes"
            )
        )
