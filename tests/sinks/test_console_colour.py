"""The console sink colours only a terminal, and never when NO_COLOR is set."""

from __future__ import annotations

import os

import pytest

from wirewatch.transforms.sinks.console import wants_colour


@pytest.fixture
def terminal():
    leader, follower = os.openpty()
    with open(follower, "w") as stream:
        yield stream
    os.close(leader)


def test_a_terminal_gets_colour(terminal, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert wants_colour(terminal)


def test_no_color_turns_it_off(terminal, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(terminal)


def test_an_empty_no_color_does_not(terminal, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "")
    assert wants_colour(terminal)


def test_a_pipe_gets_none(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    with open(tmp_path / "out", "w") as stream:
        assert not wants_colour(stream)
