"""End to end: a secret in a sink's URL or token never shows, in any output, log line or file.

Three sinks carry a marker token: a Slack webhook whose path and query hold it, a Slack bot
token, and a generic webhook whose path and query hold it (written in the config file itself)
plus its HMAC secret. All of them point at the loopback Slack server, which answers errors, so
every failure path runs: slack_sdk's and httpx's debug logs under `-v`, retries, dead letters.
Then every command that shows something runs as a real process, and the marker is searched in
each stdout and stderr and in every byte under the state directory and the dead-letter file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loopback import FeedServer, SlackServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
MARKER = "SECRETMARKER123"

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>World</title><link>https://example.org/</link>
<item><title>Strong earthquake hits Chile</title><link>https://example.org/quake</link>
<guid>w1</guid><pubDate>Thu, 26 Nov 2026 09:40:00 GMT</pubDate>
<description>A magnitude 7 earthquake struck off Chile.</description></item>
</channel></rss>"""

CONFIG = """
feeds:
  - {{id: world, url: "{feed}", backfill_hours: null}}
rules:
  - {{id: quake, query: 'earthquake'}}
routes:
  - {{sinks: [slack, bot, hook], group_wait: 0}}
sinks:
  slack: {{type: slack, webhook_url: "${{T_SLACK_WEBHOOK}}", max_retries: 1, retry_backoff: 0.01,
          pace: 0}}
  bot: {{type: slack, token: "${{T_SLACK_TOKEN}}", channel: "#desk", api_url: "{api}",
        max_retries: 1, retry_backoff: 0.01, pace: 0}}
  hook: {{type: webhook, url: "{hook}", secret: "${{T_HOOK_SECRET}}", max_retries: 1,
         retry_backoff: 0.01}}
state_dir: state
dead_letters: dead.jsonl
"""


def wirewatch(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wirewatch.pipelines.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "beam_args",
    [(), ("--direct_num_workers=2", "--direct_running_mode=multi_processing")],
    ids=["in_process", "two_processes"],  # worker processes log through Beam's own handlers
)
def test_no_secret_shows_in_any_output_log_line_or_file(tmp_path, beam_args):
    with FeedServer() as feeds, SlackServer() as slack:
        feeds.feeds = {"/world.xml": (200, {"Content-Type": "application/rss+xml"}, FEED)}
        slack_path = f"/services/T000/B000/{MARKER}"
        hook_path = f"/hook/{MARKER}"
        for path in (slack_path, hook_path):
            slack.fail_next(path, 500, body=b"down", times=100)
        config = tmp_path / "wirewatch.yaml"
        config.write_text(
            CONFIG.format(
                feed=feeds.url("/world.xml"),
                api=slack.api_url,
                hook=f"{slack.base}{hook_path}?token={MARKER}",
            )
        )
        env = {
            **os.environ,
            "T_SLACK_WEBHOOK": f"{slack.base}{slack_path}?key={MARKER}",
            "T_SLACK_TOKEN": f"xoxb-{MARKER}",
            "T_HOOK_SECRET": f"hmac-{MARKER}",
        }
        env.pop("WIREWATCH_WORKER", None)
        c = ["--config", str(config)]
        commands = {  # name: (arguments, expected exit code)
            "check --show": (["check", *c, "--show"], 0),
            "check --json": (["check", *c, "--json"], 0),
            "run": (["-v", "run", "--once", *c, *beam_args], 1),  # every alert dead
            "state": (["state", *c, "--dead-letters", "20"], 0),
            "state --json": (["state", *c, "--json", "--dead-letters", "20"], 0),
            "redeliver --dry-run": (["redeliver", *c, "--dry-run"], 0),
            "redeliver": (["-v", "redeliver", *c], 1),  # still failing
            "redeliver --json": (["redeliver", *c, "--json"], 1),
        }
        results = {name: wirewatch(*args, env=env) for name, (args, _) in commands.items()}

    codes = {name: r.returncode for name, r in results.items()}
    assert codes == {name: code for name, (_, code) in commands.items()}, {
        name: r.stderr[-2000:] for name, r in results.items()
    }
    # Everything failed where expected, and the debug logs that used to carry the URLs ran.
    run = results["run"]
    assert "slack_sdk" in run.stderr and "httpx" in run.stderr
    assert f"{slack.base}/***" in run.stderr
    dead = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert sorted(d["source"] for d in dead) == ["sink:bot", "sink:hook", "sink:slack"]
    assert f"webhook {slack.base}/*** failed" in json.dumps(dead)
    assert len(json.loads(results["state --json"].stdout)["dead_letters"]) == 3

    leaks = [
        f"{name} {stream}"
        for name, r in results.items()
        for stream, text in (("stdout", r.stdout), ("stderr", r.stderr))
        if MARKER in text
    ]
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p != config]
    assert any(p.suffix == ".sqlite3" for p in files)
    leaks += [str(p) for p in files if MARKER.encode() in p.read_bytes()]
    assert leaks == []
