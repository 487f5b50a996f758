"""Fixtures for the ingestion tests: a loopback server per test, a port nobody listens on."""

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
def refused_url() -> str:
    """A loopback port nothing listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/feed"
