"""The one retry policy the Slack and webhook sinks share."""

from datetime import datetime, timezone

import pytest

from wirewatch.transforms.sinks.retry import RetryPolicy, retry_after_seconds


def test_retry_after_wins_over_the_backoff():
    assert RetryPolicy(max_retries=3, backoff=5.0).delay(1, retry_after="2") == 2.0
    assert RetryPolicy(max_retries=3, backoff=5.0).delay(3, retry_after=" 7 ") == 7.0


@pytest.mark.parametrize("retry_after", [None, "", "soon", "-5"])
def test_backoff_doubles_with_up_to_half_again_as_jitter(retry_after):
    policy = RetryPolicy(max_retries=3, backoff=0.5)
    for attempt, base in [(1, 0.5), (2, 1.0), (3, 2.0)]:
        assert base <= policy.delay(attempt, retry_after) <= base * 1.5


def test_retry_after_may_be_an_http_date():
    now = datetime(2026, 10, 21, 7, 27, 30, tzinfo=timezone.utc)
    assert retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2026 07:00:00 GMT", now) == 0.0  # past: now
    assert retry_after_seconds("120") == 120.0 and retry_after_seconds("junk") is None


def test_a_retry_after_beyond_the_cap_parks_instead_of_waiting():
    policy = RetryPolicy(max_retries=3, backoff=0.5, max_retry_after=60)
    assert policy.parks("600") == 600.0
    assert policy.parks("60") is None and policy.parks(None) is None
    assert policy.delay(1, "60") == 60.0
    assert policy.delay(1, "600") == 60.0  # never more than the cap, should a caller ask


def test_only_answers_that_can_succeed_later_are_retried():
    assert all(RetryPolicy.retryable(s) for s in (408, 425, 429, 500, 502, 503, 504))
    assert not any(RetryPolicy.retryable(s) for s in (400, 401, 403, 404, 410))


def test_slack_gets_the_rate_limit_handler_explicitly_with_the_shared_policy():
    from slack_sdk.http_retry import RateLimitErrorRetryHandler

    from wirewatch.transforms.sinks.slack import retry_handlers

    policy = RetryPolicy(max_retries=2, backoff=0.1)
    handlers = retry_handlers(policy)
    [rate_limit] = [h for h in handlers if isinstance(h, RateLimitErrorRetryHandler)]
    assert rate_limit.max_retry_count == 2 and rate_limit.policy is policy
    assert all(h.max_retry_count == 2 for h in handlers)


@pytest.mark.parametrize(
    "field, value",
    [("max_retry_after", 601), ("max_retry_after", -1), ("auto_redeliver_hours", 721)],
)
def test_check_bounds_the_outage_settings(field, value):
    from pydantic import ValidationError

    from wirewatch.transforms.config import WebhookSink

    with pytest.raises(ValidationError, match=field):
        WebhookSink(type="webhook", url="https://hooks.example.org/x", **{field: value})
    assert WebhookSink(type="webhook", url="https://hooks.example.org/x").max_retry_after == 60
