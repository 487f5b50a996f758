"""A Slack that rate-limits for ten minutes or is down for several cycles never stalls a cycle,
and every alert of that time reaches it once it is back: exactly once, in order, with no
`wirewatch redeliver`. Real `wirewatch run --once` cycles (in-process engine) against the
loopback feed and Slack servers; time passing is the sink's stored backoff moved into the past.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.loopback import FeedServer, SlackServer
from wirewatch.pipelines.cli import main
from wirewatch.transforms.model import utc_now
from wirewatch.transforms.state import open_store

CONFIG = """
feeds:
  - {{id: wire, url: "{feed}", backfill_hours: null}}
rules:
  - {{id: quake, query: earthquake, sinks: [hook]}}
sinks:
  hook: {{type: slack, webhook_url: "${{OUTAGE_SLACK_WEBHOOK}}", max_retries: 1,
          retry_backoff: 0.01, pace: 0}}
dead_letters: "{dead}"
"""


def rss(count: int) -> bytes:
    items = "".join(
        f"<item><title>Earthquake {n}</title><link>https://example.org/q{n}</link>"
        f"<guid>q{n}</guid><pubDate>Thu, 26 Nov 2026 10:{n:02d}:00 GMT</pubDate></item>"
        for n in range(1, count + 1)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode()


class World:
    """A feed that grows by `publish`, a Slack webhook, and one `run --once` per `cycle`."""

    def __init__(self, feeds: FeedServer, slack: SlackServer, tmp_path):
        self.feeds, self.slack, self.published = feeds, slack, 0
        self.state = tmp_path / "state"
        self.config = tmp_path / "wirewatch.yaml"
        self.config.write_text(
            CONFIG.format(feed=feeds.url("/wire.xml"), dead=tmp_path / "dead.jsonl")
        )

    def publish(self, count: int = 1) -> None:
        self.published += count
        self.feeds.feeds["/wire.xml"] = (200, {}, rss(self.published))

    def cycle(self) -> int:
        """One `run --once`; returns its exit code (1: some alerts were dead-lettered)."""
        args = ["--config", str(self.config), "--state-dir", str(self.state)]
        return main(["run", "--once", *args])

    @property
    def attempts(self) -> int:
        return self.slack.attempts[self.slack.WEBHOOK_PATH]

    def delivered(self) -> list[str]:
        return [m["text"].split("] ")[1].split(" https")[0] for m in self.slack.received]

    def health(self):
        with open_store(self.state) as store:
            return store.sink_health("hook")

    def time_passes(self) -> None:
        """The sink's backoff or park ends (as if its time went by)."""
        with open_store(self.state) as store:
            health = store.sink_health("hook")
            past = utc_now() - timedelta(seconds=1)
            store.save_sink_health(health.model_copy(update={"down_until": past}))

    def open_dead_letters(self) -> int:
        with open_store(self.state) as store:
            counts = store.counts()
        return counts["dead_letters"] - counts["dead_letters_resolved"]


@pytest.fixture
def world(tmp_path, monkeypatch):
    with FeedServer() as feeds, SlackServer() as slack:
        monkeypatch.setenv("OUTAGE_SLACK_WEBHOOK", slack.webhook_url)
        yield World(feeds, slack, tmp_path)


def quakes(*numbers: int) -> list[str]:
    return [f"Earthquake {n}" for n in numbers]


def test_a_retry_after_of_ten_minutes_parks_the_sink_instead_of_blocking_the_run(world):
    world.publish(2)
    world.slack.fail_next(world.slack.WEBHOOK_PATH, 429, {"Retry-After": "600"}, b"rate_limited")
    assert world.cycle() == 1  # returns at once: one request, no 600 s sleep
    assert world.attempts == 1 and world.delivered() == []
    health = world.health()
    assert timedelta(seconds=590) < health.down_until - utc_now() <= timedelta(seconds=600)
    assert "600 s (Retry-After)" in health.reason

    world.publish()  # a later run while parked: nothing is sent, the new alert waits too
    assert world.cycle() == 1
    assert world.attempts == 1 and world.delivered() == []

    world.time_passes()
    world.publish()
    assert world.cycle() == 0
    assert world.delivered() == quakes(1, 2, 3, 4)  # the held ones first, in order
    assert world.attempts == 1 + 4
    assert world.health().down_until is None and world.open_dead_letters() == 0

    assert world.cycle() == 0  # nothing goes out twice
    assert world.delivered() == quakes(1, 2, 3, 4)


def test_an_outage_costs_each_cycle_one_retry_budget_and_heals_by_itself(world):
    world.slack.fail_all(world.slack.WEBHOOK_PATH, 500, body=b"down")
    world.publish(2)
    assert world.cycle() == 1
    assert world.attempts == 2  # the first alert's try and one retry; the second waited
    assert world.health().failures == 1

    world.publish()
    assert world.cycle() == 1
    assert world.attempts == 4  # the oldest alert probed the sink again: now it is down
    health = world.health()
    assert health.failures == 2 and health.down_until > utc_now()

    world.publish()
    assert world.cycle() == 1
    assert world.attempts == 4  # down: skipped without a request

    world.slack.recover(world.slack.WEBHOOK_PATH)
    world.time_passes()
    world.publish()
    assert world.cycle() == 0
    assert world.delivered() == quakes(1, 2, 3, 4, 5)  # each once, in order, no redeliver
    assert world.attempts == 4 + 5
    assert world.health().failures == 0 and world.open_dead_letters() == 0

    assert world.cycle() == 0
    assert world.delivered() == quakes(1, 2, 3, 4, 5)
