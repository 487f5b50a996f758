"""next_due: interval floor, server hints, backoff with jitter, Retry-After; and the feed state
a fetch leaves behind (state_after_fetch)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from wirewatch.transforms.config import FeedConfig
from wirewatch.transforms.ingest.fetch import FetchResult
from wirewatch.transforms.ingest.schedule import (
    BACKOFF_CAP,
    HINT_CAP,
    JITTER,
    next_delay,
    next_due,
    state_after_fetch,
)
from wirewatch.transforms.state.sqlite import FeedState

NOW = datetime(2025, 4, 19, 12, 0, tzinfo=timezone.utc)


def delays(**kw) -> list[float]:
    rng = random.Random(7)
    return [next_delay(rng=rng, **kw) for _ in range(200)]


def test_plain_interval_with_small_jitter():
    values = delays(interval=300)
    assert all(300 <= v <= 300 * (1 + JITTER) for v in values)
    assert len(set(values)) > 100


def test_next_due_is_now_plus_delay():
    due = next_due(NOW, 300, rng=random.Random(1))
    assert NOW + timedelta(seconds=300) <= due <= NOW + timedelta(seconds=330)


def test_ttl_and_max_age_are_floors_not_ceilings():
    assert min(delays(interval=300, ttl_minutes=60)) >= 3600
    assert min(delays(interval=300, max_age=900)) >= 900
    assert max(delays(interval=3600, max_age=60)) <= 3600 * (1 + JITTER)
    assert max(delays(interval=300, ttl_minutes=100_000)) <= HINT_CAP * (1 + JITTER)


def test_backoff_grows_and_is_capped():
    medians = [sorted(delays(interval=60, failures=f))[100] for f in range(12)]
    assert medians == sorted(medians)
    assert medians[3] > 4 * 60
    assert max(delays(interval=60, failures=50)) <= BACKOFF_CAP * (1 + JITTER)
    assert min(delays(interval=60, failures=50)) >= BACKOFF_CAP / 2


def test_backoff_is_jittered():
    assert len({round(v) for v in delays(interval=60, failures=5)}) > 50


def test_retry_after_is_a_hard_minimum():
    assert min(delays(interval=60, retry_after=7200)) >= 7200
    assert min(delays(interval=60, failures=1, retry_after=7200)) >= 7200


def test_deterministic_with_a_seeded_rng():
    assert delays(interval=60, failures=3) == delays(interval=60, failures=3)


# --- state_after_fetch: the feed state a fetch leaves behind --------------------------------


def _feed(interval: int = 300) -> FeedConfig:
    return FeedConfig(id="f", url="https://f.example.com/rss", interval=interval)


def _result(status: str = "ok", outcome: str | None = None, **kw) -> FetchResult:
    return FetchResult(
        url="https://f.example.com/rss", status=status, outcome=outcome or status, **kw
    )


def _after(previous: FeedState, result: FetchResult, interval: int = 300) -> FeedState:
    return state_after_fetch(previous, _feed(interval), result, NOW, rng=random.Random(3))


def test_a_success_stores_validators_and_resets_failures():
    previous = FeedState(feed_id="f", etag='"old"', failures=4, last_status="failed")
    state = _after(previous, _result(etag='"new"', last_modified="Tue, 14 Feb 2017 10:00:00 GMT"))
    assert state.feed_id == "f" and state.failures == 0
    assert state.etag == '"new"' and state.last_modified == "Tue, 14 Feb 2017 10:00:00 GMT"
    assert state.last_status == "ok" and state.last_error is None
    assert NOW + timedelta(seconds=300) <= state.next_due <= NOW + timedelta(seconds=330)


def test_a_response_without_validators_keeps_the_stored_ones():
    previous = FeedState(feed_id="f", etag='"v1"', last_modified="Mon, 13 Feb 2017 10:00:00 GMT")
    for result in (_result("not_modified"), _result("failed", "timeout", error="slow")):
        state = _after(previous, result)
        assert (state.etag, state.last_modified) == (previous.etag, previous.last_modified)


def test_failures_count_up_and_back_off():
    state = FeedState(feed_id="f", last_status="ok")
    delays = []
    for expected in (1, 2, 3, 4):
        state = _after(state, _result("failed", "http_error", http_status=500, error="HTTP 500"))
        assert state.failures == expected and state.last_status == "failed"
        assert state.last_error == "HTTP 500"
        delays.append((state.next_due - NOW).total_seconds())
    assert delays == sorted(delays) and delays[-1] > 4 * 300
    assert _after(state, _result("not_modified")).failures == 0


def test_retry_after_max_age_and_ttl_are_honoured():
    blank = FeedState(feed_id="f")
    asked = _after(blank, _result("failed", "http_error", http_status=429, retry_after=7200))
    assert asked.next_due >= NOW + timedelta(seconds=7200)
    cached = _after(blank, _result(max_age=1800))
    assert cached.next_due >= NOW + timedelta(seconds=1800)
    with_ttl = FeedState(feed_id="f", ttl_minutes=60)
    state = _after(with_ttl, _result())
    assert state.next_due >= NOW + timedelta(hours=1) and state.ttl_minutes == 60


def test_state_after_fetch_is_deterministic_with_a_seeded_rng():
    previous = FeedState(feed_id="f", failures=2)
    result = _result("failed", "timeout", error="slow")
    assert _after(previous, result) == _after(previous, result)
