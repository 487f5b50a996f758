"""SlackSink against a loopback server speaking Slack's webhook and Web API protocols."""

import json
import threading
import time

import pytest

from tests.factories import alert
from tests.loopback import SlackServer
from wirewatch.transforms.config import SlackSink as SlackSinkConfig
from wirewatch.transforms.sinks.base import DeliveryError
from wirewatch.transforms.sinks.slack import SlackSink


@pytest.fixture
def slack():
    with SlackServer() as server:
        yield server


def webhook_sink(slack, monkeypatch, sleep=time.sleep, **overrides):
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.webhook_url)
    config = SlackSinkConfig(
        type="slack", webhook_url="${TEST_SLACK_WEBHOOK}", retry_backoff=0.01, **overrides
    )
    return SlackSink("slack", config, sleep=sleep)


def token_sink(slack, monkeypatch, sleep=time.sleep, **overrides):
    monkeypatch.setenv("TEST_SLACK_TOKEN", slack.token)
    config = SlackSinkConfig(
        type="slack",
        token="${TEST_SLACK_TOKEN}",
        channel="#alerts",
        api_url=slack.api_url,
        retry_backoff=0.01,
        **overrides,
    )
    return SlackSink("slack", config, sleep=sleep)


def test_webhook_posts_blocks_and_fallback_text(slack, monkeypatch):
    webhook_sink(slack, monkeypatch).send(alert(title="Talks resume"))
    [message] = slack.received
    assert "Talks resume" in message["text"]
    assert message["blocks"][0]["type"] == "section"
    assert message["unfurl_links"] is False


def test_bot_token_posts_to_the_channel(slack, monkeypatch):
    token_sink(slack, monkeypatch).send(alert(title="Talks resume"))
    [message] = slack.received
    assert message["channel"] == "#alerts"
    assert "Talks resume" in message["text"]


def test_429_is_retried_after_the_retry_after_delay(slack, monkeypatch):
    slack.fail_next(slack.WEBHOOK_PATH, 429, {"Retry-After": "1"}, b"rate_limited", times=2)
    waits: list[float] = []
    webhook_sink(slack, monkeypatch, sleep=waits.append).send(alert())
    assert waits == [1.0, 1.0]
    assert slack.attempts[slack.WEBHOOK_PATH] == 3
    assert len(slack.received) == 1


def test_web_api_429_then_success(slack, monkeypatch):
    slack.fail_next(
        "/api/chat.postMessage", 429, {"Retry-After": "1"}, b'{"ok": false, "error": "ratelimited"}'
    )
    waits: list[float] = []
    token_sink(slack, monkeypatch, sleep=waits.append).send(alert())
    assert waits == [1.0]
    assert slack.attempts["/api/chat.postMessage"] == 2
    assert len(slack.received) == 1


def test_500_then_success(slack, monkeypatch):
    slack.fail_next(slack.WEBHOOK_PATH, 500, body=b"oops", times=2)
    webhook_sink(slack, monkeypatch).send(alert())
    assert len(slack.received) == 1


def test_retry_budget_spent_raises_delivery_error(slack, monkeypatch):
    slack.fail_next(slack.WEBHOOK_PATH, 500, body=b"down", times=10)
    with pytest.raises(DeliveryError, match="HTTP 500"):
        webhook_sink(slack, monkeypatch, max_retries=2).send(alert())
    assert slack.attempts[slack.WEBHOOK_PATH] == 3
    assert slack.received == []


def test_non_retryable_error_is_reported_with_slacks_reason(slack, monkeypatch):
    monkeypatch.setenv("TEST_SLACK_TOKEN", "xoxb-wrong")
    config = SlackSinkConfig(
        type="slack", token="${TEST_SLACK_TOKEN}", channel="#alerts", api_url=slack.api_url
    )
    with pytest.raises(DeliveryError, match="invalid_auth"):
        SlackSink("slack", config).send(alert())


def test_connection_refused_raises_delivery_error(monkeypatch):
    with SlackServer() as gone:
        url = gone.webhook_url
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", url)
    config = SlackSinkConfig(
        type="slack", webhook_url="${TEST_SLACK_WEBHOOK}", max_retries=1, retry_backoff=0.01
    )
    with pytest.raises(DeliveryError, match="unreachable"):
        SlackSink("slack", config).send(alert())


def test_a_timeout_is_retried(slack, monkeypatch):
    slack.fail_next(slack.WEBHOOK_PATH, 200, body=b"ok", delay=2.5)  # answers too late
    webhook_sink(slack, monkeypatch, timeout=1).send(alert(title="late"))
    assert slack.attempts[slack.WEBHOOK_PATH] == 2
    assert [m["text"].split("] ")[1][:4] for m in slack.received] == ["late"]


def test_connection_refused_then_recovery(monkeypatch):
    """Slack is down (its port bound but refusing) and comes back 0.4 s later, during the
    sink's retries."""
    with SlackServer(listening=False) as slack:
        comes_back = threading.Timer(0.4, slack.listen)
        comes_back.start()
        monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.webhook_url)
        config = SlackSinkConfig(
            type="slack", webhook_url="${TEST_SLACK_WEBHOOK}", max_retries=6, retry_backoff=0.2
        )
        try:
            SlackSink("slack", config).send(alert(title="after the outage"))
        finally:
            comes_back.cancel()
            comes_back.join()
        assert len(slack.received) == 1


def test_429_storm_every_alert_arrives_exactly_once(slack, monkeypatch, tmp_path):
    from wirewatch.transforms.config import Config
    from wirewatch.transforms.sinks.dispatch import Dispatcher
    from wirewatch.transforms.state import open_store

    slack.fail_next(slack.WEBHOOK_PATH, 429, {"Retry-After": "1"}, b"rate_limited", times=3)
    slack.fail_next(slack.WEBHOOK_PATH, 500, body=b"oops", times=2)
    waits: list[float] = []
    sink = webhook_sink(slack, monkeypatch, sleep=waits.append, pace=0)
    dispatcher = Dispatcher(Config(), open_store(tmp_path), lambda name: sink)
    alerts = [alert(title=f"story {i}", id=f"s{i}") for i in range(4)]
    assert [dispatcher.offer(a).status for a in alerts] == ["sent"] * 4
    # each 429 waited its Retry-After (asked for, not slept); the two 500s the short backoff
    assert waits[:3] == [1.0, 1.0, 1.0] and len(waits) == 5 and max(waits[3:]) < 1.0
    assert [dispatcher.offer(a).status for a in alerts] == ["already_sent"] * 4  # a re-run
    assert sorted(m["text"].split("] ")[1] for m in slack.received) == [
        f"story {i} https://example.org/a" for i in range(4)
    ]


def test_the_posted_payload_is_free_of_bidi_and_zero_width_and_verbatim(slack, monkeypatch):
    webhook_sink(slack, monkeypatch).send(
        alert(title="Talks\u202e resume\u200d", summary="a\u2066b")
    )
    [message] = slack.received
    payload = json.dumps(message, ensure_ascii=False)
    assert "\u202e" not in payload and "\u200d" not in payload and "\u2066" not in payload
    assert "Talks resume" in message["text"]
    texts = [message["blocks"][0]["text"], *message["blocks"][-1]["elements"]]
    assert all(t["type"] == "mrkdwn" and t["verbatim"] is True for t in texts)


@pytest.mark.parametrize("make_sink, path", [(webhook_sink, None), (token_sink, "/api/")])
def test_a_retry_after_beyond_max_retry_after_parks_instead_of_sleeping(
    slack, monkeypatch, make_sink, path
):
    """slack_sdk's own 429 handler would sleep the 600 s; ours does not retry, the sink raises
    SinkParked with Slack's wait, after one request and no wait at all."""
    from wirewatch.transforms.sinks.base import SinkParked

    path = slack.WEBHOOK_PATH if path is None else "/api/chat.postMessage"
    slack.fail_next(path, 429, {"Retry-After": "600"}, b'{"ok": false, "error": "ratelimited"}')
    waits: list[float] = []
    with pytest.raises(SinkParked, match="600 s") as parked:
        make_sink(slack, monkeypatch, sleep=waits.append).send(alert())
    assert parked.value.seconds == 600.0 and parked.value.transient
    assert waits == [] and slack.attempts[path] == 1 and slack.received == []


def test_a_retry_after_within_max_retry_after_is_waited_for(slack, monkeypatch):
    slack.fail_next(slack.WEBHOOK_PATH, 429, {"Retry-After": "30"}, b"rate_limited")
    waits: list[float] = []
    webhook_sink(slack, monkeypatch, sleep=waits.append, max_retry_after=30).send(alert())
    assert waits == [30.0] and len(slack.received) == 1


def test_failures_say_whether_they_can_pass_by_themselves(slack, monkeypatch):
    slack.fail_next(slack.WEBHOOK_PATH, 500, body=b"down", times=2)
    with pytest.raises(DeliveryError) as outage:
        webhook_sink(slack, monkeypatch, max_retries=1).send(alert())
    slack.fail_next(slack.WEBHOOK_PATH, 404, body=b"no_service")
    with pytest.raises(DeliveryError) as gone:
        webhook_sink(slack, monkeypatch, max_retries=1).send(alert())
    assert outage.value.transient and not gone.value.transient
