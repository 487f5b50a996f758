"""Slack delivery through slack_sdk: an incoming webhook, or a bot token and chat.postMessage.

Retries are slack_sdk's own strategy objects, passed explicitly: its default handlers retry only
connection errors, so 429 (RateLimitErrorRetryHandler) and 500/503 must be added by hand.
They decide whether to retry; the wait is our RetryPolicy's (retry.py), the one the webhook sink
uses: Retry-After when Slack sends it on a 429, else the policy's backoff. slack_sdk's own 429
handler sleeps whatever Slack asks for; ours does not retry a 429 whose Retry-After exceeds the
sink's `max_retry_after`, and the sink raises SinkParked instead (the dispatcher parks the
sink; the process never sleeps ten minutes). What is left after the retry budget raises
DeliveryError (transient when it can pass by itself) and becomes a dead letter.
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
from wirewatch.transforms.sinks.base import DeliveryError, SinkParked
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
    """slack_sdk's 429 handler: the wait honours Slack's Retry-After, up to the policy's
    `max_retry_after`; a longer one is not retried (the 429 reaches the sink, which parks)."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return super()._can_retry(
            state=state, request=request, response=response, error=error
        ) and not self.policy.parks(self._retry_after(response, error))

    def _retry_after(self, response, error) -> str | None:
        if response is None:
            raise error
        return _header(response.headers, "retry-after")


def _header(headers, name: str) -> str | None:
    """A header from slack_sdk's header dicts (values may be lists), any case."""
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) else value
    return None


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
        self.policy = RetryPolicy.of(config, sleep=sleep)
        handlers = retry_handlers(self.policy)
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

    def send(self, alert: Alert, thread_ts: str | None = None) -> str | None:
        """Returns the message ts (bot token), so later copies of the story can reply to it.
        With `thread_ts` the whole alert goes into that thread (an edited entry that matches a
        new rule, under the story's first message)."""
        return self._post(*slack_message(alert), thread_ts=thread_ts)

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
                    raise self._failure(
                        f"Slack webhook answered HTTP {response.status_code}: {response.body[:200]}",
                        response.status_code,
                        response.headers,
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
            raise self._failure(
                f"Slack API error: {exc.response.get('error', exc)} "
                f"(HTTP {exc.response.status_code})",
                exc.response.status_code,
                exc.response.headers,
            ) from None
        except (URLError, OSError) as exc:
            raise DeliveryError(f"Slack unreachable: {exc}", transient=True) from None

    def _failure(self, message: str, status: int, headers) -> DeliveryError:
        """What a non-success answer means: a park when a 429 asks for a longer wait than
        max_retry_after, transient when it can pass by itself (429, 5xx), else permanent."""
        if status == 429:
            retry_after = _header(headers, "retry-after")
            seconds = self.policy.parks(retry_after)
            if seconds is not None:
                return SinkParked(
                    f"{message}; Slack asked to wait {seconds:.0f} s (Retry-After), "
                    f"more than max_retry_after ({self.policy.max_retry_after:.0f} s)",
                    seconds,
                )
        return DeliveryError(message, transient=RetryPolicy.retryable(status))

    def close(self) -> None:
        pass
