"""SharedHandles: the per-process table behind the owner lock's descriptor and the PostgreSQL pools."""

from __future__ import annotations

import pytest

from wirewatch.transforms.state.shared_handles import SharedHandles


def test_the_first_user_opens_and_the_last_closes():
    opened, closed = [], []
    handles = SharedHandles(closed.append)

    def open_one():
        opened.append(len(opened))
        return f"handle-{len(opened)}"

    assert handles.acquire("k", open_one) == "handle-1"
    assert handles.acquire("k", open_one) == "handle-1"  # shared, not opened again
    handles.release("k")
    assert closed == []
    handles.release("k")
    assert closed == ["handle-1"]
    assert handles.acquire("k", open_one) == "handle-2"  # a new user after the last let go
    handles.release("unknown")  # a no-op


def test_a_failed_open_leaves_nothing_behind():
    handles: SharedHandles[str] = SharedHandles(lambda h: None)

    def fail():
        raise OSError("no")

    with pytest.raises(OSError):
        handles.acquire("k", fail)
    assert handles.acquire("k", lambda: "ok") == "ok"
