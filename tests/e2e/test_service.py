"""End to end: `wirewatch run --listen 127.0.0.1:0` serves /metrics, /healthz and /readyz while
it watches, and the metrics add up to what the run's `--json` cycle lines say.

The interval is an hour, so exactly one cycle runs (the feed was never polled) before the scrape:
the counters cannot move under the test. With `--log-format json` every line of output, log
or cycle summary, is one JSON object."""

from __future__ import annotations

import json
import re
import signal
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_watch import received_titles, watch_world

pytestmark = pytest.mark.e2e

SERVING = re.compile(r"serving (http://[^/\s\"]+)/metrics")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_and_readiness_match_the_cycle_summary(tmp_path):
    with watch_world(tmp_path, tmp_path / "state") as (wire, slack, start):
        wire.add("Earthquake one", "Markets calm", "Earthquake two")
        watch = start(
            "--listen", "127.0.0.1:0", "--json", "--interval", "3600", "--log-format", "json"
        )
        watch.wait_logged("cycle 1:")
        watch.wait_logged('"cycle": 1')
        [base] = {m.group(1) for line in watch.lines if (m := SERVING.search(line))}
        printed = [json.loads(line) for line in watch.lines]  # logs and summaries: all JSON
        [summary] = [line for line in printed if "cycle" in line]
        assert all(line["time"].endswith("Z") for line in printed if "message" in line)

        assert get(base + "/healthz") == (200, "ok\n")
        assert get(base + "/readyz") == (200, "ok\n")
        status, text = get(base + "/metrics")
        assert status == 200
        got = samples(text)
        counters = summary["counters"]

        def metric(name, **labels):
            return got[(name, tuple(sorted(labels.items())))]

        assert metric("wirewatch_cycles_total", outcome="ok") == 1
        assert metric("wirewatch_cycles_total", outcome="failed") == 0
        assert metric("wirewatch_cycle_duration_seconds_count") == 1
        assert metric("wirewatch_cycle_duration_seconds_sum") == pytest.approx(summary["seconds"])
        assert metric("wirewatch_feeds_polled_total", status="ok") == counters["feeds_ok"] == 1
        assert metric("wirewatch_articles_total", outcome="new") == counters["articles_new"] == 3
        assert metric("wirewatch_matches_total") == counters["matches"] == 2
        assert metric("wirewatch_alerts_total", sink="hook", status="sent") == 2
        assert summary["per_sink"]["hook"]["sent"] == 2
        assert metric("wirewatch_dead_letters_total") == counters.get("dead_letters", 0) == 0
        assert metric("wirewatch_held_alerts") == 0
        assert metric("wirewatch_last_success_timestamp_seconds") > 0
        assert get(base + "/nope")[0] == 404
        assert received_titles(slack) == {"Earthquake one": 1, "Earthquake two": 1}

        watch.proc.send_signal(signal.SIGTERM)
        assert watch.wait() == 0
