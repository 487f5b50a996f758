"""The story index's storage in the SQLite file (the StoryStore part of the Protocol).

A mixin of SqliteStore: it uses the store's connection (`_db`) and `_write()` (a transaction of
its own, or the caller's open one). The decisions (fingerprints, LSH buckets, thresholds, copy
or update) stay in stories/index.py; here are only the look-ups and writes, each one statement
or a few inside one transaction. Bucket look-ups go through the process's in-memory index of
the file's `stories_bandsets` rows and their candidates' rows (band_index.py), brought up to
date before each one (or known to be: `_is_quiet`).
Sets of strings are stored joined by a unit separator, feature hashes as opaque blobs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from contextlib import AbstractContextManager
from operator import itemgetter
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
    chain_of,
    chain_value,
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
_CANDIDATE = (
    "article_id",
    "story_id",
    "published",
    "full_fp",
    "title_fp",
    "title_words",
    "entities",
)
"""A candidate's columns: its row in the index (`index.rows`), the start of a StoryMatch."""
_CANDIDATE_ROW = itemgetter(*[1 + StoryEntry._fields.index(c) for c in _CANDIDATE])
"""A candidate's row from the values save_stories inserts (its seq, then `entry_values`)."""
CANDIDATES = (
    f"SELECT seq, {', '.join(_CANDIDATE)} "
    f"FROM stories_articles WHERE seq {_LIST} AND indexed = 1 AND published BETWEEN ? AND ? "
    "ORDER BY seq"
)
"""The candidates' rows, by the seqs the bucket index found, when the open transaction filed
rows of its own (else the index's `rows` answer; tests check this plan reads the table only
through its key). `indexed = 1`: the index may still hold rows pruned since."""
_LINKS = f"{STORY_LINK_SELECT} {_LIST}"
_NEW_BANDSETS = "SELECT seq, bands FROM stories_bandsets WHERE seq > ? ORDER BY seq"
_NEW_ROWS = (
    f"SELECT b.seq, b.bands, {', '.join(f'a.{c}' for c in _CANDIDATE)}, a.indexed "
    "FROM stories_bandsets b "
    "LEFT JOIN stories_articles a ON a.seq = b.seq WHERE b.seq > ? ORDER BY b.seq"
)
"""The bucket rows stored since the index last learnt, with their candidates' rows."""
_UNFILED_LOG = "SELECT value FROM meta WHERE key = 'stories_unfiled'"
UNFILINGS_KEPT = 8
"""Unfilings (prunes that took articles out of the index) the file remembers in `meta`: a
process that missed more than this many between two look-ups learns the index again."""
_STORED_SINCE = "SELECT seq, article_id, story_id, url_key FROM stories_articles WHERE seq > ?"
_HIGHEST = "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'stories_bandsets'), 0)"
_SEQ_FLOOR = (
    "coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'stories_seq_floor'), 0)"
)
_HEAD = (
    f"SELECT ({_HIGHEST[7:]}), ({_UNFILED_LOG}), "
    f"coalesce((SELECT max(seq) FROM stories_articles), 0), {_SEQ_FLOOR}"
)
"""The highest bucket seq ever given (below what the index learnt: the file went back), the
unfilings' log, the highest article seq and the seq floor, in one statement."""
_VERSION = "PRAGMA data_version"
"""Changes whenever another connection commits to the file (never for this one's own)."""
_NEXT_SEQ = (
    "SELECT max(coalesce((SELECT max(seq) FROM stories_articles), 0), coalesce((SELECT seq "
    f"FROM sqlite_sequence WHERE name = 'stories_bandsets'), 0), {_SEQ_FLOOR}) + 1"
)
"""The next seq: above every article and every bucket row ever stored (never one reused: a
draft's mark names what it saw). An article without buckets has no bucket row, so the highest
article seq a prune removes is kept as the floor (`prune_stories`)."""
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
    _committed = 0  # the last of them that committed (sqlite.py sets it)
    _filed_in = -1  # the transaction in which this store last filed buckets
    _quiet: tuple[int, int, int, int] | None = None
    """(data_version, total_changes, index.last, mark) when the index held exactly what the
    file held and `mark` was its highest seq (`_is_quiet`)."""
    _unchanged = -1  # the transaction whose story_changes found the file as `_quiet` says
    _saved: tuple | None = None  # a save waiting for its commit (`_settle`)

    if TYPE_CHECKING:

        def _write(self) -> AbstractContextManager[None]: ...

    def prepare_stories(self) -> None:
        with self._lock:  # statement by statement (no executescript: it would COMMIT an open tx)
            for statement in self._story_schema():
                self._db.execute(statement)  # idempotent: IF NOT EXISTS
        pages = self._db.execute("PRAGMA cache_size").fetchone()[0]
        page_kib = self._db.execute("PRAGMA page_size").fetchone()[0] / 1024
        if (-pages if pages < 0 else pages * page_kib) < CACHE_KIB:
            self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        if self._bands is None:
            self._bands = self._band_index()

    def _story_schema(self) -> list[str]:
        """STORY_SCHEMA's statements. A read-only file cannot take them: one that has the
        tables needs none, one from before any story gets them empty in the connection's own
        TEMP schema (`wirewatch stories` then lists none, where it failed)."""
        statements = [s for s in STORY_SCHEMA.split(";") if s.strip()]
        if not self.readonly:
            return statements
        exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stories_articles'"
        if self._db.execute(exists).fetchone():
            return []
        return [
            s.replace("CREATE TABLE", "CREATE TEMP TABLE").replace(
                "CREATE INDEX IF NOT EXISTS ", "CREATE INDEX IF NOT EXISTS temp."
            )
            for s in statements
        ]

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
        with self._lock:
            if self._filed_in == self._transactions and self._db.in_transaction:
                with index.lock:
                    return self._candidates_filed_here(index, bands, lo, hi)
            version = self._version()
            quiet = self._is_quiet(version)
            with index.lock:
                # asked again under the index's lock: another store of the file in this
                # process may have pruned meanwhile and emptied the index they share (forget)
                if not quiet or not self._stands(self._quiet):
                    self._learn(index, version)
                return self._found(index, bands, lo, hi)

    def _found(self, index: BandIndex, bands: Sequence[int], lo: float, hi: float):
        """The indexed candidates under `bands` published in [lo, hi], in seq order."""
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

    def _version(self) -> int:
        return self._db.execute(_VERSION).fetchone()[0]

    def _is_quiet(self, version: int) -> bool:
        """Whether the file holds what it held when `_quiet` was taken: no other connection
        committed since (`version`, PRAGMA data_version, read now), this one wrote nothing
        but its own saves, which the index learnt when they committed (`_settle`), and the
        index learnt nothing else. Then the index needs no sync, the mark is known, and no
        article was stored since it: three statements a bundle fewer, and none of its own
        rows read back."""
        self._settle()
        quiet = self._quiet
        return self._stands(quiet) and quiet[0] == version

    def _stands(self, quiet: tuple[int, int, int, int] | None) -> bool:
        """Whether `quiet` (a `_quiet`) still holds as far as this connection knows without
        asking the file: it wrote nothing since, and the index learnt nothing else."""
        return (
            quiet is not None
            and quiet[1] == self._db.total_changes
            and quiet[2] == self._bands.last
        )

    def _settle(self) -> None:
        """A save made while the file was quiet, once its transaction ended: committed, its
        rows join the index as a sync would have learnt them (nobody else wrote since: the
        write lock was held); rolled back, nothing is known any more."""
        saved = self._saved
        if saved is None or (self._db.in_transaction and self._transactions == saved[0]):
            return
        self._saved = None
        transaction, changes, mark, last, bandsets, rows = saved
        quiet, index = self._quiet, self._bands
        self._quiet = None
        if self._committed != transaction or quiet is None:
            return
        with index.lock:
            if index.last == last:
                index.add(bandsets)
                index.rows.update(rows)
                self._quiet = (quiet[0], changes, index.last, mark)

    def _learn(self, index: BandIndex, version: int | None = None) -> None:
        """Bring the index up to what the file holds: the rows stored since it last learnt,
        then the unfilings since (read after the rows: an unfiling between the two reads is
        then applied too, and one before them changes nothing). Seqs only grow, and every
        unfiling is logged (prune_stories), so `index.rows` is exactly the indexed articles
        under the buckets it learnt. `version`: the file's data_version, read before; the
        state learnt is then `_quiet` (only ever used while that version stands)."""
        while True:
            last = index.last
            rows = self._db.execute(_NEW_ROWS, (last,)).fetchall()
            highest, log, articles, floor = self._db.execute(_HEAD).fetchone()
            if highest < last:
                index.reset()  # the file went back (a backup restored): learn it again
                continue
            index.add([row[:2] for row in rows])
            cached = index.rows
            for row in rows:
                if row[-1]:  # indexed; else pruned past retention (another process's shorter one)
                    # only strings, bytes and numbers: the garbage collector stops tracking
                    # such a tuple, so 50,000 of them do not slow every full collection
                    cached[row[0]] = row[2:-1]
            if (index.unfiled >= 0 and log == index.log) or index.unfile(_entries(log)):
                index.log = log  # applied: the same text next time has nothing new
                if version is not None and not self._db.in_transaction:
                    mark = max(highest, articles, floor)  # as next_story_seq() - 1
                    self._quiet = (version, self._db.total_changes, index.last, mark)
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
        """The highest seq stored. Outside a transaction the index is brought up to it here
        (so the draft's look-ups need no sync), or it is known without asking (`_is_quiet`)."""
        with self._lock:
            index = self._bands
            if index is None or self._db.in_transaction:
                return self.next_story_seq() - 1
            version = self._version()
            if self._is_quiet(version):
                return self._quiet[3]
            mark = self.next_story_seq() - 1  # before the sync: what the draft may rely on
            with index.lock:
                self._learn(index, version)
            return mark

    def story_chain(self) -> interface.StoryChain | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'stories_chain'").fetchone()
        return chain_of(row[0]) if row else None

    def save_story_chain(self, chain: interface.StoryChain) -> None:
        with self._write():
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('stories_chain', ?)",
                (chain_value(chain),),
            )

    def story_changes(self, since: int, bands: Collection[int]) -> list[interface.StoryChange]:
        with self._lock:
            if self._bands is not None and self._db.in_transaction:
                # the mark after _is_quiet: its _settle may have moved it past `since`
                if self._is_quiet(self._version()) and self._quiet[3] == since:
                    self._unchanged = self._transactions  # save_stories may count on it
                    return []
            rows = self._db.execute(_STORED_SINCE, (since,)).fetchall()
            if not rows or not bands:
                return [interface.StoryChange(*row[1:], False) for row in rows]
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
            quiet = self._quiet
            known = self._unchanged == self._transactions and self._stands(quiet)
            self._filed_in = self._transactions
            self._db.executemany(_CLUSTER_GROWTH, clusters)
            first = quiet[3] + 1 if known else self.next_story_seq()
            values = [(seq, *entry_values(e)) for seq, (e, _) in enumerate(members, first)]
            self._db.executemany(_INSERT_ENTRY, values)
            bandsets = [
                (seq, pack_bands(bands)) for seq, (_, bands) in enumerate(members, first) if bands
            ]
            self._db.executemany(
                "INSERT INTO stories_bandsets (seq, bands) VALUES (?, ?)", bandsets
            )
            if known and members:
                # once committed, the index learns these as a sync would (`_settle`): the
                # candidate row of each filed article, as _NEW_ROWS reads it
                rows = {v[0]: _CANDIDATE_ROW(v) for v in values}
                cached = {seq: rows[seq] for seq, _ in bandsets}
                last = first + len(members) - 1
                self._saved = (
                    self._transactions,
                    self._db.total_changes,
                    last,
                    quiet[2],
                    bandsets,
                    cached,
                )

    def next_story_seq(self) -> int:
        return self._db.execute(_NEXT_SEQ).fetchone()[0]

    # --- pruning ------------------------------------------------------------------------------
    def prune_stories(self, index_before: float, keep_after: float) -> dict[str, int]:
        """prune_story_steps, with this file's own first step: its bucket rows are per
        article (stories_bandsets), counted as the entries they hold."""
        counts = {}
        with self._write():
            self._db.execute(  # before anything goes: no seq is given twice (_NEXT_SEQ)
                "INSERT OR REPLACE INTO meta VALUES ('stories_seq_floor', "
                f"max(coalesce((SELECT max(seq) FROM stories_articles), 0), {_SEQ_FLOOR}))"
            )
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
