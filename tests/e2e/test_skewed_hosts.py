"""End to end: two `wirewatch run` workers on one PostgreSQL store, on "hosts" whose clocks
disagree by an hour (the second one's wall clock is moved: tests/fixtures/host_clock).

Worker a sends the alert and Slack holds its request open. Worker b, whose clock runs an hour
ahead, meanwhile runs its cycles, and each of them re-offers the claims whose lease has ended.
Timed by b's own clock, a's live claim had ended an hour ago, and b sent the alert a second
time. Timed by the database server's clock, as now, b leaves it to a: Slack gets it once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.e2e.test_watch import WAIT, HoldingSlackServer, Watch, Wire, wait_for
from tests.loopback import FeedServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HOST_CLOCK = ROOT / "tests" / "fixtures" / "host_clock"

CONFIG = """
feeds:
  - {{id: wire, url: "{feed}", interval: 1}}
rules:
  - {{id: quake, query: 'earthquake'}}
routes:
  - {{sinks: [hook], group_wait: 0}}
sinks:
  hook: {{type: slack, webhook_url: "${{E2E_SLACK_WEBHOOK}}", retry_backoff: 0.01, pace: 0}}
dead_letters: "{dead}"
lease_seconds: 30
"""


def test_a_worker_whose_clock_runs_an_hour_ahead_never_resends_a_live_claim(tmp_path, pg_url):
    with FeedServer() as feeds, HoldingSlackServer() as slack:
        Wire(feeds).add("Earthquake shakes the coast")
        config = tmp_path / "wirewatch.yaml"
        config.write_text(CONFIG.format(feed=feeds.url("/wire.xml"), dead=tmp_path / "dead.jsonl"))
        env = {**os.environ, "E2E_SLACK_WEBHOOK": slack.webhook_url, "PYTHONPATH": str(ROOT)}
        ahead = {**env, "PYTHONPATH": f"{HOST_CLOCK}{os.pathsep}{ROOT}"}
        ahead["WIREWATCH_TEST_CLOCK_OFFSET"] = "3600"
        workers: list[Watch] = []
        try:
            slack.hold(1, accept=True)
            workers.append(a := Watch(config, pg_url, tmp_path / "a.log", env, ()))
            wait_for(slack.holding, "a's alert, held", a)
            workers.append(b := Watch(config, pg_url, tmp_path / "b.log", ahead, ()))
            deadline = time.monotonic() + WAIT
            while b.tail().count("feeds polled") < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert b.tail().count("feeds polled") >= 2, b.tail()  # b re-offered twice
            assert slack.received == [], "sent while a's request was still held"
            slack.release.set()
            deadline = time.monotonic() + WAIT
            while not slack.received and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(3)  # a few more cycles of both: nothing more may come
            assert len(slack.received) == 1, slack.texts()
        finally:
            slack.release.set()
            for worker in workers:
                worker.cleanup()
