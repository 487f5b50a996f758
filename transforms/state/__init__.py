"""The state store: what must survive a restart (feeds, seen keys, ledger, groups, stories,
dead letters). interface.py is the Protocol every backend implements; `open_store(location)`
picks the backend (sqlite.py, postgres.py). Beam wrappers: beam.StoreDoFn, beam.WriteDeadLetters,
beam.CommitCycle."""

from wirewatch.transforms.state.interface import (
    AlertRecord,
    FeedState,
    Hold,
    Lease,
    Retention,
    StateStore,
    StoreBusy,
    StoreUnavailable,
)
from wirewatch.transforms.state.location import StoreLocationError, open_store

__all__ = [
    "AlertRecord",
    "FeedState",
    "Hold",
    "Lease",
    "Retention",
    "StateStore",
    "StoreBusy",
    "StoreLocationError",
    "StoreUnavailable",
    "open_store",
]
