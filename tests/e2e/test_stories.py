"""One alert per story, end to end: three feeds carry the same story under edited headlines;
with a Slack bot token the first is an alert and the other two are replies in its thread.
Two different stories about the same people on the same day stay two alerts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.loopback import FeedServer, SlackServer
from wirewatch.pipelines import cycle, zygote
from wirewatch.pipelines.cli import main

pytestmark = pytest.mark.e2e


def rss(*items: tuple[str, str, str, str]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><guid>{guid}</guid><link>https://{host}/{guid}</link>"
        f"<pubDate>Thu, 26 Nov 2026 {hhmm}:00 GMT</pubDate>"
        f"<description>{LEADS[guid[:1]]}</description></item>"
        for guid, host, hhmm, title in items
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{body}"
        f"</channel></rss>".encode()
    )


LEADS = {
    "a": "Rex Tillerson and John Kelly met Mexican foreign minister Luis Videgaray in Mexico "
    "City on Thursday to discuss immigration, deportations and border security.",
    "b": "Rex Tillerson and John Kelly visited a trade fair in Monterrey, where they praised "
    "cross-border supply chains for cars and electronics.",
}

FEEDS = {
    "/wire.xml": rss(
        ("a1", "wire.example", "14:05", "Tillerson and Kelly meet Mexican ministers on immigration")
    ),
    "/paper.xml": rss(
        (
            "a2",
            "paper.example",
            "14:20",
            "Tillerson, Kelly meet Mexican ministers on immigration talks",
        ),
        (
            "b1",
            "paper.example",
            "16:40",
            "Tillerson and Kelly tour Monterrey trade fair, praise supply chains",
        ),
    ),
    "/blog.xml": rss(
        (
            "a3",
            "blog.example",
            "15:10",
            "Tillerson and Kelly meet Mexico's ministers on immigration",
        )
    ),
}


@pytest.fixture
def world(tmp_path, monkeypatch):
    with FeedServer() as feeds, SlackServer() as slack:
        for path, body in FEEDS.items():
            feeds.feeds[path] = (200, {}, body)
        monkeypatch.setenv("STORY_SLACK_TOKEN", slack.token)
        config = tmp_path / "wirewatch.yaml"
        config.write_text(f"""
feeds:
  - {{id: wire, url: "{feeds.url("/wire.xml")}", backfill_hours: null}}
  - {{id: paper, url: "{feeds.url("/paper.xml")}", backfill_hours: null}}
  - {{id: blog, url: "{feeds.url("/blog.xml")}", backfill_hours: null}}
rules:
  - {{id: officials, query: 'Tillerson OR Kelly'}}
routes:
  - {{sinks: [bot], group_wait: 0}}
sinks:
  bot: {{type: slack, token: "${{STORY_SLACK_TOKEN}}", channel: "#desk", api_url: "{slack.api_url}",
         pace: 0}}
""")
        yield slack, config, tmp_path


TWO_PROCESSES = ("--direct_num_workers=2", "--direct_running_mode=multi_processing")


@pytest.mark.parametrize(
    ("beam_args", "portable"),
    [((), False), (TWO_PROCESSES, False), (TWO_PROCESSES, True)],
    # two parts, their batches handed over in files; or as a distributed runner gets them
    # (a side input, and the config whole in each DoFn), in the same worker processes
    ids=["in_process", "two_processes", "two_processes-portable"],
)
def test_three_copies_make_one_alert_and_two_thread_replies(
    world, beam_args, portable, monkeypatch
):
    if portable:  # the workers are taken for another machine's: no shortcut through files
        monkeypatch.setattr(cycle, "workers_on_this_machine", lambda options: False)
    slack, config, tmp = world
    args = ["run", "--once", "--config", str(config), "--state-dir", str(tmp / "state")]
    args += beam_args
    assert main(args) == 0
    if beam_args and not portable:  # the files the story batches went through are gone
        assert not Path(zygote.exchange_folder()).exists()
    top = [m for m in slack.received if not m.get("thread_ts")]
    replies = [m for m in slack.received if m.get("thread_ts")]
    assert [m["text"].split("] ")[1].split(" https")[0] for m in top] == [
        "Tillerson and Kelly meet Mexican ministers on immigration",
        "Tillerson and Kelly tour Monterrey trade fair, praise supply chains",
    ]
    assert sorted(r["text"] for r in replies) == [
        "Also: blog — Tillerson and Kelly meet Mexico's ministers on immigration",
        "Also: paper — Tillerson, Kelly meet Mexican ministers on immigration talks",
    ]
    # the replies thread under the first alert's ts, which the loopback server handed back
    assert slack.received.index(top[0]) == 0
    assert {r["thread_ts"] for r in replies} == {top[0]["_ts"]}
    assert main(args) == 0
    assert len(slack.received) == 4  # nothing again on a second cycle
