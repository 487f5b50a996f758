"""`run --once`: one cycle over every feed, then the bursts that cycle held.

A route's `group_wait` holds a new group's first alert so that a burst goes out as one digest.
In the watch loop a later cycle sends the group when the wait ends. A `--once` run has no later
cycle, and its burst is complete when its cycle ends (nothing else joins the group before the
process exits): keeping the alerts for the next run would only make them late, by as long as
the scheduler waits between runs. So a held group that would be due within its route's
`group_wait` is made due now, and a second, feedless cycle sends it through the usual ledger
claims (exactly once, whoever else shares the store). What is held for longer (quiet hours, a
group whose flood-control window is full) stays held; the summary says how many alerts wait and
when the first group is due.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from wirewatch.pipelines.cycle import run_cycle
from wirewatch.pipelines.summary import CycleSummary, cycle_outcomes
from wirewatch.transforms.config import Config
from wirewatch.transforms.routing.router import active_sinks
from wirewatch.transforms.state import StateStore, open_store


def run_once(config: Config, location: str, beam_args: list[str]) -> CycleSummary:
    """One cycle over every feed; then, if it held a burst, the cycle that sends it."""
    started = datetime.now(timezone.utc)
    summary = run_cycle(config, config.feeds, location, beam_args)
    with open_store(location) as store:
        if not release_bursts(store, config, datetime.now(timezone.utc)):
            return summary
    flushed = run_cycle(config, [], location, beam_args)
    with open_store(location) as store:
        return summary.then(flushed, cycle_outcomes(store, [], started))


def release_bursts(store: StateStore, config: Config, now: datetime) -> int:
    """Make due now every held group of an active sink whose hold ends within its route's
    group_wait; how many. Story groups ('more sources' of an alerted story) keep their time."""
    longest = max((r.group_wait for r in config.routes), default=0)
    released = 0
    for sink in sorted(active_sinks(config)):
        for key in store.due_groups(sink, now + timedelta(seconds=longest)):
            route = _route_of(key, sink, config)
            state = store.group_state(key)
            if route is None or state.due_at is None:
                continue
            if state.due_at <= now + timedelta(seconds=route.group_wait):
                store.save_group(key, sink, state.model_copy(update={"due_at": now}))
                released += 1
    return released


def _route_of(key: str, sink: str, config: Config):
    """The route of a group key `sink|route|label` (flood.group_key); None for a story group."""
    index = key[len(sink) + 1 :].partition("|")[0]
    if not index.isdigit() or int(index) >= len(config.routes):
        return None
    return config.routes[int(index)]
