"""Deliver alerts through sinks with flood control, exactly once as far as the ledger can tell.

Order for each alert: claim in the ledger (skip if already sent or held) → flood control decides
(send now, or hold in its group for a digest) → send (the sink retries) → record sent, or dead
with the reason. Held alerts are durable in the ledger; `flush_due` sends each due group as one
message.

Several workers (processes or hosts) share one ledger, so a claim is a lease: while one worker
holds an alert in 'sending', no other sends it; a worker that dies mid-send leaves the claim to
expire, and the next cycle on any worker re-offers it from its stored payload
(`reoffer_expired`), so it is never silently dropped. Due digests are claimed the same way, one
flusher per group, and so are the alerts a digest sends (`claim_held`): a second flusher of the
group finds none, and a flusher that dies leaves them to be re-offered. The one window left: a
crash after the sink accepted a message and before 'sent' is written sends that alert again
after the lease (at-least-once in that window of a few milliseconds, never lost), except on a
sink that can tell what it already holds (a JSONL file: `written`), whose re-offered alerts are
recorded sent without a second copy. Flood control's read-decide-save of a group runs under
the store's lock on that group (`locked_group`), so two workers' decisions on one group never
cross (a window slot counted twice, a hold saved over by a flush).

Batches (`offer_all`): a sink that writes locally (`batches`: a JSONL file) takes a cycle's new
alerts BATCH at a time, each batch in one store transaction and one `sink.batch()`: the lines
are written as they go, fsynced once when the batch ends, and only then is the transaction
(claims, flood-control groups, 'sent' records, story threads) committed. Inside it the batch
does its store work through a BatchLedger (batch_ledger.py): the claims, the group reads, the
outcomes and story records each in one statement for the whole batch. Crash windows:
- killed inside a batch: the transaction rolls back, so the batch's alerts are as the cycle's
  commit left them (claimed, 'sending'); their claims expire and `reoffer_expired` records
  those whose lines the file holds as sent (`written`) and sends only the others: each alert
  once, none lost;
- a power loss: lines not yet fsynced can be lost, but their 'sent' records were never
  committed (the commit follows the fsync), so they are sent again, never lost;
- the flood-control counts of a rolled-back batch are not replayed for the alerts found in the
  file (the window's count misses them once).
A sink that sends over the network (Slack, a webhook) is never batched: each message is a
side effect of its own, recorded sent at once, as above.

A sink that is down never stalls the cycle (health.py): its store record says until when it is
skipped, after failures whose retries were spent or a Retry-After longer than max_retry_after.
An alert that fails that way, or meets the sink down, is dead-lettered as deferred; once the
sink is back, `resume` redelivers the deferred alerts of the last `auto_redeliver_hours` in
the order they first failed, before the cycle's new alerts, through the same claims as
`redeliver` (each exactly once, with any number of workers).
"""

from __future__ import annotations

import functools
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Callable, Collection, Iterable, Iterator, Literal

from pydantic import BaseModel

from wirewatch.transforms.config import Config
from wirewatch.transforms.model import Alert, DeadLetter
from wirewatch.transforms.routing.flood import (
    GroupState,
    after_flush,
    decide,
    group_key,
    story_group_key,
)
from wirewatch.transforms.secrets import redact
from wirewatch.transforms.sinks.base import DeliveryError, Sink, SinkParked
from wirewatch.transforms.sinks.batch_ledger import BatchLedger
from wirewatch.transforms.sinks.health import (
    after_failure,
    after_park,
    after_success,
    is_down,
    skip_reason,
)
from wirewatch.transforms.state import Hold, Lease, StateStore
from wirewatch.transforms.state.owner import claim_owner


class Outcome(BaseModel):
    key: str
    sink: str
    article_id: str
    status: Literal["sent", "already_sent", "held", "dead"]
    dead_letter: DeadLetter | None = None
    deferred: bool = False  # dead for now: redelivered by itself once the sink is back
    skipped: bool = False  # deferred without a try: the sink was down
    digested: bool = False  # sent as one of several alerts in a digest message


def _collected(method: Callable[..., Iterator[Outcome]]) -> Callable[..., list[Outcome]]:
    """A method yielding outcomes as their ledger records are written, as a list. If it
    fails part-way, its error goes on unchanged, carrying the outcomes it reached (`reached`)."""

    @functools.wraps(method)
    def collect(*args, **kwargs) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            outcomes.extend(method(*args, **kwargs))
        except Exception as exc:
            exc.wirewatch_reached = outcomes  # type: ignore[attr-defined]
            raise
        return outcomes

    return collect


def reached(error: BaseException) -> list[Outcome]:
    """The outcomes a delivery call reached before it failed with `error`: their ledger
    records are written (a batch the failure rolled back has none), so their dead letters must
    be written too, though the cycle fails (sinks/beam.py)."""
    return getattr(error, "wirewatch_reached", [])


BATCH = 256
"""New alerts per store transaction and per fsync on a batching sink: about 1 s of delivery at
most holds the store's write lock (other workers wait for it), and a whole cycle's backlog of
a local file costs a few fsyncs, not one per alert."""

RESUME_BUDGET_SECONDS = 20.0
"""How long one cycle spends at most on a sink's backlog of deferred alerts. Slack takes about
one message a second, so a 5-minute outage's backlog resent in one cycle held the cycle for
minutes with no feed polled (bench/chaos.py: items that came and went meanwhile were never
fetched). The rest of the backlog goes out in the next cycles, still first and in order."""


class Dispatcher:
    """One per worker: the store, the sinks (built on first use) and an injectable clock.
    `owner` names this worker in the ledger's claims: the driver's name (WIREWATCH_WORKER,
    which its Beam worker processes inherit), else this process's host:pid.
    `try_down_sinks`: a person asked (`wirewatch redeliver`): try each sink even while it is
    down (after one failure there, the sink's other alerts wait behind it, as below).

    Order per sink: once an alert of a sink is deferred in a cycle (its send failed, or another
    worker is resending the sink's backlog), the sink's later alerts of that cycle are deferred
    behind it without a try, so they go out after it, in order, and an outage costs a cycle one
    retry budget per sink, not one per alert."""

    def __init__(
        self,
        config: Config,
        store: StateStore,
        build_sink: Callable[[str], Sink],
        clock: Callable[[], datetime] | None = None,
        owner: str | None = None,
        *,
        try_down_sinks: bool = False,
        resume_budget: float = RESUME_BUDGET_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        # the store's clock by default: a shared store's leases and due times are its server's
        self.config, self.store, self.clock = config, store, clock or store.now
        self.owner = owner or claim_owner()
        self._build, self.sinks = build_sink, {}
        self.try_down_sinks = try_down_sinks
        self._behind: set[str] = set()  # sinks with earlier alerts deferred in this cycle
        self.resume_budget, self._monotonic = resume_budget, monotonic

    def sink(self, name: str) -> Sink:
        if name not in self.sinks:
            self.sinks[name] = self._build(name)
        return self.sinks[name]

    def close(self) -> None:
        for sink in self.sinks.values():
            sink.close()

    def _claim(self, alert: Alert, fresh: bool = False) -> bool:
        """The ledger's claim, leased for the config's lease_seconds (longer than any send);
        `fresh` for a cycle's new alert (claim_alert)."""
        lease = Lease(self.owner, self.config.lease_seconds)
        payload = alert.model_dump_json()
        return self.store.claim_alert(alert.key, alert.sink, payload, lease, fresh=fresh)

    def offer(self, alert: Alert) -> Outcome:
        """A new alert: send it now, hold it for a digest, or skip it if it already went out
        (or another worker holds its claim: that worker sends it, or its claim expires and is
        re-offered)."""
        if not self._claim(alert, fresh=True):  # an expired claim: reoffer_expired's
            return _outcome(alert, "already_sent")
        return self._deliver_claimed(alert)

    @_collected
    def offer_all(self, alerts: list[Alert]) -> Iterator[Outcome]:
        """A sink's new alerts, in order, each as `offer` decides; on a sink that `batches`,
        BATCH at a time in one store transaction and one sink batch (see the module's crash
        windows)."""
        if not alerts:
            return
        sink = self._batching_sink(alerts[0].sink)
        if sink is None:
            yield from map(self.offer, alerts)
            return
        for start in range(0, len(alerts), BATCH):
            batch = alerts[start : start + BATCH]
            with self.store.transaction(), sink.batch():  # the fsync ends before the commit
                with self._batched(batch):
                    outcomes = [self.offer(alert) for alert in batch]
            yield from outcomes  # committed

    @contextmanager
    def _batched(self, batch: list[Alert]) -> Iterator[None]:
        """The batch's store work through a BatchLedger (batch_ledger.py). Every group the
        batch may decide on is locked when it opens, in one order (sorted keys), and held to
        the end of its transaction: two workers' batches that took them in their alerts'
        order could each wait for the other (PostgreSQL aborts one as a deadlock). Now the
        second waits for the first batch to end."""
        keys = {group_key(a) for a in batch if 0 <= a.route < len(self.config.routes)}
        keys |= {
            story_group_key(a)
            for a in batch
            if a.match.article.story_id and a.match.article.story_kind == "copy"
        }
        store, lease = self.store, Lease(self.owner, self.config.lease_seconds)
        try:
            with BatchLedger.open(store, batch, keys, lease) as self.store:
                yield
        finally:
            self.store = store

    def _batching_sink(self, name: str) -> Sink | None:
        """The sink if it batches; None if not, or if it cannot be built (then each alert
        meets that failure in `_send` and is dead-lettered with it)."""
        try:
            sink = self.sink(name)
        except Exception:  # noqa: BLE001  (reported per alert by _send)
            return None
        return sink if getattr(sink, "batches", False) else None

    @_collected
    def resume(self, sink_name: str) -> Iterator[Outcome]:
        """The start of a sink's cycle. Once the sink is not down: its deferred alerts of the
        last auto_redeliver_hours, redelivered in the order they first failed (first of all,
        so the cycle's new alerts follow them). Stops at the first that fails again (the rest
        wait for the next try), or at one whose claim another worker holds (that worker is
        resending this backlog); the cycle's new alerts for the sink are then deferred behind
        them, keeping the order. Stops too once the cycle has spent `resume_budget` seconds on
        the backlog (its new alerts then wait behind the rest of it as well)."""
        self._behind.discard(sink_name)
        hours = getattr(self.config.sinks.get(sink_name), "auto_redeliver_hours", 0)
        if not hours or self._down(self.store.sink_health(sink_name)):
            return
        since = self.clock() - timedelta(hours=hours)
        started = self._monotonic()
        for record in self.store.deferred_alerts(sink_name, since):
            if self._monotonic() - started >= self.resume_budget:
                self._behind.add(sink_name)
                break
            outcome = self.redeliver(Alert.model_validate_json(record.payload))
            if outcome.status == "already_sent":
                self._behind.add(sink_name)
                break
            yield outcome
            if outcome.deferred:
                break

    @_collected
    def reoffer_expired(self, sink_name: str) -> Iterator[Outcome]:
        """Alerts of this sink whose claim expired in 'sending' (their worker died between
        claim and outcome): claimed again, here, and delivered as a new offer would be;
        unless the sink already holds it (its worker died after the write: `written`), then
        it is only recorded sent."""
        records = self.store.expired_claims(sink_name, self.clock())
        written = self._written(sink_name, [record.key for record in records])
        for record in records:
            alert = Alert.model_validate_json(record.payload)
            if not self._claim(alert):
                continue
            if alert.key in written:
                yield self._record_written(alert)
            else:
                yield self._deliver_claimed(alert)

    def _written(self, sink_name: str, keys: list[str]) -> set[str]:
        """The keys the sink says it already holds; none if it cannot tell."""
        if not keys:
            return set()
        try:
            written = getattr(self.sink(sink_name), "written", None)
            return written(keys) if written is not None else set()
        except Exception:  # noqa: BLE001  (unreadable: sent again, as without the check)
            return set()

    def _record_written(self, alert: Alert) -> Outcome:
        """An alert its sink holds though the ledger never heard: sent, and not again."""
        self.store.finish_alert(alert.key, "sent", 1)
        if alert.match.article.story_kind != "copy":
            self._remember_story(alert, None)
        return _outcome(alert, "already_sent")

    def _deliver_claimed(self, alert: Alert) -> Outcome:
        route = (
            self.config.routes[alert.route] if 0 <= alert.route < len(self.config.routes) else None
        )
        tagged = alert.match.article
        if tagged.article.edited and tagged.story_id:
            edited = self._edited(alert)
            if edited is not None:
                return edited
        first = (
            self.store.story_alert(tagged.story_id, alert.match.rule_id, alert.sink)
            if tagged.story_id and tagged.story_kind == "copy"
            else None
        )
        if first is not None:
            return self._another_source(alert, route, thread_ts=first[1])
        if route is not None:
            key = group_key(alert)
            with self.store.locked_group(key) as state:  # no other worker decides in between
                decision = decide(route, alert.match.severity, state, self.clock(), alert.key)
                holds = [Hold(alert.key)] if decision.action == "hold" else []
                self.store.save_group(key, alert.sink, decision.state, *holds)
            if holds:
                return _outcome(alert, "held")
        return self._send([alert], _send_one)[0]

    def _edited(self, alert: Alert) -> Outcome | None:
        """An edited entry that now matches this rule (the ledger already stopped a rule that
        alerted on this article). Never again for a story the rule already alerted on this
        sink; in the story's Slack thread where there is one (sent by any rule); else None:
        the alert goes on like a new one, marked Updated by the renderers."""
        story, rule = alert.match.article.story_id, alert.match.rule_id
        if self.store.story_alert(story, rule, alert.sink) is not None:
            self.store.finish_alert(
                alert.key, "sent", 0, f"not sent: rule {rule} already alerted story {story}"
            )
            return _outcome(alert, "already_sent")
        thread = self.store.story_thread(story, alert.sink)
        if thread and getattr(self.sink(alert.sink), "threads", False):
            return self._send([alert], lambda sink, a: _send_in_thread(sink, a[0], thread))[0]
        return None

    def _another_source(self, alert: Alert, route, thread_ts: str | None) -> Outcome:
        """A copy of a story this rule already alerted on this sink: never a new top-level
        alert. A thread reply where the sink has threads (Slack bot token), else folded into
        one 'more sources' digest after the route's group_interval."""
        sink = self.sink(alert.sink)
        if thread_ts and getattr(sink, "threads", False):
            return self._send([alert], lambda s, a: s.reply(a[0], thread_ts))[0]
        story = alert.match.article.story_id
        key = story_group_key(alert)
        folded = alert.model_copy(update={"group": f"more sources for story {story}"})
        with self.store.locked_group(key) as state:
            if state.due_at is None:
                wait = route.group_interval if route is not None else 300
                state = state.model_copy(update={"due_at": self.clock() + timedelta(seconds=wait)})
            self.store.save_group(key, alert.sink, state, Hold(alert.key, folded.model_dump_json()))
        return _outcome(alert, "held")

    @_collected
    def flush_due(self, sink_name: str) -> Iterator[Outcome]:
        """Send every group of this sink whose hold ended: one message (a digest if several)."""
        now = self.clock()
        health = self.store.sink_health(sink_name)
        if self._down(health):  # due again when the sink is back (the watch loop wakes then)
            for key in self.store.claim_due_groups(sink_name, now, self.config.lease_seconds):
                with self.store.locked_group(key) as state:
                    due = state.model_copy(update={"due_at": health.down_until})
                    self.store.save_group(key, sink_name, due)
            return
        lease = Lease(self.owner, self.config.lease_seconds)
        for key in self.store.claim_due_groups(sink_name, now, self.config.lease_seconds):
            # claimed in the ledger too: no second flusher sends them while this one does
            alerts = [
                Alert.model_validate_json(r.payload) for r in self.store.claim_held(key, lease)
            ]
            if alerts:
                sent = self._send(alerts, _send_held)
                if len(alerts) > 1:  # one digest message: the run summary counts them apart
                    sent = [o.model_copy(update={"digested": o.status == "sent"}) for o in sent]
                yield from sent
            with self.store.locked_group(key):  # no hold saved between the check and the save
                flushed = after_flush(GroupState(), now)
                if self.store.held_alerts(key):  # another worker held one here while we sent
                    flushed = flushed.model_copy(update={"due_at": now})  # out next cycle
                self.store.save_group(key, sink_name, flushed)

    def redeliver(self, alert: Alert, written: Collection[str] = ()) -> Outcome:
        """A dead alert, resent on its own (no flood control: a person asked for it, or it
        waited out its sink's outage and goes out as it would have then). `written`: keys its
        sink already holds (`written_of`), only recorded sent: a process killed inside a
        batch left them claimed after their lines reached the file."""
        if not self._claim(alert):
            return _outcome(alert, "already_sent")
        if alert.key in written:
            return self._record_written(alert)
        return self._send([alert], _send_one)[0]

    def written_of(self, alerts: Iterable[Alert]) -> set[str]:
        """The keys of these alerts that their sinks say they already hold (each sink that
        can tell reads its record once)."""
        by_sink: dict[str, list[str]] = {}
        for alert in alerts:
            by_sink.setdefault(alert.sink, []).append(alert.key)
        return {key for sink, keys in by_sink.items() for key in self._written(sink, keys)}

    def _send(
        self, alerts: list[Alert], send: Callable[[Sink, list[Alert]], None]
    ) -> list[Outcome]:
        """Send unless the sink is down (then defer without a try); every outcome updates the
        sink's health: a transient failure counts against it, a success makes it healthy."""
        sink_name = alerts[0].sink
        health = self.store.sink_health(sink_name)
        if self._down(health):
            return self._dead(alerts, skip_reason(health), deferred=True, skipped=True)
        if sink_name in self._behind:
            return self._dead(
                alerts,
                f"skipped: earlier alerts of sink '{sink_name}' wait to be redelivered; "
                "this one follows them, in order, once the sink is back",
                deferred=True,
                skipped=True,
            )
        try:
            ts = send(self.sink(sink_name), alerts)
        except Exception as exc:  # a bug in one sink must not lose alerts or stop the others
            reason = redact(
                str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
            )
            transient = isinstance(exc, DeliveryError) and exc.transient
            if transient:
                self._behind.add(sink_name)
                now = self.clock()
                self.store.save_sink_health(
                    after_park(health, now, exc.seconds, reason)
                    if isinstance(exc, SinkParked)
                    else after_failure(health, now, reason)
                )
            return self._dead(alerts, reason, deferred=transient)
        recovered = after_success(health)
        if recovered is not None:
            self.store.save_sink_health(recovered)
        for alert in alerts:
            self.store.finish_alert(alert.key, "sent", 1)
        if len(alerts) == 1 and alerts[0].match.article.story_kind != "copy":
            self._remember_story(alerts[0], ts)
        return [_outcome(alert, "sent") for alert in alerts]

    def _down(self, health) -> bool:
        """Skip this sink now? (A person's redeliver tries it anyway.)"""
        return not self.try_down_sinks and is_down(health, self.clock())

    def _dead(
        self, alerts: list[Alert], reason: str, *, deferred: bool, skipped: bool = False
    ) -> list[Outcome]:
        """Each alert dead in the ledger (deferred: redelivered by itself once the sink is
        back) with a dead letter that says why and carries the alert."""
        outcomes = []
        for alert in alerts:
            attempts = 0 if skipped else 1
            if not self.store.finish_alert(
                alert.key, "dead", attempts, reason, deferred=deferred, owner=self.owner
            ):  # another worker holds or finished it: no dead letter for it from us
                outcomes.append(_outcome(alert, "already_sent"))
                continue
            letter = DeadLetter.of(
                "deliver",
                f"sink:{alert.sink}",
                reason,
                detail=alert.key,
                raw=alert.model_dump_json(),
                raw_limit=100_000,
            )
            outcomes.append(_outcome(alert, "dead", letter, deferred=deferred, skipped=skipped))
        return outcomes

    def _remember_story(self, alert: Alert, ts: str | None) -> None:
        """The story's first top-level alert for this rule and sink: later copies reply to it."""
        story = alert.match.article.story_id
        if story:
            self.store.record_story_alert(story, alert.match.rule_id, alert.sink, alert.key, ts)


def _send_held(sink: Sink, alerts: list[Alert]) -> str | None:
    """One held alert goes out as itself; several as one digest."""
    if len(alerts) == 1:
        return sink.send(alerts[0])
    sink.send_digest(alerts, alerts[0].group)
    return None


def _send_one(sink: Sink, alerts: list[Alert]) -> str | None:
    return sink.send(alerts[0])


def _send_in_thread(sink: Sink, alert: Alert, thread_ts: str) -> str:
    """The whole alert as a reply; returns the thread's ts, which is what the story keeps (Slack
    threads replies under the parent message, not under another reply)."""
    sink.send(alert, thread_ts=thread_ts)
    return thread_ts


def _outcome(alert: Alert, status: str, letter: DeadLetter | None = None, **flags: bool) -> Outcome:
    return Outcome(
        key=alert.key,
        sink=alert.sink,
        article_id=alert.match.article.article.id,
        status=status,
        dead_letter=letter,
        **flags,
    )
