"""RouteAlerts in a real (in-process) pipeline: one alert per routed sink, silences by the
injected clock, unrouted and silenced matches counted under the fixed names."""

from datetime import datetime, timedelta, timezone

import pytest

beam = pytest.importorskip("apache_beam")
from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # noqa: E402
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # noqa: E402
from apache_beam.testing.util import assert_that, equal_to  # noqa: E402

from tests.beam_counters import run_and_count  # noqa: E402
from tests.factories import alert  # noqa: E402
from wirewatch.transforms.config import Config, RouteConfig, Silence  # noqa: E402
from wirewatch.transforms.routing.beam import RouteAlerts  # noqa: E402
from wirewatch.transforms.rules.schema import RuleConfig  # noqa: E402

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def at_t0() -> datetime:
    """The pipeline's clock: module-level, so it pickles by reference."""
    return T0


def config() -> Config:
    return Config(
        rules=[
            RuleConfig(id="quake", query="earthquake"),
            RuleConfig(id="direct", query="flood", sinks=["file"]),
            RuleConfig(id="muted", query="storm"),
            RuleConfig(id="expired", query="fire"),
            RuleConfig(id="dropped", query="rain"),
        ],
        routes=[
            RouteConfig(rules=["dropped"], sinks=[]),
            RouteConfig(sinks=["console", "file"], group_by=["rule", "entity"]),
        ],
        sinks={
            "console": {"type": "console"},
            "file": {"type": "jsonl", "path": "/dev/null"},
        },
        silences=[
            Silence(rule="muted", until=T0 + timedelta(hours=1)),
            Silence(rule="expired", until=T0 - timedelta(seconds=1)),
        ],
    )


def match(rule_id: str, article_id: str):
    return alert(rule_id=rule_id, id=article_id).match


def test_route_alerts_routes_silences_and_counts():
    matches = [
        match("quake", "a1"),
        match("direct", "a2"),
        match("muted", "a3"),
        match("expired", "a4"),
        match("dropped", "a5"),
    ]
    pipeline = BeamTestPipeline(runner=FnApiRunner())
    alerts = (
        pipeline
        | beam.Create(matches)
        | RouteAlerts(config(), clock=at_t0)
        | beam.Map(lambda a: (a.key, a.route, a.group))
    )
    assert_that(
        alerts,
        equal_to(
            [
                ("quake|a1|console", 1, "rule:quake · entity:Mexico"),
                ("quake|a1|file", 1, "rule:quake · entity:Mexico"),
                ("direct|a2|file", -1, "rule:direct"),
                ("expired|a4|console", 1, "rule:expired · entity:Mexico"),
                ("expired|a4|file", 1, "rule:expired · entity:Mexico"),
            ]
        ),
    )
    counters = run_and_count(pipeline)
    assert counters == {"matches_silenced": 1, "matches_unrouted": 1}
