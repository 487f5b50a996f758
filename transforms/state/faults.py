"""What is wrong with a SQLite state file, as one line that names the file and the fix.

A damaged, truncated or read-only `state.sqlite3`, or one a newer wirewatch wrote, is not a
bug to show a traceback for: it needs a person (restore the backup, `wirewatch state repair`,
`wirewatch state reset`, fix the permissions). `fault_of(exc)` maps SQLite's error codes to a
`StoreFault`; anything else (a programming error) stays what it was.

A StoreFault is not a StoreUnavailable: waiting does not mend a damaged file, so the watch
loop stops with exit 2 instead of retrying forever (a full disk is the exception: freeing
space mends it, so that one is a StoreUnavailable and the loop keeps retrying).
"""

from __future__ import annotations

import sqlite3

from wirewatch.transforms.errors import Problem, WirewatchError
from wirewatch.transforms.state.interface import StoreUnavailable

REPAIR = (
    "restore the state file from your backup, or run `wirewatch state repair` (recovers what "
    "it can) or `wirewatch state reset` (starts empty); both keep a copy of the broken file"
)
READ_ONLY = (
    "make the file and its folder writable by the user running wirewatch (chown/chmod); "
    "`wirewatch state` can still show a read-only store"
)

# SQLite primary result codes (the low byte of an extended code)
_PERM, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 8, 10, 11, 13, 14, 26


class StoreFault(WirewatchError):
    """The state file is damaged, read-only, unreadable or from a newer wirewatch. `kind`
    says which for callers that can do something about one (`state` opens a read-only file
    read-only): "damaged", "read-only", "newer" or "not a folder" (a file given as the
    state directory)."""

    label = "state store error"

    def __init__(self, location: str, message: str, fix: str = REPAIR, kind: str = "damaged"):
        self.location, self.message, self.fix, self.kind = location, message, fix, kind
        super().__init__([Problem(file=location, message=message, fix=fix)])


def fault_of(exc: BaseException, location: str) -> WirewatchError | None:
    """The one-line error for a SQLite error that means the file needs a person, else None."""
    if isinstance(exc, WirewatchError):
        return exc
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    said = str(exc)
    if code in (_CORRUPT, _NOTADB) or "malformed" in said or "not a database" in said:
        return StoreFault(location, f"the state file is damaged (SQLite: {said})")
    if code in (_READONLY, _PERM) or "readonly" in said:
        return read_only(location, f"the state file is read-only (SQLite: {said})")
    if code == _CANTOPEN:
        return read_only(location, f"cannot open the state file (SQLite: {said})")
    if code == _FULL:
        return StoreUnavailable(
            location, f"the disk is full (SQLite: {said})", "free space on the state file's disk"
        )
    if code == _IOERR:
        return StoreFault(location, f"cannot read or write the state file (SQLite: {said})")
    return None


def read_only(location: str, message: str) -> StoreFault:
    return StoreFault(location, message, READ_ONLY, kind="read-only")


def newer_schema(location: str, version: int, known: int) -> StoreFault:
    return StoreFault(
        location,
        f"the state file has schema {version}, newer than this wirewatch ({known})",
        "upgrade wirewatch to the version that wrote it, or use another --state-dir",
        kind="newer",
    )
