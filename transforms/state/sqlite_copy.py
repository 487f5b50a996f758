"""The SQLite file's side of `state copy` (copy.py): its rows in the neutral form, and an
idempotent load. A mixin of SqliteStore, like sqlite_stories.py.

The neutral form holds times as aware datetimes; this file stores them as ISO text, so a dump
parses them and a load formats them back. Every row goes in with "do nothing on conflict" on
its natural key; a story article gets this file's own `seq`, remembered in `seq_map` for the
band entries that follow. The file keeps those entries one row per article
(`stories_bandsets`); the neutral form is still one (band, seq) row per entry.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterator

from wirewatch.transforms.state.band_index import pack_bands, unpack_bands
from wirewatch.transforms.state.copy import KEYS, TABLES, TIMES

if TYPE_CHECKING:  # the store this mixin is part of, for type checkers only
    from wirewatch.transforms.state.sqlite import SqliteStore as _Store
else:
    _Store = object


def _from_text(value: str | None) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _to_text(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _convert(table: str, rows, convert) -> list[tuple]:
    """`rows` with `convert` applied to the table's time columns."""
    times = [i for i, column in enumerate(TABLES[table]) if column in TIMES.get(table, ())]
    if not times:
        return [tuple(row) for row in rows]
    out = []
    for row in rows:
        row = list(row)
        for i in times:
            row[i] = convert(row[i])
        out.append(tuple(row))
    return out


_STORED = {"stories_bands": "stories_bandsets"}
"""Tables of the neutral form this file stores under another name and shape."""


class SqliteCopy(_Store):
    """dump_rows / load_rows / is_empty of SqliteStore (which provides `_db` and `_write()`)."""

    def is_empty(self) -> bool:
        self.prepare_stories()
        return not any(
            self._db.execute(
                f"SELECT EXISTS (SELECT 1 FROM {_STORED.get(table, table)})"
            ).fetchone()[0]
            for table in TABLES
        )

    def dump_rows(self, table: str) -> Iterator[tuple]:
        self.prepare_stories()
        if table == "stories_bands":
            for seq, bands in self._db.execute("SELECT seq, bands FROM stories_bandsets"):
                yield from ((band, seq) for band in unpack_bands(bands))
            return
        cursor = self._db.execute(f"SELECT {', '.join(TABLES[table])} FROM {table}")
        while rows := cursor.fetchmany(2000):
            yield from _convert(table, rows, _from_text)

    def load_rows(self, table: str, rows: list[tuple], seq_map: dict[int, int]) -> int:
        """Insert what the file lacks (natural keys decide); returns how many were new."""
        self.prepare_stories()
        columns = TABLES[table]
        rows = _convert(table, rows, _to_text)
        with self._write():
            before = self._db.total_changes
            if table == "stories_articles":
                self._load_articles(rows, seq_map)
            elif table == "stories_bands":
                return self._load_bands(rows, seq_map)
            else:
                marks = ",".join("?" * len(columns))
                key = KEYS.get(table)
                sql = (
                    f"INSERT INTO {table} ({', '.join(columns)}) SELECT {marks} WHERE NOT "
                    f"EXISTS (SELECT 1 FROM {table} WHERE {key} = ?)"
                    if key
                    else f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                )
                if key:
                    rows = [(*row, row[columns.index(key)]) for row in rows]
                self._db.executemany(sql, rows)
            return self._db.total_changes - before

    def _load_bands(self, rows: list[tuple], seq_map: dict[int, int]) -> int:
        """Entries added to each article's row (one the file has already keeps its own);
        returns how many were new."""
        by_seq: dict[int, list[int]] = {}
        for band, seq in rows:
            if seq in seq_map:
                by_seq.setdefault(seq_map[seq], []).append(band)
        new = 0
        for seq, bands in by_seq.items():
            found = self._db.execute("SELECT bands FROM stories_bandsets WHERE seq=?", (seq,))
            had = unpack_bands(found[0]) if (found := found.fetchone()) else ()
            now = pack_bands([*had, *bands])
            if len(now) > len(had) * 8:
                self._db.execute(
                    "INSERT OR REPLACE INTO stories_bandsets (seq, bands) VALUES (?, ?)",
                    (seq, now),
                )
                new += len(now) // 8 - len(had)
        return new

    def _load_articles(self, rows: list[tuple], seq_map: dict[int, int]) -> None:
        """The file numbers its own seqs, above any it ever gave (sqlite_stories.py)."""
        columns = TABLES["stories_articles"]
        first = self.next_story_seq()
        self._db.executemany(
            f"INSERT OR IGNORE INTO stories_articles ({', '.join(columns)}) "
            f"VALUES ({','.join('?' * len(columns))})",
            [(seq, *row[1:]) for seq, row in zip(range(first, 1 << 62), rows)],
        )
        source_seq = {row[1]: row[0] for row in rows}
        ids = list(source_seq)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for seq, article_id in self._db.execute(
                "SELECT seq, article_id FROM stories_articles WHERE article_id IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            ):
                seq_map[source_seq[article_id]] = seq
