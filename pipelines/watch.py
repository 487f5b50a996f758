"""The continuous watch: a driver loop that runs one short batch cycle per tick.

Why not a streaming pipeline: Beam's Python DirectRunner cannot run an unbounded poller well
(see DESIGN.md). Each tick runs the cycle pipeline over the feeds that are due (and, when none
is, a feedless cycle if a held digest is due or an alert's claim expired: its worker died after
its cycle committed); all schedule state lives in the state store, so a restart continues where
the last committed cycle ended.

Per-cycle cost: building and translating the cycle graph costs more than running it (~1 s on a
small machine). On the in-process engine the driver builds each distinct graph once (one per
set of due feeds) and re-runs its translated form (`CycleRunner`).

Several workers: every tick, the driver leases the feeds that are due from the state store
(`lease_due_feeds`, for `lease_seconds`) and polls only those, so two workers on one shared
store never poll a feed for the same due time; committing a feed's state ends its lease, a
failed cycle gives its leases back, and a worker that died loses them when they expire. Each
tick also writes a heartbeat (`wirewatch state` lists the workers). On an embedded SQLite store
the driver first takes the store's owner lock: a second process on it exits 2.

Signals: the first SIGINT/SIGTERM lets the current cycle finish (or, if a signal killed its
workers, abandons it: what it committed stays, its claimed alerts are re-offered, see
CommitCycle) and exits 0; a second one aborts at once. SIGHUP reloads the config between two
cycles, never during one: the new file must pass what `wirewatch check` checks, else the loop
keeps the config it runs and logs why. A cycle commits all it claimed before it ends, and the
ledger's keys (rule, story or article, sink) do not depend on the config's version, so a reload
can neither lose nor double an alert.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import signal
import socket
import threading
import time
import weakref
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

from wirewatch.pipelines.interrupts import interrupt, interrupted, stopping
from wirewatch.pipelines.logs import quiet_beam_logging
from wirewatch.pipelines.state import fault_behind, owning, process_running, worker_name
from wirewatch.pipelines.summary import CycleSummary
from wirewatch.transforms.config import Config, FeedConfig
from wirewatch.transforms.errors import WirewatchError
from wirewatch.transforms.routing.router import active_sinks
from wirewatch.transforms.state import Lease, Retention, StateStore, StoreUnavailable

if TYPE_CHECKING:  # run.py starts it; `run --once` asks this module what waits, not for HTTP
    from wirewatch.pipelines.service import Service

log = logging.getLogger("wirewatch")  # its lines read "... wirewatch: cycle 3: ..."

MAX_SLEEP = 5.0
NEVER = datetime.max.replace(tzinfo=timezone.utc)  # the due time of nothing ever due
LEASED_ELSEWHERE_WAIT = 1.0
"""How long to wait when feeds are due but other workers hold their leases (they are polling
them now): asking the store again at once, 20 times a second, took the CPU of the very worker
that was draining them (bench/scale.py, two workers on a 2-core machine)."""
MAX_FEEDS_PER_CYCLE = 50
PRUNE_EVERY = 3600.0  # seconds between prunes
# Retention (days) beside the config's seen_retention_days; constants until config grows a
# `retention:` section. The ledger keeps a key at least as long as its seen key: an article
# whose seen key went can come back, and only the ledger then stops a second alert.
LEDGER_DAYS = 60.0
DEAD_LETTER_DAYS = 30.0
GROUP_DAYS = 7.0
FAILED_CYCLE_BACKOFF = (1.0, 60.0)  # first and longest wait after a cycle that raised
GRAPH_CACHE_SIZE = 32
# At most this often a cycle runs only to re-offer expired claims (a sink skipped while it is
# down keeps its claims: the driver must not spin on them).
REOFFER_EVERY = 30.0


def feeds_due(feeds: list[FeedConfig], store: StateStore, now: datetime) -> list[FeedConfig]:
    states = store.feed_states([f.id for f in feeds])
    return [f for f in feeds if states[f.id].next_due is None or states[f.id].next_due <= now]


def lease_feeds(
    feeds: list[FeedConfig], store: StateStore, worker: str, now: datetime, seconds: float
) -> list[FeedConfig]:
    """The due feeds this worker polls in this cycle: its share of them (the due feeds split
    over the live workers, at most MAX_FEEDS_PER_CYCLE), among those no other worker holds.
    Sharing, rather than leasing everything due, is what lets a second worker help with a
    backlog; the cap also commits a large backlog in steps."""
    due = feeds_due(feeds, store, now)
    if not due:
        return []
    share = min(MAX_FEEDS_PER_CYCLE, -(-len(due) // live_workers(store, now, seconds)))
    leased = set(store.lease_due_feeds([f.id for f in due], Lease(worker, seconds), now, share))
    return [f for f in due if f.id in leased]


def live_workers(store: StateStore, now: datetime, seconds: float) -> int:
    """Workers that beat within a lease, at least this one. A worker on this host whose
    process is gone is not counted: after a kill, the restart would otherwise share the due
    feeds with its dead predecessor and poll only half of them until its heartbeat aged."""
    host = socket.gethostname()
    live = [
        w
        for w in store.workers()
        if (now - w.heartbeat_at).total_seconds() < seconds
        and (w.host != host or process_running(w.pid))
    ]
    return max(1, len(live))


def claims_due(store: StateStore, config: Config, now: datetime) -> bool:
    """Whether an active sink has an expired claim: an alert whose worker died after the
    cycle that claimed it committed. A cycle re-offers it even when no feed is due."""
    return any(store.expired_claims(sink, now) for sink in sorted(active_sinks(config)))


def seconds_until_next(feeds: list[FeedConfig], store: StateStore, now: datetime) -> float:
    """Until the next feed (or held digest) is due; 0 if some feed was never polled; inf
    when nothing ever falls due (no feeds, no digest waits)."""
    states = store.feed_states([f.id for f in feeds])
    times = [states[f.id].next_due for f in feeds]
    if any(t is None for t in times):
        return 0.0
    group_due = store.next_group_due()
    pending = [(t - now).total_seconds() for t in times + [group_due] if t is not None]
    return max(0.0, min(pending)) if pending else math.inf


def idle_wait(until_next: float) -> float:
    """How long an idle tick sleeps: until the next feed or digest is due (at most MAX_SLEEP, so
    a new worker's share or a lease that ran out is seen soon); a second when feeds are due
    already, since then other workers hold their leases and are polling them."""
    return min(MAX_SLEEP, max(0.05, until_next) if until_next > 0 else LEASED_ELSEWHERE_WAIT)


def group_due(store: StateStore, now: datetime) -> bool:
    due = store.next_group_due()
    return due is not None and due <= now


class Clock(Protocol):
    """What the driver asks of time: the wall clock (due times), a monotonic clock (prune
    spacing) and a wait that a stop signal cuts short. Tests pass a clock that only advances."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def wait(self, stop: threading.Event, seconds: float) -> None: ...


class SystemClock:
    def __init__(self, store: StateStore | None = None):
        self.store = store

    def now(self) -> datetime:
        """The store's clock (StateStore.now): due times, leases and heartbeats are compared
        with what other hosts wrote in it. Without a store, this host's."""
        return self.store.now() if self.store is not None else datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event, seconds: float) -> None:
        stop.wait(seconds)


class Runner(Protocol):
    def run(self, feeds: list[FeedConfig]) -> CycleSummary: ...


RunnerFactory = Callable[[Config, str, list[str]], Runner]


class Signals:
    """SIGINT/SIGTERM: the first stops the loop after this cycle, a second aborts now. SIGHUP:
    reload the config before the next cycle. A handler only sets flags (the loop acts on them
    between cycles); each also sets `wake`, which cuts an idle or back-off wait short."""

    def __init__(self):
        self.stop, self.reload, self.wake = threading.Event(), threading.Event(), threading.Event()

    def install(self, reload: bool) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        if reload and hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, self._reload)

    def _stop(self, signum, frame):
        if self.stop.is_set():
            log.warning("aborting")
            interrupt()  # raises KeyboardInterrupt; if Beam re-raises it, the loop still knows
        log.warning("stopping after the current cycle (signal again to abort)")
        stopping()
        self.stop.set()
        self.wake.set()

    def _reload(self, signum, frame):
        self.reload.set()
        self.wake.set()


class Settings:
    """What a reload replaces: the config, and its feeds with `--interval` applied. `load`
    reads and validates the config file again (raises WirewatchError)."""

    def __init__(self, config: Config, interval: float | None, load: Callable[[], Config] | None):
        self.interval, self.load = interval, load
        self.use(config)

    def use(self, config: Config) -> None:
        self.config = config
        self.feeds = [
            f.model_copy(update={"interval": self.interval}) if self.interval else f
            for f in config.feeds
        ]

    def reload(self) -> bool:
        """The config file again, if it passes `check`: True when it replaced the running one.
        One log line either way (what changed, or the first problem: file, field, message)."""
        try:
            new = self.load()
        except WirewatchError as exc:
            more = f" (and {len(exc.problems) - 1} more: run wirewatch check)"
            why = f"{_first_line(exc.problems[0])}{more if len(exc.problems) > 1 else ''}"
            log.error(f"config reload failed, keeping the running config: {why}")
            return False
        except Exception as exc:  # noqa: BLE001  (an unreadable file, a bug: the loop goes on)
            log.error(f"config reload failed, keeping the running config: {_last_line(exc)}")
            return False
        log.info(f"config reloaded from {new.source}: {config_changes(self.config, new)}")
        self.use(new)
        return True


def config_changes(old: Config, new: Config) -> str:
    """What a reload changed, in one line: 'feeds +asia -wire; rules ~quake; routes changed'."""
    parts = []
    for name in ("feeds", "rules", "sinks"):
        before, after = _by_id(getattr(old, name)), _by_id(getattr(new, name))
        delta = [f"+{k}" for k in after if k not in before]
        delta += [f"-{k}" for k in before if k not in after]
        delta += [f"~{k}" for k in after if k in before and after[k] != before[k]]
        if delta:
            parts.append(f"{name} {' '.join(delta)}")
    skip = {"feeds", "rules", "sinks", "source", "include"}
    others = [
        name
        for name in type(new).model_fields
        if name not in skip and getattr(old, name) != getattr(new, name)
    ]
    parts += [
        f"{name} changed" + (" (takes effect after a restart)" if name in RESTART_ONLY else "")
        for name in others
    ]
    return "; ".join(parts) or "no changes"


RESTART_ONLY = ("state", "state_dir")  # the store stays open across a reload


def _by_id(items) -> dict:
    return dict(items) if isinstance(items, dict) else {item.id: item for item in items}


def _first_line(problem) -> str:
    """A problem as one log line: file, field and message, without the detail lines."""
    return str(problem).splitlines()[0]


class CycleRunner:
    """Runs one cycle over the given feeds; returns its CycleSummary.

    On the in-process engine (no --runner) each distinct cycle graph is built, translated and
    validated once, then its runner-API form is re-run: the graph only depends on the config,
    the state directory and which feeds are due, never on the clock. The config travels
    through the graph by key when every stage runs in this process, and by key and file when
    the workers are processes on this machine (`cycle.keeping`). Other runners get a fresh
    pipeline every cycle (`run_cycle`), as `run --once` does.
    """

    def __init__(self, config: Config, state_dir: str, beam_args: list[str]):
        quiet_beam_logging()  # before the first Beam import
        from apache_beam.options.pipeline_options import PipelineOptions

        from wirewatch.pipelines.cycle import keeping
        from wirewatch.pipelines.options import is_local

        self.config, self.state_dir, self.beam_args = config, state_dir, beam_args
        self.options = PipelineOptions(beam_args)
        self.local = is_local(self.options)
        self.graphs: OrderedDict[tuple[str, ...], tuple] = OrderedDict()
        keep = keeping(self.options)
        if keep:  # for as long as this runner's graphs may run again
            weakref.finalize(self, keep(config))

    def run(self, feeds: list[FeedConfig]) -> CycleSummary:
        from wirewatch.pipelines.cycle import measure_cycle, run_cycle

        if not self.local:
            return run_cycle(self.config, feeds, self.state_dir, self.beam_args)
        key = tuple(f.id for f in feeds)
        if key in self.graphs:
            self.graphs.move_to_end(key)
            runner, proto = self.graphs[key]
            return measure_cycle(
                lambda: runner.run_via_runner_api(proto, self.options), self.state_dir, feeds
            )
        runner = _proto_keeping_runner()()
        summary = run_cycle(self.config, feeds, self.state_dir, self.options, runner)
        self.graphs[key] = (runner, runner.proto)
        while len(self.graphs) > GRAPH_CACHE_SIZE:
            self.graphs.popitem(last=False)
        return summary


@functools.cache
def _proto_keeping_runner() -> type:
    """Defined on first use, so importing this module does not import Beam."""
    from wirewatch.pipelines.options import LocalEngine

    class ProtoKeepingRunner(LocalEngine):
        """The in-process engine, remembering the translated graph it last ran."""

        proto = None

        def run_via_runner_api(self, pipeline_proto, options):
            self.proto = pipeline_proto
            return super().run_via_runner_api(pipeline_proto, options)

    return ProtoKeepingRunner


def log_cycle(n: int, polled: int, summary: CycleSummary) -> None:
    g = summary.get
    digested = f" ({g('alerts_digested')} in digests)" if g("alerts_digested") else ""
    log.info(
        f"cycle {n}: {polled} feeds polled "
        f"({g('feeds_not_modified')} not modified, {g('feeds_failed')} failed), "
        f"{g('articles_new')} new articles, {g('matches')} matches, "
        f"{g('alerts_sent')} alerts sent{digested}, {summary.held} held for a digest, "
        f"{g('dead_letters')} dead letters, {summary.seconds:.2f} s"
    )


def watch(
    config: Config,
    state_dir: str,
    beam_args: list[str],
    *,
    interval: float | None = None,
    cycles: int | None = None,
    json_lines: bool = False,
    runner_factory: RunnerFactory = CycleRunner,
    clock: Clock | None = None,
    service: Service | None = None,
    reload: Callable[[], Config] | None = None,
) -> int:
    """Run cycles until stopped (or `cycles` ran). `json_lines`: also print each cycle's full
    summary as one JSON line on stdout. `runner_factory(config, state_dir, beam_args)` makes what
    runs each cycle (CycleRunner; tests pass a fake), `clock` is the time it runs by; `service`
    (pipelines/service.py) gets each cycle's outcome for /metrics and /readyz. `reload` reads
    and validates the config file again on SIGHUP (raises WirewatchError; None: SIGHUP keeps
    its default action)."""
    settings = Settings(config, interval, reload)
    signals = Signals()
    signals.install(reload=reload is not None)
    failures = 0
    while True:
        try:
            with owning(state_dir) as store:
                if service is not None:
                    service.probe = store.next_group_due  # a cheap read: does the store answer?
                loop = _Loop(
                    settings, store, signals, clock or SystemClock(store), service, json_lines
                )
                return loop.run(
                    lambda: runner_factory(settings.config, state_dir, beam_args), cycles
                )
        except StoreUnavailable as exc:  # unreachable at start: wait for it, like a failed cycle
            failures += 1
            wait = min(FAILED_CYCLE_BACKOFF[0] * 2 ** (failures - 1), FAILED_CYCLE_BACKOFF[1])
            log.warning(f"{exc}; retrying in {wait:.0f} s")
            signals.wake.clear()  # an earlier SIGHUP must not turn the back-off into a spin
            if not signals.stop.is_set():
                (clock or SystemClock()).wait(signals.wake, wait)
            if signals.stop.is_set():
                return 0


def prune(store: StateStore, config: Config, now: datetime) -> dict[str, int]:
    """Keep the tables bounded (hourly): what each table no longer needs goes."""
    retention = Retention(
        seen_days=config.seen_retention_days,
        ledger_days=LEDGER_DAYS,  # never shorter than seen_days: Retention.ledger_keep_days
        dead_letter_days=DEAD_LETTER_DAYS,
        group_days=GROUP_DAYS,
    )
    return store.prune(now, retention)


class _Loop:
    """The ticks of one store connection: lease what is due, run a cycle over it, back off
    after a failure; between two cycles, a reload the SIGHUP asked for."""

    def __init__(self, settings, store, signals, clock, service, json_lines):
        self.settings, self.store, self.signals, self.clock = settings, store, signals, clock
        self.service, self.json_lines = service, json_lines

    def run(self, make_runner: Callable[[], Runner], cycles: int | None) -> int:
        settings, store, signals, clock = self.settings, self.store, self.signals, self.clock
        service = self.service
        runner = make_runner()
        worker = worker_name()  # the name owning() gave this process
        done, failures, last_prune, last_reoffer = 0, 0, float("-inf"), float("-inf")
        idle_logged = None  # the next due time the last "idle" line named
        owed = False  # a failed cycle's leases, not yet given back (the store failed too)
        while not signals.stop.is_set() and (cycles is None or done < cycles):
            signals.wake.clear()
            if signals.reload.is_set():
                signals.reload.clear()
                if settings.reload():
                    runner, idle_logged = make_runner(), None
                    if service is not None:
                        service.interval = readiness_interval(settings)
            config, feeds = settings.config, settings.feeds
            started = False
            try:
                now = clock.now()  # the store's: asking it can fail like any store call
                if owed:  # before this cycle's lease keeper would renew its claims
                    store.release_leases(worker)
                    owed = False
                if clock.monotonic() - last_prune >= PRUNE_EVERY:
                    prune(store, config, now)
                    last_prune = clock.monotonic()
                store.heartbeat(worker, socket.gethostname(), os.getpid())
                due = lease_feeds(feeds, store, worker, now, config.lease_seconds)
                reoffer = clock.monotonic() - last_reoffer >= REOFFER_EVERY
                if not due and not group_due(store, now):
                    if not (reoffer and claims_due(store, config, now)):
                        # against the `now` the leases were judged by: a feed that fell due
                        # since is polled at once, not taken for one leased elsewhere (1 s)
                        wait = seconds_until_next(feeds, store, now)
                        idle_logged = _log_idle(idle_logged, clock.now(), wait)
                        if service is not None:
                            service.nothing_due()
                        clock.wait(signals.wake, idle_wait(wait))
                        continue
                    last_reoffer = clock.monotonic()
                done, started = done + 1, True
                with keeping_leases(store, worker, config.lease_seconds):
                    summary = runner.run(due)
            except Exception as exc:  # noqa: BLE001  (the cycle's commit did not happen)
                if (fault := fault_behind(exc, store)) is not None:  # waiting cannot mend it
                    raise fault from None
                if interrupted():  # the abort, re-raised by Beam: exit 130, as documented
                    raise KeyboardInterrupt from None
                owed = not _give_back(store, worker)
                if signals.stop.is_set():
                    log.warning(
                        f"cycle {done} abandoned ({type(exc).__name__}); the next "
                        f"start redoes what it did not commit"
                    )
                    return 0
                done += 0 if started else 1  # the store failed while planning: a cycle too
                failures += 1
                if service is not None:
                    service.cycle_failed()
                wait = min(FAILED_CYCLE_BACKOFF[0] * 2 ** (failures - 1), FAILED_CYCLE_BACKOFF[1])
                log.warning(f"cycle {done} failed: {_last_line(exc)}; retrying in {wait:.0f} s")
                if cycles is None or done < cycles:
                    clock.wait(signals.wake, wait)
                continue
            failures = 0
            self._report(done, now, due, summary)
        return 1 if failures and not signals.stop.is_set() else 0

    def _report(self, n: int, at: datetime, due: list[FeedConfig], summary: CycleSummary) -> None:
        """The cycle's log line, its JSON line (--json) and its metrics (--listen)."""
        if self.service is not None:
            self.service.cycle_done(summary)
        log_cycle(n, len(due), summary)
        if self.json_lines:
            line = {"cycle": n, "at": at.isoformat(), "feeds_polled": len(due)}
            print(json.dumps({**line, **summary.model_dump()}), flush=True)


def readiness_interval(settings: Settings) -> float:
    """/readyz's unit: `--interval`, else the shortest feed interval (run.py starts with it)."""
    return settings.interval or min((f.interval for f in settings.config.feeds), default=300)


@contextlib.contextmanager
def keeping_leases(
    store: StateStore, worker: str, seconds: float, *, beat: bool = True
) -> Iterator[None]:
    """While a cycle runs, renew this worker's leases (feeds, alert claims) and heartbeat
    (unless not `beat`: run --once) every third of a lease, so a slow cycle never loses its
    feeds or claims to another worker; a worker that dies stops renewing, and its leases end
    `seconds` later. `store` is this thread's alone while the block runs."""
    finished = threading.Event()

    def renew() -> None:
        failing = False
        while not finished.wait(seconds / 3):
            try:
                store.renew_leases(worker, store.now() + timedelta(seconds=seconds))
                if beat:
                    store.heartbeat(worker, socket.gethostname(), os.getpid())
                failing = False
            except Exception as exc:  # noqa: BLE001  (the store is down: the cycle fails on its own)
                if not failing:  # once a streak: a lapsed lease lets another worker resend
                    log.warning(
                        f"cannot renew this worker's leases ({type(exc).__name__}: {exc}); "
                        f"its feeds and alert claims lapse {seconds:g} s after the last renewal"
                    )
                failing = True

    thread = threading.Thread(target=renew, name="wirewatch-leases", daemon=True)
    thread.start()
    try:
        yield
    finally:
        finished.set()
        thread.join()


def _log_idle(logged: datetime | None, now: datetime, wait: float) -> datetime | None:
    """One line per idle wait, when the next due time changes (the loop wakes every few
    seconds): a saved next-poll time from an earlier run would otherwise look like a hang.
    Nothing due at all is said once too (it named a made-up time every 5 s)."""
    if wait == math.inf:
        if logged != NEVER:
            log.info("idle: nothing to poll (the config has no feeds) and no digest waits")
        return NEVER
    due = (now + timedelta(seconds=wait)).replace(microsecond=0)
    if wait >= 1 and due != logged:
        log.info(f"idle: next feed or digest due at {due:%Y-%m-%dT%H:%M:%SZ} (in {wait:.0f} s)")
        return due
    return logged


def _give_back(store: StateStore, worker: str) -> bool:
    """A failed cycle's feeds are due again at once, for any worker, and the alerts it had
    claimed and not finished are re-offered by the next delivery to their sink (nothing of
    the cycle is sending any more: Beam stopped its workers before the failure reached us).
    False when the store failed too: the next cycle gives them back first, or its lease
    keeper would renew those claims for as long as this process lives."""
    try:
        store.release_leases(worker)
    except Exception:  # noqa: BLE001
        return False
    return True


def _last_line(exc: Exception) -> str:
    """Beam wraps a worker's error in a RuntimeError carrying the whole traceback."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1].strip() if lines else ''}"[:500]
