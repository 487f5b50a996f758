"""Session-wide fixtures: one throwaway PostgreSQL server for every test that needs it.

The server (tests/pgserver.py, ~3 s) starts lazily, the first time a PostgreSQL test asks for
it, and serves the whole session; each test gets a fresh database of its own (`pg_url`).
Without the server binaries, or when the server cannot start, the PostgreSQL tests are skipped
locally and FAIL under CI (`CI=true`): there a skipped backend would hide a broken one.
"""

from __future__ import annotations

import itertools
import os

import pytest

from tests.pgserver import PgServer, PgUnavailable, start_server

_databases = itertools.count(1)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (started on first use, removed at the end)."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        _unavailable(f"{exc}; pip install -e '.[postgres]'")
    try:
        server = start_server()
    except (PgUnavailable, OSError) as exc:
        _unavailable(str(exc))
    yield server
    server.destroy()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A URL of a fresh, empty database on the session's server."""
    import psycopg

    name = f"test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_server.url(name)
