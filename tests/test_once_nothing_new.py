"""`run --once` polls the feeds without Beam first (pipelines/nothing_new.py): what has nothing
new is committed there, exactly as a cycle would commit it, and only the rest goes through the
Beam cycle; with nothing new and nothing waiting, no pipeline starts at all (`pipelines: 0`).
Real feed server on loopback, real store, real Beam for the cycles that do run."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from tests.loopback import FeedServer
from wirewatch.pipelines.once import run_once
from wirewatch.transforms.config import load_config
from wirewatch.transforms.state import open_store

NOW = datetime.now(timezone.utc)


def rss(*items: tuple[str, str], ttl: int | None = None) -> bytes:
    """(guid, title) items, newest first."""
    body = "".join(
        f"<item><title>{title}</title><guid>{guid}</guid><link>https://example.org/{guid}</link>"
        f"<pubDate>{format_datetime(NOW - timedelta(minutes=i), usegmt=True)}</pubDate></item>"
        for i, (guid, title) in enumerate(items)
    )
    channel = f"<title>t</title>{f'<ttl>{ttl}</ttl>' if ttl else ''}{body}"
    return f"<?xml version='1.0'?><rss version='2.0'><channel>{channel}</channel></rss>".encode()


QUAKE = ("q1", "Earthquake hits the coast")
RATES = ("r1", "Central bank holds rates")
ETAG = {"ETag": '"v1"', "Last-Modified": "Sun, 29 Nov 2026 10:00:00 GMT"}


def config_of(tmp_path, server: FeedServer, route: str = "group_wait: 0", **extra):
    feeds = "".join(
        f'  - {{id: {name}, url: "{server.url(f"/{name}.xml")}", backfill_hours: null}}\n'
        for name in ("a", "b")
    )
    path = tmp_path / "c.yaml"
    path.write_text(
        f"feeds:\n{feeds}"
        "rules: [{id: quake, query: earthquake}]\n"
        f"routes: [{{sinks: [file], {route}}}]\n"
        f'sinks: {{file: {{type: jsonl, path: "{tmp_path / "alerts.jsonl"}"}}}}\n'
        + "".join(f"{key}: {value}\n" for key, value in extra.items())
    )
    return load_config(str(path))


def sent(tmp_path) -> list[str]:
    path = tmp_path / "alerts.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line)["match"]["article"]["article"]["id"] for line in lines]


@pytest.fixture
def server():
    with FeedServer() as feeds:
        feeds.feeds["/a.xml"] = (200, ETAG, rss(QUAKE, RATES, ttl=7))
        feeds.feeds["/b.xml"] = (200, {}, rss(("b1", "Harvest report")))
        yield feeds


@pytest.fixture
def filled(tmp_path, server):
    """The config and the state after a first run (every entry new then)."""
    config, state = config_of(tmp_path, server), str(tmp_path / "state")
    run_once(config, state, [])
    return config, state


def test_nothing_new_commits_what_a_beam_cycle_commits_without_starting_one(tmp_path, server):
    from wirewatch.pipelines.cycle import run_cycle

    config = config_of(tmp_path, server)
    state = str(tmp_path / "state")
    first = run_once(config, state, [])
    assert first.pipelines == 1 and first.get("articles_new") == 3
    beam_state = str(tmp_path / "beam-state")
    shutil.copytree(state, beam_state)

    quiet = run_once(config, state, [])
    beam = run_cycle(config, config.feeds, beam_state, [])  # what the cycle would have done

    assert quiet.pipelines == 0
    assert quiet.counters == beam.counters
    assert (quiet.per_feed, quiet.per_sink, quiet.per_rule) == (
        beam.per_feed,
        beam.per_sink,
        beam.per_rule,
    )
    assert quiet.render().splitlines()[1:] == beam.render().splitlines()[1:]
    with open_store(state) as fast, open_store(beam_state) as slow:
        ids = [f.id for f in config.feeds]
        for mine, theirs in zip(fast.feed_states(ids).values(), slow.feed_states(ids).values()):
            assert mine.model_dump(exclude={"next_due"}) == theirs.model_dump(exclude={"next_due"})
            assert abs(mine.next_due - theirs.next_due) < timedelta(seconds=0.2 * 300)
        assert fast.feed_state("a").ttl_minutes == 7
        assert fast.feed_state("a").etag == '"v1"'
    assert len(sent(tmp_path)) == 1  # the one quake alert, sent by the first run


def test_a_304_is_nothing_new(filled, server):
    config, state = filled
    server.feeds["/a.xml"] = (304, {}, b"")
    quiet = run_once(config, state, [])
    assert quiet.pipelines == 0
    assert (quiet.get("feeds_not_modified"), quiet.get("feeds_ok")) == (1, 1)
    assert quiet.per_feed == {"a": {"not_modified": 1}, "b": {"ok": 1}}
    conditional = [headers for path, headers in server.requests if path == "/a.xml"][-1]
    assert conditional.get("If-None-Match") == '"v1"'


def test_a_new_entry_goes_through_the_cycle_once_and_no_feed_is_asked_twice(
    tmp_path, filled, server
):
    config, state = filled
    server.feeds["/a.xml"] = (200, ETAG, rss(("q2", "Earthquake felt inland"), QUAKE, RATES))
    server.requests.clear()

    summary = run_once(config, state, [])

    assert summary.pipelines == 1
    assert summary.get("articles_new") == 1 and summary.get("alerts_sent") == 1
    assert summary.per_feed == {"a": {"ok": 1}, "b": {"ok": 1}}
    assert summary.get("feeds_ok") == 2  # b counted by the look, a by the cycle
    # the cycle parses the body the look fetched: the server is asked once per feed
    assert sorted(path for path, _ in server.requests) == ["/a.xml", "/b.xml"]
    assert sent(tmp_path) == [sent(tmp_path)[0], summary_id(tmp_path, "q2")]
    again = run_once(config, state, [])
    assert again.pipelines == 0 and len(sent(tmp_path)) == 2  # nothing sent twice


def summary_id(tmp_path, guid: str) -> str:
    """The article id of the alert whose link ends with `guid`."""
    for line in (tmp_path / "alerts.jsonl").read_text().splitlines():
        article = json.loads(line)["match"]["article"]["article"]
        if article["link"].endswith(guid):
            return article["id"]
    raise AssertionError(guid)


def test_an_edited_entry_goes_through_the_cycle(filled, server):
    config, state = filled
    server.feeds["/b.xml"] = (200, {}, rss(("b1", "Harvest report: earthquake damage")))
    summary = run_once(config, state, [])
    assert summary.pipelines == 1
    assert summary.get("articles_edited") == 1 and summary.get("alerts_sent") == 1


def test_a_busy_body_is_told_by_its_first_entries_and_a_quiet_one_by_all(
    tmp_path, server, monkeypatch
):
    """The look builds the first LOOK_AHEAD entries the pre-scan keeps; if all are seen after
    all (a feed that re-issues its guids keeps its links), the whole body decides: quiet when
    every entry is seen, busy for a new entry further down."""
    from wirewatch.pipelines import nothing_new

    monkeypatch.setattr(nothing_new, "LOOK_AHEAD", 2)

    def body(guids: str, links: str) -> bytes:
        items = "".join(
            f"<item><title>Harvest report {link}</title><guid>{guid}</guid>"
            f"<link>https://example.org/{link}</link></item>"
            for guid, link in zip(guids.split(), links.split())
        )
        return f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()

    config, state = config_of(tmp_path, server), str(tmp_path / "state")
    server.feeds["/b.xml"] = (200, {}, body("a1 a2 a3 a4", "l1 l2 l3 l4"))
    assert run_once(config, state, []).get("articles_new") == 6  # 2 in a, 4 in b

    server.feeds["/b.xml"] = (200, {}, body("b1 b2 b3 b4", "l1 l2 l3 l4"))
    quiet = run_once(config, state, [])
    assert quiet.pipelines == 0 and quiet.get("articles_seen") == 4

    server.feeds["/b.xml"] = (200, {}, body("c1 c2 c3 c4 n", "l1 l2 l3 l4 new"))
    busy = run_once(config, state, [])
    assert busy.pipelines == 1 and busy.get("articles_new") == 1


def test_a_feed_whose_last_poll_failed_is_left_to_the_cycle(filled, server):
    config, state = filled
    server.feeds["/b.xml"] = (500, {}, b"down")
    server.requests.clear()
    failed = run_once(config, state, [])
    assert failed.pipelines == 1 and failed.get("feeds_failed") == 1
    assert sorted(path for path, _ in server.requests) == ["/a.xml", "/b.xml"]  # no retry
    assert failed.per_feed == {"a": {"ok": 1}, "b": {"failed": 1}}
    server.feeds["/b.xml"] = (200, {}, rss(("b1", "Harvest report")))
    server.requests.clear()
    back = run_once(config, state, [])
    assert back.pipelines == 1  # b failed last time: polled once, by the cycle
    assert sorted(path for path, _ in server.requests) == ["/a.xml", "/b.xml"]
    assert run_once(config, state, []).pipelines == 0


def test_a_digest_that_is_due_is_sent_although_nothing_is_new(tmp_path, server):
    start, end = NOW - timedelta(hours=1), NOW + timedelta(hours=2)
    quiet_hours = f'quiet_hours: {{start: "{start:%H:%M}", end: "{end:%H:%M}", timezone: UTC}}'
    held = config_of(tmp_path, server, f"group_wait: 0, {quiet_hours}")
    state = str(tmp_path / "state")
    assert run_once(held, state, []).held == 1 and sent(tmp_path) == []
    with open_store(state) as store:  # the quiet hours end
        [key] = store.due_groups("file", end + timedelta(minutes=1))
        group = store.group_state(key)
        store.save_group(key, "file", group.model_copy(update={"due_at": NOW}))

    summary = run_once(config_of(tmp_path, server), state, [])

    assert summary.pipelines == 1 and summary.get("articles_new") == 0
    assert summary.get("alerts_sent") == 1 and summary.held == 0
    assert len(sent(tmp_path)) == 1


def test_deferred_alerts_go_out_once_their_sink_is_back_although_nothing_is_new(
    tmp_path, server, monkeypatch
):
    from tests.loopback import SlackServer
    from wirewatch.transforms.model import utc_now

    with SlackServer() as slack:
        monkeypatch.setenv("NOTHING_NEW_WEBHOOK", slack.webhook_url)
        path = tmp_path / "c.yaml"
        path.write_text(
            f'feeds: [{{id: a, url: "{server.url("/a.xml")}", backfill_hours: null}}]\n'
            "rules: [{id: quake, query: earthquake}]\n"
            "routes: [{sinks: [hook], group_wait: 0}]\n"
            'sinks: {hook: {type: slack, webhook_url: "${NOTHING_NEW_WEBHOOK}", pace: 0}}\n'
        )
        config, state = load_config(str(path)), str(tmp_path / "state")
        slack.fail_next(slack.WEBHOOK_PATH, 429, {"Retry-After": "600"}, b"rate_limited")
        assert run_once(config, state, []).get("alerts_deferred") == 1
        parked = run_once(config, state, [])  # the sink is parked: nothing to redeliver yet
        assert parked.pipelines == 0 and slack.received == []
        with open_store(state) as store:  # the park ends
            health = store.sink_health("hook")
            past = utc_now() - timedelta(seconds=1)
            store.save_sink_health(health.model_copy(update={"down_until": past}))

        back = run_once(config, state, [])

        assert back.pipelines == 1 and back.get("articles_new") == 0
        assert back.get("alerts_sent") == 1 and len(slack.received) == 1
        assert run_once(config, state, []).pipelines == 0 and len(slack.received) == 1


def test_the_cli_prints_that_no_pipeline_ran(tmp_path, server, capsys):
    from wirewatch.pipelines.cli import main

    config_of(tmp_path, server)
    args = ["run", "--once", "--json", "--config", str(tmp_path / "c.yaml")]
    args += ["--state-dir", str(tmp_path / "state")]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["pipelines"] == 1
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["pipelines"] == 0
