"""End to end: `run --once --json` prints only JSON on stdout; a console sink's alerts go to
stderr in that mode (a real subprocess, so the Beam worker's prints are what is checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loopback import FeedServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<link>https://example.org/</link>
<item><title>Earthquake hits the coast</title><link>https://example.org/1</link><guid>g1</guid>
</item></channel></rss>"""

CONFIG = """
feeds:
  - {{id: wire, url: "{feed}", backfill_hours: null}}
rules:
  - {{id: quake, query: 'earthquake'}}
routes:
  - {{sinks: [screen], group_wait: 0}}
sinks:
  screen: {{type: console}}
dead_letters: "{dead}"
"""


def test_run_once_json_keeps_stdout_json_and_alerts_on_stderr(tmp_path):
    with FeedServer() as feeds:
        feeds.feeds["/wire.xml"] = (200, {"Content-Type": "application/rss+xml"}, RSS)
        config = tmp_path / "wirewatch.yaml"
        config.write_text(CONFIG.format(feed=feeds.url("/wire.xml"), dead=tmp_path / "d.jsonl"))
        done = subprocess.run(
            [sys.executable, "-m", "wirewatch.pipelines.cli", "run", "--once", "--json"]
            + ["--config", str(config), "--state-dir", str(tmp_path / "state")],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    assert json.loads(line)["counters"]["matches"] == 1
    assert "Earthquake hits the coast" in done.stderr
