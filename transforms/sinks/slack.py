"""Slack delivery through slack_sdk: an incoming webhook, or a bot token and chat.postMessage.

Retries are slack_sdk's own strategy objects, passed explicitly: its default handlers retry only
connection errors, so 429 (RateLimitErrorRetryHandler) and 500/503 must be added by hand.
They decide whether to retry; the wait is our RetryPolicy's (retry.py), the one the webhook sink
uses: Retry-After when Slack sends it on a 429, else the policy's backoff. What is left after
the retry budget raises DeliveryError and becomes a dead letter the caller can redeliver.
"""

from __future__ import annotations

import socket
import time
from http.client import RemoteDisconnected
from typing import Callable
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from wirewatch.transforms.model import Alert
from wirewatch.transforms.sinks.base import DeliveryError
from wirewatch.transforms.sinks.render import slack_digest, slack_message, slack_reply
from wirewatch.transforms.sinks.retry import RetryPolicy


class _PolicyWait:
    """Mixed into a slack_sdk handler: the handler decides whether to retry, the policy waits
    (slack_sdk counts attempts from 0, the policy from 1)."""

    def __init__(self, policy: RetryPolicy, **kwargs):
        super().__init__(max_retry_count=policy.max_retries, **kwargs)
        self.policy = policy

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        retry_after = self._retry_after(response, error)
        state.next_attempt_requested = True
        self.policy.wait(state.current_attempt + 1, retry_after)
        state.increment_current_attempt()

    def _retry_after(self, response, error) -> str | None:
        return None


class _ConnectionRetry(_PolicyWait, ConnectionErrorRetryHandler):
    pass


class _ServerErrorRetry(_PolicyWait, ServerErrorRetryHandler):
    pass


class _RateLimitRetry(_PolicyWait, RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler: the wait honours Slack's Retry-After."""

    def _retry_after(self, response, error) -> str | None:
        if response is None:
            raise error
        return next((v[0] for k, v in response.headers.items() if k.lower() == "retry-after"), None)


def retry_handlers(policy: RetryPolicy) -> list:
    return [
        _ConnectionRetry(
            policy,
            error_types=[
                URLError,
                ConnectionError,
                RemoteDisconnected,
                socket.timeout,
                TimeoutError,
            ],
        ),
        _RateLimitRetry(policy),
        _ServerErrorRetry(policy),
    ]


class SlackSink:
    def __init__(self, name: str, config, *, sleep: Callable[[float], None] = time.sleep):
        """`sleep` is how retries wait (see RetryPolicy.sleep); `pace` always uses time.sleep."""
        self.name = name
        handlers = retry_handlers(RetryPolicy.of(config, sleep=sleep))
        timeout = int(max(1, config.timeout))
        self.channel = config.channel
        self.pace, self._last_post = config.pace, 0.0
        self.webhook = self.web = None
        if config.webhook_url and config.webhook_url.get_secret_value():
            self.webhook = WebhookClient(
                config.webhook_url.get_secret_value(), timeout=timeout, retry_handlers=handlers
            )
        else:
            kwargs = {"base_url": config.api_url} if config.api_url else {}
            self.web = WebClient(
                token=config.token.get_secret_value(),
                timeout=timeout,
                retry_handlers=handlers,
                **kwargs,
            )

    @property
    def threads(self) -> bool:
        """Only the Web API (bot token) returns a message ts that replies can thread under."""
        return self.web is not None

    def send(self, alert: Alert) -> str | None:
        """Returns the message ts (bot token), so later copies of the story can reply to it."""
        return self._post(*slack_message(alert))

    def send_digest(self, alerts: list[Alert], label: str) -> None:
        self._post(*slack_digest(alerts, label))

    def reply(self, alert: Alert, thread_ts: str) -> None:
        """Another source for a story already alerted: a reply in that message's thread."""
        self._post(*slack_reply(alert), thread_ts=thread_ts)

    def _pace(self) -> None:
        """Slack allows about one message per second per channel: space them out."""
        wait = self._last_post + self.pace - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_post = time.monotonic()

    def _post(self, text: str, blocks: list[dict], thread_ts: str | None = None) -> str | None:
        self._pace()
        try:
            if self.webhook is not None:
                response = self.webhook.send(text=text, blocks=blocks, unfurl_links=False)
                # WebhookClient returns 4xx/5xx instead of raising: check it.
                if response.status_code != 200:
                    raise DeliveryError(
                        f"Slack webhook answered HTTP {response.status_code}: {response.body[:200]}"
                    )
                return None
            response = self.web.chat_postMessage(
                channel=self.channel,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                thread_ts=thread_ts,
            )
            return response.get("ts")
        except SlackApiError as exc:
            raise DeliveryError(
                f"Slack API error: {exc.response.get('error', exc)} "
                f"(HTTP {exc.response.status_code})"
            ) from None
        except (URLError, OSError) as exc:
            raise DeliveryError(f"Slack unreachable: {exc}") from None

    def close(self) -> None:
        pass
