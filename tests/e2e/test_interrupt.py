"""End to end: Ctrl-C in a terminal, i.e. SIGINT to `wirewatch run`'s whole process group.

`run --once` stops at once with the one word "interrupted" and exit 130: Beam re-raised the
KeyboardInterrupt as its own RuntimeError, so the user got ~130 lines of traceback and exit 1
(pipelines/interrupts.py). The watch loop's second signal aborts the same way (exit 130, as
docs/operations.md says); its first only stops it after the cycle. The feed's answer is held
by the loopback server, so the signal always lands mid-fetch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.e2e.test_watch import ROOT, TWO_PROCESSES, WAIT
from tests.loopback import FeedServer

pytestmark = pytest.mark.e2e

CONFIG = """\
feeds:
  - {{id: held, url: "{url}"}}
rules:
  - {{id: quake, query: earthquake}}
sinks:
  console: {{type: console}}
routes:
  - {{rules: [quake], sinks: [console]}}
"""


def started(tmp_path, server: FeedServer, *args: str) -> subprocess.Popen:
    """`wirewatch run ARGS` in a session of its own, once its fetch of the held feed is in
    flight."""
    server.gates["/held.xml"] = threading.Event()  # never set: the answer waits
    config = tmp_path / "wirewatch.yaml"
    config.write_text(CONFIG.format(url=server.url("/held.xml")))
    proc = subprocess.Popen(
        [sys.executable, "-m", "wirewatch.pipelines.cli", "run", "--config", str(config)]
        + ["--state-dir", str(tmp_path / "state"), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert server.arrived["/held.xml"].wait(WAIT), proc.stderr.read() if proc.poll() else ""
    time.sleep(0.3)  # inside the fetch's wait
    return proc


@pytest.mark.parametrize("beam_args", [(), TWO_PROCESSES], ids=["in_process", "two_processes"])
def test_ctrl_c_during_run_once_is_one_word_and_exit_130(tmp_path, beam_args):
    with FeedServer() as server:
        proc = started(tmp_path, server, "--once", *beam_args)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=WAIT)
    assert (proc.returncode, err) == (130, "interrupted\n")


def test_a_second_stop_signal_aborts_the_watch_loop_with_exit_130(tmp_path):
    with FeedServer() as server:
        proc = started(tmp_path, server)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=WAIT)
    lines = [line.split(" ", 1)[1] for line in err.splitlines()[:-1]]
    assert lines == [
        "WARNING wirewatch: stopping after the current cycle (signal again to abort)",
        "WARNING wirewatch: aborting",
    ]
    assert (proc.returncode, err.splitlines()[-1]) == (130, "interrupted")
