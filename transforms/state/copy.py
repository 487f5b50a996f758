"""Move an installation between stores (`wirewatch state copy --from URL --to URL`).

Why a row copy and not a dump file: the two backends hold the same tables with different types
(ISO text vs timestamptz, BLOB vs bytea), so each backend reads and writes rows in one neutral
form (`TABLES`: datetimes, bytes, str, numbers) and the copy never needs both dialects at once.

Idempotent: every row is inserted with "do nothing on conflict" on its natural key, so a second
run copies nothing new; a story article's integer `seq` (the band index's key) is re-mapped to
the target's own numbering. A non-empty target is refused unless `merge` is set.
"""

from __future__ import annotations

from typing import Protocol

from wirewatch.transforms.errors import Problem, WirewatchError
from wirewatch.transforms.state.rows import FEED_FIELDS

TABLES: dict[str, tuple[str, ...]] = {
    "feeds": ("feed_id", *FEED_FIELDS, "updated_at"),
    "seen": ("key", "seen_at", "hash"),
    "alerts": (
        "key",
        "sink",
        "status",
        "attempts",
        "error",
        "payload",
        "updated_at",
        "group_key",
        "lease_owner",  # a claim in flight stays its sender's until its lease ends
        "lease_until",
        "deferred_at",  # a deferred alert is still redelivered by itself after the copy
    ),
    "story_alerts": ("story_id", "rule_id", "sink", "alert_key", "ts"),
    "groups": ("group_key", "sink", "state", "due_at", "updated_at"),
    "dead_letters": ("stage", "source", "reason", "record", "at", "alert_key", "resolved_at"),
    "sink_health": ("sink", "failures", "down_until", "reason", "updated_at"),  # a parked sink
    "stories_articles": (
        "seq",
        "article_id",
        "story_id",
        "feed_id",
        "title",
        "link",
        "url_key",
        "published",
        "kind",
        "basis",
        "similarity",
        "matched",
        "markers",
        "entities",
        "full_fp",
        "title_fp",
        "title_words",
        "indexed",
    ),
    "stories_bands": ("band", "seq"),
    "stories_clusters": (
        "story_id",
        "first_article_id",
        "title",
        "first_published",
        "last_published",
        "size",
        "updates",
    ),
}
"""Every table a copy moves, in an order that satisfies references (articles before bands)."""

LEFT_OUT: dict[str, str] = {
    "workers": "the source's processes: a worker beats into the store it runs on",
    "meta": "SQLite's own bookkeeping (schema version, its story index's token)",
    "wirewatch_meta": "PostgreSQL's own bookkeeping (schema version)",
}
"""The tables a copy leaves out on purpose, and why (tests check that no other is missed).
Feed leases (`feeds.lease_owner`, `lease_until`) stay behind too: they belong to the source's
processes, and a feed is due by its `next_due`."""

TIMES: dict[str, frozenset[str]] = {
    "feeds": frozenset({"next_due", "updated_at"}),
    "seen": frozenset({"seen_at"}),
    "alerts": frozenset({"updated_at", "lease_until", "deferred_at"}),
    "groups": frozenset({"due_at", "updated_at"}),
    "dead_letters": frozenset({"at", "resolved_at"}),
    "sink_health": frozenset({"down_until", "updated_at"}),
}
"""The columns that hold times: aware datetimes in the neutral form (SQLite stores ISO text)."""

KEYS: dict[str, str] = {"dead_letters": "record"}
"""Tables without a natural primary key, and the column that identifies a row instead."""


class Transferable(Protocol):
    """What a backend offers for copies: its rows in the neutral form, and an idempotent load."""

    location: str

    def dump_rows(self, table: str): ...  # -> Iterator[tuple] in TABLES[table] order

    def load_rows(self, table: str, rows: list[tuple], seq_map: dict[int, int]) -> int: ...

    def is_empty(self) -> bool: ...


class CopyRefused(WirewatchError):
    label = "state copy"


def copy_store(
    source: Transferable, target: Transferable, merge: bool = False, batch: int = 2000
) -> dict[str, int]:
    """Rows inserted into `target` per table (0 everywhere on a repeated copy)."""
    if not merge and not target.is_empty():
        raise CopyRefused(
            [
                Problem(
                    file=target.location,
                    message="the target store already holds data",
                    fix="pass --merge to add what it lacks, or copy into an empty database",
                )
            ]
        )
    copied: dict[str, int] = {}
    seq_map: dict[int, int] = {}  # source stories_articles.seq -> target seq
    for table in TABLES:
        total, rows = 0, []
        for row in source.dump_rows(table):
            rows.append(row)
            if len(rows) >= batch:
                total += target.load_rows(table, rows, seq_map)
                rows = []
        if rows:
            total += target.load_rows(table, rows, seq_map)
        copied[table] = total
    return copied
