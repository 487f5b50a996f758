"""End to end: SIGHUP makes a running `wirewatch run` reload its config between two cycles.

A real process against the loopback feed and Slack servers: the test adds a rule to the config
file and sends SIGHUP, and the next item the new rule matches reaches Slack; then it breaks the
config and sends SIGHUP again: the loop logs one line naming the file and the field, and keeps
running the config it had (both rules still fire). Every alert arrives exactly once.
"""

from __future__ import annotations

import signal

import pytest

from tests.e2e.test_watch import WAIT, received_titles, watch_world

pytestmark = pytest.mark.e2e

LAYOFFS = "  - {id: layoffs, query: 'layoffs'}\n"
BROKEN = "  - {id: layoffs, query: 'layoffs AND ('}\n"


def with_rule(text: str, rule: str) -> str:
    """test_watch's config (one rule, quake) with one more rule."""
    return text.replace("routes:", rule + "routes:")


def wait_received(slack, watch, expected: dict) -> None:
    """Until Slack holds exactly `expected` (checked at each line of output: every cycle logs
    one); fails if wirewatch exits first or sends something else."""
    with watch.changed:
        watch.changed.wait_for(lambda: received_titles(slack) == expected or watch.ended, WAIT)
    if received_titles(slack) != expected:
        pytest.fail(f"Slack got {dict(received_titles(slack))}, not {expected}:\n{watch.tail()}")


def test_sighup_reloads_a_good_config_and_keeps_the_running_one_when_it_is_broken(tmp_path):
    with watch_world(tmp_path, tmp_path / "state") as (wire, slack, start):
        config = tmp_path / "wirewatch.yaml"
        original = config.read_text()
        wire.add("Earthquake one", "Layoffs at Acme")
        watch = start()
        wait_received(slack, watch, {"Earthquake one": 1})  # no layoffs rule yet

        config.write_text(with_rule(original, LAYOFFS))
        watch.proc.send_signal(signal.SIGHUP)
        watch.wait_logged("config reloaded from")
        wire.add("Layoffs at Beta")
        wait_received(slack, watch, {"Earthquake one": 1, "Layoffs at Beta": 1})

        config.write_text(with_rule(original, BROKEN))
        watch.proc.send_signal(signal.SIGHUP)
        watch.wait_logged("config reload failed")
        wire.add("Earthquake two", "Layoffs at Gamma")
        wait_received(
            slack,
            watch,
            {"Earthquake one": 1, "Layoffs at Beta": 1, "Earthquake two": 1, "Layoffs at Gamma": 1},
        )
        watch.proc.send_signal(signal.SIGTERM)
        assert watch.wait() == 0

    log = watch.log.read_text()
    [reloaded] = [line for line in log.splitlines() if "config reloaded" in line]
    assert reloaded.endswith(f"config reloaded from {config}: rules +layoffs")
    [failed] = [line for line in log.splitlines() if "config reload" in line and "failed" in line]
    assert failed.endswith(
        f"ERROR wirewatch: config reload failed, keeping the running config: {config}: "
        "rules[layoffs].query: column 13: this '(' is never closed. Fix: add a ')'"
    )
    assert "Traceback" not in log
    # the reloads came between cycles: each cycle's line is whole, and none failed
    assert " failed: " not in log
