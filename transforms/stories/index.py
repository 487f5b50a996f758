"""StoryIndex: gives every article a story, in the state store, through an LSH index.

An article joins an existing story when, among articles published within `window_hours` of it,
one shares its URL key (urlkey.py), or one is similar enough (fingerprint.py: exact Jaccard of
title+lead or of titles, plus `entity_boost` x Jaccard of entity ids) to reach `threshold`.
Candidates come from LSH buckets (lsh.py) read through the primary-key index of
`stories_bands`, so a lookup costs the size of a few buckets, not a scan of recent articles.
The best-scoring member (earliest on a tie) decides the story; the join is a "copy" or an
"update" (material.py). Links between members are pairwise, so a story can outlive the window
through a chain of close copies — what a developing story does.

Transactions: the index works on the lead's `StateStore` — its connection (`store._db`,
autocommit, WAL) and its `_tx()` (thread lock + BEGIN IMMEDIATE). Each `assign_many` is one
write transaction, so the look-up and the insert are atomic across threads *and* processes:
two workers cannot both found a story for the same article, and re-assigning an article id
returns what was stored (idempotent after a crash). Fingerprints are computed before the
transaction so the write lock is held only for SQL.

The index raises the connection's page cache to 64 MB (see CACHE_KIB).

Pruning runs by the index clock (`clock`, default wall time; tests and the bench pass their
own): band entries of articles published more than `window_hours` ago go, memberships and
stories after `retain_hours`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable, Iterable, NamedTuple

from wirewatch.transforms.model import Article, EntityTag, utc_now
from wirewatch.transforms.state.sqlite import StateStore
from wirewatch.transforms.stories.fingerprint import (
    Fingerprint,
    fingerprint,
    jaccard,
    pack,
    similarity,
    unpack,
)
from wirewatch.transforms.stories.lsh import band_keys
from wirewatch.transforms.stories.material import markers
from wirewatch.transforms.stories.model import StoryAssignment, StoryMember, StorySummary
from wirewatch.transforms.stories.schema import SCHEMA
from wirewatch.transforms.stories.settings import StorySettings
from wirewatch.transforms.stories.urlkey import url_key

_SEP = "\x1f"
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
def _candidates_sql(n: int) -> str:
    return _CANDIDATES.format(marks=",".join("?" * n))


def _ts(moment: datetime) -> float:
    """Unix seconds; a naive datetime is taken as UTC (feeds that omit the zone mean UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


_SUMMARY = "story_id, first_article_id, title, first_published, last_published, size, updates"


def _summary(row) -> StorySummary:
    return StorySummary(
        story_id=row[0],
        first_article_id=row[1],
        title=row[2],
        first_published=_dt(row[3]),
        last_published=_dt(row[4]),
        size=row[5],
        updates=row[6],
    )


def bucket_keys(fp: Fingerprint, s: StorySettings) -> list[int]:
    """The LSH buckets an article is filed under (and looked up in): title+lead, then title."""
    keys = band_keys(fp.full_sig, kind="f", bands=s.bands, rows=s.rows) if fp.full_sig else []
    if fp.title_sig:
        keys += band_keys(fp.title_sig, kind="t", bands=s.bands, rows=s.rows)
    return keys


class _Prepared(NamedTuple):
    """An article with everything computed outside the write transaction."""

    article: Article
    entities: frozenset[str]
    fp: Fingerprint
    url: str | None
    markers: frozenset[str]


class _Best(NamedTuple):
    score: float
    basis: str
    article_id: str
    story_id: str
    published: float


class StoryIndex:
    """`assign(article, entities)` -> StoryAssignment; `members()`, `recent()` for listing."""

    def __init__(
        self,
        store: StateStore,
        settings: StorySettings | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._store = store
        self._db = store._db
        self.settings = settings or StorySettings()
        self._clock = clock
        self._last_prune: datetime | None = None
        with store._lock:
            self._db.executescript(SCHEMA)
            pages = self._db.execute("PRAGMA cache_size").fetchone()[0]
            page_kib = self._db.execute("PRAGMA page_size").fetchone()[0] / 1024
            if (-pages if pages < 0 else pages * page_kib) < CACHE_KIB:
                self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")

    # --- assigning ----------------------------------------------------------------------------
    def assign(self, article: Article, entities: Iterable[EntityTag] = ()) -> StoryAssignment:
        return self.assign_many([(article, tuple(entities))])[0]

    def assign_many(
        self, items: Iterable[Article | tuple[Article, Iterable[EntityTag]]]
    ) -> list[StoryAssignment]:
        """Assign a batch in one transaction; results in input order.

        Inside the batch, articles are taken in (published, id) order, so the earliest copy
        founds the story whatever order a bundle delivered them in.
        """
        prepared = [
            self._prepare(*(item if isinstance(item, tuple) else (item, ()))) for item in items
        ]
        order = sorted(
            range(len(prepared)),
            key=lambda i: (prepared[i].article.published, prepared[i].article.id),
        )
        out: list[StoryAssignment | None] = [None] * len(prepared)
        with self._store._tx():
            self._maybe_prune()
            for i in order:
                out[i] = self._assign(prepared[i])
        return out  # type: ignore[return-value]

    def _prepare(self, article: Article, entities: Iterable[EntityTag]) -> _Prepared:
        s = self.settings
        fp = fingerprint(
            article.title,
            article.summary,
            num_perm=s.num_perm,
            lead_words=s.lead_words,
            min_title_words=s.min_title_words,
        )
        return _Prepared(
            article,
            frozenset(e.id for e in entities),
            fp,
            url_key(article.link),
            markers(article.title),
        )

    def _assign(self, p: _Prepared) -> StoryAssignment:
        stored = self.story_of(p.article.id)
        if stored is not None:
            return stored
        published = _ts(p.article.published)
        window = self.settings.window_hours * 3600
        lo, hi = published - window, published + window
        best = self._url_match(p.url, lo, hi) if p.url else None
        if best is None:
            best = self._text_match(p, lo, hi)
        if best is None or best.score < self.settings.threshold:
            return self._found(p, published, best)
        return self._join(p, published, best)

    def _url_match(self, key: str, lo: float, hi: float) -> _Best | None:
        row = self._db.execute(
            "SELECT article_id, story_id, published FROM stories_articles "
            "WHERE url_key=? AND published BETWEEN ? AND ? ORDER BY published, seq LIMIT 1",
            (key, lo, hi),
        ).fetchone()
        return _Best(1.0, "url", row[0], row[1], row[2]) if row else None

    def _text_match(self, p: _Prepared, lo: float, hi: float) -> _Best | None:
        """The most similar indexed article in the window (any score), or None."""
        keys = self._keys(p.fp)
        if not keys:
            return None
        s = self.settings
        best: _Best | None = None
        for (
            _,
            art_id,
            story_id,
            full_fp,
            title_fp,
            title_words,
            ents,
            published,
        ) in self._db.execute(_candidates_sql(len(keys)), (*keys, lo, hi)):
            other = Fingerprint(unpack(full_fp), unpack(title_fp), title_words, None, None)
            score, basis = similarity(p.fp, other, s.min_title_words)
            other_ents = frozenset(ents.split(_SEP)) if ents else frozenset()
            if p.entities and other_ents:
                score += s.entity_boost * jaccard(p.entities, other_ents)
            cand = _Best(min(score, 1.0), basis, art_id, story_id, published)
            if best is None or (cand.score, -cand.published) > (best.score, -best.published):
                best = cand
        return best

    def _keys(self, fp: Fingerprint) -> list[int]:
        return bucket_keys(fp, self.settings)

    def _found(self, p: _Prepared, published: float, near: _Best | None) -> StoryAssignment:
        """A new story; `near` (the best candidate below the threshold) is kept for tuning."""
        story_id = f"s-{p.article.id}"
        score, near_id = (near.score, near.article_id) if near else (0.0, None)
        # the row exists only if this article founded it, was pruned (retain_hours) and is now
        # re-processed while later members are still kept: count it again, reset nothing
        self._db.execute(
            "INSERT INTO stories_clusters VALUES (?,?,?,?,?,1,0) ON CONFLICT(story_id) DO UPDATE "
            "SET size=size+1, first_published=min(first_published, excluded.first_published)",
            (story_id, p.article.id, p.article.title, published, published),
        )
        self._insert(p, story_id, published, "new", "new", score, near_id)
        return StoryAssignment(
            story_id=story_id,
            is_new=True,
            kind="new",
            first_article_id=p.article.id,
            similarity=round(score, 4),
            matched_article_id=near_id,
        )

    def _join(self, p: _Prepared, published: float, best: _Best) -> StoryAssignment:
        earlier: set[str] = set()
        latest = float("-inf")
        for marks, when in self._db.execute(
            "SELECT markers, published FROM stories_articles WHERE story_id=?", (best.story_id,)
        ):
            earlier.update(m for m in marks.split(_SEP) if m)
            latest = max(latest, when)
        changed = bool(p.markers - earlier) and published >= latest
        kind = "update" if changed else "copy"
        self._db.execute(
            "UPDATE stories_clusters SET size=size+1, updates=updates+?, "
            "first_published=min(first_published, ?), last_published=max(last_published, ?) "
            "WHERE story_id=?",
            (int(changed), published, published, best.story_id),
        )
        self._insert(p, best.story_id, published, kind, best.basis, best.score, best.article_id)
        first = self._db.execute(
            "SELECT first_article_id FROM stories_clusters WHERE story_id=?", (best.story_id,)
        ).fetchone()[0]
        return StoryAssignment(
            story_id=best.story_id,
            is_new=False,
            kind=kind,
            first_article_id=first,
            similarity=round(best.score, 4),
            basis=best.basis,
            matched_article_id=best.article_id,
        )

    def _insert(
        self,
        p: _Prepared,
        story_id: str,
        published: float,
        kind: str,
        basis: str,
        score: float,
        matched: str | None,
    ) -> None:
        a = p.article
        seq = self._db.execute(
            "INSERT INTO stories_articles (article_id, story_id, feed_id, title, link, url_key, "
            "published, kind, basis, similarity, matched, markers, entities, full_fp, title_fp, "
            "title_words) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                a.id,
                story_id,
                a.feed_id,
                a.title,
                a.link,
                p.url,
                published,
                kind,
                basis,
                round(score, 4),
                matched,
                _SEP.join(sorted(p.markers)),
                _SEP.join(sorted(p.entities)),
                pack(p.fp.full),
                pack(p.fp.title),
                p.fp.title_words,
            ),
        ).lastrowid
        self._db.executemany(
            "INSERT OR IGNORE INTO stories_bands VALUES (?, ?)",
            [(key, seq) for key in self._keys(p.fp)],
        )

    # --- pruning ------------------------------------------------------------------------------
    def _maybe_prune(self) -> None:
        now = self._clock()
        every = timedelta(minutes=self.settings.prune_every_minutes)
        if self._last_prune is None or now - self._last_prune >= every:
            self._prune(now)

    def prune(self, now: datetime | None = None) -> dict[str, int]:
        """Drop band entries older than the window, memberships older than retain_hours."""
        with self._store._tx():
            return self._prune(now or self._clock())

    def _prune(self, now: datetime) -> dict[str, int]:
        self._last_prune = now
        cutoff = _ts(now) - self.settings.window_hours * 3600
        keep = _ts(now) - self.settings.retain_hours * 3600
        db = self._db
        bands = db.execute(
            "DELETE FROM stories_bands WHERE seq IN (SELECT seq FROM "
            "stories_articles WHERE indexed=1 AND published < ?)",
            (cutoff,),
        ).rowcount
        db.execute(
            "UPDATE stories_articles SET indexed=0, full_fp=x'', title_fp=x'' "
            "WHERE indexed=1 AND published < ?",
            (cutoff,),
        )
        articles = db.execute("DELETE FROM stories_articles WHERE published < ?", (keep,)).rowcount
        stories = db.execute(
            "DELETE FROM stories_clusters WHERE last_published < ?", (keep,)
        ).rowcount
        return {"band_entries": bands, "articles": articles, "stories": stories}

    # --- reading ------------------------------------------------------------------------------
    def story_of(self, article_id: str) -> StoryAssignment | None:
        """The stored assignment of an article id, or None if it was never assigned."""
        row = self._db.execute(
            "SELECT a.story_id, a.kind, a.similarity, a.basis, a.matched, c.first_article_id "
            "FROM stories_articles a JOIN stories_clusters c ON c.story_id = a.story_id "
            "WHERE a.article_id=?",
            (article_id,),
        ).fetchone()
        if row is None:
            return None
        return StoryAssignment(
            story_id=row[0],
            is_new=row[1] == "new",
            kind=row[1],
            first_article_id=row[5],
            similarity=row[2],
            basis=row[3],
            matched_article_id=row[4],
        )

    def members(self, story_id: str) -> list[StoryMember]:
        rows = self._db.execute(
            "SELECT article_id, story_id, feed_id, title, link, published, kind, basis, "
            "similarity, matched FROM stories_articles WHERE story_id=? ORDER BY published, seq",
            (story_id,),
        ).fetchall()
        return [
            StoryMember(
                article_id=r[0],
                story_id=r[1],
                feed_id=r[2],
                title=r[3],
                link=r[4],
                published=_dt(r[5]),
                kind=r[6],
                basis=r[7],
                similarity=r[8],
                matched_article_id=r[9],
            )
            for r in rows
        ]

    def recent(self, limit: int = 20, min_size: int = 1) -> list[StorySummary]:
        """Stories by latest activity, newest first; `min_size=2` shows only merges."""
        rows = self._db.execute(
            f"SELECT {_SUMMARY} FROM stories_clusters WHERE size >= ? "
            "ORDER BY last_published DESC, story_id LIMIT ?",
            (min_size, limit),
        ).fetchall()
        return [_summary(r) for r in rows]

    def story(self, story_id: str) -> StorySummary | None:
        row = self._db.execute(
            f"SELECT {_SUMMARY} FROM stories_clusters WHERE story_id=?", (story_id,)
        ).fetchone()
        return _summary(row) if row else None

    def counts(self) -> dict[str, int]:
        return {
            table: self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("stories_clusters", "stories_articles", "stories_bands")
        }
