"""End to end: move an installation from SQLite to PostgreSQL with `wirewatch state copy`.

A SQLite store used by real `run --once` cycles (loopback feed, loopback Slack) is copied to a
fresh PostgreSQL database; a second copy adds nothing; cycles on the PostgreSQL store then
send only what is new, never what the SQLite cycles already sent.
"""

from __future__ import annotations

import json

import pytest

from tests.loopback import FeedServer, SlackServer
from wirewatch.pipelines.cli import main
from wirewatch.transforms.state import open_store
from wirewatch.transforms.state.copy import TABLES

pytestmark = pytest.mark.e2e

ITEM = """<item><title>Earthquake number {n} shakes the coast</title>
<link>https://example.org/quake/{n}</link><guid>q{n}</guid>
<pubDate>Thu, 26 Nov 2026 {n:02d}:00:00 GMT</pubDate><description>Quake {n}.</description></item>"""

CONFIG = """
feeds:
  - {{id: world, url: "{url}", backfill_hours: null}}
rules:
  - {{id: quake, query: 'earthquake'}}
routes:
  - {{sinks: [hook], group_wait: 0}}
sinks:
  hook: {{type: slack, webhook_url: "${{E2E_SLACK_WEBHOOK}}", retry_backoff: 0.01}}
dead_letters: "{dead}"
"""


def rss(*numbers: int) -> bytes:
    items = "".join(ITEM.format(n=n) for n in numbers)
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>World</title>'
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode()


def test_a_copied_store_sends_only_what_is_new(tmp_path, pg_url, monkeypatch, capsys):
    sqlite_url = f"sqlite:///{tmp_path / 'state' / 'state.sqlite3'}"
    with FeedServer() as feeds, SlackServer() as slack:
        monkeypatch.setenv("E2E_SLACK_WEBHOOK", slack.webhook_url)
        config = tmp_path / "wirewatch.yaml"
        config.write_text(CONFIG.format(url=feeds.url("/world.xml"), dead=tmp_path / "dead.jsonl"))

        def serve(*numbers: int) -> None:
            feeds.feeds["/world.xml"] = (
                200,
                {"Content-Type": "application/rss+xml"},
                rss(*numbers),
            )

        def run_once(location: str) -> int:
            return main(["run", "--once", "--config", str(config), "--state", location])

        serve(1, 2)
        assert run_once(sqlite_url) == 0
        serve(1, 2, 3)
        assert run_once(sqlite_url) == 0
        sent_on_sqlite = sorted(m["text"] for m in slack.received)
        assert len(sent_on_sqlite) == 3
        capsys.readouterr()

        copy = ["state", "copy", "--config", str(config), "--from", sqlite_url, "--to", pg_url]
        assert main([*copy, "--json"]) == 0
        first = json.loads(capsys.readouterr().out)["copied"]
        with open_store(sqlite_url) as source:
            held = source.counts()
        assert (first["feeds"], first["seen"], first["alerts"]) == (1, held["seen"], 3)
        assert main([*copy, "--merge", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["copied"] == dict.fromkeys(TABLES, 0)

        serve(1, 2, 3, 4)
        assert run_once(pg_url) == 0
        assert run_once(pg_url) == 0  # and nothing twice on the new store either
        texts = sorted(m["text"] for m in slack.received)
        assert texts == sorted(
            [
                *sent_on_sqlite,
                "[quake] Earthquake number 4 shakes the coast https://example.org/quake/4",
            ]
        )
