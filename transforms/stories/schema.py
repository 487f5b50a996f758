"""The story tables, kept in the state store's SQLite file beside the lead's tables.

stories_articles  one row per assigned article: its story, how it joined (kind, basis,
                  similarity, matched member), what later comparisons need (packed feature
                  hashes, title markers, entity ids, URL key) and what listing needs (feed,
                  title, link). `seq` is a compact integer key for the band index.
stories_bands     the LSH index: (bucket key, seq). A lookup is one `band IN (...)` probe
                  of the primary key B-tree, so its cost follows the bucket sizes, not the
                  number of stories. Rows go when their article leaves the window.
stories_clusters  one row per story for `recent()`: first article, size, updates, time span.

Times are unix seconds (REAL) so the window test is a numeric range on an index.
"""

from __future__ import annotations

SCHEMA = """
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
CREATE TABLE IF NOT EXISTS stories_bands (
  band INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (band, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS stories_bands_seq ON stories_bands (seq);
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
"""
