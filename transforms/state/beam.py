"""Beam wrappers of the state store: the one way a DoFn reaches it (StoreDoFn: opened in setup(),
closed in teardown()), dead letters, and the end-of-cycle commit.

Only the store's location (a state directory or a URL) travels with the pipeline graph; the
connection is per worker. Writes are buffered per bundle and written in one transaction.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import AsSingleton, PCollection

from wirewatch.transforms.beam_support.metrics import NS
from wirewatch.transforms.ingest.dedupe import seen_keys
from wirewatch.transforms.model import Article, DeadLetter
from wirewatch.transforms.state.interface import FeedState, StateStore
from wirewatch.transforms.state.location import open_store

DEAD_NS = f"{NS}.dead"  # dead letters per stage


class StoreDoFn(beam.DoFn):
    """A DoFn with `self.store`, opened from `location` in setup() and closed in teardown()."""

    def __init__(self, location: str):
        super().__init__()
        self.location = str(location)

    def setup(self) -> None:
        self.store: StateStore = open_store(self.location)

    def teardown(self) -> None:
        self.store.close()


class _WriteDeadLettersDoFn(StoreDoFn):
    """Dead letters land in the state store (for `redeliver`) and a JSONL file (for people)."""

    STAGES = ("fetch", "parse", "deliver")  # the stages that emit dead letters in a cycle

    def __init__(self, location: str, path: str):
        super().__init__(location)
        self.path = path
        self.dead_letters = Metrics.counter(NS, "dead_letters")
        self.by_stage = {stage: Metrics.counter(DEAD_NS, stage) for stage in self.STAGES}
        self.other_stage = Metrics.counter(DEAD_NS, "other")

    def start_bundle(self) -> None:
        self.batch: list[DeadLetter] = []

    def process(self, letter: DeadLetter) -> Iterable[None]:
        self.dead_letters.inc()
        self.by_stage.get(letter.stage, self.other_stage).inc()
        self.batch.append(letter)
        return ()

    def finish_bundle(self) -> None:
        if not self.batch:
            return
        self.store.add_dead_letters(self.batch)
        Path(self.path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # owner only
        with open(fd, "a", encoding="utf-8") as out:
            for letter in self.batch:
                out.write(json.dumps(letter.model_dump(mode="json")) + "\n")
        self.batch = []


class WriteDeadLetters(beam.PTransform):
    """PCollection[DeadLetter] -> written to the store and appended to the JSONL file `path`."""

    def __init__(self, location: str, path: str):
        super().__init__()
        self.location, self.path = str(location), path

    def expand(self, letters: PCollection[DeadLetter]) -> PCollection[None]:
        return letters | "Write" >> beam.ParDo(_WriteDeadLettersDoFn(self.location, self.path))


class _CommitDoFn(StoreDoFn):
    """Runs only after the barrier side input (all deliveries) is complete; buffers the bundle
    and commits it in one transaction in finish_bundle()."""

    def start_bundle(self) -> None:
        self.keys: list[str] = []
        self.states: list[FeedState] = []

    def process(self, item: Article | FeedState, delivered: int) -> Iterable[None]:
        if isinstance(item, FeedState):
            self.states.append(item)
        else:
            self.keys.extend(seen_keys(item))
        return ()

    def finish_bundle(self) -> None:
        if not self.keys and not self.states:
            return
        with self.store.transaction():
            if self.keys:
                self.store.mark_seen(self.keys)
            self.store.save_feed_states(self.states)
        self.keys, self.states = [], []


class CommitCycle(beam.PTransform):
    """Marks articles seen and saves feed state once every alert of the cycle was handled.

    Input: (to_commit, delivered): articles and FeedStates to commit, and the PCollection whose
    completion is the barrier (all deliveries). The side input makes Beam finish all deliveries
    first. If the cycle dies before this, nothing is committed: the next cycle re-fetches and
    re-processes, and the alert ledger keeps the alerts that did go out from going out twice.
    """

    def __init__(self, location: str):
        super().__init__()
        self.location = str(location)

    def expand(self, pcolls: tuple[PCollection, PCollection]) -> PCollection[None]:
        to_commit, delivered = pcolls
        barrier = delivered | "CountDelivered" >> beam.combiners.Count.Globally()
        return to_commit | "Commit" >> beam.ParDo(_CommitDoFn(self.location), AsSingleton(barrier))
