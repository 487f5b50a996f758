"""Beam wrappers for routing, delivery, dead letters and the end-of-cycle commit.

Delivery is grouped by sink: one sink's alerts go out in order from one worker (pacing per
channel is then simple), and a sink that fails or stalls never holds up another sink's group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.config import Config
from transforms.model import Alert, DeadLetter, Match
from transforms.store import StateStore

NS = "wirewatch"
DEAD = "dead"


class _RouteDoFn(beam.DoFn):
    def __init__(self, config: Config):
        self.config = config

    def setup(self):
        from transforms.routing import Router
        self.router = Router(self.config)

    def process(self, match: Match) -> Iterable[Alert]:
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


class _DeliverSinkDoFn(beam.DoFn):
    def __init__(self, config: Config, state_dir: str):
        self.config, self.state_dir = config, state_dir

    def setup(self):
        self.store = StateStore(self.state_dir)
        self.sinks = {}

    def teardown(self):
        for sink in self.sinks.values():
            sink.close()
        self.store.close()

    def _sink(self, name: str):
        from transforms.sinks.base import build_sink
        if name not in self.sinks:
            self.sinks[name] = build_sink(name, self.config.sinks[name])
        return self.sinks[name]

    def process(self, sink_alerts) -> Iterable:
        from transforms.sinks.deliver import deliver
        name, alerts = sink_alerts
        sink = self._sink(name)
        ordered = sorted(alerts, key=lambda a: (a.match.article.article.published, a.key))
        for alert in ordered:
            outcome = deliver(alert, sink, self.store)
            Metrics.counter(NS, f"alerts_{outcome.status}").inc()
            Metrics.counter(f"{NS}.sink", f"{name}.{outcome.status}").inc()
            if outcome.dead_letter is not None:
                yield beam.pvalue.TaggedOutput(DEAD, outcome.dead_letter)
            yield outcome


class Deliver(beam.PTransform):
    """PCollection[Alert] -> Outcome main output and DEAD output (alerts that gave up)."""

    def __init__(self, config: Config, state_dir: str):
        super().__init__()
        self.config, self.state_dir = config, state_dir

    def expand(self, alerts):
        return (alerts
                | "BySink" >> beam.Map(lambda a: (a.sink, a))
                | "GroupBySink" >> beam.GroupByKey()
                | "Send" >> beam.ParDo(_DeliverSinkDoFn(self.config, self.state_dir))
                .with_outputs(DEAD, main="outcomes"))


class _WriteDeadLettersDoFn(beam.DoFn):
    """Dead letters land in the state store (for `redeliver`) and a JSONL file (for people)."""

    def __init__(self, state_dir: str, path: str):
        self.state_dir, self.path = state_dir, path

    def setup(self):
        self.store = StateStore(self.state_dir)

    def teardown(self):
        self.store.close()

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


class _CommitDoFn(beam.DoFn):
    """Runs only after the barrier side input (all deliveries) is complete."""

    def __init__(self, state_dir: str):
        self.state_dir = state_dir

    def setup(self):
        self.store = StateStore(self.state_dir)

    def teardown(self):
        self.store.close()

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
