"""Which backend a state location means: `open_store(location) -> StateStore`.

A location is a state directory (the meaning `--state-dir DIR` always had: DIR/state.sqlite3)
or a URL whose scheme names the backend. A new backend is one entry in BACKENDS.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable, NamedTuple, Optional

from wirewatch.transforms.errors import Problem, WirewatchError, redact_url
from wirewatch.transforms.state.interface import StateStore
from wirewatch.transforms.state.sqlite import FILENAME, SqliteStore

SQLITE_PREFIX = "sqlite:///"


class StoreLocationError(WirewatchError):
    """A state location no backend accepts; the message names it and the accepted forms."""

    label = "state store error"

    def __init__(self, location: str, message: str):
        self.location = redact_url(location)
        super().__init__([Problem(file=self.location, message=message, fix=accepted_forms())])


Clock = Optional[Callable[[], datetime]]


class Opening(NamedTuple):
    """How to open: `clock` (tests; None: wall time), `check` (read every page and try the
    write lock: the owning process at start, `wirewatch state`), `readonly` (SQLite: write
    nothing, for a read-only file), `private_dir` (the location was a state directory)."""

    clock: Clock = None
    check: bool = False
    readonly: bool = False
    private_dir: bool = False


def _open_sqlite(url: str, how: Opening = Opening()) -> StateStore:
    if not url.startswith(SQLITE_PREFIX) or url == SQLITE_PREFIX:
        raise StoreLocationError(
            url,
            "a sqlite URL needs the database file's path after 'sqlite:///' "
            "(sqlite:///state/state.sqlite3, sqlite:////abs/path/state.sqlite3)",
        )
    return SqliteStore(
        url[len(SQLITE_PREFIX) :],
        **({"clock": how.clock} if how.clock else {}),
        check=how.check,
        readonly=how.readonly,
        private_dir=how.private_dir,
    )


def _open_postgres(url: str, how: Opening = Opening()) -> StateStore:
    """The shared store; psycopg is an optional dependency, imported only for such a URL."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        raise StoreLocationError(
            url,
            "a PostgreSQL state store needs psycopg and psycopg_pool, which are not installed: "
            "pip install 'wirewatch[postgres]'",
        ) from None
    from wirewatch.transforms.state.postgres import PostgresStore

    return PostgresStore(url, clock=how.clock)


BACKENDS: dict[str, Callable[[str, Opening], StateStore]] = {
    "sqlite": _open_sqlite,
    "postgresql": _open_postgres,
    "postgres": _open_postgres,
}
"""URL scheme -> opener of the whole URL and how to open it."""

FORMS = {
    "sqlite": "sqlite:///PATH (PATH: the database file)",
    "postgresql": "postgresql://USER@HOST:PORT/DATABASE (postgres:// too; the password from "
    "${ENV} in the config)",
}
"""How each scheme's URL is written, for the error message."""


def accepted_forms() -> str:
    forms = ["a state directory DIR (meaning DIR/state.sqlite3)", *FORMS.values()]
    return "use " + " or ".join(forms)


def sqlite_path(location: str | Path) -> Path | None:
    """The SQLite file a location means (a state directory or a sqlite URL), else None."""
    location = str(location)
    if "://" not in location:
        return Path(location) / FILENAME
    if location.startswith(SQLITE_PREFIX) and location != SQLITE_PREFIX:
        return Path(location[len(SQLITE_PREFIX) :])
    return None


def open_store(
    location: str | Path, *, clock: Clock = None, check: bool = False, readonly: bool = False
) -> StateStore:
    """Open the store at `location`: a state directory (DIR -> DIR/state.sqlite3) or a URL
    (`sqlite:///PATH`, ...). Raises StoreLocationError for a scheme no backend handles, a
    StoreFault (faults.py) for a damaged, read-only or newer SQLite file.
    `clock` (tests) replaces wall time for the store's timestamps and retention; `check`
    reads every page first (the owning process, `wirewatch state`); `readonly` writes
    nothing (SQLite; `wirewatch state` on a read-only file)."""
    location = str(location)
    how = Opening(clock, check, readonly)
    if "://" not in location:
        path = Path(location) / FILENAME
        return _open_sqlite(f"{SQLITE_PREFIX}{path}", how._replace(private_dir=True))
    scheme = location.split("://", 1)[0].lower()
    opener = BACKENDS.get(scheme)
    if opener is None:
        raise StoreLocationError(
            location,
            f"unknown state store URL scheme {scheme!r} (known: {', '.join(sorted(BACKENDS))})",
        )
    return opener(location, how)
