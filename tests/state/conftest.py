"""The store contract runs on every backend: one parametrized fixture.

BACKENDS maps a backend's name to a function (request, tmp_path) -> the location of a fresh,
empty store. Adding a backend is one entry; its fixtures (a server, a database per test) are
reached through `request.getfixturevalue`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest

from wirewatch.transforms.state import StateStore, open_store

BACKENDS: dict[str, Callable[[pytest.FixtureRequest, object], str]] = {
    "sqlite": lambda request, tmp_path: f"sqlite:///{tmp_path / 'state.sqlite3'}",
    "postgresql": lambda request, tmp_path: request.getfixturevalue("pg_url"),
}

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


class Clock:
    """The store's clock, moved by the test (retention, `since` filters, digest times)."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=sorted(BACKENDS))
def location(request, tmp_path) -> str:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def connect(location, clock):
    """Opens another connection to the same store (a restart, a second worker)."""
    opened: list[StateStore] = []

    def connect() -> StateStore:
        store = open_store(location, clock=clock)
        opened.append(store)
        return store

    yield connect
    for store in opened:
        store.close()


@pytest.fixture
def store(connect) -> StateStore:
    return connect()
