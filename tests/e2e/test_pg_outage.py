"""End to end: the PostgreSQL server goes away under a running worker.

The server is restarted (stopped at once, every connection cut, then started again) while
Slack holds one of the cycle's requests open, so the send completes into a dead connection:
the worker must record it once the server is back, redo whatever the cycle did not commit,
and never send an alert twice or lose one. A second case starts the worker while the server is
down: it waits and retries, and works once the server is up.
"""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from tests.e2e.test_watch import WAIT, Watch, wait_for, watch_world

pytestmark = pytest.mark.e2e


def titles(slack) -> Counter:
    return Counter(text.split("] ", 1)[1].rsplit(" https://", 1)[0] for text in slack.texts())


def until_received(slack, watch: Watch, title: str) -> None:
    deadline = time.monotonic() + WAIT
    while title not in titles(slack):
        if time.monotonic() > deadline or watch.proc.poll() is not None:
            pytest.fail(f"{title!r} never reached Slack:\n{watch.tail()}")
        time.sleep(0.05)


@pytest.fixture
def world(tmp_path, pg_url):
    with watch_world(tmp_path, pg_url) as parts:
        yield parts


def test_server_restart_mid_send_loses_and_doubles_nothing(world, pg_server):
    wire, slack, start = world
    wire.add("Earthquake one", "Earthquake two", "Earthquake three")
    slack.hold(2, accept=True)
    watch = start()
    wait_for(slack.holding, "the held request", watch)
    pg_server.restart()  # every connection of the worker is cut mid-cycle
    slack.release.set()
    until_received(slack, watch, "Earthquake three")
    wire.add("Earthquake four")  # published after the outage: the loop recovered
    until_received(slack, watch, "Earthquake four")
    watch.proc.send_signal(signal.SIGTERM)
    assert watch.wait() == 0
    assert titles(slack) == {f"Earthquake {n}": 1 for n in ("one", "two", "three", "four")}


def test_a_worker_started_while_the_server_is_down_waits_for_it(world, pg_server):
    wire, slack, start = world
    wire.add("Earthquake one")
    pg_server.stop("immediate")
    try:
        watch = start()
        watch.wait_logged("retrying in")  # one line, no traceback, and it keeps going
        assert watch.proc.poll() is None
    finally:
        pg_server.start(port=pg_server.port)
    slack.hold(1, accept=True)
    wait_for(slack.holding, "the alert once the server is back", watch)
    slack.release.set()
    watch.proc.send_signal(signal.SIGTERM)
    assert watch.wait() == 0
    assert titles(slack) == {"Earthquake one": 1}
    assert "Traceback" not in watch.log.read_text()
