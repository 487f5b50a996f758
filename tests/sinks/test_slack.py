"""SlackSink against a loopback server speaking Slack's webhook and Web API protocols."""

import time

import pytest

from tests.factories import alert
from tests.loopback import SlackServer
from transforms.config import SlackSink as SlackSinkConfig
from transforms.sinks.base import DeliveryError
from transforms.sinks.slack import SlackSink


@pytest.fixture
def slack():
    with SlackServer() as server:
        yield server


def webhook_sink(slack, monkeypatch, **overrides):
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.webhook_url)
    config = SlackSinkConfig(type="slack", webhook_url="${TEST_SLACK_WEBHOOK}", retry_backoff=0.01,
                             **overrides)
    return SlackSink("slack", config)


def token_sink(slack, monkeypatch, **overrides):
    monkeypatch.setenv("TEST_SLACK_TOKEN", slack.token)
    config = SlackSinkConfig(type="slack", token="${TEST_SLACK_TOKEN}", channel="#alerts",
                             api_url=slack.api_url, retry_backoff=0.01, **overrides)
    return SlackSink("slack", config)


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
    started = time.monotonic()
    webhook_sink(slack, monkeypatch).send(alert())
    assert time.monotonic() - started >= 2.0
    assert slack.attempts[slack.WEBHOOK_PATH] == 3
    assert len(slack.received) == 1


def test_web_api_429_then_success(slack, monkeypatch):
    slack.fail_next("/api/chat.postMessage", 429, {"Retry-After": "1"},
                    b'{"ok": false, "error": "ratelimited"}')
    token_sink(slack, monkeypatch).send(alert())
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
    config = SlackSinkConfig(type="slack", token="${TEST_SLACK_TOKEN}", channel="#alerts",
                             api_url=slack.api_url)
    with pytest.raises(DeliveryError, match="invalid_auth"):
        SlackSink("slack", config).send(alert())


def test_connection_refused_raises_delivery_error(monkeypatch):
    with SlackServer() as gone:
        url = gone.webhook_url
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", url)
    config = SlackSinkConfig(type="slack", webhook_url="${TEST_SLACK_WEBHOOK}", max_retries=1,
                             retry_backoff=0.01)
    with pytest.raises(DeliveryError, match="unreachable"):
        SlackSink("slack", config).send(alert())
