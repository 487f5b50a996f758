"""One retry policy for every sink that talks HTTP (Slack, webhook): how many retries, which
answers are worth another try, and how long to wait before the next one.

Why one object: the wait rules (a server's Retry-After first, else exponential backoff with
jitter) must not drift apart between sinks. The webhook sink loops over it directly; the Slack
sink hands it to slack_sdk's retry handlers (see slack.py).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    """How `wait` waits: time.sleep; a test passes a recorder and asserts the waits asked for."""

    @classmethod
    def of(cls, config, sleep: Callable[[float], None] = time.sleep) -> RetryPolicy:
        """From a sink config's `max_retries` and `retry_backoff`."""
        return cls(max_retries=config.max_retries, backoff=config.retry_backoff, sleep=sleep)

    @staticmethod
    def retryable(status: int) -> bool:
        """Answers that can succeed later: timeouts, rate limits, server errors."""
        return status in RETRYABLE

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds before retry number `attempt` (1 = the first retry): the server's
        Retry-After (in seconds) when it gave one, else backoff * 2^(attempt-1) plus up to
        half of that again as jitter, so many clients do not retry in step."""
        if retry_after and retry_after.strip().isdigit():
            return float(retry_after)
        return self.backoff * (2 ** (attempt - 1)) * (1 + random.random() / 2)

    def wait(self, attempt: int, retry_after: str | None = None) -> None:
        """Waits `delay(attempt, retry_after)` seconds: every sink's retry waits come here."""
        self.sleep(self.delay(attempt, retry_after))
