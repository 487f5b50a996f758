"""The store as one batch of a batching sink sees it (Dispatcher.offer_all): a few statements a
batch instead of several an alert.

A batch runs in one store transaction, with every flood-control group it may decide on locked
from its start and its alerts claimed by this worker, so no other worker changes those rows
until it commits. What the batch reads of them it can therefore read once, and what it writes
it can write when it ends, in one statement each:
- its alerts are claimed together when it opens (`claim_alerts`); `claim_alert` of one of
  them is then granted without a statement, once. On PostgreSQL their rows stay locked to the
  end (another worker's late outcome for one of them waits that long);
- its groups are read together under their locks (`locked_groups`); each group it changes is
  saved once at the end, with the alerts it now holds, each stamped with the time it was held;
- the sink's health is read once (a failure's new health is saved at once, and kept), so
  another worker's news of the sink reaches the batch's later alerts one batch late at most;
- its 'sent' outcomes and the stories' first alerts are written together at the end.

Any other store call, or one outside what was read at the start, first writes what is pending
and then goes to the store, so every read sees what the batch did before it, as one alert at
a time would. Nothing is written early either: the writes still join the batch's transaction,
which commits after the sink's fsync (dispatch.py's crash windows hold as they were).

`python bench/deliver.py --base <checkout of f5f2d11>`, 2,553 alerts to a JSONL file (medians
of 3): on a loopback PostgreSQL 0.54 s against 6.0 s at six round trips an alert; on SQLite
0.46 s against 0.65 s.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

from wirewatch.transforms.model import Alert
from wirewatch.transforms.routing.flood import GroupState
from wirewatch.transforms.state import Hold, Lease, StateStore
from wirewatch.transforms.state.interface import SinkHealth


class BatchLedger:
    """Open with `BatchLedger.open(...)`, inside the batch's transaction."""

    def __init__(self, store: StateStore, claimed: set[str], groups: dict[str, GroupState]):
        self._store = store
        self._claimed = claimed  # claimed at the start, not yet offered
        self._groups = groups  # every locked group, as the batch has left it so far
        self._changed: dict[str, tuple[str, list[Hold]]] = {}  # group key: (sink, holds)
        self._health: dict[str, SinkHealth] = {}
        self._sent: list[str] = []
        self._stories: list[tuple[str, str, str, str, str | None]] = []

    @classmethod
    @contextmanager
    def open(
        cls, store: StateStore, alerts: list[Alert], group_keys: Iterable[str], lease: Lease
    ) -> Iterator[BatchLedger]:
        """The groups locked first, then the alerts claimed, each in key order: two batches
        take their locks in one order, so they wait for each other, never in a cycle. (An
        alert offered on its own holds no lock while it waits for its group: its claim has
        committed by then.)"""
        with store.locked_groups(group_keys) as groups:
            claims = ((alert.key, alert.sink, alert.model_dump_json()) for alert in alerts)
            ledger = cls(store, store.claim_alerts(claims, lease, fresh=True), dict(groups))
            yield ledger
            ledger.flush()

    def claim_alert(
        self, key: str, sink: str, payload: str, lease: Lease = Lease(), *, fresh: bool = False
    ) -> bool:
        if key in self._claimed:
            self._claimed.discard(key)  # once: a second offer of the key asks the store
            return True
        self.flush()
        return self._store.claim_alert(key, sink, payload, lease, fresh=fresh)

    @contextmanager
    def locked_group(self, group_key: str) -> Iterator[GroupState]:
        if group_key not in self._groups:  # not locked at the start: locked now, to the end
            self.flush()
            with self._store.locked_group(group_key) as state:
                self._groups[group_key] = state
        yield self._groups[group_key]

    def save_group(self, group_key: str, sink: str, state: GroupState, *holds: Hold) -> None:
        self._groups[group_key] = state
        _, held = self._changed.get(group_key, (sink, []))
        now = self._store.now()  # each hold's own time: a digest lists them in this order
        held += [hold if hold.at else hold._replace(at=now) for hold in holds]
        self._changed[group_key] = (sink, held)

    def sink_health(self, sink: str) -> SinkHealth:
        if sink not in self._health:
            self._health[sink] = self._store.sink_health(sink)
        return self._health[sink]

    def save_sink_health(self, health: SinkHealth) -> None:
        self._store.save_sink_health(health)
        self._health[health.sink] = health

    def finish_alert(
        self,
        key: str,
        status: str,
        attempts: int,
        error: str | None = None,
        deferred: bool = False,
        owner: str | None = None,
    ) -> bool:
        """A plain 'sent' waits for the end, and is written then: 'sent' is written over
        anything but 'sent', and this batch holds the alert's claim. Anything else now."""
        if (status, attempts, error, deferred, owner) == ("sent", 1, None, False, None):
            self._sent.append(key)
            return True
        self.flush()
        return self._store.finish_alert(key, status, attempts, error, deferred, owner)

    def record_story_alert(
        self, story_id: str, rule_id: str, sink: str, alert_key: str, ts: str | None
    ) -> None:
        self._stories.append((story_id, rule_id, sink, alert_key, ts))

    def flush(self) -> None:
        """Everything pending, written into the batch's transaction."""
        for group_key, (sink, holds) in self._changed.items():
            self._store.save_group(group_key, sink, self._groups[group_key], *holds)
        if self._sent:
            self._store.finish_alerts(self._sent, "sent", 1)
        if self._stories:
            self._store.record_story_alerts(self._stories)
        self._changed, self._sent, self._stories = {}, [], []

    def __getattr__(self, name: str):
        """Every other store method: what is pending first, then the store's own."""
        self.flush()
        return getattr(self._store, name)
