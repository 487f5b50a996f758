"""Dispatcher: the ledger makes delivery exactly-once across retries, re-runs and restarts."""

import hashlib
import hmac
import json

import pytest

from tests.factories import alert
from tests.loopback import FeedServer, SlackServer
from wirewatch.transforms.config import Config
from wirewatch.transforms.config import SlackSink as SlackSinkConfig
from wirewatch.transforms.config import WebhookSink as WebhookSinkConfig
from wirewatch.transforms.sinks.dispatch import Dispatcher
from wirewatch.transforms.sinks.slack import SlackSink
from wirewatch.transforms.sinks.webhook import WebhookSink
from wirewatch.transforms.state import open_store


def deliver(alert, sink, store):
    return Dispatcher(Config(), store, lambda name: sink).offer(alert)


class Recorder:
    name = "rec"

    def __init__(self, fail_with=None):
        self.sent, self.fail_with = [], fail_with

    def send(self, a):
        if self.fail_with:
            raise self.fail_with
        self.sent.append(a.key)

    def close(self):
        pass


def test_second_delivery_of_the_same_alert_is_skipped(tmp_path):
    store, sink, a = open_store(tmp_path), Recorder(), alert(sink="rec")
    assert deliver(a, sink, store).status == "sent"
    assert deliver(a, sink, open_store(tmp_path)).status == "already_sent"
    assert sink.sent == [a.key]


def test_a_crashing_sink_dead_letters_the_alert_with_its_payload(tmp_path):
    store = open_store(tmp_path)
    outcome = deliver(alert(sink="rec"), Recorder(fail_with=RuntimeError("boom")), store)
    assert outcome.status == "dead"
    assert outcome.dead_letter.reason == "RuntimeError: boom"
    assert json.loads(outcome.dead_letter.raw)["sink"] == "rec"
    [dead] = store.alerts("dead")
    assert dead.error == "RuntimeError: boom"


def test_redeliver_after_slack_was_down_sends_each_alert_exactly_once(tmp_path, monkeypatch):
    from wirewatch.pipelines.cli import main

    with SlackServer() as slack:
        monkeypatch.setenv("T_HOOK", slack.webhook_url)
        config_path = tmp_path / "c.yaml"
        config_path.write_text(
            "sinks:\n  hook: {type: slack, webhook_url: '${T_HOOK}', "
            "max_retries: 1, retry_backoff: 0.01}\n"
        )
        sink = SlackSink(
            "hook",
            SlackSinkConfig(
                type="slack", webhook_url="${T_HOOK}", max_retries=1, retry_backoff=0.01
            ),
        )
        store = open_store(tmp_path / "state")
        slack.fail_next(slack.WEBHOOK_PATH, 503, times=4)
        alerts = [alert(sink="hook", title=f"Story {i}", id=f"a{i}") for i in range(2)]
        assert [deliver(a, sink, store).status for a in alerts] == ["dead", "dead"]
        assert slack.received == []
        args = ["redeliver", "--config", str(config_path), "--state-dir", str(tmp_path / "state")]
        assert main(args) == 0
        assert main(args) == 0  # nothing left to resend
        assert sorted(m["text"].split("] ")[1][:7] for m in slack.received) == [
            "Story 0",
            "Story 1",
        ]


def test_webhook_sink_signs_the_body_and_retries_5xx(monkeypatch):
    with FeedServer() as server:  # any loopback HTTP peer that records requests will do
        server.feeds["/hook"] = (200, {}, b"ok")
        bodies = []
        original = server._handle

        def record(handler, body):
            bodies.append((dict(handler.headers), body))
            original(handler, body)

        server._handle = record
        monkeypatch.setenv("T_SECRET", "s3cret")
        sink = WebhookSink(
            "hook", WebhookSinkConfig(type="webhook", url=server.url("/hook"), secret="${T_SECRET}")
        )
        a = alert(sink="hook")
        sink.send(a)
    headers, body = bodies[-1]
    assert json.loads(body)["key"] == a.key
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Wirewatch-Signature"] == f"sha256={expected}"


@pytest.mark.parametrize("status, attempts", [(503, 3), (404, 1)])
def test_webhook_retries_only_what_can_succeed_later(status, attempts):
    from wirewatch.transforms.sinks.base import DeliveryError

    with FeedServer() as server:
        server.feeds["/hook"] = (status, {}, b"no")
        sink = WebhookSink(
            "hook",
            WebhookSinkConfig(
                type="webhook", url=server.url("/hook"), max_retries=2, retry_backoff=0.01
            ),
        )
        with pytest.raises(DeliveryError, match=f"HTTP {status}"):
            sink.send(alert(sink="hook"))
        assert len(server.requests) == attempts


def test_webhook_parks_on_a_long_retry_after_without_waiting():
    from wirewatch.transforms.sinks.base import SinkParked

    with FeedServer() as server:
        server.feeds["/hook"] = (429, {"Retry-After": "600"}, b"slow down")
        sink = WebhookSink("hook", WebhookSinkConfig(type="webhook", url=server.url("/hook")))
        waits: list[float] = []
        sink.retry = sink.retry.__class__(max_retries=3, backoff=0.01, sleep=waits.append)
        with pytest.raises(SinkParked) as parked:
            sink.send(alert(sink="hook"))
        assert parked.value.seconds == 600.0 and waits == [] and len(server.requests) == 1
