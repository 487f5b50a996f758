"""The run summary: cycle totals from the one counter namespace; per rule, sink and feed from
what the cycle left in the state store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from wirewatch.pipelines.summary import CycleSummary, cycle_counters, cycle_outcomes, summarize
from wirewatch.transforms.beam_support.metrics import NS
from wirewatch.transforms.state import FeedState, open_store
from wirewatch.transforms.state.sqlite import SqliteStore


def counter(namespace, name, value):
    key = SimpleNamespace(metric=SimpleNamespace(namespace=namespace, name=name))
    return SimpleNamespace(key=key, committed=value, attempted=value)


class FakeResult:
    def __init__(self, *counters):
        self.counters = list(counters)

    def metrics(self):
        return SimpleNamespace(query=lambda: {"counters": self.counters})


def test_only_the_one_namespace_is_read_and_workers_are_summed():
    result = FakeResult(
        counter(NS, "matches", 2),
        counter(NS, "matches", 3),  # the same counter from another worker
        counter(f"{NS}.dead", "parse", 1),
        counter("wirewatch.transforms.tagging.beam._TagDoFn", "articles_tagged", 7),
    )
    assert cycle_counters(result) == {"matches": 5}


def test_a_runner_without_metrics_gives_empty_counters():
    class NoMetrics:
        def metrics(self):
            raise NotImplementedError

    assert cycle_counters(NoMetrics()) == {}


def ledger(store, key, status):
    rule, article, sink = key.split("|")
    assert store.claim_alert(key, sink, "{}")
    store.finish_alert(key, status, 1, "boom" if status == "dead" else None)


def test_outcomes_per_rule_sink_and_feed_come_from_the_store(tmp_path):
    since = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
    clock = SimpleNamespace(now=since - timedelta(seconds=1))
    with SqliteStore(tmp_path / "state.sqlite3", clock=lambda: clock.now) as store:
        ledger(store, "quake|old|hook", "sent")  # before the cycle: not counted
        clock.now = since
        ledger(store, "quake|a1|hook", "sent")
        ledger(store, "quake|a1|file", "sent")
        ledger(store, "quake|a2|hook", "dead")
        ledger(store, "layoffs|a3|file", "sent")
        store.save_feed_state(FeedState(feed_id="world", last_status="ok"))
        store.save_feed_state(FeedState(feed_id="broken", last_status="failed"))
        outcomes = cycle_outcomes(store, ["world", "broken", "never-polled"], since)
    assert outcomes["per_rule"] == {
        "quake": {"sent": 2, "dead": 1, "matches": 2},
        "layoffs": {"sent": 1, "matches": 1},
    }
    assert outcomes["per_sink"] == {"hook": {"sent": 1, "dead": 1}, "file": {"sent": 2}}
    assert outcomes["per_feed"] == {"world": {"ok": 1}, "broken": {"failed": 1}}


def test_summarize_keeps_the_json_keys_run_once_prints(tmp_path):
    with open_store(tmp_path) as store:
        summary = summarize(FakeResult(counter(NS, "alerts_sent", 1)), 0.5, store, [], None)
    assert isinstance(summary, CycleSummary)
    assert set(summary.model_dump()) >= {"seconds", "counters", "per_feed", "per_sink"}
    assert summary.get("alerts_sent") == 1 and summary.get("matches") == 0
    assert "1 sent, 0 already sent, 0 dead" in summary.render()
