"""The story index's storage in the SQLite file (the StoryStore part of the Protocol).

A mixin of SqliteStore: it uses the store's connection (`_db`) and `_write()` (a transaction of
its own, or the caller's open one). The decisions (fingerprints, LSH buckets, thresholds, copy
or update) stay in stories/index.py; here are only the look-ups and writes, each one statement
or a few inside one transaction.
Sets of strings are stored joined by a unit separator, feature hashes as opaque blobs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Iterable, Sequence

from wirewatch.transforms.state import interface
from wirewatch.transforms.state.interface import (
    StoryCluster,
    StoryEntry,
    StoryHead,
    StoryLink,
    StoryMatch,
)
from wirewatch.transforms.state.rows import (
    CLUSTER_COLUMNS,
    ENTRY_COLUMNS,
    STORY_HEAD_SELECT,
    STORY_LINK_SELECT,
    STORY_TABLES,
    entry,
    entry_values,
    prune_story_steps,
    split_set,
    story_heads,
    story_urls,
    story_urls_select,
)
from wirewatch.transforms.state.sqlite_schema import STORY_SCHEMA

CACHE_KIB = 65536
"""Page cache of the connection the index uses. Band look-ups and inserts touch random pages
of a B-tree that holds ~48 entries per recent article (most of a 163 MB state file at 50,000
articles); with SQLite's default 2 MB cache every one was a read and throughput halved.
Raised, never lowered."""
_LIST = "IN (SELECT value FROM json_each(?))"
"""A list of any length as one parameter (a JSON array): a bundle asks for thousands of
buckets at once, more than SQLite allows parameters in one statement."""
CANDIDATES = (
    "SELECT a.article_id, a.story_id, a.published, a.full_fp, a.title_fp, a.title_words, "
    "a.entities, m.bands FROM (SELECT seq, group_concat(band) AS bands FROM stories_bands "
    f"WHERE band {_LIST} GROUP BY seq) AS m JOIN stories_articles a ON a.seq = m.seq "
    "WHERE a.published BETWEEN ? AND ? ORDER BY a.seq"
)
"""The candidate look-up (tests check its query plan reads the tables only through indexes)."""
_CLUSTER_GROWTH = (
    f"INSERT INTO stories_clusters ({CLUSTER_COLUMNS}) VALUES (?,?,?,?,?,?,?) "
    "ON CONFLICT(story_id) DO UPDATE SET size=size+excluded.size, "
    "updates=updates+excluded.updates, "
    "first_published=min(first_published, excluded.first_published), "
    "last_published=max(last_published, excluded.last_published)"
)
_INSERT_ENTRY = f"INSERT INTO stories_articles (seq, {ENTRY_COLUMNS}) VALUES ({','.join('?' * 17)})"


class SqliteStories:
    """The story methods of SqliteStore (which provides `_db`, `_lock` and `_write()`)."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[None]: ...

    def prepare_stories(self) -> None:
        with self._lock:  # statement by statement (no executescript: it would COMMIT an open tx)
            for statement in filter(str.strip, STORY_SCHEMA.split(";")):
                self._db.execute(statement)  # idempotent: IF NOT EXISTS
        pages = self._db.execute("PRAGMA cache_size").fetchone()[0]
        page_kib = self._db.execute("PRAGMA page_size").fetchone()[0] / 1024
        if (-pages if pages < 0 else pages * page_kib) < CACHE_KIB:
            self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")

    def lock_stories(self) -> None:
        """Nothing to do: `transaction()` began with BEGIN IMMEDIATE, the file's write lock."""

    # --- assigning ----------------------------------------------------------------------------
    def story_links(self, article_ids: Iterable[str]) -> dict[str, StoryLink]:
        ids = list(dict.fromkeys(article_ids))
        out: dict[str, StoryLink] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(f"{STORY_LINK_SELECT} IN ({marks})", chunk):
                out[row[0]] = StoryLink(*row[1:])
        return out

    def story_urls(self, url_keys: Iterable[str], lo: float, hi: float) -> interface.UrlMatches:
        keys = sorted(set(url_keys))
        if not keys:
            return {}
        return story_urls(
            self._db.execute(story_urls_select(_LIST, "?"), (json.dumps(keys), lo, hi))
        )

    def story_candidates(self, bands: Sequence[int], lo: float, hi: float) -> list[StoryMatch]:
        if not bands:
            return []
        return [
            StoryMatch(*row[:6], split_set(row[6]), frozenset(map(int, row[7].split(","))))
            for row in self._db.execute(CANDIDATES, (json.dumps(list(bands)), lo, hi))
        ]

    def story_heads(self, story_ids: Iterable[str]) -> dict[str, StoryHead]:
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        return story_heads(self._db.execute(f"{STORY_HEAD_SELECT} {_LIST}", (json.dumps(ids),)))

    def save_stories(
        self, members: Sequence[tuple[StoryEntry, Sequence[int]]], clusters: Iterable[StoryCluster]
    ) -> None:
        """The members get the seqs SQLite would give them one by one (the largest plus one:
        the write lock is held), so they go in as one statement each, not one per member."""
        with self._write():
            self._db.executemany(_CLUSTER_GROWTH, clusters)
            first = self._db.execute("SELECT coalesce(max(seq), 0) + 1 FROM stories_articles")
            seqs = range(first.fetchone()[0], 1 << 62)
            self._db.executemany(
                _INSERT_ENTRY, [(seq, *entry_values(e)) for seq, (e, _) in zip(seqs, members)]
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO stories_bands VALUES (?, ?)",
                [(band, seq) for seq, (_, bands) in zip(seqs, members) for band in bands],
            )

    # --- pruning ------------------------------------------------------------------------------
    def prune_stories(self, index_before: float, keep_after: float) -> dict[str, int]:
        counts = {}
        with self._write():
            for name, sql, params in prune_story_steps(index_before, keep_after):
                rowcount = self._db.execute(sql, params).rowcount
                if name:
                    counts[name] = rowcount
        return counts

    # --- reading ------------------------------------------------------------------------------
    def story_members(self, story_id: str) -> list[StoryEntry]:
        rows = self._db.execute(
            f"SELECT {ENTRY_COLUMNS} FROM stories_articles WHERE story_id=? ORDER BY published, seq",
            (story_id,),
        ).fetchall()
        return [entry(r) for r in rows]

    def story_clusters(self, limit: int, min_size: int = 1) -> list[StoryCluster]:
        rows = self._db.execute(
            f"SELECT {CLUSTER_COLUMNS} FROM stories_clusters WHERE size >= ? "
            "ORDER BY last_published DESC, story_id LIMIT ?",
            (min_size, limit),
        ).fetchall()
        return [StoryCluster(*r) for r in rows]

    def story_cluster(self, story_id: str) -> StoryCluster | None:
        row = self._db.execute(
            f"SELECT {CLUSTER_COLUMNS} FROM stories_clusters WHERE story_id=?", (story_id,)
        ).fetchone()
        return StoryCluster(*row) if row else None

    def story_counts(self) -> dict[str, int]:
        return {
            table: self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in STORY_TABLES
        }
