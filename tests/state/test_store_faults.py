"""A broken SQLite state file is one line and exit 2, never a traceback (issue 14, item 6).

Each fault (garbage bytes, the first half of a real store, a read-only file, a file from a
newer wirewatch) against each command that opens the store (`run --once`, `state`,
`redeliver`): exit 2, exactly one line on stderr that names the file and the fix. The
read-only cases need a process that cannot override file permissions: tests/e2e/
test_store_faults.py runs them.

Also here: the files wirewatch writes in a state directory are 0600 and the directory 0700.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from wirewatch.pipelines.cli import main
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.state import open_store
from wirewatch.transforms.state.faults import StoreFault, fault_of
from wirewatch.transforms.state.sqlite import FILENAME, SCHEMA_VERSION

COMMANDS = {
    "run": ["run", "--once"],
    "state": ["state"],
    "redeliver": ["redeliver"],
    "stories": ["stories"],
}
REPAIR_FIX = "Fix: restore the state file from your backup, or run `wirewatch state repair`"


def filled_store(state: Path) -> Path:
    """A real store with enough rows to span many pages; returns the file."""
    with open_store(state) as store:
        store.mark_seen(f"article-{n:05d}-" + "x" * 60 for n in range(3000))
        for n in range(50):
            key = f"rule|article-{n}|hook"
            store.claim_alert(key, "hook", "{}")
            store.finish_alert(key, "sent", 1)
        store.add_dead_letters([DeadLetter.of("fetch", "feed:a", "HTTP 500")])
    return state / FILENAME


def garbage(state: Path) -> None:
    filled_store(state).write_bytes(b"this is not a SQLite database\n" * 200)


def truncated(state: Path) -> None:
    path = filled_store(state)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def newer(state: Path) -> None:
    path = filled_store(state)
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()


FAULTS = {
    "garbage": (garbage, "the state file is damaged", REPAIR_FIX),
    "truncated": (truncated, "the state file is damaged", REPAIR_FIX),
    "newer": (newer, f"has schema {SCHEMA_VERSION + 1}, newer than this wirewatch", "upgrade"),
}


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "wirewatch.yaml"
    path.write_text(
        "feeds:\n  - {id: a, url: 'http://127.0.0.1:9/feed'}\nsinks:\n  hook: {type: console}\n"
    )
    return path


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_broken_file_is_one_line_and_exit_2(tmp_path, config, capsys, fault, command):
    state = tmp_path / "state"
    make, says, fix = FAULTS[fault]
    make(state)
    capsys.readouterr()
    code = main([*COMMANDS[command], "--config", str(config), "--state-dir", str(state)])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert line.startswith(f"state store error: {state / FILENAME}: ")
    assert says in line and fix in line


# --- faults found mid-use ---------------------------------------------------------------------
def test_sqlite_errors_that_need_a_person_become_one_line_and_others_stay():
    def error(code: int, text: str) -> sqlite3.DatabaseError:
        exc = sqlite3.DatabaseError(text)
        exc.sqlite_errorcode = code
        return exc

    corrupt = fault_of(error(11, "database disk image is malformed"), "/s/state.sqlite3")
    assert isinstance(corrupt, StoreFault) and corrupt.kind == "damaged"
    assert str(corrupt.problems[0]).startswith("/s/state.sqlite3: the state file is damaged")
    assert fault_of(error(8, "attempt to write a readonly database"), "f").kind == "read-only"
    assert fault_of(sqlite3.OperationalError("no such column: x"), "f") is None
    assert fault_of(ValueError("x"), "f") is None


def test_a_page_damaged_after_open_fails_the_write_as_one_store_fault(tmp_path):
    path = filled_store(tmp_path)
    store = open_store(tmp_path)
    db = sqlite3.connect(path)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name='seen'").fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with open(path, "r+b") as handle:
        handle.seek((root - 1) * size)
        handle.write(b"\xff" * size)
    other = open_store(tmp_path)  # a fresh connection reads the damaged page
    with pytest.raises(StoreFault, match="the state file is damaged"):
        other.mark_seen(["article-new"])
    other.close()
    store.close()


# --- permissions ------------------------------------------------------------------------------
def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_state_directory_is_0700_and_every_file_in_it_0600(tmp_path, config, capsys):
    state = tmp_path / "new" / "state"
    assert main(["run", "--once", "--config", str(config), "--state-dir", str(state)]) == 1
    assert mode(state) == 0o700
    with open_store(state) as store:
        store.acquire_owner("test")
        files = sorted(p.name for p in state.iterdir())
        assert {FILENAME, f"{FILENAME}-wal", f"{FILENAME}-shm", f"{FILENAME}.lock"} <= set(files)
        assert "dead-letters.jsonl" in files  # the unreachable feed's dead letter
        assert {name: mode(state / name) for name in files} == {name: 0o600 for name in files}


def test_an_existing_state_directory_and_files_with_wider_modes_are_tightened(tmp_path):
    state = tmp_path / "state"
    filled_store(state)
    (state / f"{FILENAME}.lock").touch()
    for path in state.iterdir():
        path.chmod(0o644)
    state.chmod(0o755)
    with open_store(state) as store:
        store.acquire_owner("test")
    assert mode(state) == 0o700
    assert {p.name: mode(p) for p in state.iterdir()} == {p.name: 0o600 for p in state.iterdir()}


@pytest.mark.parametrize("other", ["notes.txt", None])
def test_a_folder_that_is_not_the_stores_alone_keeps_its_mode(tmp_path, other):
    """`--state-dir ~`, `.`, `/tmp` or `/etc`: a folder holding other things (or a shared,
    sticky one) is never chmodded, even by root, to whom every folder is its own. Only the
    store's own files become 0600."""
    folder = tmp_path / "home"
    folder.mkdir()
    if other:
        (folder / other).write_text("mine")
        mode_before = 0o755
    else:
        mode_before = 0o1777  # an empty shared folder: sticky, like /tmp
    folder.chmod(mode_before)
    open_store(folder).close()
    assert stat.S_IMODE(os.stat(folder).st_mode) == mode_before
    assert mode(folder / FILENAME) == 0o600


def test_tightening_a_read_only_store_leaves_it_read_only(tmp_path):
    """Group and others lose their bits; the owner gains none (0444 became 0600, and
    `wirewatch state` then wrote to a store it had said it would only show)."""
    state = tmp_path / "state"
    filled_store(state)
    for path in state.iterdir():
        path.chmod(0o444)
    state.chmod(0o555)
    try:
        open_store(state, readonly=True).close()
        assert mode(state) == 0o555  # read-only: nothing is changed
        try:
            open_store(state).close()  # tightens (then cannot write, unless it is root)
        except StoreFault:
            pass
        assert mode(state) == 0o500
        assert {p.name: mode(p) for p in state.iterdir()} == {
            p.name: 0o400 for p in state.iterdir()
        }
    finally:
        state.chmod(0o755)


def test_a_lock_file_that_cannot_be_opened_is_one_line_and_exit_2(tmp_path, config, capsys):
    """A traceback before (PermissionError from os.open): another user's folder or a 0444
    lock file. Root may open anything, so a folder in its place stands for those here."""
    state = tmp_path / "state"
    filled_store(state)
    (state / f"{FILENAME}.lock").mkdir()
    assert main(["run", "--once", "--config", str(config), "--state-dir", str(state)]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith(f"state store error: {state / FILENAME}: cannot open the lock file ")
    assert err.endswith(
        "Fix: make the file and its folder writable by the user running "
        "wirewatch (chown/chmod); `wirewatch state` can still show a read-only "
        "store"
    )


def test_a_file_given_as_the_state_directory_is_left_alone_and_one_line(tmp_path):
    """It was chmodded 0700 (/etc/passwd as root: no user could be looked up any more)."""
    afile = tmp_path / "passwd"
    afile.write_text("root:x:0:0")
    afile.chmod(0o644)
    with pytest.raises(StoreFault, match="the state directory is a file") as raised:
        open_store(afile)
    assert "give --state-dir (or state_dir:) a folder" in str(raised.value)
    assert mode(afile) == 0o644


def test_the_folder_of_a_sqlite_url_keeps_its_mode_and_the_file_is_0600(tmp_path):
    """A sqlite URL's folder may be shared (a home directory, /srv): never chmod it."""
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    open_store(f"sqlite:///{folder / 'ww.sqlite3'}").close()
    assert mode(folder) == 0o755 and mode(folder / "ww.sqlite3") == 0o600


def test_a_store_opened_read_only_shows_everything_and_refuses_writes(tmp_path):
    filled_store(tmp_path)
    before = (tmp_path / FILENAME).read_bytes()
    with open_store(tmp_path, readonly=True, check=True) as store:
        assert store.counts()["seen"] == 3000 and store.counts()["alerts_sent"] == 50
        with pytest.raises(StoreFault) as refused:
            store.mark_seen(["article-new"])
        assert refused.value.kind == "read-only"
    assert (tmp_path / FILENAME).read_bytes() == before


def test_state_of_a_folder_where_nothing_ran_is_one_line_not_a_new_store(tmp_path, config, capsys):
    """A mistyped --state-dir made an empty store there and showed all zeros, exit 0."""
    typo = tmp_path / "stat"
    assert main(["state", "--config", str(config), "--state-dir", str(typo)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: state: {typo}: there is no state file {typo / FILENAME}. Fix: `wirewatch run` "
        "makes it; check --state-dir or --state"
    )
    assert not typo.exists()
