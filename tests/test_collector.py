"""The garbage collector while pipelines run (pipelines/collector.py): less often during a
cycle and as before after it; in a worker, the heap from before set aside for good."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from wirewatch.pipelines.collector import YOUNG_THRESHOLD, collecting_less_often


def test_a_cycle_collects_less_often_and_as_before_after_it():
    before = gc.get_threshold()
    with collecting_less_often():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() == 0  # a driver's heap is never set aside
    assert gc.get_threshold() == before


def test_a_failing_cycle_gives_the_thresholds_back():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        with collecting_less_often():
            raise RuntimeError("the cycle failed")
    assert gc.get_threshold() == before


def test_a_worker_sets_its_heap_aside_and_still_collects_what_it_makes():
    code = """
import gc, weakref
from wirewatch.pipelines.collector import collect_only_what_follows

class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the collector frees it

held = Node()
collect_only_what_follows()
assert gc.get_freeze_count() > 0
assert not any(obj is held for obj in gc.get_objects())  # never walked
made = weakref.ref(Node())
gc.collect()
assert made() is None
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
