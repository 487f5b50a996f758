"""dedupe: seen keys, the first-poll backfill window, one article per dedupe key in a run."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from tests.factories import article
from wirewatch.transforms.ingest.dedupe import (
    already_seen,
    backfill_cutoff,
    is_backfill,
    is_first_poll,
    keep_first,
    seen_keys,
)
from wirewatch.transforms.state.sqlite import FeedState

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def test_seen_keys_are_the_id_and_the_link():
    assert seen_keys(article(id="a1", link="https://example.org/x")) == [
        "a1",
        "link:https://example.org/x",
    ]
    assert seen_keys(article(id="a1", link=None)) == ["a1"]


def test_already_seen_by_id_or_by_link_from_another_feed():
    story = article(id="a1", link="https://example.org/x")
    assert already_seen(story, {"a1"})
    assert already_seen(story, {"link:https://example.org/x"})
    assert not already_seen(story, {"a2", "link:https://example.org/y", "https://example.org/x"})
    assert not already_seen(story, set())


def test_keep_first_is_the_earliest_then_the_smallest_id_in_any_order():
    early = article(id="b", published=NOW - timedelta(hours=2))
    tie = article(id="a", published=NOW - timedelta(hours=2))
    late = article(id="0", published=NOW)
    for order in itertools.permutations([early, tie, late]):
        assert keep_first(order) == (tie, 2)
    assert keep_first([late]) == (late, 0)


def test_first_poll_is_a_feed_with_no_recorded_status():
    assert is_first_poll(FeedState(feed_id="f"))
    assert not is_first_poll(FeedState(feed_id="f", last_status="failed"))
    assert not is_first_poll(FeedState(feed_id="f", last_status="ok"))


def test_backfill_cutoff_only_on_the_first_poll():
    assert backfill_cutoff(24, first_poll=True, now=NOW) == NOW - timedelta(hours=24)
    assert backfill_cutoff(0.5, first_poll=True, now=NOW) == NOW - timedelta(minutes=30)
    assert backfill_cutoff(0, first_poll=True, now=NOW) == NOW
    assert backfill_cutoff(24, first_poll=False, now=NOW) is None
    assert backfill_cutoff(None, first_poll=True, now=NOW) is None  # null: the whole backlog


def test_is_backfill_means_published_before_the_cutoff():
    cutoff = NOW - timedelta(hours=24)
    assert is_backfill(article(published=cutoff - timedelta(seconds=1)), cutoff)
    assert not is_backfill(article(published=cutoff), cutoff)
    assert not is_backfill(article(published=NOW), cutoff)
    assert not is_backfill(article(published=datetime(2000, 1, 1, tzinfo=timezone.utc)), None)
