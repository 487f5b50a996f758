"""PostgresStore's sink health (interface.SinkHealthStore): one row per sink that every worker
reads before it sends, so a sink one worker found down is skipped by all of them."""

from __future__ import annotations

from wirewatch.transforms.state.interface import SinkHealth


class PgSinkHealth:
    """Mixed into PostgresStore (which provides `_one`, `_execute` and `_clock`)."""

    def sink_health(self, sink: str) -> SinkHealth:
        row = self._one(
            "SELECT failures, down_until, reason, updated_at FROM sink_health WHERE sink=%s",
            (sink,),
        )
        if row is None:
            return SinkHealth(sink=sink)
        return SinkHealth(
            sink=sink, failures=row[0], down_until=row[1], reason=row[2], updated_at=row[3]
        )

    def save_sink_health(self, health: SinkHealth) -> None:
        self._execute(
            "INSERT INTO sink_health (sink, failures, down_until, reason, updated_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (sink) DO UPDATE SET "
            "failures=excluded.failures, down_until=excluded.down_until, "
            "reason=excluded.reason, updated_at=excluded.updated_at",
            (health.sink, health.failures, health.down_until, health.reason, self._clock()),
        )
