"""Batched delivery to a local file (Dispatcher.offer_all with the JSONL sink), on every store
backend: the same outcomes, ledger and file as one alert at a time; a kill inside a batch
(here: SystemExit from the sink, which nothing catches, after some lines reached the file)
leaves the batch's alerts claimed, and the next worker records the written ones sent and
writes only the rest, so the file holds each alert once."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.factories import alert
from tests.state.conftest import BACKENDS, Clock
from tests.state.test_contract_leases import run_together
from wirewatch.transforms.config import Config, RouteConfig
from wirewatch.transforms.config import JsonlSink as JsonlSinkConfig
from wirewatch.transforms.sinks import dispatch
from wirewatch.transforms.sinks.dispatch import Dispatcher
from wirewatch.transforms.sinks.jsonl import JsonlSink
from wirewatch.transforms.state import Lease, open_store


@pytest.fixture(params=sorted(BACKENDS))
def location(request, tmp_path) -> str:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def connect(location):
    opened = []

    def connect(clock):
        opened.append(open_store(location, clock=clock))
        return opened[-1]

    yield connect
    for store in opened:
        store.close()


def config(max_alerts: int = 10_000) -> Config:
    route = RouteConfig(sinks=["file"], max_alerts=max_alerts, group_wait=0, group_interval=60)
    return Config(routes=[route], sinks={"file": {"type": "jsonl", "path": "unused"}})


def alerts(n: int) -> list:
    return [
        alert(sink="file", id=f"a{i}", title=f"Story {i}").model_copy(update={"route": 0})
        for i in range(n)
    ]


def keys_in(path: Path) -> list[str]:
    return [json.loads(line)["key"] for line in path.read_text().splitlines()]


class DyingSink(JsonlSink):
    """Writes `lines` alerts, then dies as a killed process would (nothing catches it)."""

    def __init__(self, path: Path, lines: int):
        super().__init__("file", JsonlSinkConfig(type="jsonl", path=str(path)))
        self.lines = lines

    def send(self, a):
        if self.lines == 0:
            raise SystemExit("killed")
        self.lines -= 1
        super().send(a)


def file_sink(path: Path) -> JsonlSink:
    return JsonlSink("file", JsonlSinkConfig(type="jsonl", path=str(path)))


def in_story(a, story: str, kind: str):
    tagged = a.match.article.model_copy(update={"story_id": story, "story_kind": kind})
    return a.model_copy(update={"match": a.match.model_copy(update={"article": tagged})})


@pytest.mark.parametrize("max_alerts", [10_000, 3], ids=["all_sent", "flood_control_holds"])
def test_a_batch_ends_as_one_alert_at_a_time_does(connect, tmp_path, monkeypatch, max_alerts):
    """Outcomes, the file, the ledger, the flood-control group and the stories' first alerts.
    The batch holds a story's first alert and then its copies (which find that alert, written
    in the same batch, and wait for a 'more sources' digest), and one alert twice."""
    monkeypatch.setattr(dispatch, "BATCH", 4)  # several batches
    results = {}
    for mode in ("one", "batch"):
        clock = Clock()
        store, path = connect(clock), tmp_path / f"{mode}.jsonl"
        d = Dispatcher(
            config(max_alerts), store, lambda name, path=path: file_sink(path), clock=clock
        )
        # one store holds both runs: their own keys, flood-control group and stories
        batch = [a.model_copy(update={"key": f"{mode}|{a.key}", "group": mode}) for a in alerts(10)]
        batch[:4] = [
            in_story(a, f"{mode}-s1", "copy" if i else "new") for i, a in enumerate(batch[:4])
        ]
        batch[6:8] = [
            in_story(batch[6], f"{mode}-s2", "new"),
            in_story(batch[7], f"{mode}-s2", "copy"),
        ]
        batch.append(batch[8])
        outcomes = [d.offer(a) for a in batch] if mode == "one" else d.offer_all(batch)
        held = {r.key for r in store.alerts("held") if r.key.startswith(mode)}
        sent = {r.key for r in store.alerts("sent") if r.key.startswith(mode)}
        results[mode] = (
            [o.status for o in outcomes],
            [k.split("|", 1)[1] for k in keys_in(path)] if path.exists() else [],
            sorted(k.split("|", 1)[1] for k in sent),
            sorted(k.split("|", 1)[1] for k in held),
            store.group_state(f"file|0|{mode}").model_dump(exclude={"counted"}),
            [len(store.group_state(f"file|story|{mode}-{s}").counted) for s in ("s1", "s2")],
            [store.group_state(f"file|story|{mode}-{s}").due_at for s in ("s1", "s2")],
            [bool(store.story_alert(f"{mode}-{s}", "rule-1", "file")) for s in ("s1", "s2")],
        )
    assert results["batch"] == results["one"]
    statuses = results["batch"][0]
    assert statuses[-1] == "already_sent" and statuses[1:4] == ["held"] * 3  # the copies
    assert results["batch"][-1][0]  # s1 went out first: its copies found it


class Ticking(Clock):
    """A real clock's property: each reading is a little later than the one before."""

    def __call__(self):
        self.now += timedelta(milliseconds=1)
        return self.now


def test_a_batchs_digest_keeps_the_order_its_alerts_were_held_in(connect, tmp_path):
    """A batch saves its holds together when it ends; each keeps the time it was held, so
    the digest lists them as one alert at a time would, not by key."""
    order = {}
    for mode in ("one", "batch"):
        clock, path = Ticking(), tmp_path / f"{mode}.jsonl"
        store = connect(clock)
        d = Dispatcher(config(1), store, lambda name, path=path: file_sink(path), clock=clock)
        batch = [  # keys that sort in the reverse of the order the alerts arrive in
            a.model_copy(update={"key": f"{mode}|{99 - i:02}", "group": mode})
            for i, a in enumerate(alerts(6))
        ]
        outcomes = [d.offer(a) for a in batch] if mode == "one" else d.offer_all(batch)
        assert [o.status for o in outcomes] == ["sent"] + ["held"] * 5
        clock.advance(seconds=600)
        d.flush_due("file")
        digest = json.loads(path.read_text().splitlines()[-1])
        order[mode] = [a["key"].split("|")[1] for a in digest["alerts"]]
    assert order["batch"] == order["one"] == ["98", "97", "96", "95", "94"]


class CountingStore:
    """A store that counts the calls made to it (its clock aside)."""

    def __init__(self, store):
        self.inner, self.calls = store, []

    def __getattr__(self, name):
        method = getattr(self.inner, name)
        if name == "now":
            return method

        def counted(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


def test_a_batchs_store_calls_do_not_grow_with_its_alerts(connect, tmp_path):
    """What makes a batch cheap on a database server: its claims, groups, outcomes and story
    records are each one call for the whole batch, however many alerts it has."""
    calls = []
    for n in (8, 64):
        batch = [
            in_story(a.model_copy(update={"key": f"{n}|{a.key}"}), f"s{n}-{a.key}", "new")
            for a in alerts(n)
        ]
        store = CountingStore(connect(Clock()))
        sink = file_sink(tmp_path / f"{n}.jsonl")
        Dispatcher(config(), store, lambda name, sink=sink: sink, owner="A").offer_all(batch)
        assert len(keys_in(tmp_path / f"{n}.jsonl")) == n
        calls.append(len(store.calls))
    assert calls[0] == calls[1]


def test_a_kill_inside_a_batch_writes_each_alert_once(connect, tmp_path, monkeypatch):
    monkeypatch.setattr(dispatch, "BATCH", 8)
    path, batch, clock = tmp_path / "alerts.jsonl", alerts(12), Clock()
    store = connect(clock)
    for a in batch:  # the cycle's commit: every alert claimed before delivery
        assert store.claim_alert(a.key, a.sink, a.model_dump_json(), Lease("A", 60))
    dying = DyingSink(path, lines=10)  # the first batch of 8 commits; the kill hits batch two
    with pytest.raises(SystemExit):
        Dispatcher(config(), store, lambda name: dying, clock=clock, owner="A").offer_all(batch)
    dying.close()
    assert len(keys_in(path)) == 10
    assert len(store.alerts("sent")) == 8  # the second batch's two lines were never recorded

    clock.advance(seconds=61)  # A's claims expire; B re-offers them
    sink = file_sink(path)
    b = Dispatcher(config(), connect(clock), lambda name: sink, clock=clock, owner="B")
    outcomes = b.reoffer_expired("file")
    assert sorted(o.status for o in outcomes) == ["already_sent"] * 2 + ["sent"] * 2
    assert sorted(keys_in(path)) == sorted(a.key for a in batch)  # each alert once
    assert len(store.alerts("sent")) == 12


def test_a_line_cut_short_by_a_crash_is_not_written_and_the_next_starts_a_line(tmp_path):
    path = tmp_path / "alerts.jsonl"
    first, cut = alerts(2)
    path.write_text(first.model_dump_json() + "\n" + cut.model_dump_json()[:40])
    sink = file_sink(path)
    assert sink.written([first.key, cut.key]) == {first.key}
    sink.send(cut)
    sink.close()
    assert sink.written([first.key, cut.key]) == {first.key, cut.key}
    assert path.read_text().splitlines()[-1] == cut.model_dump_json()


def test_written_finds_digest_members(tmp_path):
    path = tmp_path / "alerts.jsonl"
    sink = file_sink(path)
    one, two = alerts(2)
    sink.send_digest([one, two], "burst")
    assert sink.written([one.key, two.key, "other"]) == {one.key, two.key}


def test_a_sink_that_does_not_batch_gets_one_alert_at_a_time(connect, tmp_path):
    class Recorder:
        name = "file"

        def __init__(self):
            self.sent = []

        def send(self, a):
            self.sent.append(a.key)

        def close(self):
            pass

    clock, sink = Clock(), Recorder()
    store = connect(clock)
    d = Dispatcher(config(), store, lambda name: sink, clock=clock, owner="A")
    batch = alerts(3)
    assert [o.status for o in d.offer_all(batch)] == ["sent"] * 3
    assert sink.sent == [a.key for a in batch]
    assert d.reoffer_expired("file") == []


def test_two_workers_batches_meeting_groups_in_opposite_orders_both_deliver(connect, tmp_path):
    """Worker A's batch meets groups g1 then g2, B's g2 then g1, at the same time: each holds
    a group to the end of its batch, so taken in the alerts' order each would wait for the
    other (PostgreSQL: a deadlock, one batch failed)."""

    class SlowSink(JsonlSink):  # a slow disk: the two batches overlap
        def send(self, a):
            time.sleep(0.05)
            super().send(a)

    def deliver(store, i):
        worker = "AB"[i]
        groups = ["g1", "g2"] if worker == "A" else ["g2", "g1"]
        batch = [
            a.model_copy(update={"key": f"{worker}|{a.key}", "group": group})
            for a, group in zip(alerts(2), groups)
        ]
        path = tmp_path / f"{worker}.jsonl"
        sink = SlowSink("file", JsonlSinkConfig(type="jsonl", path=str(path)))
        d = Dispatcher(config(), store, lambda name: sink, clock=clock, owner=worker)
        for a in batch:  # claimed at the cycle's commit
            assert store.claim_alert(a.key, a.sink, a.model_dump_json(), Lease(worker, 120))
        return [o.status for o in d.offer_all(batch)]

    clock = Clock()
    stores = [connect(clock), connect(clock)]
    assert run_together(stores, deliver) == [["sent", "sent"], ["sent", "sent"]]


def test_redeliver_after_a_kill_inside_a_batch_writes_each_alert_once(tmp_path, monkeypatch):
    """`wirewatch redeliver` takes a dead process's claims at once (it owns the embedded
    store): the ones whose lines reached the file are recorded sent, not written again."""
    from wirewatch.pipelines.cli import main

    monkeypatch.setattr(dispatch, "BATCH", 8)
    state, path, batch = tmp_path / "state", tmp_path / "alerts.jsonl", alerts(12)
    with open_store(state) as store:
        for a in batch:
            assert store.claim_alert(a.key, a.sink, a.model_dump_json(), Lease("A", 60))
        dying = DyingSink(path, lines=10)  # batch one (8) commits; two lines of batch two
        with pytest.raises(SystemExit):
            Dispatcher(config(), store, lambda name: dying, owner="A").offer_all(batch)
        dying.close()
    settings = tmp_path / "wirewatch.yaml"
    settings.write_text(f"sinks:\n  file: {{type: jsonl, path: '{path}'}}\n")
    assert main(["redeliver", "--config", str(settings), "--state", str(state)]) == 0
    assert sorted(keys_in(path)) == sorted(a.key for a in batch)  # each alert once
    with open_store(state) as store:
        assert len(store.alerts("sent")) == 12


FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from tests.sinks.test_batch import alerts, file_sink

path = Path(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
sink = file_sink(path)
a0, a1 = alerts(2)
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (100, hard))  # a0's line does not fit
try:
    sink.send(a0)
except OSError as error:
    print("a0 failed:", error.strerror)
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # room again
sink.send(a1)
sink.close()
"""


def test_a_line_that_could_not_be_written_never_reaches_the_file_later(tmp_path):
    """A full disk fails an alert (it is recorded dead); the next line must not carry it in
    after all, or a redeliver of the dead alert writes it twice."""
    import subprocess
    import sys

    path = tmp_path / "alerts.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("a0 failed:")
    assert keys_in(path) == [alerts(2)[1].key]  # a1 only, on a line of its own


class FailingSyncSink(JsonlSink):
    """The second batch's fsync fails (a full disk): its transaction rolls back."""

    def __init__(self, path: Path):
        super().__init__("file", JsonlSinkConfig(type="jsonl", path=str(path)))
        self.syncs = 0

    def _sync(self) -> None:
        self.syncs += 1
        if self.syncs == 2:
            raise OSError(28, "No space left on device")
        super()._sync()


def test_a_failure_part_way_reports_only_the_committed_batches(connect, tmp_path, monkeypatch):
    """What a delivery reached before it failed, for the dead letters it must still write
    (sinks/beam.py): the batches committed before the failure, not the one it rolled back."""
    monkeypatch.setattr(dispatch, "BATCH", 4)
    store, batch = connect(Clock()), alerts(8)
    sink = FailingSyncSink(tmp_path / "alerts.jsonl")
    with pytest.raises(OSError, match="No space left") as failed:  # the error itself goes on
        Dispatcher(config(), store, lambda name: sink, owner="A").offer_all(batch)
    sink.close()
    assert [o.key for o in dispatch.reached(failed.value)] == [a.key for a in batch[:4]]
    assert {store.alert(a.key) for a in batch[4:]} == {None}  # rolled back: never claimed
