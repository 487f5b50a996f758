"""Beam wrappers for routing, delivery, dead letters and the end-of-cycle commit.

Delivery is grouped by sink: one sink's alerts go out in order from one worker (pacing per
channel is then simple), and a sink that fails or stalls never holds up another sink's group.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.beam_metrics import NS
from transforms.beam_store import StoreDoFn
from transforms.config import Config
from transforms.model import Alert, DeadLetter, Match
from transforms.worker_cache import ref

DEAD = "dead"


class _RouteDoFn(beam.DoFn):
    def __init__(self, config: Config):
        self.config_ref = ref(config)  # decoded once per process, not once per cycle

    def setup(self):
        from transforms.routing import Router
        self.config = self.config_ref.value
        self.router = Router(self.config)

    def process(self, match: Match) -> Iterable[Alert]:
        from transforms.grouping import silenced
        if silenced(match, self.config.silences, datetime.now(timezone.utc)):
            Metrics.counter(NS, "matches_silenced").inc()
            return
        alerts = self.router.route(match)
        if not alerts:
            Metrics.counter(NS, "matches_unrouted").inc()
        yield from alerts


class RouteAlerts(beam.PTransform):
    """PCollection[Match] -> PCollection[Alert], one per (match, sink)."""

    def __init__(self, config: Config):
        super().__init__()
        self.config = config

    def expand(self, matches):
        return matches | "Route" >> beam.ParDo(_RouteDoFn(self.config))


class _DeliverSinkDoFn(StoreDoFn):
    """All of one sink's new alerts in order, then the sink's held groups that are due."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__(state_dir)
        self.config_ref = ref(config)  # decoded once per process, not once per cycle

    def setup(self):
        from transforms.sinks.base import build_sink
        from transforms.sinks.deliver import Dispatcher
        super().setup()
        self.config = self.config_ref.value
        self.dispatcher = Dispatcher(self.config, self.store,
                                     lambda name: build_sink(name, self.config.sinks[name]))

    def teardown(self):
        self.dispatcher.close()
        super().teardown()

    def process(self, sink_alerts) -> Iterable:
        name, alerts = sink_alerts
        ordered = sorted((a for a in alerts if a is not None),
                         key=lambda a: (a.match.article.article.published, a.key))
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
        from transforms.routing import active_sinks
        ticks = (alerts.pipeline
                 | "SinkTicks" >> beam.Create(sorted(active_sinks(self.config)))
                 | "Tick" >> beam.Map(lambda name: (name, None)))
        keyed = alerts | "BySink" >> beam.Map(lambda a: (a.sink, a))
        return ((keyed, ticks)
                | "WithTicks" >> beam.Flatten()
                | "GroupBySink" >> beam.GroupByKey()
                | "Send" >> beam.ParDo(_DeliverSinkDoFn(self.config, self.state_dir))
                .with_outputs(DEAD, main="outcomes"))


class _WriteDeadLettersDoFn(StoreDoFn):
    """Dead letters land in the state store (for `redeliver`) and a JSONL file (for people)."""

    def __init__(self, state_dir: str, path: str):
        super().__init__(state_dir)
        self.path = path

    def start_bundle(self):
        self.batch: list[DeadLetter] = []

    def process(self, letter: DeadLetter):
        Metrics.counter(NS, "dead_letters").inc()
        Metrics.counter(f"{NS}.dead", letter.stage).inc()
        self.batch.append(letter)

    def finish_bundle(self):
        if not self.batch:
            return
        self.store.add_dead_letters(self.batch)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as out:
            for letter in self.batch:
                out.write(json.dumps(letter.model_dump(mode="json")) + "\n")
        self.batch = []


class WriteDeadLetters(beam.PTransform):
    def __init__(self, state_dir: str, path: str):
        super().__init__()
        self.state_dir, self.path = state_dir, path

    def expand(self, letters):
        return letters | "Write" >> beam.ParDo(_WriteDeadLettersDoFn(self.state_dir, self.path))


class _CommitDoFn(StoreDoFn):
    """Runs only after the barrier side input (all deliveries) is complete."""

    def process(self, item, barrier):
        from transforms.beam_ingest import seen_keys
        from transforms.store import FeedState
        if isinstance(item, FeedState):
            self.store.save_feed_state(item)
        else:
            self.store.mark_seen(seen_keys(item))


class CommitCycle(beam.PTransform):
    """Marks articles seen and saves feed state once every alert of the cycle was handled.

    The side input makes Beam finish all deliveries first. If the cycle dies before this, nothing
    is committed: the next cycle re-fetches and re-processes, and the alert ledger keeps the
    alerts that did go out from going out twice.
    """

    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def expand(self, pcolls):
        to_commit, delivered = pcolls
        barrier = delivered | "CountDelivered" >> beam.combiners.Count.Globally()
        return to_commit | "Commit" >> beam.ParDo(_CommitDoFn(self.state_dir),
                                                  beam.pvalue.AsSingleton(barrier))
