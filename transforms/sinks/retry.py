"""One retry policy for every sink that talks HTTP (Slack, webhook): how many retries, which
answers are worth another try, how long to wait before the next one, and which waits are too
long to sleep through.

Why one object: the wait rules (a server's Retry-After first, else exponential backoff with
jitter; a Retry-After beyond `max_retry_after` is not waited for) must not drift apart between
sinks. The webhook sink loops over it directly; the Slack sink hands it to slack_sdk's retry
handlers (see slack.py).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header in seconds: a number of seconds, or an HTTP date (the seconds
    from `now` until then, at least 0); None when absent or unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
    return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    max_retry_after: float = 60.0
    """The longest Retry-After a retry waits for; a longer one parks the sink (`parks`)."""
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    """How `wait` waits: time.sleep; a test passes a recorder and asserts the waits asked for."""

    @classmethod
    def of(cls, config, sleep: Callable[[float], None] = time.sleep) -> RetryPolicy:
        """From a sink config's `max_retries`, `retry_backoff` and `max_retry_after`."""
        return cls(
            max_retries=config.max_retries,
            backoff=config.retry_backoff,
            max_retry_after=config.max_retry_after,
            sleep=sleep,
        )

    @staticmethod
    def retryable(status: int) -> bool:
        """Answers that can succeed later: timeouts, rate limits, server errors."""
        return status in RETRYABLE

    def parks(self, retry_after: str | None) -> float | None:
        """The seconds to park the sink for when the server's Retry-After asks for longer
        than `max_retry_after` (no retry then: the process must not sleep that long); else
        None, and the retry waits as `delay` says."""
        seconds = retry_after_seconds(retry_after)
        return seconds if seconds is not None and seconds > self.max_retry_after else None

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds before retry number `attempt` (1 = the first retry): the server's
        Retry-After when it gave one (never more than `max_retry_after`), else
        backoff * 2^(attempt-1) plus up to half of that again as jitter, so many clients do
        not retry in step."""
        seconds = retry_after_seconds(retry_after)
        if seconds is not None:
            return min(seconds, self.max_retry_after)
        return self.backoff * (2 ** (attempt - 1)) * (1 + random.random() / 2)

    def wait(self, attempt: int, retry_after: str | None = None) -> None:
        """Waits `delay(attempt, retry_after)` seconds: every sink's retry waits come here."""
        self.sleep(self.delay(attempt, retry_after))
