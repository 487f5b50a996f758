"""next_due: interval floor, server hints, backoff with jitter, Retry-After."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from wirewatch.transforms.ingest.schedule import BACKOFF_CAP, HINT_CAP, JITTER, next_delay, next_due

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
