"""Beam wrapper for routing: every match becomes one Alert per sink it is routed to, unless a
silence covers it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Iterable

import apache_beam as beam
from apache_beam.pvalue import PCollection

from wirewatch.transforms.beam_support.cache import ref
from wirewatch.transforms.beam_support.metrics import Counters
from wirewatch.transforms.config import Config
from wirewatch.transforms.model import Alert, Match
from wirewatch.transforms.routing.router import Router
from wirewatch.transforms.routing.silences import silenced


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class _RouteDoFn(beam.DoFn):
    def __init__(self, config: Config, clock: Callable[[], datetime]):
        self.config_ref = ref(config)  # decoded once per process, not once per cycle
        self.clock = clock
        self.count = Counters("matches_silenced", "matches_unrouted")

    def setup(self) -> None:
        self.config = self.config_ref.value
        self.router = Router(self.config)

    def process(self, match: Match) -> Iterable[Alert]:
        if silenced(match, self.config.silences, self.clock()):
            self.count.matches_silenced.inc()
            return
        alerts = self.router.route(match)
        if not alerts:
            self.count.matches_unrouted.inc()
        yield from alerts


class RouteAlerts(beam.PTransform):
    """PCollection[Match] -> PCollection[Alert], one per (match, sink). `clock` decides which
    silences are still running (a picklable function; tests pass a fixed time)."""

    def __init__(self, config: Config, clock: Callable[[], datetime] = utc_now):
        super().__init__()
        self.config, self.clock = config, clock

    def expand(self, matches: PCollection[Match]) -> PCollection[Alert]:
        return matches | "Route" >> beam.ParDo(_RouteDoFn(self.config, self.clock))
