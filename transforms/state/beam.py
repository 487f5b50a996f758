"""Beam wrappers of the state store: the one way a DoFn reaches it (StoreDoFn: opened in setup(),
closed in teardown()), dead letters, and the cycle's commit (claims first, then seen keys with
their content hashes and feed state, then delivery).

Only the store's location (a state directory or a URL) travels with the pipeline graph; the
connection is per worker. Writes are buffered per bundle and written in one transaction.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, NamedTuple

import apache_beam as beam
from apache_beam.pvalue import AsIter, PCollection, TaggedOutput
from apache_beam.utils.windowed_value import WindowedValue

from wirewatch.transforms.beam_support.metrics import NS, Counters
from wirewatch.transforms.model import Alert, DeadLetter
from wirewatch.transforms.state.interface import FeedState, Lease, StateStore
from wirewatch.transforms.state.location import open_store
from wirewatch.transforms.state.owner import claim_owner

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


class BundleStoreDoFn(StoreDoFn):
    """A StoreDoFn that holds a bundle's elements, each with its timestamp and window, for
    finish_bundle() to handle together: one store round trip per bundle, not per element."""

    def start_bundle(self) -> None:
        self.pending: list[WindowedValue] = []

    def process(
        self, element, timestamp=beam.DoFn.TimestampParam, window=beam.DoFn.WindowParam
    ) -> None:
        self.pending.append(WindowedValue(element, timestamp, [window]))

    def take(self) -> list[WindowedValue]:
        """The bundle held so far; the buffer starts again empty."""
        pending, self.pending = self.pending, []
        return pending


class _WriteDeadLettersDoFn(StoreDoFn):
    """Dead letters land in the state store (for `redeliver`) and a JSONL file (for people)."""

    STAGES = ("fetch", "parse", "deliver")  # the stages that emit dead letters in a cycle

    def __init__(self, location: str, path: str):
        super().__init__(location)
        self.path = path
        self.count = Counters("dead_letters")
        self.by_stage = Counters(*self.STAGES, "other", namespace=DEAD_NS)

    def start_bundle(self) -> None:
        self.batch: list[DeadLetter] = []

    def process(self, letter: DeadLetter) -> Iterable[None]:
        self.count.dead_letters.inc()
        self.by_stage[letter.stage if letter.stage in self.STAGES else "other"].inc()
        self.batch.append(letter)
        return ()

    def finish_bundle(self) -> None:
        if self.batch:
            write_dead_letters(self.store, self.path, self.batch)
        self.batch = []


def write_dead_letters(store: StateStore, path: str, letters: list[DeadLetter]) -> None:
    """Appended to the JSONL file at `path` (people's), then into the store (`redeliver`'s).
    The file first: it is on this machine, where the store may be what just failed."""
    Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # owner only
    with open(fd, "a", encoding="utf-8") as out:
        for letter in letters:
            out.write(json.dumps(letter.model_dump(mode="json")) + "\n")
    store.add_dead_letters(letters)


class WriteDeadLetters(beam.PTransform):
    """PCollection[DeadLetter] -> written to the store and appended to the JSONL file `path`."""

    def __init__(self, location: str, path: str):
        super().__init__()
        self.location, self.path = str(location), path

    def expand(self, letters: PCollection[DeadLetter]) -> PCollection[None]:
        return letters | "Write" >> beam.ParDo(_WriteDeadLettersDoFn(self.location, self.path))


class _ClaimDoFn(BundleStoreDoFn):
    """Claims a bundle's alerts in the ledger under `owner` (one atomic step), then passes
    them on, and a marker (CLAIMED: None) once they are claimed."""

    CLAIMED = "claimed"

    def __init__(self, location: str, lease_seconds: float, owner: str):
        super().__init__(location)
        self.lease_seconds, self.owner = lease_seconds, owner

    def finish_bundle(self) -> Iterable[WindowedValue]:
        pending = self.take()
        if not pending:
            return
        lease = Lease(self.owner, self.lease_seconds)
        claims = (
            (held.value.key, held.value.sink, held.value.model_dump_json()) for held in pending
        )
        self.store.claim_alerts(claims, lease, fresh=True)  # one atomic step
        yield from pending
        yield TaggedOutput(self.CLAIMED, pending[-1].with_value(None))


class _CommitDoFn(StoreDoFn):
    """Runs only after the barrier side input (every claim) is complete; buffers the bundle
    and commits it in one transaction in finish_bundle()."""

    def start_bundle(self) -> None:
        self.hashes: dict[str, str] = {}
        self.states: list[FeedState] = []

    def process(self, item: dict[str, str] | FeedState, claimed: Iterable[None]) -> Iterable[None]:
        if isinstance(item, FeedState):
            self.states.append(item)
        else:  # a new, edited or backfill article's seen keys with its content hash
            self.hashes.update(item)
        return ()

    def finish_bundle(self) -> None:
        if not self.hashes and not self.states:
            return
        with self.store.transaction():
            if self.hashes:
                self.store.record_seen(self.hashes)
            self.store.save_feed_states(self.states)
        self.hashes, self.states = {}, []


class Committed(NamedTuple):
    """CommitCycle's result: the alerts, each claimed in the ledger, and `done`, complete once
    the cycle is committed. A stage that sends must read `done` as a side input (Deliver does),
    which starts it only then: the barrier rides into the sending stage itself, so no stage of
    its own stands between the commit and the first alert out."""

    alerts: PCollection[Alert]
    done: PCollection[None]


class CommitCycle(beam.PTransform):
    """(alerts, to_commit) -> Committed: the alerts, each claimed in the ledger, and the barrier
    that releases them for delivery once the cycle is committed (its articles marked seen, its
    feed states saved). `to_commit` holds FeedStates and, per new, edited or backfill article,
    its seen keys with its content hash (`ingest.dedupe.seen_hashes`, applied where the article
    is made, so full articles do not cross into this stage only to be hashed).

    Why this order: the ledger is the cycle's outbox. Once every alert of the cycle is claimed
    (with its payload), an alert no longer depends on its article being fetched again: if the
    process dies during delivery, the claims it held expire (at once when the next owner takes
    an embedded store) and the next cycle re-offers them from their payloads, on every sink,
    even when the article has left its feed by then. So the cycle can commit before it
    delivers, and a crash loop that dies during delivery still makes progress. Before the
    claims are all written nothing is committed and no sink has sent anything: the next cycle
    re-fetches and re-processes, and the claims keep anything from going out twice. An edited
    entry's new content hash is committed here too, so a crash before it evaluates the edit
    again, and the ledger stops what already went out.
    """

    def __init__(self, location: str, lease_seconds: float, owner: str | None = None):
        super().__init__()
        self.location, self.lease_seconds = str(location), lease_seconds
        # fixed when the graph is built and passed to Deliver too, so the dispatcher re-takes
        # the cycle's own claims whichever process or host runs each stage
        self.owner = owner or claim_owner()

    def expand(self, pcolls: tuple[PCollection[Alert], PCollection]) -> Committed:
        alerts, to_commit = pcolls
        claimed = alerts | "Claim" >> beam.ParDo(
            _ClaimDoFn(self.location, self.lease_seconds, self.owner)
        ).with_outputs(_ClaimDoFn.CLAIMED, main="alerts")
        # Side inputs as barriers: a stage reading one starts only when it is complete (never
        # iterated, so nothing is read; cheaper than counting it first). The markers, not the
        # alerts: a side input is written out whole, and the alerts were encoded twice.
        markers = AsIter(claimed[_ClaimDoFn.CLAIMED])
        committed = to_commit | "Commit" >> beam.ParDo(_CommitDoFn(self.location), markers)
        return Committed(claimed.alerts, committed)
