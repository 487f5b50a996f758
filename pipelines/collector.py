"""How the garbage collector runs while a cycle does: less often, and in a Beam worker only over
what the cycle makes.

Why: a cycle makes millions of short-lived objects (articles, tags, matches, alerts) in a
process that holds a large long-lived heap (Beam, wirewatch, the config's tagger and compiled
rules, the graph). Young collections every 700 allocations (CPython's default) keep moving the
cycle's objects into the old generation, and each full collection walks the whole heap. In a
10,000-article cycle this cost 1.55 s of the in-process CPU, and 0.7 s in each Beam worker,
where the walk also wrote to every page the worker shares with the zygote it was forked from
(`wirewatch.pipelines.zygote`).

- A worker's heap from before its first bundle lives as long as the worker: it is set aside
  for good (`gc.freeze`: never walked, never collected), and young collections run every
  10,000 allocations. GC CPU per worker: 0.7 -> 0.12 s (bench/scale.py --cold's cycle, timed
  with `gc.callbacks`).
- A long-running driver (the watch loop) must not set its heap aside: garbage from one cycle
  that reached the old generation would be frozen again by the next, and never collected. It
  only collects less often while a cycle runs.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

YOUNG_THRESHOLD = 10_000


def collect_only_what_follows() -> None:
    """For a process whose present heap lives as long as it does (a Beam worker)."""
    gc.freeze()
    collect_less_often()


def collect_less_often() -> None:
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])


@contextmanager
def collecting_less_often() -> Iterator[None]:
    """`collect_less_often` while the block runs; the thresholds as before after it."""
    thresholds = gc.get_threshold()
    collect_less_often()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
