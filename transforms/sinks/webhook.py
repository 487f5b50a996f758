"""Generic webhook sink: the Alert as JSON POST, optionally signed with HMAC-SHA256.

The signature header is `X-Wirewatch-Signature: sha256=<hex>` over the exact body bytes, like
GitHub's webhooks, so receivers can verify with the shared secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from wirewatch.transforms.model import Alert
from wirewatch.transforms.sinks.base import DeliveryError, SinkParked
from wirewatch.transforms.sinks.retry import RetryPolicy


class WebhookSink:
    def __init__(self, name: str, config):
        self.name = name
        self.url = config.url  # a SecretUrl: it shows as https://host/***
        self.secret = config.secret.get_secret_value().encode() if config.secret else None
        self.retry = RetryPolicy.of(config)
        self.client = httpx.Client(
            timeout=config.timeout, headers={"User-Agent": "wirewatch-webhook/0.1"}
        )

    def send(self, alert: Alert) -> None:
        self._post(alert.model_dump_json().encode(), alert.key)

    def send_digest(self, alerts: list[Alert], label: str) -> None:
        body = json.dumps({"digest": label, "alerts": [a.model_dump(mode="json") for a in alerts]})
        self._post(body.encode(), "digest:" + ",".join(a.key for a in alerts)[:1000])

    def _post(self, body: bytes, key: str) -> None:
        headers = {"Content-Type": "application/json", "X-Wirewatch-Key": key}
        if self.secret:
            digest = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
            headers["X-Wirewatch-Signature"] = f"sha256={digest}"
        problem, retry_after, transient = "", None, True
        for attempt in range(self.retry.max_retries + 1):
            if attempt:
                self.retry.wait(attempt, retry_after)
            try:
                response = self.client.post(
                    self.url.get_secret_value(), content=body, headers=headers
                )
            except httpx.HTTPError as exc:
                problem, retry_after, transient = f"{type(exc).__name__}: {exc}", None, True
                continue
            if response.is_success:
                return
            problem = f"HTTP {response.status_code}"
            transient = self.retry.retryable(response.status_code)
            retry_after = (
                response.headers.get("Retry-After") if response.status_code == 429 else None
            )
            parked = self.retry.parks(retry_after)
            if parked is not None:  # longer than max_retry_after: park the sink, do not sleep
                raise SinkParked(
                    f"webhook {self.url} answered HTTP 429 asking to wait {parked:.0f} s "
                    f"(Retry-After), more than max_retry_after "
                    f"({self.retry.max_retry_after:.0f} s)",
                    parked,
                )
            if not transient:
                break
        raise DeliveryError(
            f"webhook {self.url} failed after {attempt + 1} attempts: {problem}",
            transient=transient,
        )

    def close(self) -> None:
        self.client.close()
