"""The SQLite file's tables and how an older file is brought up to date.

The lead's tables carry a version (`meta.schema`, SCHEMA_VERSION) and migrate in order inside
one transaction (sqlite.py `_migrate`); a file from a newer wirewatch is refused. The story
tables (STORY_SCHEMA) are created on first use by the story index, idempotently.

stories_articles  one row per assigned article: its story, how it joined (kind, basis,
                  similarity, matched member), what later comparisons need (packed feature
                  hashes, title markers, entity ids, URL key) and what listing needs (feed,
                  title, link). `seq` is a compact integer key for the band index.
stories_bandsets  the LSH index's rows: (seq, the article's bucket keys packed as 8-byte
                  integers). Appended at the end (AUTOINCREMENT: a seq is never reused); each
                  process looks buckets up in memory (band_index.py). Rows go when their
                  article leaves the window. (Until schema 8: stories_bands, one row per
                  bucket key and article, which cost ~48 random B-tree pages per article.)
stories_clusters  one row per story for listing: first article, size, updates, time span.

Story times are unix seconds (REAL) so the window test is a numeric range on an index.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

from wirewatch.transforms.state.band_index import pack_bands

SCHEMA_VERSION = 8  # 2: alerts.group_key (digests); 3: feeds.ttl_minutes; 4: leases, workers;
# 5: retention (groups.updated_at, dead_letters.alert_key and resolved_at);
# 6: sink health (sink_health, alerts.deferred_at); 7: seen.hash (edited entries);
# 8: stories_bands -> stories_bandsets (the story index's buckets, one row per article)
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feeds (
  feed_id TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, failures INTEGER NOT NULL DEFAULT 0,
  next_due TEXT, last_status TEXT, last_error TEXT, updated_at TEXT NOT NULL,
  ttl_minutes INTEGER, lease_owner TEXT, lease_until TEXT);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, seen_at TEXT NOT NULL, hash TEXT);
CREATE INDEX IF NOT EXISTS seen_at_idx ON seen (seen_at);
CREATE TABLE IF NOT EXISTS alerts (
  key TEXT PRIMARY KEY, sink TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
  error TEXT, payload TEXT NOT NULL, updated_at TEXT NOT NULL, group_key TEXT,
  lease_owner TEXT, lease_until TEXT, deferred_at TEXT);
CREATE INDEX IF NOT EXISTS alerts_status_idx ON alerts (status, updated_at);
CREATE INDEX IF NOT EXISTS alerts_claims_idx ON alerts (lease_until) WHERE status = 'sending';
CREATE INDEX IF NOT EXISTS alerts_group_idx ON alerts (group_key, status);
CREATE INDEX IF NOT EXISTS alerts_deferred_idx ON alerts (sink, deferred_at)
  WHERE deferred_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS sink_health (
  sink TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0, down_until TEXT, reason TEXT,
  updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS story_alerts (
  story_id TEXT NOT NULL, rule_id TEXT NOT NULL, sink TEXT NOT NULL, alert_key TEXT NOT NULL,
  ts TEXT, PRIMARY KEY (story_id, rule_id, sink));
CREATE TABLE IF NOT EXISTS groups (
  group_key TEXT PRIMARY KEY, sink TEXT NOT NULL, state TEXT NOT NULL, due_at TEXT,
  updated_at TEXT);
CREATE INDEX IF NOT EXISTS groups_due_idx ON groups (sink, due_at);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT, stage TEXT NOT NULL, source TEXT NOT NULL,
  reason TEXT NOT NULL, record TEXT NOT NULL, at TEXT NOT NULL, alert_key TEXT,
  resolved_at TEXT);
CREATE INDEX IF NOT EXISTS dead_letters_alert_idx ON dead_letters (alert_key)
  WHERE alert_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS dead_letters_at_idx ON dead_letters (at);
CREATE TABLE IF NOT EXISTS workers (
  worker_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,
  started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL);
"""


def _add_column(db: sqlite3.Connection, table: str, column: str, decl: str) -> None:
    if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")


def _add_columns(db: sqlite3.Connection, *columns: tuple[str, str, str]) -> None:
    for table, column, decl in columns:
        _add_column(db, table, column, decl)


# target version -> step from the version before. Steps run inside the open transaction and
# must be idempotent; tables and indexes that are only new come from SCHEMA (IF NOT EXISTS).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    2: lambda db: _add_column(db, "alerts", "group_key", "TEXT"),
    3: lambda db: _add_column(db, "feeds", "ttl_minutes", "INTEGER"),
    4: lambda db: _add_columns(
        db,
        ("alerts", "lease_owner", "TEXT"),  # a claim is a lease: who holds it, until when
        ("alerts", "lease_until", "TEXT"),
        ("feeds", "lease_owner", "TEXT"),  # several workers: who polls a due feed
        ("feeds", "lease_until", "TEXT"),
    ),
    5: lambda db: _retention_columns(db),  # defined below
    # 6: sink health: when an alert was first deferred (its sink down); sink_health is new
    6: lambda db: _add_column(db, "alerts", "deferred_at", "TEXT"),
    # 7: the content hash kept with a seen key; NULL (rows from before) means "unknown": the
    # next poll adopts the entry's hash without calling it an edit (ingest/dedupe.py)
    7: lambda db: _add_column(db, "seen", "hash", "TEXT"),
    8: lambda db: _bandsets(db),  # defined below
}


def _retention_columns(db: sqlite3.Connection) -> None:
    """Retention: groups get a time to prune idle ones by; a delivery dead letter names its
    alert (backfilled from the record's `detail`) so a later successful send resolves it."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    _add_columns(  # a table the old file lacks comes from SCHEMA whole
        db,
        *[
            column
            for column in (
                ("groups", "updated_at", "TEXT"),
                ("dead_letters", "alert_key", "TEXT"),
                ("dead_letters", "resolved_at", "TEXT"),
            )
            if column[0] in tables
        ],
    )
    if "dead_letters" in tables:
        db.execute(
            "UPDATE dead_letters SET alert_key=json_extract(record, '$.detail') "
            "WHERE stage='deliver' AND alert_key IS NULL"
        )


def _bandsets(db: sqlite3.Connection) -> None:
    """8: the bucket entries of a file that has story tables move from stories_bands (band,
    seq) to one stories_bandsets row per article; the old table goes."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "stories_bands" not in tables:
        return  # no story tables yet: STORY_SCHEMA makes them when the index is first used
    db.execute(BANDSETS)
    rows = db.execute("SELECT seq, band FROM stories_bands ORDER BY seq")
    by_seq: dict[int, list[int]] = {}
    for seq, band in rows:
        by_seq.setdefault(seq, []).append(band)
    db.executemany(
        "INSERT OR IGNORE INTO stories_bandsets (seq, bands) VALUES (?, ?)",
        [(seq, pack_bands(bands)) for seq, bands in by_seq.items()],
    )
    db.execute("DROP TABLE stories_bands")


BANDSETS = """CREATE TABLE IF NOT EXISTS stories_bandsets (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  bands BLOB NOT NULL
)"""

STORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS stories_articles (
  seq INTEGER PRIMARY KEY,
  article_id TEXT NOT NULL UNIQUE,
  story_id TEXT NOT NULL,
  feed_id TEXT NOT NULL,
  title TEXT NOT NULL,
  link TEXT,
  url_key TEXT,
  published REAL NOT NULL,
  kind TEXT NOT NULL,
  basis TEXT NOT NULL,
  similarity REAL NOT NULL,
  matched TEXT,
  markers TEXT NOT NULL,
  entities TEXT NOT NULL,
  full_fp BLOB NOT NULL,
  title_fp BLOB NOT NULL,
  title_words INTEGER NOT NULL,
  indexed INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS stories_articles_story ON stories_articles (story_id, published);
CREATE INDEX IF NOT EXISTS stories_articles_url ON stories_articles (url_key, published)
  WHERE url_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS stories_articles_indexed ON stories_articles (published)
  WHERE indexed = 1;
CREATE INDEX IF NOT EXISTS stories_articles_published ON stories_articles (published);
{BANDSETS};
CREATE TABLE IF NOT EXISTS stories_clusters (
  story_id TEXT PRIMARY KEY,
  first_article_id TEXT NOT NULL,
  title TEXT NOT NULL,
  first_published REAL NOT NULL,
  last_published REAL NOT NULL,
  size INTEGER NOT NULL,
  updates INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS stories_clusters_last ON stories_clusters (last_published);
""".replace("{BANDSETS}", BANDSETS)
