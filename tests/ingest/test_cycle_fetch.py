"""Hosts fetched side by side, each within its per-host limit, all within the cycle deadline.

Real HTTP against loopback feed servers: one FeedServer is one host (the host key includes the
port). Overlap and the per-host limit are read from the servers' own records (`spans`, `peak`),
and the servers wait for each other with events (`gates`, `arrived`), never with sleeps.
"""

from __future__ import annotations

import time

import apache_beam as beam
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to
from pydantic import ValidationError

from tests.beam_counters import run_and_count
from tests.ingest import feeds
from tests.loopback import FeedServer
from wirewatch.transforms.config import Config, FeedConfig, FetchSettings
from wirewatch.transforms.ingest.beam import FetchFeeds, ParseFeeds
from wirewatch.transforms.ingest.cycle_fetch import CycleFetch
from wirewatch.transforms.ingest.fetch import fetch, lane_of, lanes

BODY = feeds.rss(feeds.item("x"))


def pipeline() -> test_pipeline.TestPipeline:
    return test_pipeline.TestPipeline(runner=FnApiRunner())


def config(feeds=(), **fetch) -> Config:
    """FetchFeeds deals the config's feeds over each host's lanes: pass the feeds a test runs."""
    settings = {"connect_timeout": 2, "read_timeout": 5, "deadline": 20, **fetch}
    return Config(feeds=list(feeds), fetch=FetchSettings(**settings))


def feed(server: FeedServer, name: str) -> FeedConfig:
    server.feeds[f"/{name}.xml"] = (200, {}, BODY)
    return FeedConfig(id=name, url=server.url(f"/{name}.xml"))


def overlap(a: tuple[str, float, float], b: tuple[str, float, float]) -> bool:
    return a[1] < b[2] and b[1] < a[2]


@pytest.fixture
def hosts():
    with FeedServer() as one, FeedServer() as two:
        one.GATE_WAIT = two.GATE_WAIT = 3.0  # the old, serial fetch fails in 3 s, not 10
        yield one, two


def test_hosts_are_fetched_side_by_side_each_within_its_limit(hosts, tmp_path):
    """a1 (host one) and b1 (host two) each answer only once the other's request arrived: only
    a fetch that has both hosts in flight at once gets both answers at once. Host one's two
    feeds, with per_host=1, are never in flight together."""
    one, two = hosts
    a1, a2, b1 = feed(one, "a1"), feed(one, "a2"), feed(two, "b1")
    one.gates["/a1.xml"], two.gates["/b1.xml"] = two.arrived["/b1.xml"], one.arrived["/a1.xml"]
    one.trickle["/a2.xml"] = 0.001  # a slow answer, read to the end

    p = pipeline()
    out = p | beam.Create([a1, a2, b1]) | FetchFeeds(config(per_host=1), str(tmp_path))
    assert_that(
        out[FetchFeeds.MAIN] | beam.Map(lambda f: (f[0].id, f[1].status)),
        equal_to([("a1", "ok"), ("a2", "ok"), ("b1", "ok")]),
    )
    counts = run_and_count(p)

    [first] = [s for s in one.spans if s[0] == "/a1.xml"]
    [second] = [s for s in one.spans if s[0] == "/a2.xml"]
    [other] = two.spans
    assert overlap(first, other), "the two hosts were fetched one after the other"
    assert one.peak == 1 and not overlap(first, second)
    assert counts["feeds_ok"] == 3 and counts.get("feeds_late", 0) == 0


def test_per_host_allows_that_many_requests_of_one_host_and_no_more(tmp_path):
    with FeedServer() as one:
        names = [feed(one, f"f{i}") for i in range(5)]
        # f0 and f1 answer once both are in flight: the limit of 2 is used, never exceeded
        one.gates["/f0.xml"], one.gates["/f1.xml"] = one.arrived["/f1.xml"], one.arrived["/f0.xml"]
        for name in ("f2", "f3", "f4"):
            one.trickle[f"/{name}.xml"] = 0.001
        p = pipeline()
        _ = p | beam.Create(names) | FetchFeeds(config(names, per_host=2), str(tmp_path))
        counts = run_and_count(p)
    assert one.peak == 2 and len(one.spans) == 5 and counts["feeds_ok"] == 5


def test_a_trickling_host_is_cut_at_the_cycle_deadline_and_its_feeds_stay_due(hosts, tmp_path):
    """Host one trickles (one byte a second: its own 20 s fetch deadline is far away); its
    second feed waits behind it (per_host=1). Host two answers at once. The fetch stage ends at
    the 1.5 s cycle deadline: both feeds of host one are dead-lettered as `timeout` and get no
    new state (they stay due); host two's feed is fetched and its state saved."""
    one, two = hosts
    slow, queued, fast = feed(one, "a-slow"), feed(one, "b-queued"), feed(two, "fast")
    one.trickle["/a-slow.xml"] = 1.0
    settings = config(per_host=1, cycle_deadline=1.5)

    p = pipeline()
    out = p | beam.Create([slow, queued, fast]) | FetchFeeds(settings, str(tmp_path))
    assert_that(
        out[FetchFeeds.MAIN] | "Main" >> beam.Map(lambda f: f[0].id),
        equal_to(["fast"]),
        label="fetched",
    )
    parsed = out[FetchFeeds.MAIN] | ParseFeeds(str(tmp_path))  # an ok poll's state is made there
    assert_that(
        (out[FetchFeeds.FEED_STATE], parsed[ParseFeeds.FEED_STATE])
        | beam.Flatten()
        | "States" >> beam.Map(lambda s: (s.feed_id, s.last_status)),
        equal_to([("fast", "ok")]),
        label="feed_state",
    )
    assert_that(
        out[FetchFeeds.DEAD]
        | "Dead"
        >> beam.Map(lambda d: (d.stage, d.source, d.reason, "cycle deadline of 1.5 s" in d.detail)),
        equal_to([("fetch", "a-slow", "timeout", True), ("fetch", "b-queued", "timeout", True)]),
        label="dead",
    )
    started = time.monotonic()
    counts = run_and_count(p)
    took = time.monotonic() - started

    assert took < 10, f"the fetch stage took {took:.1f} s: the cycle deadline did not cut it"
    assert counts["feeds_late"] == 2 and counts["fetch_timeout"] == 2
    assert counts["feeds_failed"] == 2 and counts["feeds_ok"] == 1


def test_the_slow_feed_is_cut_mid_body_and_the_queued_one_is_never_started(hosts):
    """The core alone, with a deadline already close: what each late feed's error says."""
    one, _ = hosts
    slow, queued = feed(one, "slow"), feed(one, "queued")
    one.trickle["/slow.xml"] = 0.2
    settings = FetchSettings(deadline=20, per_host=1, cycle_deadline=0.5)
    run = CycleFetch(settings)
    run.submit([slow, queued], lambda f, left: fetch(f.url, settings, deadline=left), time.time())
    results = list(run.results())

    assert [(r.feed.id, r.late, r.result.outcome) for r in results] == [
        ("slow", True, "timeout"),
        ("queued", True, "timeout"),
    ]
    assert results[0].result.error.startswith("cut by the cycle deadline of 0.5 s after")
    assert results[1].result.error == (
        "not started: the cycle deadline of 0.5 s passed before its turn; "
        "the feed stays due and is fetched next cycle"
    )
    assert [path for path, _ in one.requests] == ["/slow.xml"]


def test_past_the_deadline_nothing_is_started(hosts):
    """An injected clock already past the deadline: every feed comes back late, unrequested."""
    one, two = hosts
    settings = FetchSettings(cycle_deadline=30)
    run = CycleFetch(settings, clock=lambda: 1000.0)
    run.submit([feed(one, "a"), feed(one, "b")], lambda f, left: fetch(f.url, settings), 900.0)
    run.submit([feed(two, "c")], lambda f, left: fetch(f.url, settings), 969.0)
    assert [(r.feed.id, r.late) for r in run.results()] == [("a", True), ("b", True), ("c", True)]
    assert one.requests == [] and two.requests == []


def test_a_feed_slow_by_itself_fails_on_its_own_deadline_not_late(hosts):
    """Its own fetch deadline comes first: an ordinary failure (backed off), not `late`."""
    one, _ = hosts
    slow = feed(one, "slow")
    one.trickle["/slow.xml"] = 0.2
    settings = FetchSettings(deadline=0.5, cycle_deadline=30)
    run = CycleFetch(settings)
    run.submit([slow], lambda f, left: fetch(f.url, settings, deadline=left), time.time())
    [result] = run.results()
    assert (result.late, result.result.outcome) == (False, "deadline")


@pytest.mark.parametrize("value", [0, -1, 3601, float("inf"), float("nan")])
def test_the_cycle_deadline_is_bounded(value):
    with pytest.raises(ValidationError, match="cycle_deadline"):
        FetchSettings(cycle_deadline=value)
    assert FetchSettings().cycle_deadline == 120


def test_a_hosts_feeds_are_dealt_over_as_many_lanes_as_its_limit_allows():
    """Each lane is a key of its own (workers can take different lanes) and fetches one feed at
    a time, so the host never has more than per_host requests in flight."""
    urls = {"c": "https://h/c", "a": "https://h/a", "e": "https://h/e", "b": "https://h/b"}
    configured = [FeedConfig(id=k, url=u) for k, u in urls.items()]
    configured.append(FeedConfig(id="d", url="https://other/d"))
    dealt = lanes(configured, 2)
    assert dealt == {"a": ("h", 0), "b": ("h", 1), "c": ("h", 0), "e": ("h", 1), "d": ("other", 0)}
    assert lanes(configured, 5)["e"] == ("h", 3)
    stranger = FeedConfig(id="x", url="https://h/x")  # not in the config: a stable lane
    assert (
        lane_of(stranger, dealt, 2) == lane_of(stranger, {}, 2)
        and lane_of(stranger, {}, 2)[0] == "h"
    )
