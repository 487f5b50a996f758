"""What every state store backend promises: one `StateStore` Protocol, grouped by concern.

The pipeline, the CLI and the story index talk only to this interface; `open_store(location)`
(state/__init__.py) picks the backend. A backend is a context manager (`with open_store(...) as
store:` closes it) and offers `transaction()`: the writes of its block are one atomic unit, and
the methods called on the same store from the same thread inside the block belong to it.

Contract notes a backend must keep (tests/state/test_contract.py checks them on every backend):
- Every method is atomic on its own; a method that checks and then sets (`claim_alert`) does both
  in one transaction.
- `transaction()` nests: an inner block is a savepoint, so an exception that leaves it undoes
  only its writes; an exception that leaves the outermost block undoes everything. A method
  called inside a block joins it (no savepoint of its own: savepoints cost SQLite a statement
  journal); if it raises, let the exception leave the block.
- Story assignment reads candidates and then inserts; both run inside `transaction()` after
  `lock_stories()`, which must make that read-then-write exclusive across all writers of the
  store (SQLite's write lock already does; a shared database needs a lock of its own).
- Times in the story methods are unix seconds (floats); everything else takes aware datetimes.

No SQL here, no Beam: the models are plain data.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Iterable, NamedTuple, Protocol, Sequence, runtime_checkable

from pydantic import BaseModel

from wirewatch.transforms.model import DeadLetter
from wirewatch.transforms.routing.flood import GroupState


class FeedState(BaseModel):
    feed_id: str
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_due: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    ttl_minutes: int | None = None  # the feed's own <ttl>, a floor on its poll interval


class AlertRecord(BaseModel):
    key: str
    sink: str
    status: str  # sending | held (waiting for a digest) | sent | dead
    attempts: int
    error: str | None
    payload: str  # Alert JSON, so a dead alert can be redelivered without the article
    updated_at: datetime


# --- the story index's records (the index turns them into stories/model.py objects) ----------
class StoryMatch(NamedTuple):
    """An indexed article that may be the same story; a URL match leaves the features empty."""

    article_id: str
    story_id: str
    published: float
    full_fp: bytes = b""  # packed feature hashes (stories/fingerprint.py pack), opaque here
    title_fp: bytes = b""
    title_words: int = 0
    entities: frozenset[str] = frozenset()


class StoryEntry(NamedTuple):
    """One assigned article as stored: how it joined, and what later comparisons need."""

    article_id: str
    story_id: str
    feed_id: str
    title: str
    link: str | None
    url_key: str | None
    published: float
    kind: str  # new | copy | update
    basis: str  # new | url | text | title
    similarity: float
    matched: str | None  # the member it matched (for "new": the closest one below threshold)
    markers: frozenset[str]
    entities: frozenset[str]
    full_fp: bytes
    title_fp: bytes
    title_words: int


class StoryLink(NamedTuple):
    """The stored assignment of an article id (what re-assigning it returns)."""

    story_id: str
    kind: str
    similarity: float
    basis: str
    matched: str | None
    first_article_id: str


class StoryCluster(NamedTuple):
    """One story's totals, for listing."""

    story_id: str
    first_article_id: str
    title: str
    first_published: float
    last_published: float
    size: int
    updates: int


# --- the concerns -----------------------------------------------------------------------------
class FeedStore(Protocol):
    """Each feed's HTTP validators, failures and schedule."""

    def feed_state(self, feed_id: str) -> FeedState:
        """The saved state, or a blank FeedState(feed_id) for a feed never polled."""
        ...

    def feed_states(self, feed_ids: Iterable[str]) -> dict[str, FeedState]:
        """`feed_state` for many feeds in one read; every id is in the result."""
        ...

    def save_feed_state(self, state: FeedState) -> None:
        """Upsert; a None `ttl_minutes` keeps the stored one (parse saves it separately)."""
        ...

    def save_feed_states(self, states: Iterable[FeedState]) -> None:
        """`save_feed_state` for many feeds in one transaction."""
        ...

    def save_feed_ttl(self, feed_id: str, ttl_minutes: int) -> None:
        """The feed's <ttl>, used as a floor on its poll interval from the next poll on."""
        ...


class SeenStore(Protocol):
    """Keys of articles already processed, with a time that retention prunes by."""

    def seen(self, keys: Iterable[str]) -> set[str]:
        """The subset of `keys` already marked seen (any number of keys, one logical read)."""
        ...

    def mark_seen(self, keys: Iterable[str]) -> None:
        """Mark keys seen now; a key already seen keeps its time."""
        ...

    def touch_seen(self, keys: Iterable[str]) -> None:
        """Refresh keys still listed by their feed, so retention only forgets what left it."""
        ...

    def prune_seen(self, older_than: timedelta) -> int:
        """Forget keys not marked or touched for `older_than`; returns how many went."""
        ...


class LedgerStore(Protocol):
    """The alert ledger (key = rule + story/article + sink) and each story's first alert.

    An article is marked seen only after all its alerts were delivered or dead-lettered, so a
    crash mid-cycle re-processes it; the ledger then stops what did go out from going again.
    """

    def alert(self, key: str) -> AlertRecord | None: ...

    def claim_alert(self, key: str, sink: str, payload: str) -> bool:
        """Record intent to send (status 'sending'). False when the alert is 'sent' or 'held'
        (never send it again); a 'dead' or 'sending' one is claimed again."""
        ...

    def finish_alert(self, key: str, status: str, attempts: int, error: str | None = None) -> None:
        """Set the outcome; `attempts` adds to the stored count."""
        ...

    def alerts(self, status: str, since: datetime | None = None) -> list[AlertRecord]:
        """Alerts with `status`, updated at or after `since`, oldest first."""
        ...

    def held_alerts(self, group_key: str) -> list[AlertRecord]:
        """Alerts waiting in a digest group, oldest first."""
        ...

    def story_alert(self, story_id: str, rule_id: str, sink: str) -> tuple[str, str | None] | None:
        """(alert key, Slack ts or None) of the story's first alert for this rule and sink."""
        ...

    def record_story_alert(
        self, story_id: str, rule_id: str, sink: str, alert_key: str, ts: str | None
    ) -> None:
        """Remember the story's first alert; a later call for the same triple changes nothing."""
        ...


class GroupStore(Protocol):
    """Flood-control groups: throttle state and the digests they hold."""

    def group_state(self, group_key: str) -> GroupState:
        """The saved state, or a fresh GroupState()."""
        ...

    def save_group(
        self,
        group_key: str,
        sink: str,
        state: GroupState,
        hold_key: str | None = None,
        hold_payload: str | None = None,
    ) -> None:
        """Save a group's state; with `hold_key`, that claimed alert now waits in the group
        (status 'held', and `hold_payload` replaces its payload when given)."""
        ...

    def due_groups(self, sink: str, now: datetime) -> list[str]:
        """Keys of the sink's groups whose digest is due at `now`, earliest first."""
        ...

    def next_group_due(self) -> datetime | None:
        """The earliest digest due time over all groups, or None."""
        ...


class StoryStore(Protocol):
    """Storage of the story index (stories/index.py decides; this stores and finds)."""

    def prepare_stories(self) -> None:
        """Make the story tables ready (idempotent, cheap): the index calls it when built."""
        ...

    def lock_stories(self) -> None:
        """Inside `transaction()`: make this block's story reads and writes exclusive across
        every writer of the store until the transaction ends."""
        ...

    def story_links(self, article_ids: Iterable[str]) -> dict[str, StoryLink]:
        """The stored assignments of those of `article_ids` that have one."""
        ...

    def story_by_url(self, url_key: str, lo: float, hi: float) -> StoryMatch | None:
        """The earliest article (then the first inserted) with this URL key published in
        [lo, hi]; the features of the match are left empty."""
        ...

    def story_candidates(self, bands: Sequence[int], lo: float, hi: float) -> list[StoryMatch]:
        """Every article still indexed under any of `bands` (LSH bucket keys) published in
        [lo, hi], each once, in insertion order."""
        ...

    def story_markers(self, story_id: str) -> tuple[frozenset[str], float]:
        """The union of the story's members' title markers and its latest publication time."""
        ...

    def found_story(self, entry: StoryEntry, bands: Sequence[int]) -> None:
        """`entry` founds story `entry.story_id` (size 1); if that story survives from an earlier
        run (its founder was pruned and is now re-processed), it grows by one instead. Stores
        the entry and files it under `bands`."""
        ...

    def join_story(self, entry: StoryEntry, bands: Sequence[int], updated: bool) -> str:
        """`entry` joins story `entry.story_id`: size + 1, updates + `updated`, time span
        widened; stores the entry and files it under `bands`. Returns the story's first
        article id."""
        ...

    def prune_stories(self, index_before: float, keep_after: float) -> dict[str, int]:
        """Unfile (drop band entries and features of) articles published before
        `index_before`; delete members published and stories last active before `keep_after`.
        Returns {"band_entries", "articles", "stories"} removed."""
        ...

    def story_members(self, story_id: str) -> list[StoryEntry]:
        """The story's members by publication time (then insertion order)."""
        ...

    def story_clusters(self, limit: int, min_size: int = 1) -> list[StoryCluster]:
        """Stories with at least `min_size` members, latest activity first (then by id)."""
        ...

    def story_cluster(self, story_id: str) -> StoryCluster | None: ...

    def story_counts(self) -> dict[str, int]:
        """{"stories_clusters", "stories_articles", "stories_bands"}: stories, members, band
        entries."""
        ...


class DeadLetterStore(Protocol):
    """Records that failed a stage, kept for `redeliver` and for people."""

    def add_dead_letters(self, letters: Iterable[DeadLetter]) -> None:
        """Append many in one transaction."""
        ...

    def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        """The latest `limit`, newest first."""
        ...


@runtime_checkable
class StateStore(
    FeedStore, SeenStore, LedgerStore, GroupStore, StoryStore, DeadLetterStore, Protocol
):
    """Everything that must survive a restart. Open with `open_store(location)`; cheap to open,
    so open one per DoFn in setup() and close it in teardown()."""

    location: str
    """Where the store lives, for people (a file path, a URL without its password)."""

    def transaction(self) -> AbstractContextManager[None]:
        """One atomic unit of writes (see the module docstring for nesting)."""
        ...

    def counts(self) -> dict[str, int]:
        """Schema version, feeds, seen keys, dead letters, and alerts per status
        (`alerts_<status>`), for `wirewatch state`."""
        ...

    def close(self) -> None:
        """Release the connection(s); closing twice is harmless."""
        ...

    def __enter__(self) -> StateStore: ...

    def __exit__(self, *exc: object) -> None: ...
