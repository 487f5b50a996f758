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

Before any of that, the feeds are polled without Beam (pipelines/nothing_new.py): the quiet
ones (nothing new) are committed there, and only the others go through the Beam cycle. When
every feed is quiet and nothing waits for delivery, the run ends without importing Beam or
compiling the rules (its summary says `pipelines: 0`); `wirewatch check` still validates them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from wirewatch.pipelines import nothing_new
from wirewatch.pipelines.summary import CycleSummary, cycle_outcomes
from wirewatch.pipelines.watch import keeping_leases
from wirewatch.transforms.config import Config
from wirewatch.transforms.routing.router import active_sinks
from wirewatch.transforms.state import StateStore, open_store
from wirewatch.transforms.state.owner import claim_owner

log = logging.getLogger("wirewatch")


def run_once(config: Config, location: str, beam_args: list[str]) -> CycleSummary:
    """The quiet feeds without Beam; then, if any feed is busy or a delivery waits, one
    cycle over the busy feeds; then, if it held a burst, the cycle that sends it.

    Its alert claims are renewed while it runs (`keeping_leases`, as a watch cycle's): a
    delivery that Slack holds longer than `lease_seconds` is not taken for a dead worker's
    claim and sent again by another worker on the store. It writes no heartbeat: it takes no
    share of the due feeds, so watch workers must not count it when they split them."""
    with open_store(location) as keeper:
        with keeping_leases(keeper, claim_owner(), config.lease_seconds, beat=False):
            return _run_once(config, location, beam_args)


def _run_once(config: Config, location: str, beam_args: list[str]) -> CycleSummary:
    with open_store(location) as store:
        started = store.now()  # the store's clock: outcomes are stamped by it
        look = nothing_new.look(config, store)
        quiet = nothing_new.commit(look, store, started)
        busy = [f for f in config.feeds if f.id in look.busy]
        why = [f"feed {f.id}: {look.busy[f.id]}" for f in busy]
        if not busy:
            waits = nothing_new.waiting(store, config, store.now())
            released = release_bursts(store, config, store.now())
            why += [waits] if waits else []
            why += [f"{released} held digest groups end their wait now"] if released else []
    if not why:
        log.debug("nothing new and nothing waits: no pipeline started")
        return quiet
    log.debug(f"starting the cycle pipeline: {'; '.join(why)}")
    summary = quiet.then(_cycle(config, busy, location, beam_args, look.polled))
    with open_store(location) as store:
        if not release_bursts(store, config, store.now()):
            return summary
    flushed = _cycle(config, [], location, beam_args)
    with open_store(location) as store:
        return summary.then(flushed, cycle_outcomes(store, [], started))


def _cycle(config: Config, feeds, location: str, beam_args: list[str], polled=None) -> CycleSummary:
    """One Beam cycle over `feeds` (`polled`: their results from the look, not fetched
    again): the rules are compiled (and checked) first. The worker zygote, if one runs, was
    handed the config as soon as it was read (commands/run.py; run_cycle hands over any
    other) and builds them too, while this process looks at the feeds, compiles and imports
    the cycle's code (its first workers waited 0.15-0.5 s for that build when it was handed
    over just before the run, and still about 0.2 s when handed over after this check)."""
    from wirewatch.pipelines.logs import quiet_beam_logging

    preflight(config)  # no Beam import
    quiet_beam_logging()  # before the first Beam import
    from wirewatch.pipelines.cycle import run_cycle

    return run_cycle(config, feeds, location, beam_args, polled=polled)


def preflight(config: Config) -> None:
    """Compile rules and tagger before a pipeline is built, so a bad config fails before
    anything runs. Both go into the per-process cache the pipeline's MatchRules and
    TagArticles then read. (A `run --once` that starts no pipeline compiles nothing.)"""
    from wirewatch.transforms.beam_support.rulesets import ruleset_for
    from wirewatch.transforms.beam_support.taggers import tagger_for

    ruleset_for(config)
    tagger_for(config)


def release_bursts(store: StateStore, config: Config, now: datetime) -> int:
    """Make due now every held group of an active sink whose hold ends within its route's
    group_wait; how many. Story groups ('more sources' of an alerted story) keep their time."""
    longest = max((r.group_wait for r in config.routes), default=0)
    released = 0
    for sink in sorted(active_sinks(config)):
        for key in store.due_groups(sink, now + timedelta(seconds=longest)):
            route = _route_of(key, sink, config)
            if route is None:
                continue
            with store.locked_group(key) as state:
                if state.due_at is None or state.due_at > now + timedelta(seconds=route.group_wait):
                    continue
                store.save_group(key, sink, state.model_copy(update={"due_at": now}))
                released += 1
    return released


def _route_of(key: str, sink: str, config: Config):
    """The route of a group key `sink|route|label` (flood.group_key); None for a story group."""
    index = key[len(sink) + 1 :].partition("|")[0]
    if not index.isdigit() or int(index) >= len(config.routes):
        return None
    return config.routes[int(index)]
