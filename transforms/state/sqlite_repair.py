"""`wirewatch state repair` and `state reset` for a SQLite state file, each keeping a copy.

repair: copy the file (and its -wal, which holds committed writes) beside it with a time
suffix, then rebuild: every table the file's schema names is created afresh and filled with
every row SQLite can still read; a table whose pages are damaged is read by rowid around the
damage, so one bad page loses the rows on it, not the table. Then the indexes, then the
migrations (the rebuilt file opens like any older file). The rebuilt file replaces the old one
only when it is complete, under the owner lock (no running wirewatch can hold the file).

The alert ledger is what keeps a sent alert from going out again: the report says per table
how many rows came back and whether some were unreadable, and warns when the ledger lost rows.

reset: copy the file likewise, then start an empty store. No SQL here is specific to a
schema version: the tables come from the file's own sqlite_master.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from wirewatch.transforms.state.faults import StoreFault
from wirewatch.transforms.state.owner import OwnerLock
from wirewatch.transforms.state.sqlite import SqliteStore

_CHUNK = 500
_LOWEST = -(2**63)
_HIGHEST = 2**63 - 1


class Salvaged(NamedTuple):
    table: str
    rows: int
    complete: bool  # False: some rows were unreadable and are lost


class Report(NamedTuple):
    path: str
    copy: str  # where the old file is kept
    tables: list[Salvaged]  # empty for a reset


def companions(path: Path) -> list[Path]:
    """The files SQLite keeps beside a database in WAL mode."""
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]


def keep_copy(path: Path, kind: str, now: datetime) -> Path:
    """Copy `path` and its -wal byte for byte to `path.<kind>-<UTC time>` (-wal beside it,
    so opening the copy sees the same data), 0600. Returns the copy's path."""
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    copy = path.with_name(f"{path.name}.{kind}-{stamp}")
    n = 1
    while copy.exists():
        n += 1
        copy = path.with_name(f"{path.name}.{kind}-{stamp}-{n}")
    for source, target in ((path, copy), (companions(path)[0], companions(copy)[0])):
        if source.exists():
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst)
                dst.flush()
                os.fsync(dst.fileno())
    return copy


def _rows(src: sqlite3.Connection, table: str, rowid: bool) -> tuple[list[tuple], bool]:
    """Every readable row of `table` and whether that was all of them."""
    try:
        return src.execute(f'SELECT * FROM "{table}"').fetchall(), True
    except sqlite3.DatabaseError:
        if not rowid:
            return [], False
    rows: list[tuple] = []
    after, limit, step = _LOWEST, _CHUNK, 0
    while after < _HIGHEST:
        try:
            chunk = src.execute(
                f'SELECT rowid, * FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?',
                (after, limit),
            ).fetchall()
        except sqlite3.DatabaseError:
            if limit > 1:  # read up to the damage one row at a time
                limit = 1
                continue
            step = step * 2 or 1  # then step over it, further each time
            after = min(_HIGHEST, after + step)
            continue
        if not chunk:
            break
        rows += [row[1:] for row in chunk]
        after, limit, step = chunk[-1][0], _CHUNK, 0
    return rows, False  # the whole-table read failed: something was unreadable


def _salvage(source: Path, target: Path) -> list[Salvaged]:
    src = sqlite3.connect(source)
    try:
        try:
            schema = src.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%' ORDER BY type DESC"  # tables, then indexes
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreFault(
                str(source),
                f"nothing in the state file can be read (SQLite: {exc}), so nothing can be "
                "recovered",
                "restore the state file from your backup, or start empty with "
                "`wirewatch state reset --yes` (keeps a copy)",
            ) from None
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            dst.execute("BEGIN")
            report = []
            for kind, name, sql in schema:
                if kind == "table":
                    dst.execute(sql)
                    rows, complete = _rows(src, name, "without rowid" not in sql.lower())
                    if rows:
                        marks = ",".join("?" * len(rows[0]))
                        dst.executemany(f'INSERT OR IGNORE INTO "{name}" VALUES ({marks})', rows)
                    report.append(Salvaged(name, len(rows), complete))
                elif kind == "index":
                    dst.execute(sql)
            dst.execute("COMMIT")
        finally:
            dst.close()
        return report
    finally:
        src.close()


def repair(path: Path, now: datetime | None = None) -> Report:
    """Rebuild `path` from what can be read; the old file is kept beside it."""
    now = now or datetime.now(timezone.utc)
    with _owned(path):
        if not path.exists():
            raise StoreFault(str(path), "there is no state file to repair", "check --state-dir")
        rebuilt = path.with_name(path.name + ".repairing")
        _remove(rebuilt, *companions(rebuilt))
        copy = keep_copy(path, "broken", now)
        try:
            tables = _salvage(path, rebuilt)
            SqliteStore(rebuilt).close()  # migrations, WAL mode
        except BaseException:  # the old file is as it was: no copy to keep
            _remove(rebuilt, *companions(rebuilt), copy, *companions(copy))
            raise
        _remove(*companions(path))  # never replay the old file's WAL onto the new one
        os.replace(rebuilt, path)
    return Report(str(path), str(copy), tables)


def reset(path: Path, now: datetime | None = None) -> Report:
    """Start `path` empty; the old file (if any) is kept beside it."""
    now = now or datetime.now(timezone.utc)
    with _owned(path):
        copy = keep_copy(path, "reset", now) if path.exists() else None
        _remove(path, *companions(path))
        SqliteStore(path).close()
    return Report(str(path), str(copy or ""), [])


class _owned:
    """The owner lock for the block: no wirewatch runs on the file while it is rebuilt."""

    def __init__(self, path: Path):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.lock = OwnerLock(path, str(path))

    def __enter__(self) -> None:
        self.lock.acquire("wirewatch state repair/reset")

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
