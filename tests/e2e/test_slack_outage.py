"""End to end: a real `wirewatch run` watch process through a Slack outage. While the loopback
Slack answers 500, cycles keep polling and spend at most one retry budget per failed probe (the
sink goes down after two); when Slack is back and the sink's backoff ends (its stored time moved
into the past, as if 30 s went by), every alert of the outage arrives exactly once, in order,
without `wirewatch redeliver`."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest

from tests.e2e.test_watch import ROOT, WAIT, Watch, Wire
from tests.loopback import FeedServer, SlackServer
from wirewatch.transforms.model import utc_now
from wirewatch.transforms.state import open_store

pytestmark = pytest.mark.e2e

CONFIG = """
feeds:
  - {{id: wire, url: "{feed}"}}
rules:
  - {{id: quake, query: 'earthquake', sinks: [hook]}}
sinks:
  hook: {{type: slack, webhook_url: "${{E2E_SLACK_WEBHOOK}}", retry_backoff: 0.01,
         max_retries: 1, pace: 0}}
dead_letters: "{dead}"
"""


class CountingSlackServer(SlackServer):
    """Wakes `wait_received(n)` whenever a message is accepted."""

    def __init__(self):
        super().__init__()
        self.changed = threading.Condition()

    def _handle(self, handler, body):
        super()._handle(handler, body)
        with self.changed:
            self.changed.notify_all()

    def wait_received(self, count: int, watch: Watch) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.received) >= count, WAIT):
                pytest.fail(f"Slack got {len(self.received)} of {count}:\n{watch.tail()}")


def titles(slack: SlackServer) -> list[str]:
    return [text.split("] ", 1)[1].rsplit(" https://", 1)[0] for text in slack.texts()]


def test_an_outage_never_stalls_the_loop_and_heals_by_itself(tmp_path):
    state = tmp_path / "state"
    with FeedServer() as feeds, CountingSlackServer() as slack:
        wire = Wire(feeds)
        config = tmp_path / "wirewatch.yaml"
        config.write_text(CONFIG.format(feed=feeds.url("/wire.xml"), dead=tmp_path / "d.jsonl"))
        env = {**os.environ, "E2E_SLACK_WEBHOOK": slack.webhook_url, "PYTHONPATH": str(ROOT)}
        slack.fail_all(slack.WEBHOOK_PATH, 500, body=b"down")
        wire.add("Earthquake 1", "Earthquake 2")
        watch = Watch(config, state, tmp_path / "watch.log", env, ())
        try:
            watch.wait_logged("cycle 1:")
            wire.add("Earthquake 3")
            watch.wait_logged("cycle 3:")
            wire.add("Earthquake 4")
            watch.wait_logged("cycle 6:")
            # Four alerts over six cycles: the first alert's try and retry, its probe in the
            # next cycle (the sink is down after it), then nothing until the backoff ends.
            # Without the sink's health every alert would spend its two requests (8).
            assert slack.attempts[slack.WEBHOOK_PATH] <= 6
            assert slack.received == []

            slack.recover(slack.WEBHOOK_PATH)
            with open_store(state) as store:  # the 30 s backoff goes by
                health = store.sink_health("hook")
                assert health.failures >= 2 and health.down_until is not None
                store.save_sink_health(
                    health.model_copy(update={"down_until": utc_now() - timedelta(seconds=1)})
                )
            wire.add("Earthquake 5")
            slack.wait_received(5, watch)
            done = sum("cycle " in line for line in watch.lines)
            watch.wait_logged(f"cycle {done + 2}:")  # and nothing more goes out after that
        finally:
            watch.cleanup()
    assert titles(slack) == [f"Earthquake {n}" for n in range(1, 6)]
    with open_store(state) as store:
        counts = store.counts()
        assert counts["dead_letters"] == counts["dead_letters_resolved"] > 0
        assert store.sink_health("hook").failures == 0
