"""The PostgreSQL store's schema and its versioned migrations.

Same tables and meaning as the SQLite store, in PostgreSQL's native types (timestamptz, bytea,
bigint identity). `SCHEMA_VERSION` counts this backend's own migrations: an older wirewatch
refuses a database whose version is newer than it knows.
"""

from __future__ import annotations

SCHEMA_VERSION = 4  # 2: retention (groups.updated_at, dead_letters.alert_key, resolved_at);
# 3: sink health (sink_health, alerts.deferred_at); 4: seen.hash (edited entries)

# version -> statements that bring the schema from version-1 to version. Each runs in the one
# migration transaction, under an advisory lock, so two workers starting together cannot race.
MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE IF NOT EXISTS feeds (
  feed_id TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,
  failures INTEGER NOT NULL DEFAULT 0, next_due TIMESTAMPTZ, last_status TEXT, last_error TEXT,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), ttl_minutes INTEGER,
  lease_owner TEXT, lease_until TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, seen_at TIMESTAMPTZ NOT NULL);
CREATE INDEX IF NOT EXISTS seen_at_idx ON seen (seen_at);
CREATE TABLE IF NOT EXISTS alerts (
  key TEXT PRIMARY KEY, sink TEXT NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, error TEXT, payload TEXT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL, group_key TEXT, lease_owner TEXT, lease_until TIMESTAMPTZ);
CREATE INDEX IF NOT EXISTS alerts_status_idx ON alerts (status, updated_at);
CREATE INDEX IF NOT EXISTS alerts_claims_idx ON alerts (lease_until) WHERE status = 'sending';
CREATE INDEX IF NOT EXISTS alerts_group_idx ON alerts (group_key, status);
CREATE TABLE IF NOT EXISTS story_alerts (
  story_id TEXT NOT NULL, rule_id TEXT NOT NULL, sink TEXT NOT NULL, alert_key TEXT NOT NULL,
  ts TEXT, PRIMARY KEY (story_id, rule_id, sink));
CREATE TABLE IF NOT EXISTS groups (
  group_key TEXT PRIMARY KEY, sink TEXT NOT NULL, state TEXT NOT NULL, due_at TIMESTAMPTZ);
CREATE INDEX IF NOT EXISTS groups_due_idx ON groups (sink, due_at);
CREATE TABLE IF NOT EXISTS dead_letters (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stage TEXT NOT NULL,
  source TEXT NOT NULL, reason TEXT NOT NULL, record TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS workers (
  worker_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,
  started_at TIMESTAMPTZ NOT NULL, heartbeat_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS stories_articles (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  article_id TEXT NOT NULL UNIQUE, story_id TEXT NOT NULL, feed_id TEXT NOT NULL,
  title TEXT NOT NULL, link TEXT, url_key TEXT, published DOUBLE PRECISION NOT NULL,
  kind TEXT NOT NULL, basis TEXT NOT NULL, similarity DOUBLE PRECISION NOT NULL,
  matched TEXT, markers TEXT NOT NULL, entities TEXT NOT NULL, full_fp BYTEA NOT NULL,
  title_fp BYTEA NOT NULL, title_words INTEGER NOT NULL, indexed INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS stories_articles_story ON stories_articles (story_id, published);
CREATE INDEX IF NOT EXISTS stories_articles_url ON stories_articles (url_key, published)
  WHERE url_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS stories_articles_published ON stories_articles (published);
CREATE TABLE IF NOT EXISTS stories_bands (
  band BIGINT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (band, seq));
CREATE INDEX IF NOT EXISTS stories_bands_seq ON stories_bands (seq);
CREATE TABLE IF NOT EXISTS stories_clusters (
  story_id TEXT PRIMARY KEY, first_article_id TEXT NOT NULL, title TEXT NOT NULL,
  first_published DOUBLE PRECISION NOT NULL, last_published DOUBLE PRECISION NOT NULL,
  size INTEGER NOT NULL, updates INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS stories_clusters_last ON stories_clusters (last_published);
""",
    2: """
ALTER TABLE groups ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS alert_key TEXT;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS resolved_at TIMESTAMPTZ;
UPDATE dead_letters SET alert_key = record::jsonb ->> 'detail'
  WHERE stage = 'deliver' AND alert_key IS NULL;
CREATE INDEX IF NOT EXISTS dead_letters_alert_idx ON dead_letters (alert_key)
  WHERE alert_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS dead_letters_at_idx ON dead_letters (at);
""",
    3: """
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS deferred_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS alerts_deferred_idx ON alerts (sink, deferred_at)
  WHERE deferred_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS sink_health (
  sink TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0, down_until TIMESTAMPTZ,
  reason TEXT, updated_at TIMESTAMPTZ NOT NULL);
""",
    # the content hash kept with a seen key; NULL (rows from before) means "unknown": the next
    # poll adopts the entry's hash without calling it an edit (ingest/dedupe.py)
    4: """
ALTER TABLE seen ADD COLUMN IF NOT EXISTS hash TEXT;
""",
}

META = "CREATE TABLE IF NOT EXISTS wirewatch_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
MIGRATION_LOCK = 0x77697265  # advisory lock id ("wire"): one migrating worker at a time
STORY_LOCK = 0x73746F72  # advisory lock id ("stor"): story assignment is serial across workers
GROUP_LOCKS = 0x67727570  # advisory lock space ("grup") of locked_group: (GROUP_LOCKS, hash of key)
