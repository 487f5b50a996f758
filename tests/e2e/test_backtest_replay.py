"""A backtest's counts are what a real replay sends: the same saved snapshots, once served one
per cycle to `wirewatch run --once` (real HTTP, Beam, state store, Slack client against the
loopback Slack server), once given to `wirewatch try-rule --archive`. The history holds
edits: a headline edited so the `title:` rule newly matches (one Updated alert), an alerted
headline edited (nothing: the rule already alerted that story) and a markup-only change
(not an edit)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tests.loopback import FeedServer, SlackServer
from tests.rules.archive import Item, write_archive
from wirewatch.pipelines.cli import main
from wirewatch.transforms.sinks.render import UPDATED

pytestmark = pytest.mark.e2e

CONFIG = """
builtin_lists: false
feeds:
  - {{id: wire, url: "{url}", backfill_hours: 24}}
rules:
  - {{id: tariffs, query: '{query}'}}
routes:
  - {{sinks: [bot], group_wait: 0, max_alerts: 100}}
sinks:
  bot: {{type: slack, token: "${{E2E_SLACK_TOKEN}}", channel: "#desk", api_url: "{api}",
         retry_backoff: 0.01}}
dead_letters: "{dead}"
"""
QUERY = "title:(tariff* OR trade)"


def feed_history(now: datetime) -> list[tuple[int, list[Item]]]:
    """Six polls a few minutes apart; items stay listed across polls; one is old news (the
    first poll's backlog), one is the same story from another source (a thread reply), one is
    an earlier article under a new guid (seen by its link). Edits: a headline the rule did not
    match is edited so it does (poll 3, listed again in poll 4), an alerted headline is edited
    (poll 4), and a summary gains markup and spaces only (poll 6)."""
    start = now - timedelta(hours=3)
    items = [
        Item(f"n{k}", title, start + k * timedelta(minutes=20), f"Report {k}: {title.lower()}.")
        for k, title in enumerate(
            [
                "Tariffs on steel rise again",
                "Local weather stays mild",
                "Trade talks resume in Geneva",
                "Football club wins the cup",
                "Tariff relief for farmers announced",
                "Museum opens a new wing",
                "Exporters brace for trade slowdown",
            ]
        )
    ]
    old = Item("old", "Tariff history lesson", now - timedelta(days=3))
    copy = Item(
        "copy",
        "Tariffs on steel rise again",
        start + timedelta(minutes=25),
        "Report 0: tariffs on steel rise again.",
        link="https://other.example.com/steel",
    )
    relisted = Item(
        "n2-again", "Trade talks resume in Geneva", items[2].published, link=items[2].url
    )
    weather = replace(items[1], title="Local weather stays mild as trade winds ease")
    steel = replace(items[0], title="Tariffs on steel rise again, mills warn")
    markup = replace(items[5], summary="<p>Report 5:  museum opens a <em>new</em>  wing.</p>")
    lists = [
        [items[0], items[1], old],
        [items[0], items[1], items[2], old],
        [copy, items[2], items[3], weather],
        [items[4], relisted, items[3], copy, weather, steel],
        [items[5], items[4], items[3]],
        [items[6], markup, items[4]],
    ]
    stamp = int(now.timestamp()) - 600
    return [(stamp + 60 * k, listed) for k, listed in enumerate(lists)]


def test_backtest_counts_equal_what_a_replay_sends(tmp_path, monkeypatch, capsys):
    polls = feed_history(datetime.now(timezone.utc))
    snapshots = write_archive(tmp_path / "archive", "wire", polls)
    with FeedServer() as feeds, SlackServer() as slack:
        monkeypatch.setenv("E2E_SLACK_TOKEN", slack.token)
        config = tmp_path / "wirewatch.yaml"
        config.write_text(
            CONFIG.format(
                url=feeds.url("/wire.xml"),
                query=QUERY,
                api=slack.api_url,
                dead=tmp_path / "dead.jsonl",
            )
        )
        for path in snapshots:
            feeds.feeds["/wire.xml"] = (
                200,
                {"Content-Type": "application/rss+xml"},
                path.read_bytes(),
            )
            assert (
                main(
                    [
                        "run",
                        "--once",
                        "--config",
                        str(config),
                        "--state-dir",
                        str(tmp_path / "state"),
                    ]
                )
                == 0
            )
        sent = list(slack.received)
    capsys.readouterr()

    assert (
        main(
            [
                "try-rule",
                "--config",
                str(config),
                "--json",
                QUERY,
                "--archive",
                str(tmp_path / "archive"),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)

    updates = [m for m in sent if f"] {UPDATED}: " in m.get("text", "")]
    replies = [m for m in sent if m.get("thread_ts") and m not in updates]
    top_level = [m for m in sent if m not in updates + replies]
    # the history is what the test means: one Updated alert, for the edited weather headline
    assert (len(top_level), len(replies), len(updates)) == (4, 1, 1)
    assert "trade winds" in updates[0]["text"]
    assert report["alerts"] == {
        "total": len(sent),
        "top_level": len(top_level),
        "replies": len(replies),
        "updates": len(updates),
        "digests": 0,
    }
    assert report["matched"] == 6  # four stories, the second source of one, the edited one
    assert report["edited"] == 2  # the two headlines; the markup-only change is no edit
    assert report["backlog"] == 1
    listed = sum(
        1
        for _, items in polls
        for i in items
        if i.guid != "old" and any(w in i.title.lower() for w in ("tariff", "trade"))
    )
    assert (
        report["copies"] == listed - 1
    )  # the relisted article is seen by its link: no copy of a match
