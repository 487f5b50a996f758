"""The story index's storage in the SQLite file (the StoryStore part of the Protocol).

A mixin of SqliteStore: it uses the store's connection (`_db`) and `_write()` (a transaction of
its own, or the caller's open one). The decisions (fingerprints, LSH buckets, thresholds, copy
or update) stay in stories/index.py; here are only the look-ups and writes, each one statement
or a few inside one transaction. Bucket look-ups go through the process's in-memory index of
the file's `stories_bandsets` rows and their candidates' rows (band_index.py), brought up to
date before each one.
Sets of strings are stored joined by a unit separator, feature hashes as opaque blobs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Collection, Iterable, Sequence

from wirewatch.transforms.state import interface
from wirewatch.transforms.state.band_index import BandIndex, pack_bands, shared_index, unpack_bands
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
    "SELECT seq, article_id, story_id, published, full_fp, title_fp, title_words, entities "
    f"FROM stories_articles WHERE seq {_LIST} AND indexed = 1 AND published BETWEEN ? AND ? "
    "ORDER BY seq"
)
"""The candidates' rows, by the seqs the bucket index found, when the open transaction filed
rows of its own (else the index's `rows` answer; tests check this plan reads the table only
through its key). `indexed = 1`: the index may still hold rows pruned since."""
_LINKS = f"{STORY_LINK_SELECT} {_LIST}"
_NEW_BANDSETS = "SELECT seq, bands FROM stories_bandsets WHERE seq > ? ORDER BY seq"
_NEW_ROWS = (
    "SELECT b.seq, b.bands, a.article_id, a.story_id, a.published, a.full_fp, a.title_fp, "
    "a.title_words, a.entities, a.indexed FROM stories_bandsets b "
    "LEFT JOIN stories_articles a ON a.seq = b.seq WHERE b.seq > ? ORDER BY b.seq"
)
"""The bucket rows stored since the index last learnt, with their candidates' rows."""
_UNFILED_LOG = "SELECT value FROM meta WHERE key = 'stories_unfiled'"
UNFILINGS_KEPT = 8
"""Unfilings (prunes that took articles out of the index) the file remembers in `meta`: a
process that missed more than this many between two look-ups learns the index again."""
_STORED_SINCE = "SELECT seq, article_id, story_id, url_key FROM stories_articles WHERE seq > ?"
_HIGHEST = "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'stories_bandsets'), 0)"
_HEAD = f"SELECT ({_HIGHEST[7:]}), ({_UNFILED_LOG})"
"""The highest bucket seq ever given (below what the index learnt: the file went back) and
the unfilings' log, in one statement."""
_NEXT_SEQ = (
    "SELECT max(coalesce((SELECT max(seq) FROM stories_articles), 0), coalesce((SELECT seq "
    "FROM sqlite_sequence WHERE name = 'stories_bandsets'), 0)) + 1"
)
"""The next seq: above every article and every bucket row ever stored (never one reused)."""
_UNFILING = (
    "FROM stories_bandsets WHERE seq IN "
    "(SELECT seq FROM stories_articles WHERE indexed = 1 AND published < ?)"
)
_UNFILED = f"SELECT coalesce(sum(length(bands)), 0) / 8 {_UNFILING}"
_UNFILE = f"DELETE {_UNFILING}"
_BAND_ENTRIES = "SELECT coalesce(sum(length(bands)), 0) / 8 FROM stories_bandsets"
_CLUSTER_GROWTH = (
    f"INSERT INTO stories_clusters ({CLUSTER_COLUMNS}) VALUES (?,?,?,?,?,?,?) "
    "ON CONFLICT(story_id) DO UPDATE SET size=size+excluded.size, "
    "updates=updates+excluded.updates, "
    "first_published=min(first_published, excluded.first_published), "
    "last_published=max(last_published, excluded.last_published)"
)
_new = tuple.__new__
_INSERT_ENTRY = f"INSERT INTO stories_articles (seq, {ENTRY_COLUMNS}) VALUES ({','.join('?' * 17)})"


def _entries(log: str | None) -> list[tuple[int, int, float]]:
    """The unfilings' log (`meta.stories_unfiled`, a JSON list) as tuples, oldest first."""
    return [tuple(u) for u in json.loads(log)] if log else []


class SqliteStories:
    """The story methods of SqliteStore (which provides `_db`, `_lock` and `_write()`)."""

    _db: sqlite3.Connection
    _lock: threading.RLock
    readonly: bool
    _bands: BandIndex | None = None
    _transactions = 0  # outermost transactions begun (sqlite.py counts them)
    _filed_in = -1  # the transaction in which this store last filed buckets

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
        if self._bands is None:
            self._bands = self._band_index()

    def _band_index(self) -> BandIndex:
        """The process's bucket index of this file: shared through the id the file keeps in
        `meta` (made here once); a read-only file without one gets an index of its own."""
        token = "SELECT value FROM meta WHERE key = 'stories_index'"
        row = self._db.execute(token).fetchone()
        if row is None and not self.readonly:
            with self._write():
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('stories_index', ?)", (uuid.uuid4().hex,)
                )
                row = self._db.execute(token).fetchone()
        return shared_index(f"{self.location} {row[0]}") if row else BandIndex()

    def lock_stories(self) -> None:
        """Nothing to do: `transaction()` began with BEGIN IMMEDIATE, the file's write lock."""

    # --- assigning ----------------------------------------------------------------------------
    def story_links(self, article_ids: Iterable[str]) -> dict[str, StoryLink]:
        """One statement text whatever the number of ids (a list of `?` per bundle size was
        compiled again for every size it met)."""
        ids = json.dumps(list(dict.fromkeys(article_ids)))
        return {row[0]: StoryLink(*row[1:]) for row in self._db.execute(_LINKS, (ids,))}

    def story_urls(self, url_keys: Iterable[str], lo: float, hi: float) -> interface.UrlMatches:
        keys = sorted(set(url_keys))
        if not keys:
            return {}
        return story_urls(
            self._db.execute(story_urls_select(_LIST, "?"), (json.dumps(keys), lo, hi))
        )

    def story_candidates(self, bands: Sequence[int], lo: float, hi: float) -> list[StoryMatch]:
        """From the process's index of the file: the buckets and, for each article still
        indexed, its candidate row (so a bundle reads no article rows: that was about a sixth
        of its cost). Rows this open transaction filed are read from the file instead."""
        if not bands:
            return []
        if self._bands is None:
            self.prepare_stories()
        index = self._bands
        with self._lock, index.lock:
            if self._filed_in == self._transactions and self._db.in_transaction:
                return self._candidates_filed_here(index, bands, lo, hi)
            self._learn(index)
            filed = index.lookup(bands)
            rows = index.rows
            found = []
            for seq in sorted(filed):
                row = rows.get(seq)
                if row is not None and lo <= row[2] <= hi:
                    # tuple.__new__, not StoryMatch(...): its Python-level __new__ per row
                    a, s, p, f, t, w, e = row
                    found.append(
                        _new(StoryMatch, (a, s, p, f, t, w, split_set(e), frozenset(filed[seq])))
                    )
            return found

    def _learn(self, index: BandIndex) -> None:
        """Bring the index up to what the file holds: the rows stored since it last learnt,
        then the unfilings since (read after the rows: an unfiling between the two reads is
        then applied too, and one before them changes nothing). Seqs only grow, and every
        unfiling is logged (prune_stories), so `index.rows` is exactly the indexed articles
        under the buckets it learnt."""
        while True:
            last = index.last
            rows = self._db.execute(_NEW_ROWS, (last,)).fetchall()
            highest, log = self._db.execute(_HEAD).fetchone()
            if highest < last:
                index.reset()  # the file went back (a backup restored): learn it again
                continue
            index.add([row[:2] for row in rows])
            cached = index.rows
            for seq, _, a, s, p, f, t, w, e, indexed in rows:
                if indexed:  # else pruned past retention (another process's shorter one)
                    # only strings, bytes and numbers: the garbage collector stops tracking
                    # such a tuple, so 50,000 of them do not slow every full collection
                    cached[seq] = (a, s, p, f, t, w, e)
            if (index.unfiled >= 0 and log == index.log) or index.unfile(_entries(log)):
                index.log = log  # applied: the same text next time has nothing new
                return
            index.reset()  # missed too many unfilings, or the file went back

    def _unfilings(self) -> list[tuple[int, int, float]]:
        row = self._db.execute(_UNFILED_LOG).fetchone()
        return _entries(row[0] if row else None)

    def _candidates_filed_here(
        self, index: BandIndex, bands: Sequence[int], lo: float, hi: float
    ) -> list[StoryMatch]:
        """`story_candidates` inside a transaction that filed rows: they may yet be rolled
        back, so they are looked up but never learnt (their seqs would be given again)."""
        filed = index.lookup(bands)
        extra = BandIndex()
        extra.last = index.last  # so they wait in its dict like any later rows
        extra.add(self._db.execute(_NEW_BANDSETS, (index.last,)).fetchall())
        for seq, found in extra.lookup(bands).items():
            filed.setdefault(seq, set()).update(found)
        if not filed:
            return []
        rows = self._db.execute(CANDIDATES, (json.dumps(sorted(filed)), lo, hi))
        return [
            _new(StoryMatch, (a, s, p, f, t, w, split_set(e), frozenset(filed[seq])))
            for seq, a, s, p, f, t, w, e in rows
        ]

    def story_mark(self) -> int:
        return self.next_story_seq() - 1

    def story_changes(self, since: int, bands: Collection[int]) -> list[interface.StoryChange]:
        with self._lock:
            rows = self._db.execute(_STORED_SINCE, (since,)).fetchall()
            if not rows:
                return []
            asked = set(bands)
            banded = {
                seq
                for seq, blob in self._db.execute(_NEW_BANDSETS, (since,))
                if not asked.isdisjoint(unpack_bands(blob))
            }
        return [interface.StoryChange(*row[1:], row[0] in banded) for row in rows]

    def story_heads(self, story_ids: Iterable[str]) -> dict[str, StoryHead]:
        ids = sorted(set(story_ids))
        if not ids:
            return {}
        return story_heads(self._db.execute(f"{STORY_HEAD_SELECT} {_LIST}", (json.dumps(ids),)))

    def save_stories(
        self, members: Sequence[tuple[StoryEntry, Sequence[int]]], clusters: Iterable[StoryCluster]
    ) -> None:
        """The members get the next seqs in order (the write lock is held), so they go in as
        one statement each, not one per member; their buckets as one row each, appended."""
        with self._write():
            self._filed_in = self._transactions
            self._db.executemany(_CLUSTER_GROWTH, clusters)
            seqs = range(self.next_story_seq(), 1 << 62)
            self._db.executemany(
                _INSERT_ENTRY, [(seq, *entry_values(e)) for seq, (e, _) in zip(seqs, members)]
            )
            self._db.executemany(
                "INSERT INTO stories_bandsets (seq, bands) VALUES (?, ?)",
                [(seq, pack_bands(bands)) for seq, (_, bands) in zip(seqs, members) if bands],
            )

    def next_story_seq(self) -> int:
        return self._db.execute(_NEXT_SEQ).fetchone()[0]

    # --- pruning ------------------------------------------------------------------------------
    def prune_stories(self, index_before: float, keep_after: float) -> dict[str, int]:
        """prune_story_steps, with this file's own first step: its bucket rows are per
        article (stories_bandsets), counted as the entries they hold."""
        counts = {}
        with self._write():
            counts["band_entries"] = self._db.execute(_UNFILED, (index_before,)).fetchone()[0]
            if self._db.execute(_UNFILE, (index_before,)).rowcount:
                self._log_unfiling(index_before)
            for name, sql, params in prune_story_steps(index_before, keep_after):
                if name == "band_entries":
                    continue
                rowcount = self._db.execute(sql, params).rowcount
                if name:
                    counts[name] = rowcount
        if self._bands is not None:
            self._bands.forget(counts["band_entries"])
        return counts

    def _log_unfiling(self, before: float) -> None:
        """Tell every process's index of the file (`_learn`) which indexed rows this prune
        takes out: those stored so far (seq up to the mark) published before `before`."""
        log = self._unfilings()
        number = log[-1][0] + 1 if log else 1
        log = [*log, (number, self.story_mark(), before)][-UNFILINGS_KEPT:]
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('stories_unfiled', ?)", (json.dumps(log),)
        )

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
        """Rows per story table; `stories_bands` counts bucket entries (as PostgreSQL's)."""
        return {
            table: self._db.execute(
                _BAND_ENTRIES if table == "stories_bands" else f"SELECT COUNT(*) FROM {table}"
            ).fetchone()[0]
            for table in STORY_TABLES
        }
