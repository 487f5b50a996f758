"""End to end: `wirewatch run --once` against a loopback feed server and a loopback Slack server.

Real HTTP, real feedparser, real slack_sdk clients, real Beam pipeline (in-process engine, and
the two-process mode that catches most of what breaks on a distributed runner).
"""

from __future__ import annotations

import json

import pytest

from tests.loopback import FeedServer, SlackServer
from wirewatch.pipelines.cli import main

pytestmark = pytest.mark.e2e

WORLD_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>World</title><link>https://example.org/</link>
<item><title>Strong earthquake hits Chile &amp; tsunami warning issued</title>
<link>https://example.org/quake?utm_source=rss</link><guid>w1</guid>
<pubDate>Thu, 26 Nov 2026 09:40:00 GMT</pubDate>
<description>&lt;p&gt;A magnitude 7 &lt;b&gt;earthquake&lt;/b&gt; struck off Chile.&lt;/p&gt;</description></item>
<item><title>Central bank holds rates</title><link>https://example.org/rates</link><guid>w2</guid>
<pubDate>Thu, 26 Nov 2026 10:00:00 GMT</pubDate><description>Nothing to see.</description></item>
</channel></rss>"""

BUSINESS_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Business</title><id>urn:b</id>
<updated>2026-11-26T15:30:00Z</updated>
<entry><title>Carmaker announces 4,000 job cuts</title><id>urn:b:1</id>
<link href="https://example.com/job-cuts"/><updated>2026-11-26T15:30:00Z</updated>
<summary>Unions called the layoffs a betrayal.</summary></entry>
<entry><title>Earthquake insurance claims rise in Chile</title><id>urn:b:2</id>
<link href="https://example.org/quake?utm_campaign=x"/><updated>2026-11-26T15:40:00Z</updated>
<summary>Same story URL as the world feed once tracking is stripped.</summary></entry>
</feed>"""

NOT_A_FEED = b"<!DOCTYPE html><html><head><title>Login</title></head><body>Sign in</body></html>"

CONFIG = """
feeds:
  - {{id: world, url: "{world}", backfill_hours: null}}
  - {{id: business, url: "{business}", backfill_hours: null}}
  - {{id: broken, url: "{broken}"}}
entities:
  - {{id: chile, name: Chile, type: PLACE, aliases: [Chile]}}
rules:
  - {{id: quake, query: 'entity:chile AND (earthquake OR tsunami)', severity: critical}}
  - {{id: layoffs, query: 'layoffs OR "job cuts"'}}
routes:
  - {{rules: [quake], sinks: [bot], continue: true, group_wait: 0}}
  - {{sinks: [hook, file], group_wait: 0}}
sinks:
  hook: {{type: slack, webhook_url: "${{E2E_SLACK_WEBHOOK}}", retry_backoff: 0.01}}
  bot: {{type: slack, token: "${{E2E_SLACK_TOKEN}}", channel: "#desk", api_url: "{api}",
         retry_backoff: 0.01}}
  file: {{type: jsonl, path: "{alerts}"}}
dead_letters: "{dead}"
"""


@pytest.fixture
def world(tmp_path, monkeypatch):
    with FeedServer() as feeds, SlackServer() as slack:
        feeds.feeds = {
            "/world.xml": (200, {"Content-Type": "application/rss+xml"}, WORLD_RSS),
            "/business.atom": (200, {"Content-Type": "application/atom+xml"}, BUSINESS_ATOM),
            "/broken.xml": (200, {"Content-Type": "text/html"}, NOT_A_FEED),
        }
        monkeypatch.setenv("E2E_SLACK_WEBHOOK", slack.webhook_url)
        monkeypatch.setenv("E2E_SLACK_TOKEN", slack.token)
        config = tmp_path / "wirewatch.yaml"
        config.write_text(
            CONFIG.format(
                world=feeds.url("/world.xml"),
                business=feeds.url("/business.atom"),
                broken=feeds.url("/broken.xml"),
                api=slack.api_url,
                alerts=tmp_path / "alerts.jsonl",
                dead=tmp_path / "dead.jsonl",
            )
        )
        yield feeds, slack, config, tmp_path


def run_once(config, state, *beam_args):
    """`state`: a directory (--state-dir) or a store URL (--state)."""
    where = ["--state", state] if isinstance(state, str) else ["--state-dir", str(state)]
    return main(["run", "--once", "--config", str(config), *where, *beam_args])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize(
    "beam_args",
    [
        (),
        ("--direct_num_workers=2", "--direct_running_mode=multi_processing"),
    ],
    ids=["in_process", "two_processes"],
)
def test_one_cycle_delivers_exactly_the_expected_alerts(world, beam_args, backend, request):
    feeds, slack, config, tmp = world
    state = request.getfixturevalue("pg_url") if backend == "postgresql" else tmp / "state"
    assert run_once(config, state, *beam_args) == 1  # 1: the broken feed was dead-lettered

    by_channel = sorted((m.get("channel", "webhook"), m["text"]) for m in slack.received)
    assert by_channel == [
        (
            "#desk",
            "[quake] Strong earthquake hits Chile &amp; tsunami warning issued "
            "https://example.org/quake",
        ),
        ("webhook", "[layoffs] Carmaker announces 4,000 job cuts https://example.com/job-cuts"),
        (
            "webhook",
            "[quake] Strong earthquake hits Chile &amp; tsunami warning issued "
            "https://example.org/quake",
        ),
    ]
    quake = next(m for m in slack.received if m.get("channel") == "#desk")
    assert "*earthquake*" in json.dumps(quake["blocks"])  # the evidence, in bold

    alerts = [json.loads(line) for line in (tmp / "alerts.jsonl").read_text().splitlines()]
    assert sorted(a["match"]["rule_id"] for a in alerts) == ["layoffs", "quake"]

    [dead] = [json.loads(line) for line in (tmp / "dead.jsonl").read_text().splitlines()]
    assert (dead["stage"], dead["source"], dead["reason"]) == ("fetch", "broken", "not_a_feed")
    assert "Sign in" in dead["raw"] or "<!DOCTYPE html>" in dead["raw"]

    # A second cycle: everything was seen, nothing is sent again; the broken feed still fails.
    assert run_once(config, state, *beam_args) == 1
    assert len(slack.received) == 3


def test_slack_down_for_the_whole_run_dead_letters_the_alerts(world):
    feeds, slack, config, tmp = world
    slack.fail_next(slack.WEBHOOK_PATH, 500, body=b"down", times=100)
    assert run_once(config, tmp / "state") == 1
    dead = [json.loads(line) for line in (tmp / "dead.jsonl").read_text().splitlines()]
    delivery = sorted(d["detail"] for d in dead if d["stage"] == "deliver")
    assert len(delivery) == 2 and all(key.endswith("|hook") for key in delivery)
    assert [m.get("channel") for m in slack.received] == ["#desk"]  # the other sink still delivered


def test_first_poll_alerts_only_items_inside_the_backfill_window(tmp_path, monkeypatch):
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    now = datetime.now(timezone.utc)

    titles = {
        "old": "Earthquake shakes northern Japan coast overnight",
        "fresh": "Earthquake damages bridges across central Chile",
        "new": "Earthquake drill held at Istanbul schools today",
    }

    def item(guid, hours_ago):
        when = format_datetime(now - timedelta(hours=hours_ago), usegmt=True)
        return (
            f"<item><title>{titles[guid]}</title><guid>{guid}</guid>"
            f"<link>https://example.org/{guid}</link><pubDate>{when}</pubDate></item>"
        )

    def rss(*items):
        return (
            "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
            + "".join(items)
            + "</channel></rss>"
        ).encode()

    with FeedServer() as feeds:
        feeds.feeds["/f.xml"] = (200, {}, rss(item("old", 72), item("fresh", 1)))
        config = tmp_path / "c.yaml"
        config.write_text(f"""
feeds: [{{id: f, url: "{feeds.url("/f.xml")}", backfill_hours: 24}}]
rules: [{{id: quake, query: earthquake}}]
routes: [{{sinks: [file], group_wait: 0}}]
sinks: {{file: {{type: jsonl, path: "{tmp_path / "alerts.jsonl"}"}}}}
""")
        assert run_once(config, tmp_path / "state") == 0
        feeds.feeds["/f.xml"] = (200, {}, rss(item("old", 72), item("fresh", 1), item("new", 0.1)))
        assert run_once(config, tmp_path / "state") == 0
    sent = [
        json.loads(line)["match"]["article"]["article"]["title"]
        for line in (tmp_path / "alerts.jsonl").read_text().splitlines()
    ]
    # the 3-day-old backlog item is never alerted; items after the first poll always are
    assert sent == [
        "Earthquake damages bridges across central Chile",
        "Earthquake drill held at Istanbul schools today",
    ]
