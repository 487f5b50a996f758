"""The garbage collector during a cycle (pipelines/collector.py): the heap that existed before
is set aside while the cycle runs and given back after, and what the cycle makes is still
collected."""

from __future__ import annotations

import gc
import weakref

import pytest

from wirewatch.pipelines.collector import YOUNG_THRESHOLD, collecting_only_what_follows


class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the collector frees it


def test_the_heap_before_is_set_aside_while_the_block_runs_and_given_back_after():
    before = gc.get_threshold()
    held = Node()
    with collecting_only_what_follows():
        assert gc.get_freeze_count() > 0
        assert not any(obj is held for obj in gc.get_objects())  # not walked
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
    assert any(obj is held for obj in gc.get_objects())


def test_garbage_the_block_makes_is_still_collected():
    with collecting_only_what_follows():
        made = weakref.ref(Node())
        gc.collect()
        assert made() is None


def test_a_failing_block_gives_the_heap_back():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        with collecting_only_what_follows():
            raise RuntimeError("the cycle failed")
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
