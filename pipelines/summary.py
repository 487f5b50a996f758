"""The summary people read at the end of a cycle: Beam's cycle totals plus what the state store
says the cycle did per rule, per sink and per feed.

Why two sources: counters are cycle totals under ONE fixed set of names (namespace `NS`, created
once in each DoFn). Breakdowns by rule, sink or feed would need counter names built from data
(one counter per rule: 10,000 at 10,000 rules), so they come from the outcomes instead: the alert
ledger's records updated since the cycle started (key `rule|article|sink`) and each polled feed's
last status. What waits for a digest after the cycle (`held`, `held_due`) is the store's too: it
is what the next cycles will send, whoever held it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Iterable

from pydantic import BaseModel, Field

from wirewatch.transforms.beam_support.metrics import NS

LEDGER_STATUSES = ("sent", "held", "dead")  # what a cycle can leave in the ledger


class CycleSummary(BaseModel):
    seconds: float = 0.0
    counters: dict[str, int] = Field(default_factory=dict)
    per_feed: dict[str, dict[str, int]] = Field(default_factory=dict)
    per_sink: dict[str, dict[str, int]] = Field(default_factory=dict)
    per_rule: dict[str, dict[str, int]] = Field(default_factory=dict)
    held: int = 0  # alerts waiting in the store for a digest when the cycle ended
    held_due: str | None = None  # when the first held group is due (UTC, ISO 8601)
    pipelines: int = 1  # Beam pipelines the run started: 0 when it found nothing to do

    def get(self, name: str) -> int:
        return self.counters.get(name, 0)

    def then(self, later: CycleSummary, outcomes: dict[str, dict] | None = None) -> CycleSummary:
        """This cycle and a later one as one run: totals added up, the feeds of both; per rule
        and sink, the later cycle's, or with `outcomes` those of the whole run (cycle_outcomes:
        `run --once` sending the bursts it held, so an alert the first cycle held and the
        second sent counts once, as sent, and 'held' is what still waits of this run); what
        waits in the store, from the later cycle."""
        counters = {
            name: self.get(name) + later.get(name) for name in {**self.counters, **later.counters}
        }
        per_sink, per_rule = later.per_sink, later.per_rule
        if outcomes is not None:
            per_sink, per_rule = outcomes["per_sink"], outcomes["per_rule"]
            counters["alerts_held"] = sum(s.get("held", 0) for s in per_sink.values())
        return CycleSummary(
            seconds=self.seconds + later.seconds,
            counters=counters,
            per_feed={**self.per_feed, **later.per_feed},
            per_sink=per_sink,
            per_rule=per_rule,
            held=later.held,
            held_due=later.held_due,
            pipelines=self.pipelines + later.pipelines,
        )

    def render(self) -> str:
        g = self.get
        digested = f" ({g('alerts_digested')} of them in digests)" if g("alerts_digested") else ""
        return "\n".join(
            [
                f"cycle finished in {self.seconds:.1f} s",
                f"  feeds:        {g('feeds_ok')} ok, {g('feeds_not_modified')} not modified, "
                f"{g('feeds_failed')} failed",
                f"  articles:     {g('articles_new')} new, {g('articles_seen')} seen before, "
                f"{g('articles_duplicate_in_run')} duplicate in this run, "
                f"{g('articles_backfill_skipped')} older than the first-poll backfill window "
                f"({g('entries')} entries, {g('entries_skipped_seen')} skipped unparsed)",
                f"  matches:      {g('matches')}",
                f"  alerts:       {g('alerts_sent')} sent{digested}, {g('alerts_held')} held for a "
                f"digest, {g('alerts_already_sent')} already sent, {g('alerts_dead')} dead"
                + self._deferred(),
                f"  held:         {self._waiting()}",
                f"  dead letters: {g('dead_letters')}",
            ]
        )

    def _deferred(self) -> str:
        """Dead for now only: their sink was down or asked to wait. Said apart, or a sink's
        outage read as alerts lost."""
        deferred = self.get("alerts_deferred")
        if not deferred:
            return ""
        return f" ({deferred} of them wait for their sink: resent by themselves once it is back)"

    def _waiting(self) -> str:
        if not self.held:
            return "0 alerts wait for a digest"
        when = f"; the first group is due at {self.held_due}" if self.held_due else ""
        return f"{self.held} alerts wait for a digest{when} (a later cycle or run sends them)"


def summarize(result, seconds: float, store, feed_ids: Iterable[str], since: datetime):
    """A finished cycle's summary: `result`'s counters, the store's outcomes since `since`,
    and what waits in the store for a digest."""
    return store_summary(cycle_counters(result), seconds, store, feed_ids, since)


def store_summary(
    counters: dict[str, int],
    seconds: float,
    store,
    feed_ids: Iterable[str],
    since: datetime,
    pipelines: int = 1,
) -> CycleSummary:
    """`summarize` from counters counted without a pipeline result (pipelines/nothing_new.py)."""
    return CycleSummary(
        seconds=seconds,
        counters=counters,
        held=store.counts().get("alerts_held", 0),
        held_due=_utc(store.next_group_due()),
        pipelines=pipelines,
        **cycle_outcomes(store, feed_ids, since),
    )


def cycle_counters(result) -> dict[str, int]:
    """The cycle totals our DoFns counted under NS; {} when the runner reports no metrics."""
    try:
        query = result.metrics().query()
    except Exception:  # noqa: BLE001  some runners do not report metrics back to the driver
        return {}
    counters: Counter[str] = Counter()
    for counter in query["counters"]:
        if counter.key.metric.namespace == NS:
            value = counter.committed if counter.committed is not None else counter.attempted
            counters[counter.key.metric.name] += value
    return dict(counters)


def cycle_outcomes(store, feed_ids: Iterable[str], since: datetime) -> dict[str, dict]:
    """Per rule, per sink and per feed, read back from the store after the cycle committed.

    Rules: distinct articles alerted per rule (`matches`) and alerts per ledger status; sinks:
    alerts per ledger status. 'already_sent' is not a ledger change, so only the cycle total
    counts it.
    """
    per_rule: dict[str, dict[str, int]] = {}
    per_sink: dict[str, dict[str, int]] = {}
    matched: dict[str, set[str]] = {}
    for status in LEDGER_STATUSES:
        for record in store.alerts(status, since):
            rule, _, rest = record.key.partition("|")  # rule|article|sink
            article = rest.rpartition("|")[0]
            bump(per_sink.setdefault(record.sink, {}), status)
            bump(per_rule.setdefault(rule, {}), status)
            matched.setdefault(rule, set()).add(article)
    for rule, articles in matched.items():
        per_rule[rule]["matches"] = len(articles)
    per_feed: dict[str, dict[str, int]] = {}
    for feed_id in feed_ids:
        status = store.feed_state(feed_id).last_status
        if status:
            per_feed[feed_id] = {status: 1}
    return {"per_rule": per_rule, "per_sink": per_sink, "per_feed": per_feed}


def bump(counts: dict[str, int], name: str) -> None:
    counts[name] = counts.get(name, 0) + 1


def _utc(at: datetime | None) -> str | None:
    return f"{at.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}" if at else None
