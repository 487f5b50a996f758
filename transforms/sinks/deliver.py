"""Deliver one alert through one sink, exactly once as far as the ledger can tell.

Order: claim in the ledger (skip if already sent) → send (the sink retries) → record sent, or
record dead with the reason. The one window left: a crash after Slack accepted the message and
before 'sent' is written leaves the alert 'sending'; the next cycle sends it again (at-least-once
in that window of a few milliseconds, never silently lost).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from transforms.model import Alert, DeadLetter
from transforms.sinks.base import DeliveryError, Sink
from transforms.store import StateStore


class Outcome(BaseModel):
    key: str
    sink: str
    article_id: str
    status: Literal["sent", "already_sent", "dead"]
    dead_letter: DeadLetter | None = None


def deliver(alert: Alert, sink: Sink, store: StateStore) -> Outcome:
    article_id = alert.match.article.article.id
    if not store.claim_alert(alert.key, alert.sink, alert.model_dump_json()):
        return Outcome(key=alert.key, sink=alert.sink, article_id=article_id,
                       status="already_sent")
    try:
        sink.send(alert)
    except Exception as exc:  # a bug in one sink must not lose the alert or stop the others
        reason = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
        store.finish_alert(alert.key, "dead", 1, reason)
        letter = DeadLetter.of("deliver", f"sink:{alert.sink}", reason, detail=alert.key,
                               raw=alert.model_dump_json(), raw_limit=100_000)
        return Outcome(key=alert.key, sink=alert.sink, article_id=article_id, status="dead",
                       dead_letter=letter)
    store.finish_alert(alert.key, "sent", 1)
    return Outcome(key=alert.key, sink=alert.sink, article_id=article_id, status="sent")
