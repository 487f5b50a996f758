"""The rows both SQL backends store, defined once: column lists and row <-> model conversions.

SQLite and PostgreSQL hold the same tables (sqlite_schema.py, pg_schema.py); only placeholders
and native types differ. What a row means, which columns a query reads and how a row becomes a
FeedState, an AlertRecord or a StoryEntry lives here, so the backends cannot drift apart.
Sets of strings (title markers, entity ids) are stored joined by a unit separator.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from wirewatch.transforms.state.interface import (
    AlertRecord,
    FeedState,
    Retention,
    StoryChain,
    StoryEntry,
    StoryHead,
    StoryMatch,
    UrlMatches,
)

SEP = "\x1f"

ORPHANED_GROUP = (
    "(due_at IS NULL AND EXISTS (SELECT 1 FROM alerts a "
    "WHERE a.group_key = groups.group_key AND a.status = 'held'))"
)
"""A digest group that holds alerts but has no due time (a condition on `groups`), taken as due
by `claim_due_groups`. The dispatcher saves groups under `locked_group`, so its own saves do not
cross; this is the net for a save that did (a store written by a version without the lock: a
flush saving "nothing held" over another's hold), whose alerts would otherwise wait for good."""


def finishable(status: str, owner: str) -> str:
    """The condition on `alerts` under which `finish_alert` writes its outcome, with the
    backend's placeholders for the new status and the finishing owner: never over 'sent', and,
    given an owner, an outcome other than 'sent' only over that owner's own claim (a worker
    whose lease lapsed must not mark 'dead', and so offer for redelivery, an alert another
    worker is sending now, or take one out of the digest group another worker held it in).
    'sent' is always written: the alert went out, whoever sent it."""
    return (
        f"(status <> 'sent' AND ({owner} IS NULL OR {status} = 'sent' OR (status = 'sending' "
        f"AND (lease_owner IS NULL OR lease_owner = {owner}))))"
    )


def chain_of(value: str) -> StoryChain:
    """A StoryChain from its meta value (`chain_value`)."""
    token, start, end = value.split(" ")
    return StoryChain(token, int(start), int(end))


def chain_value(chain: StoryChain) -> str:
    """How a StoryChain is kept in the meta table: 'token start end'."""
    return " ".join(map(str, chain))


FEED_FIELDS = (
    "etag",
    "last_modified",
    "failures",
    "next_due",
    "last_status",
    "last_error",
    "ttl_minutes",
)
FEED_COLUMNS = ", ".join(FEED_FIELDS)
ALERT_COLUMNS = ", ".join(AlertRecord.model_fields)
ENTRY_COLUMNS = ", ".join(StoryEntry._fields)
CLUSTER_COLUMNS = (
    "story_id, first_article_id, title, first_published, last_published, size, updates"
)
STORY_LINK_SELECT = (
    "SELECT a.article_id, a.story_id, a.kind, a.similarity, a.basis, a.matched, "
    "c.first_article_id FROM stories_articles a JOIN stories_clusters c "
    "ON c.story_id = a.story_id WHERE a.article_id "
)
"""The assignments of some article ids; the backend appends its `IN (...)` or `= ANY(...)`."""
STORY_HEAD_SELECT = (
    "SELECT c.story_id, c.first_article_id, c.title, a.markers, a.published "
    "FROM stories_clusters c LEFT JOIN stories_articles a ON a.story_id = c.story_id "
    "WHERE c.story_id "
)
"""What joining some stories needs (rows.story_heads); the backend appends its list test."""
STORY_TABLES = ("stories_clusters", "stories_articles", "stories_bands")


def feed(feed_id: str, row: Sequence | None) -> FeedState:
    """A FeedState from the FEED_COLUMNS of its row (None: a feed never polled)."""
    if row is None:
        return FeedState(feed_id=feed_id)
    return FeedState(feed_id=feed_id, **dict(zip(FEED_FIELDS, row)))


def alert(row: Sequence) -> AlertRecord:
    return AlertRecord(**dict(zip(AlertRecord.model_fields, row)))


def join_set(items: frozenset[str]) -> str:
    return SEP.join(sorted(items))


def split_set(text: str) -> frozenset[str]:
    return frozenset(text.split(SEP)) if text else frozenset()


def story_heads(rows) -> dict[str, StoryHead]:
    """`story_heads` from STORY_HEAD_SELECT rows (one per member; a story without members
    comes once, its markers and time NULL)."""
    named: dict[str, tuple[str, str]] = {}
    markers: dict[str, set[str]] = {}
    latest: dict[str, float] = {}
    for story_id, first, title, marks, when in rows:
        named[story_id] = (first, title)
        markers.setdefault(story_id, set()).update(m for m in (marks or "").split(SEP) if m)
        if when is not None:
            latest[story_id] = max(latest.get(story_id, float("-inf")), when)
    return {
        story_id: StoryHead(
            first, title, frozenset(markers[story_id]), latest.get(story_id, float("-inf"))
        )
        for story_id, (first, title) in named.items()
    }


def story_urls_select(list_test: str, mark: str) -> str:
    """The indexed articles of some URL keys published inside a window, one key's oldest
    first (rows.story_urls); the backend gives its list test and placeholder."""
    return (
        "SELECT url_key, article_id, story_id, published FROM stories_articles "
        f"WHERE url_key {list_test} AND published BETWEEN {mark} AND {mark} "
        "ORDER BY url_key, published, seq"
    )


def story_urls(rows) -> UrlMatches:
    """`story_urls` from story_urls_select rows: each URL key's matches, in row order."""
    out: UrlMatches = {}
    for key, *match in rows:
        out.setdefault(key, []).append(StoryMatch(*match))
    return out


def entry(row: Sequence) -> StoryEntry:
    """A StoryEntry from the ENTRY_COLUMNS of its row."""
    return StoryEntry(*row[:11], split_set(row[11]), split_set(row[12]), *row[13:])


def entry_values(e: StoryEntry) -> tuple:
    """The ENTRY_COLUMNS values that store `e`."""
    return (*e[:11], join_set(e.markers), join_set(e.entities), *e[13:])


def feed_values(state: FeedState, updated_at, time=lambda t: t) -> tuple:
    """feed_id, the FEED_COLUMNS values and updated_at: one row of `feed_upsert`; `time`
    converts next_due to what the backend stores (SQLite: ISO text)."""
    values = [getattr(state, field) for field in FEED_FIELDS]
    values[FEED_FIELDS.index("next_due")] = time(state.next_due) if state.next_due else None
    return (state.feed_id, *values, updated_at)


def feed_upsert(mark: str, also: str = "") -> str:
    """Save a feed's state (a row of `feed_values`); a None ttl keeps the stored one. `mark`
    is the backend's placeholder, `also` more assignments on conflict."""
    marks = ",".join([mark] * (len(FEED_FIELDS) + 2))
    return (
        f"INSERT INTO feeds (feed_id, {FEED_COLUMNS}, updated_at) VALUES ({marks}) "
        "ON CONFLICT (feed_id) DO UPDATE SET etag=excluded.etag, "
        "last_modified=excluded.last_modified, failures=excluded.failures, "
        "next_due=excluded.next_due, last_status=excluded.last_status, "
        "last_error=excluded.last_error, updated_at=excluded.updated_at, "
        "ttl_minutes=COALESCE(excluded.ttl_minutes, feeds.ttl_minutes)" + also
    )


def prune_steps(now: datetime, retention: Retention) -> list[tuple[str, str, tuple]]:
    """`prune` as statements in order: (the table it counts, SQL with `?` placeholders, the
    cutoff times). What goes: seen keys and dead letters past their retention; final ledger
    rows ('sent', or 'dead' with no open dead letter left); story alerts whose ledger row is
    gone; idle groups with nothing held and nothing due; workers that stopped beating and
    hold no live lease. A backend with other placeholders
    replaces `?`, one that stores text times converts the cutoffs."""

    def cutoff(days: float) -> tuple[datetime]:
        return (now - timedelta(days=days),)

    return [
        ("seen", "DELETE FROM seen WHERE seen_at < ?", cutoff(retention.seen_days)),
        (
            "dead_letters",
            "DELETE FROM dead_letters WHERE at < ?",
            cutoff(retention.dead_letter_days),
        ),
        (
            "alerts",
            "DELETE FROM alerts WHERE updated_at < ? AND (status = 'sent' OR (status = 'dead' "
            "AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.alert_key = alerts.key "
            "AND d.resolved_at IS NULL)))",
            cutoff(retention.ledger_keep_days),
        ),
        (
            "story_alerts",
            "DELETE FROM story_alerts WHERE NOT EXISTS "
            "(SELECT 1 FROM alerts a WHERE a.key = story_alerts.alert_key)",
            (),
        ),
        (
            "groups",
            "DELETE FROM groups WHERE due_at IS NULL AND (updated_at IS NULL OR updated_at < ?) "
            "AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.group_key = groups.group_key "
            "AND a.status = 'held')",
            cutoff(retention.group_days),
        ),
        (
            "workers",
            "DELETE FROM workers WHERE heartbeat_at < ? AND NOT EXISTS (SELECT 1 FROM feeds f "
            "WHERE f.lease_owner = workers.worker_id AND f.lease_until > ?) AND NOT EXISTS "
            "(SELECT 1 FROM alerts a WHERE a.lease_owner = workers.worker_id "
            "AND a.status = 'sending' AND a.lease_until > ?)",
            (*cutoff(retention.worker_days), now, now),
        ),
    ]


def prune_story_steps(
    index_before: float, keep_after: float
) -> list[tuple[str | None, str, tuple]]:
    """`prune_stories` as statements in order: (the count it reports or None, SQL with `?`
    placeholders, parameters). Unfile (bands, features) what left the window, then forget
    members and stories past retention. A backend with other placeholders replaces `?`."""
    before = "indexed=1 AND published < ?"
    return [
        (
            "band_entries",
            f"DELETE FROM stories_bands WHERE seq IN (SELECT seq FROM stories_articles WHERE {before})",
            (index_before,),
        ),
        (
            None,
            f"UPDATE stories_articles SET indexed=0, full_fp=?, title_fp=? WHERE {before}",
            (b"", b"", index_before),
        ),
        ("articles", "DELETE FROM stories_articles WHERE published < ?", (keep_after,)),
        ("stories", "DELETE FROM stories_clusters WHERE last_published < ?", (keep_after,)),
    ]
