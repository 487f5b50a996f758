"""When to poll a feed next: its interval, stretched by failures and by what the server asks.

Pure (the clock and the random source are arguments), so the watch driver and tests agree.
Rules, in order:
- the configured interval is the base;
- `Cache-Control: max-age` and RSS `<ttl>` are a floor (the publisher says the feed will not
  change sooner), honoured up to HINT_CAP so a careless header cannot mute a feed for days;
- after `failures` consecutive failures the delay doubles each time (exponential backoff) up to
  BACKOFF_CAP, with "equal jitter" (half fixed, half random) so feeds that failed together (one
  host down) do not come back in lockstep;
- `Retry-After` (429/503) is a hard minimum: never poll earlier than the server asked;
- every delay gets up to JITTER of random extra, never less than the computed delay.

`state_after_fetch` applies these rules to one fetch's result: the feed state to save.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: this module stays free of HTTP and storage imports
    from wirewatch.transforms.config import FeedConfig
    from wirewatch.transforms.ingest.fetch import FetchResult
    from wirewatch.transforms.state.interface import FeedState

HINT_CAP = 24 * 3600.0
BACKOFF_CAP = 6 * 3600.0
RETRY_AFTER_CAP = 24 * 3600.0
JITTER = 0.1


def next_due(now: datetime, interval: float, **hints: Any) -> datetime:
    """The next poll time for a feed polled every `interval` seconds; `hints` are
    `next_delay`'s keyword arguments (failures, retry_after, max_age, ttl_minutes, rng)."""
    return now + timedelta(seconds=next_delay(interval, **hints))


def next_delay(
    interval: float,
    *,
    failures: int = 0,
    retry_after: float | None = None,
    max_age: float | None = None,
    ttl_minutes: int | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next poll (see the module docstring for the rules)."""
    rand = rng or random
    delay = max(float(interval), 1.0)
    hints = [h for h in (max_age, (ttl_minutes or 0) * 60.0) if h and h > 0]
    if hints:
        delay = max(delay, min(max(hints), HINT_CAP))
    if failures > 0:
        backoff = min(delay * 2.0 ** min(failures, 32), max(BACKOFF_CAP, delay))
        delay = max(delay, backoff / 2 + rand.uniform(0, backoff / 2))
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay * (1 + rand.uniform(0, JITTER))


def state_after_fetch(
    previous: FeedState,
    feed: FeedConfig,
    result: FetchResult,
    now: datetime,
    *,
    rng: random.Random | None = None,
) -> FeedState:
    """The feed's state once `result` is committed: validators, failures, next poll time.

    - The validators (ETag, Last-Modified) a response sent replace the stored ones; a response
      without them (a failure, a server that stopped sending them) keeps the stored ones, so
      the next poll is still conditional.
    - `failures` counts consecutive failed fetches (it drives the backoff); any success or 304
      resets it.
    - The next due time follows `next_due`: the interval, `Cache-Control: max-age` and the
      feed's stored `<ttl>` as floors, the backoff, and `Retry-After` as a hard minimum.
    - The stored `<ttl>` is kept: the parse stage saves a new one separately.
    """
    failures = previous.failures + 1 if result.status == "failed" else 0
    return type(previous)(
        feed_id=feed.id,
        etag=result.etag or previous.etag,
        last_modified=result.last_modified or previous.last_modified,
        failures=failures,
        next_due=next_due(
            now,
            feed.interval,
            failures=failures,
            retry_after=result.retry_after,
            max_age=result.max_age,
            ttl_minutes=previous.ttl_minutes,
            rng=rng,
        ),
        last_status=result.status,
        last_error=result.error,
        ttl_minutes=previous.ttl_minutes,
    )
