"""When a sink is worth trying: its health after each delivery, as pure functions over the
SinkHealth record the state store keeps for every worker.

Why: one Slack outage must not stall polling. Without this, every alert of a cycle spends the
sink's whole retry budget (about 18 s with the defaults) and a 140-alert cycle takes most of an
hour with no feed polled; and slack_sdk would sleep whatever a 429's Retry-After says. So:
- a sink whose deliveries fail UNHEALTHY_AFTER times in a row, each with its retries spent on
  answers that can pass by themselves (5xx, timeouts, no connection), is skipped for a backoff
  that doubles with every further failure, from BACKOFF[0] up to BACKOFF[1] seconds; when it
  ends, the next delivery is the probe;
- a Retry-After longer than the sink's max_retry_after parks the sink for that long (at most
  LONGEST_PARK) instead of sleeping the process;
- alerts that meet a skipped sink are dead-lettered as deferred, with the reason, and the
  dispatcher redelivers them, in order, once the sink is back (dispatch.py `resume`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from wirewatch.transforms.state.interface import SinkHealth

UNHEALTHY_AFTER = 2
BACKOFF = (30.0, 900.0)
LONGEST_PARK = 3600.0


def is_down(health: SinkHealth, now: datetime) -> bool:
    """Skip the sink now (its backoff or park has not ended)?"""
    return health.down_until is not None and now < health.down_until


def after_failure(health: SinkHealth, now: datetime, reason: str) -> SinkHealth:
    """A delivery failed with its retries spent on transient answers."""
    failures = health.failures + 1
    down_until = health.down_until
    if failures >= UNHEALTHY_AFTER:
        wait = min(BACKOFF[1], BACKOFF[0] * 2 ** (failures - UNHEALTHY_AFTER))
        down_until = max(now + timedelta(seconds=wait), down_until or now)
    return SinkHealth(sink=health.sink, failures=failures, down_until=down_until, reason=reason)


def after_park(health: SinkHealth, now: datetime, seconds: float, reason: str) -> SinkHealth:
    """The server asked for a wait longer than max_retry_after: park until it ends."""
    until = now + timedelta(seconds=min(seconds, LONGEST_PARK))
    return health.model_copy(
        update={"down_until": max(until, health.down_until or until), "reason": reason}
    )


def after_success(health: SinkHealth) -> SinkHealth | None:
    """A delivery went out: healthy again (None when it already was: nothing to save)."""
    if health.failures or health.down_until or health.reason:
        return SinkHealth(sink=health.sink)
    return None


def skip_reason(health: SinkHealth) -> str:
    """The dead-letter reason of an alert that met the sink down."""
    return (
        f"skipped: sink '{health.sink}' is down until "
        f"{health.down_until:%Y-%m-%dT%H:%M:%SZ} ({health.reason}); the alert is redelivered "
        "automatically, in order, once the sink is back"
    )
