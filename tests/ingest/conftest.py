"""Fixtures for the ingestion tests: a loopback server per test, a port that refuses."""

from __future__ import annotations

import socket

import pytest

from tests.ingest.loopback import Loopback


@pytest.fixture
def server():
    loop = Loopback()
    yield loop
    loop.close()


@pytest.fixture
def refused_url():
    """A loopback port nothing listens on: bound (so no other process can take it while the
    test runs) but never listening, so every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/feed"
