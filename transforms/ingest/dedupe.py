"""Which parsed articles are new: the keys that mark an article seen, the first-poll backfill
window, and one article per dedupe key within a run. Pure (no Beam, no store): the wrappers
in beam.py ask the state store and count; the choices live here so tests hit them directly.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from wirewatch.transforms.model import Article

if TYPE_CHECKING:  # the store's record type; only its attributes are read here
    from wirewatch.transforms.state.interface import FeedState


def seen_keys(article: Article) -> list[str]:
    """Keys recorded as seen: the article id, and its canonical link across feeds.

    The link key is what stops the same story, listed by two feeds (two ids), from being
    processed again by the second feed in a later cycle.
    """
    return [article.id] + ([f"link:{article.link}"] if article.link else [])


def already_seen(article: Article, seen: Collection[str]) -> bool:
    """Any of the article's `seen_keys` is in `seen` (one batch answer from the store)."""
    return any(key in seen for key in seen_keys(article))


def keep_first(articles: Iterable[Article]) -> tuple[Article, int]:
    """One article per dedupe key: the earliest published, then the smallest id, wins.

    Deterministic whatever order the runner delivers the copies in, so a re-run of the same
    cycle alerts on the same copy. Returns the winner and how many copies were dropped.
    """
    ordered = sorted(articles, key=lambda a: (a.published, a.id))
    return ordered[0], len(ordered) - 1


def is_first_poll(previous: FeedState) -> bool:
    """A feed never fetched before (no recorded status): its whole backlog looks new."""
    return previous.last_status is None


def backfill_cutoff(
    backfill_hours: float | None, *, first_poll: bool, now: datetime
) -> datetime | None:
    """Articles published before this time are marked seen without being alerted.

    Why: on a feed's first poll every entry it lists is new to us, including a backlog of days
    or weeks; alerting on all of it would flood the channel with old news the moment a feed is
    added. So the first poll alerts only what was published within `backfill_hours`, and the
    older entries are recorded as seen (so later polls do not bring them back either).
    None means no cutoff: a later poll, or `backfill_hours: null` (alert the whole backlog).
    """
    if not first_poll or backfill_hours is None:
        return None
    return now - timedelta(hours=backfill_hours)


def is_backfill(article: Article, cutoff: datetime | None) -> bool:
    """Older than the first-poll cutoff (see backfill_cutoff)."""
    return cutoff is not None and article.published < cutoff
