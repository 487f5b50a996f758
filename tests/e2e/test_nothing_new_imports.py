"""A `run --once` that finds nothing new, as its own process, imports none of what only a
cycle needs: no Beam, no rule compiler, no model, no Slack client, no templates."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.loopback import FeedServer
from wirewatch.pipelines.cli import main

pytestmark = pytest.mark.e2e

HEAVY = ("apache_beam", "lark", "numpy", "sklearn", "slack_sdk", "jinja2", "rich")
PROBE = """
import json, sys
from wirewatch.pipelines.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": [m for m in HEAVY if m in sys.modules]}))
"""


def test_a_nothing_new_run_imports_nothing_a_cycle_needs(tmp_path):
    feed = (
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item>"
        b"<title>Earthquake hits the coast</title><guid>q1</guid></item></channel></rss>"
    )
    with FeedServer() as server:
        server.feeds["/f.xml"] = (200, {"ETag": '"v1"'}, feed)
        config = tmp_path / "c.yaml"
        config.write_text(
            f'feeds: [{{id: f, url: "{server.url("/f.xml")}", backfill_hours: null}}]\n'
            "rules: [{id: quake, query: earthquake}]\n"
            "routes: [{sinks: [out], group_wait: 0}]\n"
            "sinks: {out: {type: console}}\n"
        )
        args = ["run", "--once", "--json", "--config", str(config)]
        args += ["--state-dir", str(tmp_path / "state")]
        assert main(args) == 0  # the first run: a cycle
        probe = f"HEAVY = {HEAVY!r}\n{PROBE}"
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert json.loads(lines[0])["pipelines"] == 0
    assert json.loads(lines[-1]) == {"code": 0, "loaded": []}
