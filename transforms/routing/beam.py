"""Beam wrapper for routing: every match becomes one Alert per sink it is routed to."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from wirewatch.transforms.beam_support.cache import ref
from wirewatch.transforms.beam_support.metrics import NS
from wirewatch.transforms.config import Config
from wirewatch.transforms.model import Alert, Match
from wirewatch.transforms.routing.silences import silenced


class _RouteDoFn(beam.DoFn):
    def __init__(self, config: Config):
        self.config_ref = ref(config)  # decoded once per process, not once per cycle

    def setup(self):
        from wirewatch.transforms.routing.router import Router

        self.config = self.config_ref.value
        self.router = Router(self.config)

    def process(self, match: Match) -> Iterable[Alert]:
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
