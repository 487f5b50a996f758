"""The watch driver's loop, with a fake cycle runner (no Beam): scheduling, failures, signals."""

from __future__ import annotations

import gc
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from wirewatch.pipelines import watch as watch_module
from wirewatch.pipelines.logs import configure_logging
from wirewatch.pipelines.summary import CycleSummary
from wirewatch.transforms.beam_support.cache import ref
from wirewatch.transforms.config import Config, FeedConfig
from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.state import FeedState, Lease, open_store

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def config_with(*feed_ids: str) -> Config:
    return Config.model_construct(
        feeds=[FeedConfig(id=f, url=f"http://127.0.0.1/{f}") for f in feed_ids]
    )


def test_a_feed_is_due_when_never_polled_or_its_time_came(tmp_path):
    store = open_store(tmp_path)
    feeds = config_with("new", "late", "later").feeds
    store.save_feed_state(FeedState(feed_id="late", next_due=NOW - timedelta(seconds=1)))
    store.save_feed_state(FeedState(feed_id="later", next_due=NOW + timedelta(seconds=30)))
    assert [f.id for f in watch_module.feeds_due(feeds, store, NOW)] == ["new", "late"]
    assert watch_module.seconds_until_next(feeds, store, NOW) == 0.0  # "new" was never polled
    assert watch_module.seconds_until_next(feeds[2:], store, NOW) == 30.0


def feeds_a_and_b_due(tmp_path, when) -> None:
    """A store in which feeds a and b were polled and are next due at `when`."""
    with open_store(tmp_path) as store:
        for feed in ("a", "b"):
            store.save_feed_state(FeedState(feed_id=feed, next_due=when))


def test_an_idle_driver_waits_until_the_next_feed_is_due(tmp_path, run_watch):
    feeds_a_and_b_due(tmp_path, NOW + timedelta(seconds=3))
    fake, clock = FakeRunner([]), FakeClock()
    assert run_watch(fake, clock, cycles=1) == 0
    assert clock.waits == [3.0] and fake.calls == [["a", "b"]]


def test_an_idle_tick_sleeps_until_the_next_due_time_or_a_second_when_others_poll():
    """Due already (0) means other workers hold the due feeds' leases and poll them now: asking
    the store again 20 times a second took that worker's CPU on a 2-core machine."""
    assert watch_module.idle_wait(0.0) == watch_module.LEASED_ELSEWHERE_WAIT == 1.0
    assert watch_module.idle_wait(0.01) == 0.05 and watch_module.idle_wait(3.0) == 3.0
    assert watch_module.idle_wait(60.0) == watch_module.MAX_SLEEP


def test_a_feed_that_falls_due_while_the_driver_reads_the_store_is_polled_at_once(
    tmp_path, run_watch
):
    """Time passes between the lease and the idle check: the feed due in between is not taken
    for one that another worker leased (which would cost a second's sleep, every time)."""

    class TickingClock(FakeClock):
        def now(self):
            self.at += timedelta(milliseconds=2)  # each look at the clock, a little later
            return self.at

    feeds_a_and_b_due(tmp_path, NOW + timedelta(milliseconds=3))
    fake, clock = FakeRunner([]), TickingClock()
    assert run_watch(fake, clock, cycles=1) == 0
    assert clock.waits == [0.05] and fake.calls == [["a", "b"]]


def test_an_idle_driver_says_once_when_the_next_feed_is_due(tmp_path, run_watch, capsys):
    feeds_a_and_b_due(tmp_path, NOW + timedelta(seconds=12))
    clock = FakeClock()
    assert run_watch(FakeRunner([]), clock, cycles=1) == 0
    assert clock.waits == [5.0, 5.0, 2.0]  # woken three times, one line
    idle = [line for line in capsys.readouterr().err.splitlines() if "idle:" in line]
    assert len(idle) == 1
    assert idle[0].endswith("idle: next feed or digest due at 2026-11-28T12:00:12Z (in 12 s)")


def test_a_driver_with_no_feeds_says_once_that_nothing_is_due(tmp_path, capsys):
    """It named a made-up due time every 5 s, forever."""

    class StopsAfterThreeWaits(FakeClock):
        def wait(self, stop, seconds):
            super().wait(stop, seconds)
            if len(self.waits) == 3:
                os.kill(os.getpid(), signal.SIGTERM)

    configure_logging()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    clock = StopsAfterThreeWaits()
    try:
        code = watch_module.watch(
            config_with(), str(tmp_path), [], runner_factory=FakeRunner([]).factory, clock=clock
        )
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert code == 0 and clock.waits == [watch_module.MAX_SLEEP] * 3
    idle = [line for line in capsys.readouterr().err.splitlines() if "idle:" in line]
    assert [line.split("wirewatch: ", 1)[1] for line in idle] == [
        "idle: nothing to poll (the config has no feeds) and no digest waits"
    ]


class FakeRunner:
    """Stands in for CycleRunner: records the feeds of each cycle, can raise or send a signal."""

    def __init__(self, outcomes):
        self.outcomes, self.calls, self.made_with = list(outcomes), [], None

    def factory(self, config, state_dir, beam_args):
        self.made_with = (config, state_dir, beam_args)
        return self

    def run(self, feeds):
        self.calls.append([f.id for f in feeds])
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome == "raise":
            raise RuntimeError("Traceback (most recent call last):\n  ...\nOSError: disk full")
        if outcome == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
        return CycleSummary(seconds=0.1, counters={"articles_new": 2})


class FakeClock:
    """Time moves only when the driver waits: no test ever sleeps."""

    def __init__(self):
        self.at, self.waits = NOW, []

    def now(self):
        return self.at

    def monotonic(self):
        return (self.at - NOW).total_seconds()

    def wait(self, stop, seconds):
        self.waits.append(seconds)
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def run_watch(tmp_path):
    configure_logging()  # as the CLI does: the loop's lines go to (the captured) stderr
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def run(fake: FakeRunner, clock: FakeClock | None = None, **kwargs) -> int:
        return watch_module.watch(
            config_with("a", "b"),
            str(tmp_path),
            ["--flag"],
            runner_factory=fake.factory,
            clock=clock or FakeClock(),
            **kwargs,
        )

    yield run
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def test_runs_the_due_feeds_for_the_given_number_of_cycles(run_watch, capsys, tmp_path):
    fake = FakeRunner([])
    assert run_watch(fake, cycles=2, json_lines=True) == 0
    assert fake.calls == [["a", "b"], ["a", "b"]]
    assert fake.made_with[1:] == (str(tmp_path), ["--flag"])
    err = capsys.readouterr()
    assert "cycle 2: 2 feeds polled" in err.err and "2 new articles" in err.err
    assert '"cycle": 2' in err.out and '"articles_new": 2' in err.out
    assert '"at": "2026-11-28T12:00:00+00:00"' in err.out  # the injected clock's time


def test_a_failing_cycle_is_logged_and_retried_not_fatal(run_watch, capsys):
    fake, clock = FakeRunner(["raise", "ok"]), FakeClock()
    assert run_watch(fake, clock, cycles=2) == 0
    err = capsys.readouterr().err
    assert "cycle 1 failed: RuntimeError: OSError: disk full; retrying in 1 s" in err
    assert "cycle 2: 2 feeds polled" in err
    assert clock.waits == [watch_module.FAILED_CYCLE_BACKOFF[0]]


def test_a_failed_cycles_claims_are_given_back_to_the_next_delivery(run_watch, tmp_path):
    """Not left to the lease: every later cycle of this process would renew them (its lease
    keeper renews what this worker holds), and they would never be re-offered."""
    from wirewatch.transforms.state.owner import worker_name

    class ClaimsThenFails(FakeRunner):
        def run(self, feeds):
            with open_store(tmp_path) as store:
                store.claim_alert("k", "slack", "{}", Lease(worker_name(), 120))
            return super().run(feeds)

    assert run_watch(ClaimsThenFails(["raise"]), cycles=1) == 1
    with open_store(tmp_path) as store:
        assert [r.key for r in store.expired_claims("slack", store.now())] == ["k"]


def test_failed_cycles_back_off_exponentially_up_to_the_cap(run_watch):
    clock = FakeClock()
    assert run_watch(FakeRunner(["raise"] * 9), clock, cycles=9) == 1
    first, longest = watch_module.FAILED_CYCLE_BACKOFF
    assert clock.waits == [min(first * 2**n, longest) for n in range(8)]  # none after the last


def test_the_last_cycle_failing_exits_1(run_watch):
    assert run_watch(FakeRunner(["raise"]), cycles=1) == 1


def test_sigterm_lets_the_cycle_finish_then_exits_0(run_watch, capsys):
    fake = FakeRunner(["sigterm"])
    assert run_watch(fake, cycles=5) == 0
    assert len(fake.calls) == 1
    err = capsys.readouterr().err
    assert "stopping after the current cycle" in err and "cycle 1: 2 feeds polled" in err


RSS = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
    b"<item><title>Earthquake hits the coast</title><guid>q1</guid>"
    b"<link>https://example.org/q1</link><pubDate>Thu, 26 Nov 2026 09:40:00 GMT</pubDate></item>"
    b"</channel></rss>"
)


def test_cycle_runner_builds_each_graph_once_and_summarises_every_run(tmp_path):
    pytest.importorskip("apache_beam")
    from tests.loopback import FeedServer
    from wirewatch.transforms.config import load_config

    with FeedServer() as server:
        server.feeds["/f.xml"] = (200, {}, RSS)
        path = tmp_path / "c.yaml"
        path.write_text(
            f'feeds: [{{id: f, url: "{server.url("/f.xml")}", backfill_hours: null}}]\n'
            "rules: [{id: quake, query: earthquake}]\n"
            "routes: [{sinks: [file], group_wait: 0}]\n"
            f'sinks: {{file: {{type: jsonl, path: "{tmp_path / "alerts.jsonl"}"}}}}\n'
        )
        config = load_config(str(path))
        runner = watch_module.CycleRunner(config, str(tmp_path / "state"), [])
        first = runner.run(config.feeds)
        [(key, (engine, proto))] = runner.graphs.items()
        second = runner.run(config.feeds)
        assert runner.graphs[key] == (engine, proto)  # re-run, not rebuilt
        # every stage runs in this process: the DoFns carry the config by key
        assert len(pickle.dumps(ref(config))) < 200
        del runner, engine
        gc.collect()
        assert len(pickle.dumps(ref(config))) > 1000  # travels whole again
    assert key == ("f",)
    assert (first.get("articles_new"), first.get("alerts_sent")) == (1, 1)
    assert first.per_rule == {"quake": {"sent": 1, "matches": 1}}
    assert first.per_sink == {"file": {"sent": 1}} and first.per_feed == {"f": {"ok": 1}}
    assert (second.get("articles_new"), second.get("alerts_sent")) == (0, 0)
    assert second.per_rule == {} and second.per_feed == {"f": {"ok": 1}}


def test_the_loop_prunes_every_table_past_its_retention(run_watch, tmp_path):
    with open_store(tmp_path, clock=lambda: NOW - timedelta(days=61)) as old:
        old.mark_seen(["old-article"])
        old.claim_alert("old", "slack", "{}")
        old.finish_alert("old", "sent", 1)
        old.claim_alert("stuck", "slack", "{}")  # 'sending': never pruned
        old.add_dead_letters(
            [DeadLetter.of("parse", "a", "bad").model_copy(update={"at": NOW - timedelta(days=31)})]
        )
    with open_store(tmp_path, clock=lambda: NOW - timedelta(days=29)) as recent:
        recent.mark_seen(["recent-article"])
        recent.claim_alert("recent", "slack", "{}")
        recent.finish_alert("recent", "sent", 1)
    assert run_watch(FakeRunner([]), cycles=1) == 0
    with open_store(tmp_path) as store:
        assert store.seen(["old-article", "recent-article"]) == {"recent-article"}
        assert store.alert("old") is None and store.alert("recent").status == "sent"
        assert store.alert("stuck").status == "sending"
        assert store.dead_letters() == []


def test_the_ledger_outlives_a_longer_seen_retention(tmp_path):
    config = config_with("a").model_copy(update={"seen_retention_days": 90})
    with open_store(tmp_path, clock=lambda: NOW - timedelta(days=80)) as store:
        store.claim_alert("k", "slack", "{}")
        store.finish_alert("k", "sent", 1)
        assert watch_module.prune(store, config, NOW)["alerts"] == 0
        assert watch_module.prune(store, config, NOW + timedelta(days=11))["alerts"] == 1


def test_an_expired_claim_brings_a_feedless_cycle_at_most_every_reoffer_period(tmp_path):
    """An alert claimed by a cycle that committed and then died waits in the ledger: the
    driver runs a cycle for it although no feed is due, and does not spin when that cycle
    could not deliver it (its sink is down, say)."""
    config = Config(
        feeds=[FeedConfig(id="a", url="http://127.0.0.1/a")],
        sinks={"console": {"type": "console"}},
    )
    with open_store(tmp_path, clock=lambda: NOW - timedelta(hours=1)) as store:
        store.save_feed_state(FeedState(feed_id="a", next_due=NOW + timedelta(hours=1)))
        store.claim_alert("k", "console", "{}", Lease("gone:1", 60))
        store.claim_alert("other", "removed-sink", "{}", Lease("gone:1", 60))
    fake, clock = FakeRunner([]), FakeClock()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = watch_module.watch(
            config, str(tmp_path), [], runner_factory=fake.factory, clock=clock, cycles=2
        )
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert code == 0 and fake.calls == [[], []]
    assert sum(clock.waits) == watch_module.REOFFER_EVERY  # the claim is still there
    with open_store(tmp_path) as store:  # a sink no longer in the config never wakes it
        assert not watch_module.claims_due(
            store, config.model_copy(update={"sinks": {}}), NOW + timedelta(hours=1)
        )


def test_a_dead_worker_on_this_host_does_not_halve_the_restarts_share(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = socket.gethostname()
    with open_store(tmp_path, clock=lambda: NOW) as store:
        store.heartbeat(f"{host}:{gone.pid}", host, gone.pid)  # killed: its beat is recent
        store.heartbeat(f"{host}:{os.getpid()}", host, os.getpid())
        store.heartbeat("elsewhere:7", "elsewhere", 7)  # another host: counted while it beats
        assert watch_module.live_workers(store, NOW, 120) == 2
        feeds = config_with("a", "b", "c", "d", "e", "f").feeds
        leased = watch_module.lease_feeds(feeds, store, f"{host}:{os.getpid()}", NOW, 120)
        assert [f.id for f in leased] == ["a", "b", "c"]  # half of six, not a third


class Reloads:
    """Stands in for run.py's reload: hands out the next config, or raises the next error."""

    def __init__(self, *outcomes):
        self.outcomes, self.calls = list(outcomes), 0

    def __call__(self):
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class HupRunner(FakeRunner):
    """Sends itself SIGHUP during the cycles named: a reload asked for mid-cycle."""

    def __init__(self, hup_in: set[int]):
        super().__init__([])
        self.hup_in, self.configs = hup_in, []

    def factory(self, config, state_dir, beam_args):
        self.config = config
        return super().factory(config, state_dir, beam_args)

    def run(self, feeds):
        self.configs.append([r.id for r in self.config.rules])
        if len(self.calls) + 1 in self.hup_in:
            os.kill(os.getpid(), signal.SIGHUP)
        return super().run(feeds)


def config_of(feeds: tuple[str, ...], rules: tuple[str, ...]) -> Config:
    from wirewatch.transforms.config.models import RuleConfig

    return config_with(*feeds).model_copy(
        update={"rules": [RuleConfig(id=r, query=r) for r in rules], "source": "w.yaml"}
    )


@pytest.fixture
def hup_watch(tmp_path):
    configure_logging()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def run(fake, reload, config, cycles, **kwargs):
        return watch_module.watch(
            config,
            str(tmp_path),
            [],
            runner_factory=fake.factory,
            clock=FakeClock(),
            cycles=cycles,
            reload=reload,
            **kwargs,
        )

    yield run
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def test_sighup_mid_cycle_reloads_before_the_next_cycle(hup_watch, capsys):
    fake = HupRunner(hup_in={1})
    new = config_of(("a", "c"), ("quake", "layoffs"))
    reload = Reloads(new)
    assert hup_watch(fake, reload, config_of(("a", "b"), ("quake",)), cycles=2) == 0
    # the cycle the signal came in finished with the old config; the next ran the new one
    assert fake.configs == [["quake"], ["quake", "layoffs"]]
    assert fake.calls == [["a", "b"], ["a", "c"]]  # feed c added, b removed
    assert reload.calls == 1
    err = capsys.readouterr().err
    assert "config reloaded from w.yaml: feeds +c -b; rules +layoffs" in err
    assert err.index("cycle 1:") < err.index("config reloaded") < err.index("cycle 2:")


def test_a_bad_config_on_sighup_keeps_the_running_one_and_says_why(hup_watch, capsys):
    from wirewatch.transforms.errors import ConfigError, Problem

    bad = ConfigError(
        [
            Problem("w.yaml", "rules[quake].query", "unbalanced parenthesis", line=7, detail="^"),
            Problem("w.yaml", "routes[0].sinks", "unknown sink 'slak'"),
        ]
    )
    fake = HupRunner(hup_in={1, 2})
    good = config_of(("a",), ("layoffs",))
    reload = Reloads(bad, good)
    assert hup_watch(fake, reload, config_of(("a", "b"), ("quake",)), cycles=3) == 0
    assert fake.configs == [["quake"], ["quake"], ["layoffs"]]
    lines = [line for line in capsys.readouterr().err.splitlines() if "config reload" in line]
    assert len(lines) == 2
    assert lines[0].endswith(
        "ERROR wirewatch: config reload failed, keeping the running config: "
        "w.yaml:7: rules[quake].query: unbalanced parenthesis (and 1 more: run wirewatch check)"
    )
    assert lines[1].endswith("config reloaded from w.yaml: feeds -b; rules +layoffs -quake")


def test_sighup_during_an_idle_wait_reloads_and_the_new_feed_is_polled_at_once(hup_watch, tmp_path):
    """Idle (every feed polled, none due for an hour): the reload does not wait for a feed."""
    with open_store(tmp_path) as store:
        store.save_feed_state(FeedState(feed_id="a", next_due=NOW + timedelta(hours=1)))

    class HupClock(FakeClock):
        def wait(self, stop, seconds):
            super().wait(stop, seconds)
            if len(self.waits) == 1:
                os.kill(os.getpid(), signal.SIGHUP)

    fake, clock = HupRunner(hup_in=set()), HupClock()
    reload = Reloads(config_of(("a", "new"), ()))
    code = watch_module.watch(
        config_of(("a",), ()),
        str(tmp_path),
        [],
        runner_factory=fake.factory,
        clock=clock,
        cycles=1,
        reload=reload,
    )
    assert code == 0 and fake.calls == [["new"]] and clock.waits == [watch_module.MAX_SLEEP]


def test_no_reload_function_leaves_sighup_alone(run_watch):
    before = signal.getsignal(signal.SIGHUP)
    assert run_watch(FakeRunner([]), cycles=1) == 0
    assert signal.getsignal(signal.SIGHUP) is before


def test_config_changes_name_what_a_reload_changed():
    old = config_of(("a", "b"), ("quake",))
    new = config_of(("a", "c"), ("quake",)).model_copy(
        update={"lease_seconds": 300, "state_dir": "/elsewhere"}
    )
    new.rules[0] = new.rules[0].model_copy(update={"query": "earthquake"})
    assert watch_module.config_changes(old, new) == (
        "feeds +c -b; rules ~quake; state_dir changed (takes effect after a restart); "
        "lease_seconds changed"
    )
    assert watch_module.config_changes(old, old) == "no changes"


def test_a_lease_keeper_that_cannot_renew_says_so_once_a_streak(tmp_path, caplog):
    """It was silent: the worker went on sending while its claims lapsed, and another worker
    could take them over and send them again."""
    from wirewatch.transforms.state import StoreUnavailable

    class Down:
        def __init__(self, store):
            self.store, self.calls = store, 0

        def renew_leases(self, worker, until):
            self.calls += 1
            if self.calls <= 3:
                raise StoreUnavailable("db", "connection refused")
            return self.store.renew_leases(worker, until)

        def __getattr__(self, name):
            return getattr(self.store, name)

    with open_store(tmp_path) as store:
        down = Down(store)
        with caplog.at_level("WARNING", logger="wirewatch"):
            with watch_module.keeping_leases(down, "w1", 0.03, beat=False):
                while down.calls < 5:
                    time.sleep(0.01)
    warned = [r.getMessage() for r in caplog.records if "cannot renew" in r.getMessage()]
    assert warned == [
        "cannot renew this worker's leases (StoreUnavailable: db: connection refused); its "
        "feeds and alert claims lapse 0.03 s after the last renewal"
    ]
