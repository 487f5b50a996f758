"""How the garbage collector runs while a cycle does: over what the cycle makes, less often.

Why: a cycle makes millions of short-lived objects (articles, tags, matches, alerts) in a
process that holds a large long-lived heap (Beam, wirewatch, the config's tagger and compiled
rules, the graph). CPython's full collections walk the whole heap, and young collections every
700 allocations (its default) keep feeding the cycle's objects into that walk. In a
10,000-article cycle this cost 1.55 s of the in-process CPU, and 0.7 s in each Beam worker,
where the walk also wrote to every page the worker shares with the zygote it was forked from
(`wirewatch.pipelines.zygote`). With the heap set aside and young collections every 10,000
allocations: 1.0 s in process, 0.1 s a worker (bench/scale.py --cold, `gc.callbacks` timing).

Set aside (`gc.freeze`) means not walked and not collected: for a worker, whose heap before
its first bundle lives as long as it does, for good; for a cycle, only while it runs. Cyclic
garbage the cycle makes is still collected, by the same generations, a little later.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

YOUNG_THRESHOLD = 10_000


def collect_only_what_follows() -> None:
    """For a process whose present heap lives as long as it does (a Beam worker)."""
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])


@contextmanager
def collecting_only_what_follows() -> Iterator[None]:
    """`collect_only_what_follows` while the block runs; the heap and thresholds as before
    after it."""
    thresholds = gc.get_threshold()
    collect_only_what_follows()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
