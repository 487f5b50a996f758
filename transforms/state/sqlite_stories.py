"""The story index's storage in the SQLite file (the StoryStore part of the Protocol).

A mixin of SqliteStore: it uses the store's connection (`_db`) and `_write()` (a transaction of
its own, or the caller's open one). The decisions (fingerprints, LSH buckets, thresholds, copy
or update) stay in stories/index.py; here are only the look-ups and writes, each one statement
or a few inside one transaction.
Sets of strings are stored joined by a unit separator, feature hashes as opaque blobs.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable, Sequence

from wirewatch.transforms.state.interface import StoryCluster, StoryEntry, StoryLink, StoryMatch
from wirewatch.transforms.state.rows import (
    CLUSTER_COLUMNS,
    ENTRY_COLUMNS,
    STORY_LINK_SELECT,
    STORY_TABLES,
    entry,
    entry_values,
    markers_and_latest,
    prune_story_steps,
    split_set,
)
from wirewatch.transforms.state.sqlite_schema import STORY_SCHEMA

CACHE_KIB = 65536
"""Page cache of the connection the index uses. Band look-ups and inserts touch random pages
of a B-tree that holds ~48 entries per recent article (most of a 163 MB state file at 50,000
articles); with SQLite's default 2 MB cache every one was a read and throughput halved.
Raised, never lowered."""
_CANDIDATES = (
    "SELECT seq, article_id, story_id, full_fp, title_fp, title_words, entities, "
    "published FROM stories_articles WHERE seq IN "
    "(SELECT seq FROM stories_bands WHERE band IN ({marks})) "
    "AND published BETWEEN ? AND ?"
)


@lru_cache(maxsize=16)
def candidates_sql(n: int) -> str:
    """The candidate look-up for `n` band keys (tests check its query plan never scans)."""
    return _CANDIDATES.format(marks=",".join("?" * n))


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

    def story_by_url(self, url_key: str, lo: float, hi: float) -> StoryMatch | None:
        row = self._db.execute(
            "SELECT article_id, story_id, published FROM stories_articles "
            "WHERE url_key=? AND published BETWEEN ? AND ? ORDER BY published, seq LIMIT 1",
            (url_key, lo, hi),
        ).fetchone()
        return StoryMatch(row[0], row[1], row[2]) if row else None

    def story_candidates(self, bands: Sequence[int], lo: float, hi: float) -> list[StoryMatch]:
        if not bands:
            return []
        return [
            StoryMatch(art_id, story_id, published, full_fp, title_fp, words, split_set(ents))
            for _, art_id, story_id, full_fp, title_fp, words, ents, published in self._db.execute(
                candidates_sql(len(bands)), (*bands, lo, hi)
            )
        ]

    def story_markers(self, story_id: str) -> tuple[frozenset[str], float]:
        return markers_and_latest(
            self._db.execute(
                "SELECT markers, published FROM stories_articles WHERE story_id=?", (story_id,)
            )
        )

    def found_story(self, entry: StoryEntry, bands: Sequence[int]) -> None:
        with self._write():
            # the row exists only if this article founded it, was pruned (retain_hours) and is
            # now re-processed while later members are still kept: count it again, reset nothing
            self._db.execute(
                "INSERT INTO stories_clusters VALUES (?,?,?,?,?,1,0) ON CONFLICT(story_id) DO "
                "UPDATE SET size=size+1, "
                "first_published=min(first_published, excluded.first_published)",
                (entry.story_id, entry.article_id, entry.title, entry.published, entry.published),
            )
            self._insert(entry, bands)

    def join_story(self, entry: StoryEntry, bands: Sequence[int], updated: bool) -> str:
        with self._write():
            self._db.execute(
                "UPDATE stories_clusters SET size=size+1, updates=updates+?, "
                "first_published=min(first_published, ?), last_published=max(last_published, ?) "
                "WHERE story_id=?",
                (int(updated), entry.published, entry.published, entry.story_id),
            )
            self._insert(entry, bands)
            return self._db.execute(
                "SELECT first_article_id FROM stories_clusters WHERE story_id=?",
                (entry.story_id,),
            ).fetchone()[0]

    def _insert(self, e: StoryEntry, bands: Sequence[int]) -> None:
        seq = self._db.execute(
            f"INSERT INTO stories_articles ({ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            entry_values(e),
        ).lastrowid
        self._db.executemany(
            "INSERT OR IGNORE INTO stories_bands VALUES (?, ?)", [(key, seq) for key in bands]
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
