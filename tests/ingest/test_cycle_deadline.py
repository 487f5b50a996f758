"""A whole cycle with one trickling host: the other host's alert goes out by the cycle deadline,
the late feed is dead-lettered as `timeout`, stays due, and is fetched by the next cycle.

Real cycles (in-process Beam engine) against two loopback feed servers, i.e. two hosts.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from tests.ingest import feeds
from tests.loopback import FeedServer
from wirewatch.pipelines.cycle import run_cycle
from wirewatch.pipelines.watch import feeds_due
from wirewatch.transforms.config import load_config
from wirewatch.transforms.state import open_store

CONFIG = """
feeds:
  - {{id: fast, url: "{fast}", backfill_hours: null}}
  - {{id: slow, url: "{slow}", backfill_hours: null}}
fetch: {{connect_timeout: 2, read_timeout: 5, deadline: 120, cycle_deadline: 2}}
rules: [{{id: quake, query: earthquake}}]
routes: [{{sinks: [file], group_wait: 0}}]
sinks: {{file: {{type: jsonl, path: "{alerts}"}}}}
dead_letters: "{dead}"
"""


def sent_titles(path) -> list[str]:
    lines = path.read_text().splitlines()
    return [json.loads(line)["match"]["article"]["article"]["title"] for line in lines]


def test_a_trickling_host_does_not_hold_back_another_hosts_alert(tmp_path):
    alerts, state = tmp_path / "alerts.jsonl", str(tmp_path / "state")
    with FeedServer() as one, FeedServer() as two:
        one.feeds["/fast.xml"] = (200, {}, feeds.rss(feeds.item("f1", "Earthquake in the north")))
        two.feeds["/slow.xml"] = (200, {}, feeds.rss(feeds.item("s1", "Earthquake in the south")))
        two.trickle["/slow.xml"] = 0.5  # 2 bytes a second: 120 s would not read the feed
        path = tmp_path / "wirewatch.yaml"
        path.write_text(
            CONFIG.format(
                fast=one.url("/fast.xml"),
                slow=two.url("/slow.xml"),
                alerts=alerts,
                dead=tmp_path / "dead.jsonl",
            )
        )
        config = load_config(str(path))

        first = run_cycle(config, config.feeds, state, [])
        titles = sent_titles(alerts)
        assert titles == ["Earthquake in the north"]
        # cut by the 2 s cycle deadline, not the 120 s fetch deadline (a wide margin: the
        # engine's own seconds grow with the machine's load)
        assert first.seconds < 60, f"the cycle took {first.seconds:.1f} s"
        assert first.get("feeds_late") == 1 and first.get("alerts_sent") == 1
        with open_store(state) as store:
            [letter] = store.dead_letters()
            assert (letter.stage, letter.source, letter.reason) == ("fetch", "slow", "timeout")
            assert (
                "cycle deadline of 2 s" in letter.detail and two.url("/slow.xml") in letter.detail
            )
            assert store.feed_state("slow").next_due is None  # not advanced: still due
            assert store.feed_state("fast").last_status == "ok"
            due = feeds_due(config.feeds, store, datetime.now(timezone.utc))
        assert [f.id for f in due] == ["slow"]

        two.trickle.clear()  # the host recovers
        second = run_cycle(config, due, state, [])
    titles = sent_titles(alerts)
    assert titles == ["Earthquake in the north", "Earthquake in the south"]
    assert second.get("feeds_ok") == 1 and second.get("feeds_late") == 0
