"""Entry dates in UTC, with the fallbacks the pipeline relies on.

feedparser gives `*_parsed` as UTC struct_time (it has already applied the feed's offset).
An entry without a usable date gets the time we first saw it (`fetched_at`); one dated in the
future beyond a small clock-skew allowance is clamped to `fetched_at`, because a wrong future
date would otherwise sort above every real article and outlive every time window.
"""

from __future__ import annotations

import calendar
import time
from datetime import datetime, timedelta, timezone

CLOCK_SKEW = timedelta(minutes=15)
_EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)


def from_struct(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        stamp = calendar.timegm(value)
        return datetime.fromtimestamp(stamp, tz=timezone.utc)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def choose_dates(
    published: datetime | None, updated: datetime | None, fetched_at: datetime
) -> tuple[datetime, datetime | None]:
    """(published, updated): published falls back to updated, then to fetched_at.

    `updated` is kept only when it says something `published` does not (feedparser copies
    the RSS pubDate into both).
    """
    published = _plausible(published, fetched_at)
    updated = _plausible(updated, fetched_at)
    published = published or updated or fetched_at
    return published, (updated if updated != published else None)


def _plausible(value: datetime | None, fetched_at: datetime) -> datetime | None:
    if value is None or value < _EARLIEST:
        return None
    if value > fetched_at + CLOCK_SKEW:
        return fetched_at
    return value
