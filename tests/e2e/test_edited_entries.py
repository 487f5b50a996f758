"""Edited entries, end to end: the loopback feed edits a headline between two polls of
`wirewatch run --once` (the FT case: "... drop on falling oil price" became "... drop as Trump
trade war hits oil"). The rule the new headline matches alerts once, marked Updated, in the
thread of the story's first Slack message; the rule that had already alerted stays quiet; a
second identical poll and a markup-, spacing- and tracking-parameter-only change alert nothing.
"""

from __future__ import annotations

import json

import pytest

from tests.loopback import FeedServer, SlackServer
from wirewatch.pipelines.cli import main

pytestmark = pytest.mark.e2e

BEFORE = "Chevron and Exxon profits drop on falling oil price"
AFTER = "Chevron and Exxon profits drop as Trump trade war hits oil"
LEAD = "Oil majors reported lower third-quarter profits. Read more: https://www.ft.com/c/x"


def rss(title: str, lead: str = LEAD) -> bytes:
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>FT</title>"
        f"<item><title>{title}</title><guid>ft-1</guid>"
        "<link>https://www.ft.com/content/chevron-exxon</link>"
        "<pubDate>Thu, 26 Nov 2026 14:05:00 GMT</pubDate>"
        f"<description>{lead}</description></item></channel></rss>"
    ).encode()


@pytest.fixture
def world(tmp_path, monkeypatch):
    with FeedServer() as feeds, SlackServer() as slack:
        feeds.feeds["/ft.xml"] = (200, {}, rss(BEFORE))
        monkeypatch.setenv("EDIT_SLACK_TOKEN", slack.token)
        config = tmp_path / "wirewatch.yaml"
        config.write_text(f"""
feeds:
  - {{id: ft, url: "{feeds.url("/ft.xml")}", backfill_hours: null}}
rules:
  - {{id: oil, query: 'oil'}}
  - {{id: trump, query: 'title:Trump'}}
routes:
  - {{sinks: [bot, file], group_wait: 0}}
sinks:
  bot: {{type: slack, token: "${{EDIT_SLACK_TOKEN}}", channel: "#desk", api_url: "{slack.api_url}",
         pace: 0}}
  file: {{type: jsonl, path: "{tmp_path / "alerts.jsonl"}"}}
""")
        args = ["run", "--once", "--config", str(config), "--state-dir", str(tmp_path / "state")]
        yield feeds, slack, args, tmp_path / "alerts.jsonl"


def jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def poll(args, capsys) -> dict[str, int]:
    """One `run --once --json`; its counters (articles_new, articles_edited, matches, ...)."""
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["counters"]


def test_an_edited_headline_alerts_its_new_rule_once_in_the_storys_thread(world, capsys):
    feeds, slack, args, alerts_file = world
    assert poll(args, capsys)["articles_new"] == 1
    [first] = slack.received
    assert first["text"].startswith(f"[oil] {BEFORE}") and not first.get("thread_ts")

    feeds.feeds["/ft.xml"] = (200, {}, rss(AFTER))
    counters = poll(args, capsys)
    assert counters["articles_edited"] == 1 and counters["matches"] == 2  # oil again, trump
    [_, update] = slack.received
    assert update["thread_ts"] == first["_ts"]  # in the story's thread
    assert update["text"].startswith(f"[trump] Updated: {AFTER}")
    assert "*Updated:*" in update["blocks"][0]["text"]["text"]
    written = jsonl(alerts_file)
    assert [
        (a["match"]["rule_id"], a["match"]["article"]["article"]["edited"]) for a in written
    ] == [
        ("oil", False),
        ("trump", True),
    ]

    counters = poll(args, capsys)  # the same feed again: nothing, not even parsed
    assert counters.get("articles_edited", 0) == 0 and counters["entries_skipped_seen"] == 1
    cosmetic = rss(
        "  <![CDATA[<b>Chevron</b> and Exxon  profits drop as Trump trade war hits oil]]>",
        LEAD.replace("/c/x", "/c/x?utm_source=rss&amp;utm_medium=feed").replace(". ", ".&#160; "),
    )
    feeds.feeds["/ft.xml"] = (200, {}, cosmetic)
    counters = poll(args, capsys)  # markup, spacing and a tracking parameter: not an edit
    assert counters.get("articles_edited", 0) == 0 and counters["entries_skipped_seen"] == 1
    assert len(slack.received) == 2 and len(jsonl(alerts_file)) == 2
