"""The run summary: cycle totals from the one counter namespace; per rule, sink and feed from
what the cycle left in the state store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
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
    assert "1 sent, 0 held for a digest, 0 already sent, 0 dead" in summary.render()


def rss(*titles: str) -> bytes:
    now = datetime.now(timezone.utc)
    items = "".join(
        f"<item><title>{t}</title><guid>g{i}</guid><link>https://example.org/{i}</link>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=i), usegmt=True)}</pubDate></item>"
        for i, t in enumerate(titles)
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()


def once_config(tmp_path, feed_url: str, route: str):
    from wirewatch.transforms.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text(
        f'feeds: [{{id: f, url: "{feed_url}"}}]\n'
        "rules: [{id: quake, query: earthquake}]\n"
        f"routes: [{{sinks: [file]{route}}}]\n"
        f'sinks: {{file: {{type: jsonl, path: "{tmp_path / "alerts.jsonl"}"}}}}\n'
    )
    return load_config(str(path))


def test_run_once_sends_the_burst_its_group_wait_held_as_one_digest(tmp_path):
    """The default route (group_wait 30 s): a --once run does not keep the burst for the
    next run; the summary counts the three alerts once, as sent in a digest."""
    from tests.loopback import FeedServer
    from wirewatch.pipelines.once import run_once

    with FeedServer() as server:
        server.feeds["/f.xml"] = (200, {}, rss("Earthquake one", "Earthquake two", "Earthquake 3"))
        config = once_config(tmp_path, server.url("/f.xml"), "")
        summary = run_once(config, str(tmp_path / "state"), [])
    [digest] = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert len(digest["alerts"]) == 3
    assert (summary.get("alerts_sent"), summary.get("alerts_digested")) == (3, 3)
    assert (summary.get("alerts_held"), summary.held, summary.held_due) == (0, 0, None)
    assert summary.per_sink == {"file": {"sent": 3}}
    assert summary.per_rule == {"quake": {"sent": 3, "matches": 3}}
    assert "3 sent (3 of them in digests), 0 held for a digest" in summary.render()


def test_run_once_keeps_what_quiet_hours_hold_and_says_when_it_is_due(tmp_path):
    from tests.loopback import FeedServer
    from wirewatch.pipelines.once import run_once

    now = datetime.now(timezone.utc)
    start, end = (now - timedelta(hours=1)), (now + timedelta(hours=2))
    quiet = f', quiet_hours: {{start: "{start:%H:%M}", end: "{end:%H:%M}", timezone: UTC}}'
    with FeedServer() as server:
        server.feeds["/f.xml"] = (200, {}, rss("Earthquake one", "Earthquake two"))
        config = once_config(tmp_path, server.url("/f.xml"), quiet)
        summary = run_once(config, str(tmp_path / "state"), [])
    assert not (tmp_path / "alerts.jsonl").exists()
    assert (summary.get("alerts_held"), summary.held) == (2, 2)
    assert summary.held_due == f"{end:%Y-%m-%dT%H:%M}:00Z"
    assert (
        f"2 alerts wait for a digest; the first group is due at {summary.held_due}"
        in summary.render()
    )


def test_alerts_that_wait_for_their_sink_are_said_apart_from_the_dead():
    """A Slack outage read as '7 dead', though each goes out by itself once Slack is back."""
    summary = CycleSummary(seconds=1.0, counters={"alerts_dead": 7, "alerts_deferred": 6})
    assert (
        "0 already sent, 7 dead (6 of them wait for their sink: resent by themselves once it "
        "is back)" in summary.render()
    )
    assert summary.render().count("wait for their sink") == 1
    assert "wait for their sink" not in CycleSummary(seconds=1.0).render()
