"""Beam wrappers of the state store: the one way a DoFn reaches it (StoreDoFn: opened in setup(),
closed in teardown()), dead letters, and the end-of-cycle commit.

Only the directory travels with the pipeline graph; the SQLite connection is per worker.
"""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics import Metrics

from wirewatch.transforms.beam_support.metrics import NS
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.state.sqlite import StateStore


class StoreDoFn(beam.DoFn):
    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def setup(self):
        self.store = StateStore(self.state_dir)

    def teardown(self):
        self.store.close()


class _WriteDeadLettersDoFn(StoreDoFn):
    """Dead letters land in the state store (for `redeliver`) and a JSONL file (for people)."""

    def __init__(self, state_dir: str, path: str):
        super().__init__(state_dir)
        self.path = path

    def start_bundle(self):
        self.batch: list[DeadLetter] = []

    def process(self, letter: DeadLetter):
        Metrics.counter(NS, "dead_letters").inc()
        Metrics.counter(f"{NS}.dead", letter.stage).inc()
        self.batch.append(letter)

    def finish_bundle(self):
        if not self.batch:
            return
        self.store.add_dead_letters(self.batch)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as out:
            for letter in self.batch:
                out.write(json.dumps(letter.model_dump(mode="json")) + "\n")
        self.batch = []


class WriteDeadLetters(beam.PTransform):
    def __init__(self, state_dir: str, path: str):
        super().__init__()
        self.state_dir, self.path = state_dir, path

    def expand(self, letters):
        return letters | "Write" >> beam.ParDo(_WriteDeadLettersDoFn(self.state_dir, self.path))


class _CommitDoFn(StoreDoFn):
    """Runs only after the barrier side input (all deliveries) is complete."""

    def process(self, item, barrier):
        from wirewatch.transforms.ingest.beam import seen_keys
        from wirewatch.transforms.state.sqlite import FeedState

        if isinstance(item, FeedState):
            self.store.save_feed_state(item)
        else:
            self.store.mark_seen(seen_keys(item))


class CommitCycle(beam.PTransform):
    """Marks articles seen and saves feed state once every alert of the cycle was handled.

    The side input makes Beam finish all deliveries first. If the cycle dies before this, nothing
    is committed: the next cycle re-fetches and re-processes, and the alert ledger keeps the
    alerts that did go out from going out twice.
    """

    def __init__(self, state_dir: str):
        super().__init__()
        self.state_dir = state_dir

    def expand(self, pcolls):
        to_commit, delivered = pcolls
        barrier = delivered | "CountDelivered" >> beam.combiners.Count.Globally()
        return to_commit | "Commit" >> beam.ParDo(
            _CommitDoFn(self.state_dir), beam.pvalue.AsSingleton(barrier)
        )
