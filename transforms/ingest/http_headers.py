"""Read the politeness hints a server gives: Retry-After and Cache-Control max-age.

Both come back as seconds (floats) or None, never raise: a malformed header is the server's
problem and must not fail the fetch.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_MAX_HINT = 7 * 24 * 3600.0
"""Hints longer than a week are treated as a week: a typo on the server must not mute a feed."""


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After: 120` or `Retry-After: <HTTP-date>` as seconds from now (>= 0)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), _MAX_HINT)
    when = _http_date(value)
    if when is None:
        return None
    now = now or datetime.now(timezone.utc)
    return min(max((when - now).total_seconds(), 0.0), _MAX_HINT)


def max_age_seconds(cache_control: str | None) -> float | None:
    """`Cache-Control: max-age=N` (or s-maxage) as seconds; None when absent or no-cache."""
    if not cache_control:
        return None
    found = _MAX_AGE.search(cache_control)
    if not found:
        return None
    return min(float(found.group(1)), _MAX_HINT)
