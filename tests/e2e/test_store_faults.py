"""End to end: store faults with the real CLI (issue 14, item 6).

Read-only files: the real CLI in a subprocess that cannot override file permissions (root can
write a 0400 file; the subprocess drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from its
capability bounding set before exec, so it writes like any other user). A page damaged in
the middle of a cycle: one line, exit 2, for `run --once` and the watch loop; `state repair`
then gives a store that still knows what was sent, so the next cycle sends nothing twice.
"""

from __future__ import annotations

import ctypes
import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.loopback import FeedServer
from tests.state import test_store_faults
from tests.state.test_store_faults import COMMANDS, filled_store, one_line
from wirewatch.pipelines.cli import main
from wirewatch.transforms.state import open_store
from wirewatch.transforms.state.sqlite import FILENAME

pytestmark = pytest.mark.e2e

config = test_store_faults.config  # the same fixture: one feed, a console sink


# --- read-only: the real CLI, unable to override permissions --------------------------
def _no_permission_override() -> None:
    """In the child before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the
    bounding set, so the exec'd program has neither (root then obeys file modes)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def wirewatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wirewatch.pipelines.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_no_permission_override if os.geteuid() == 0 else None,
    )


@pytest.fixture
def read_only_store(tmp_path):
    """A store whose file is 0400 (its folder stays writable); restored after the test."""
    state = tmp_path / "state"
    path = filled_store(state)
    path.chmod(0o400)
    yield state
    path.chmod(0o600)


@pytest.mark.parametrize("command", ["run", "redeliver"])
def test_a_read_only_file_is_one_line_and_exit_2(read_only_store, config, command):
    done = wirewatch(
        *COMMANDS[command], "--config", str(config), "--state-dir", str(read_only_store)
    )
    line = one_line(done.stderr)
    assert done.returncode == 2
    assert line.startswith(f"state store error: {read_only_store / FILENAME}: ")
    assert "the state file is read-only" in line and "writable" in line


def test_state_shows_a_read_only_file(read_only_store, config):
    done = wirewatch("state", "--config", str(config), "--state-dir", str(read_only_store))
    assert done.returncode == 0, done.stderr
    assert (
        one_line(done.stderr)
        == f"note: {read_only_store / FILENAME} is read-only: showing it without writing"
    )
    assert "seen: 3000" in done.stdout and "alerts_sent: 50" in done.stdout


def test_stories_shows_a_read_only_file(read_only_store, config):
    """It was a traceback: the story index makes its tables when it opens, and this store has
    none yet (a store with them was refused in one line). Now shown, read-only."""
    done = wirewatch("stories", "--config", str(config), "--state-dir", str(read_only_store))
    assert done.returncode == 0, done.stderr
    assert (
        one_line(done.stderr)
        == f"note: {read_only_store / FILENAME} is read-only: showing it without writing"
    )
    assert done.stdout.strip() == "no stories"


def test_state_shows_a_store_in_a_read_only_folder(tmp_path, config):
    """No -shm file can be made beside it: the file is read as immutable."""
    state = tmp_path / "state"
    filled_store(state)
    state.chmod(0o500)
    try:
        done = wirewatch("state", "--config", str(config), "--state-dir", str(state))
    finally:
        state.chmod(0o700)
    assert done.returncode == 0, done.stderr
    assert "read-only" in one_line(done.stderr)
    assert "seen: 3000" in done.stdout


# --- a page damaged mid-cycle -----------------------------------------------------------------
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>World</title><link>https://example.org/</link>
<item><title>Earthquake one</title><link>https://example.org/1</link><guid>1</guid>
<pubDate>Thu, 26 Nov 2026 09:40:00 GMT</pubDate></item>
<item><title>Earthquake two</title><link>https://example.org/2</link><guid>2</guid>
<pubDate>Thu, 26 Nov 2026 09:41:00 GMT</pubDate></item>
</channel></rss>"""


class DamagingFeedServer(FeedServer):
    """Runs `on_request` (once) when the feed is fetched: mid-cycle, the store open."""

    on_request = None

    def _handle(self, handler, body):
        hook, self.on_request = self.on_request, None
        if hook is not None:
            hook()
        super()._handle(handler, body)


def damage_table(path: Path, table: str) -> None:
    """What a failing disk does to one page: `table`'s root page becomes garbage."""
    db = sqlite3.connect(path)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the page's current bytes are in the file
    db.close()
    with open(path, "r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(b"\xff" * size)


@pytest.fixture
def world(tmp_path):
    with DamagingFeedServer() as feeds:
        feeds.feeds["/w.xml"] = (200, {"Content-Type": "application/rss+xml"}, RSS)
        config = tmp_path / "wirewatch.yaml"
        config.write_text(
            f"""feeds:\n  - {{id: w, url: "{feeds.url("/w.xml")}", backfill_hours: null}}
rules:\n  - {{id: quake, query: earthquake}}
routes:\n  - {{sinks: [file], group_wait: 0}}
sinks:\n  file: {{type: jsonl, path: "{tmp_path / "alerts.jsonl"}"}}
"""
        )
        yield feeds, ["--config", str(config), "--state-dir", str(tmp_path / "state")]


def sent(tmp_path: Path) -> Counter:
    path = tmp_path / "alerts.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(json.loads(line)["match"]["article"]["article"]["title"] for line in lines)


BOTH_ONCE = Counter({"Earthquake one": 1, "Earthquake two": 1})


def test_a_page_damaged_mid_cycle_then_repair_loses_and_doubles_nothing(tmp_path, world, capsys):
    feeds, args = world
    open_store(tmp_path / "state").close()  # the store exists before the cycle
    path = tmp_path / "state" / FILENAME
    feeds.on_request = lambda: damage_table(path, "seen")
    capsys.readouterr()

    assert main(["run", "--once", *args]) == 2  # found while writing: one line, exit 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"state store error: {path}: the state file is damaged")
    assert line.endswith("both keep a copy of the broken file")
    assert all(n == 1 for n in sent(tmp_path).values())

    assert main(["state", "repair", *args]) == 0
    assert main(["run", "--once", *args]) == 0
    assert sent(tmp_path) == BOTH_ONCE


def test_after_a_repair_that_lost_the_seen_keys_the_ledger_sends_nothing_again(
    tmp_path, world, capsys
):
    """Every article comes back as new (its seen key was on the damaged page); the ledger,
    recovered whole, stops each alert that already went out."""
    _, args = world
    assert main(["run", "--once", *args]) == 0
    assert sent(tmp_path) == BOTH_ONCE
    path = tmp_path / "state" / FILENAME
    damage_table(path, "seen")
    capsys.readouterr()
    assert main(["run", "--once", *args]) == 2
    assert "the state file is damaged" in one_line(capsys.readouterr().err)

    assert main(["state", "repair", *args]) == 0
    out = capsys.readouterr().out
    assert "seen: 0 rows recovered (some rows were unreadable and are lost)" in out
    assert "alerts: 2 rows recovered\n" in out and "warning" not in out
    assert main(["run", "--once", *args]) == 0
    assert sent(tmp_path) == BOTH_ONCE


def test_the_watch_loop_stops_on_a_damaged_page_with_one_line(tmp_path, world, capsys):
    feeds, args = world
    open_store(tmp_path / "state").close()
    feeds.on_request = lambda: damage_table(tmp_path / "state" / FILENAME, "seen")
    capsys.readouterr()
    assert main(["run", "--interval", "1", "--cycles", "3", *args]) == 2
    assert "the state file is damaged" in one_line(capsys.readouterr().err)
