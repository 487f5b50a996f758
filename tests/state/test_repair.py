"""`wirewatch state repair` and `state reset`: the fixes a store fault names, each keeping a copy.

repair rebuilds a damaged file from what SQLite can still read: a damaged page loses its rows,
not the store; the alert ledger that survives still stops a sent alert from going out again.
reset starts empty. Both refuse while a wirewatch owns the file, and apply to SQLite only.
"""

from __future__ import annotations

import io
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tests.state.test_store_faults import filled_store, one_line
from wirewatch.pipelines.cli import main
from wirewatch.transforms.state import open_store
from wirewatch.transforms.state.sqlite import FILENAME


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "wirewatch.yaml"
    path.write_text("feeds:\n  - {id: a, url: 'http://127.0.0.1:9/feed'}\n")
    return path


def damage_table(path: Path, table: str) -> None:
    """Overwrite the root page of `table` (all of it, for a one-page table) with garbage."""
    db = sqlite3.connect(path)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (table,)).fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(path, "r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(b"\xff" * size)


def copies(state: Path, kind: str) -> list[Path]:
    return sorted(state.glob(f"{FILENAME}.{kind}-*"))


def test_repair_keeps_a_copy_and_the_ledger_so_nothing_sent_goes_out_again(
    tmp_path, config, capsys
):
    state = tmp_path / "state"
    path = filled_store(state)
    damage_table(path, "dead_letters")
    before = path.read_bytes()
    args = ["--config", str(config), "--state-dir", str(state)]
    assert main(["state", *args]) == 2
    assert "the state file is damaged" in one_line(capsys.readouterr().err)

    assert main(["state", "repair", *args]) == 0
    out = capsys.readouterr().out
    [copy] = copies(state, "broken")
    assert copy.read_bytes() == before and stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    assert f"the broken file is kept as {copy}" in out
    assert "alerts: 50 rows recovered\n" in out
    assert "dead_letters: 0 rows recovered (some rows were unreadable and are lost)" in out
    assert "warning" not in out  # the ledger came back whole

    with open_store(state, check=True) as store:
        assert store.claim_alert("rule|article-7|hook", "hook", "{}") is False  # sent: never again
        assert len(store.seen(f"article-{n:05d}-" + "x" * 60 for n in range(3000))) == 3000
        store.add_dead_letters([])  # writable again
    assert main(["state", *args]) == 0


def test_repair_says_when_the_ledger_lost_rows(tmp_path, config, capsys):
    state = tmp_path / "state"
    damage_table(filled_store(state), "alerts")
    assert main(["state", "repair", "--config", str(config), "--state-dir", str(state)]) == 0
    out = capsys.readouterr().out
    assert "alerts: 0 rows recovered (some rows were unreadable and are lost)" in out
    assert "warning: part of the alert ledger was unreadable" in out


def test_repair_of_a_file_with_nothing_readable_changes_nothing(tmp_path, config, capsys):
    state = tmp_path / "state"
    path = filled_store(state)
    path.write_bytes(b"garbage" * 1000)
    code = main(["state", "repair", "--config", str(config), "--state-dir", str(state)])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "nothing in the state file can be read" in line
    assert "wirewatch state reset --yes" in line
    assert path.read_bytes() == b"garbage" * 1000 and not copies(state, "broken")


def test_repair_reads_around_a_damaged_page_of_a_big_table(tmp_path):
    """A table over many pages loses the rows of its damaged leaf page, not the rest."""
    from wirewatch.transforms.state.sqlite_repair import repair

    state = tmp_path / "state"
    path = filled_store(state)
    db = sqlite3.connect(path)
    size = db.execute("PRAGMA page_size").fetchone()[0]
    # a leaf page of `seen` in the middle of the table: the page holding a middle row
    pages = [p for (p,) in db.execute("SELECT pageno FROM dbstat WHERE name='seen'")]
    db.close()
    with open(path, "r+b") as handle:
        handle.seek((pages[len(pages) // 2] - 1) * size)
        handle.write(b"\xff" * size)
    report = repair(path)
    [seen] = [t for t in report.tables if t.table == "seen"]
    assert not seen.complete and 2500 < seen.rows < 3000


def test_reset_keeps_a_copy_and_starts_empty(tmp_path, config, capsys):
    state = tmp_path / "state"
    before = filled_store(state).read_bytes()
    assert (
        main(["state", "reset", "--yes", "--config", str(config), "--state-dir", str(state)]) == 0
    )
    [copy] = copies(state, "reset")
    assert (
        capsys.readouterr().out
        == f"reset {state / FILENAME}: it starts empty; the old file is kept as {copy}\n"
    )
    assert copy.read_bytes() == before
    with open_store(state) as store:
        assert store.counts()["seen"] == 0


def test_reset_without_yes_refuses_when_nobody_can_answer(tmp_path, config, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal
    state = tmp_path / "state"
    before = filled_store(state).read_bytes()
    assert main(["state", "reset", "--config", str(config), "--state-dir", str(state)]) == 2
    assert "add --yes" in one_line(capsys.readouterr().err)
    assert (state / FILENAME).read_bytes() == before and not copies(state, "reset")


@pytest.mark.parametrize("action", ["repair", "reset"])
def test_repair_and_reset_wait_for_no_one_while_a_wirewatch_owns_the_file(
    tmp_path, config, capsys, action
):
    from multiprocessing import get_context

    state = tmp_path / "state"
    filled_store(state)
    ctx = get_context("fork")
    ready, done = ctx.Event(), ctx.Event()

    def own() -> None:
        with open_store(state) as store:
            store.acquire_owner("other:1")
            ready.set()
            done.wait(30)

    owner = ctx.Process(target=own)
    owner.start()
    try:
        assert ready.wait(30)
        code = main(["state", action, "--yes", "--config", str(config), "--state-dir", str(state)])
        line = one_line(capsys.readouterr().err)
    finally:
        done.set()
        owner.join(30)
    assert code == 2 and "in use by another wirewatch" in line
    assert not copies(state, "broken") and not copies(state, "reset")


@pytest.mark.parametrize("action", ["repair", "reset"])
def test_repair_and_reset_apply_to_sqlite_only(config, capsys, action):
    url = "postgresql://wire:secret@127.0.0.1:1/wire"
    assert main(["state", action, "--yes", "--config", str(config), "--state", url]) == 2
    line = one_line(capsys.readouterr().err)
    assert "applies to SQLite state files only" in line and "secret" not in line
