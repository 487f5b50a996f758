"""Turn a finished cycle's Beam metrics into the summary people read at the end of a run."""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, Field

from wirewatch.transforms.beam_support.metrics import NS


class CycleSummary(BaseModel):
    seconds: float = 0.0
    counters: dict[str, int] = Field(default_factory=dict)
    per_feed: dict[str, dict[str, int]] = Field(default_factory=dict)
    per_sink: dict[str, dict[str, int]] = Field(default_factory=dict)

    def get(self, name: str) -> int:
        return self.counters.get(name, 0)

    @classmethod
    def from_result(cls, result, seconds: float) -> CycleSummary:
        counters: dict[str, int] = defaultdict(int)
        per: dict[str, dict[str, dict[str, int]]] = {"feed": {}, "sink": {}}
        try:
            query = result.metrics().query()
        except Exception:  # some runners do not report metrics back to the driver
            return cls(seconds=seconds)
        for counter in query["counters"]:
            namespace, name = counter.key.metric.namespace, counter.key.metric.name
            value = counter.committed if counter.committed is not None else counter.attempted
            if namespace == NS or namespace.startswith("wirewatch."):
                # our DoFns count under NS or their class path (Metrics.counter(cls, ..))
                counters[name] += value
            elif namespace in (f"{NS}.feed", f"{NS}.sink"):
                owner, _, status = name.rpartition(".")
                bucket = per[namespace.split(".")[1]].setdefault(owner, {})
                bucket[status] = bucket.get(status, 0) + value
        return cls(
            seconds=seconds, counters=dict(counters), per_feed=per["feed"], per_sink=per["sink"]
        )

    def render(self) -> str:
        g = self.get
        feed_lines = [
            f"    {feed}: " + ", ".join(f"{v} {k}" for k, v in sorted(st.items()))
            for feed, st in sorted(self.per_feed.items())
        ]
        return "\n".join(
            [
                f"cycle finished in {self.seconds:.1f} s",
                f"  feeds:        {g('feeds_ok')} ok, {g('feeds_not_modified')} not modified, "
                f"{g('feeds_failed')} failed",
                *feed_lines,
                f"  articles:     {g('articles_new')} new, {g('articles_seen')} seen before, "
                f"{g('articles_duplicate_in_run')} duplicate in this run, "
                f"{g('articles_backfill_skipped')} older than the first-poll backfill window "
                f"({g('entries')} entries, {g('entries_skipped_seen')} skipped unparsed)",
                f"  matches:      {g('matches')}",
                f"  alerts:       {g('alerts_sent')} sent, {g('alerts_already_sent')} already sent, "
                f"{g('alerts_dead')} dead",
                f"  dead letters: {g('dead_letters')}",
            ]
        )
