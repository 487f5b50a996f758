"""End to end: a `multi_processing` cycle leaves nothing of Beam's workers on stderr.

Beam's own worker main printed some thirty lines per cycle there ("Logging handler created.",
"Python sdk harness starting.", each HTTP request). The workers run pipelines/worker.py now:
their records come back to the driver and are shown only from WARNING (INFO with -v), in
wirewatch's format. The test runs `wirewatch run --once` as a real process with two worker
processes and reads every line of its stderr.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.e2e.test_watch import ROOT, TWO_PROCESSES, Wire
from tests.loopback import FeedServer

pytestmark = pytest.mark.e2e

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ ")
SUMMARY = ("cycle finished in ", "  ")  # the run summary wirewatch prints at the end


def run_once(tmp_path, feed_url: str, *flags: str) -> subprocess.CompletedProcess:
    tmp_path.mkdir()
    config = tmp_path / "wirewatch.yaml"
    config.write_text(
        f'feeds: [{{id: wire, url: "{feed_url}"}}]\n'
        "rules: [{id: quake, query: earthquake}]\n"
        "routes: [{sinks: [out], group_wait: 0}]\n"
        "sinks: {out: {type: console}}\n"
    )
    command = [sys.executable, "-m", "wirewatch.pipelines.cli", "run", "--once"]
    command += ["--config", str(config), "--state-dir", str(tmp_path / "state"), *flags]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_a_two_process_cycle_prints_only_wirewatchs_own_lines_on_stderr(tmp_path):
    with FeedServer() as feeds:
        Wire(feeds).add("Earthquake one", "Markets calm")
        quiet = run_once(tmp_path / "quiet", feeds.url("/wire.xml"), *TWO_PROCESSES)
        verbose = run_once(tmp_path / "verbose", feeds.url("/wire.xml"), "-v", *TWO_PROCESSES)
    assert quiet.returncode == 0, quiet.stderr
    assert "Earthquake one" in quiet.stdout  # the cycle ran in the workers and alerted
    lines = quiet.stderr.splitlines()
    assert lines[0].startswith("cycle finished in ") and "1 sent" in quiet.stderr
    assert all(line.startswith(SUMMARY) for line in lines), quiet.stderr
    # -v: the workers' lines are there, each as one of ours ("... INFO worker: ...")
    assert verbose.returncode == 0
    worker = [line for line in verbose.stderr.splitlines() if re.search(r" worker [\w.]+: ", line)]
    assert any(
        re.search(r"INFO worker [\w.]*sdk_worker_main: Python sdk harness starting\.$", line)
        for line in worker
    )
    assert all(STAMPED.match(line) for line in worker)
    assert not [line for line in verbose.stderr.splitlines() if line.startswith("INFO:")]
