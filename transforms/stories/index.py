"""StoryIndex: gives every article a story, in the state store, through an LSH index.

An article joins an existing story when, among articles published within `window_hours` of it,
one shares its URL key (urlkey.py), or one is similar enough (fingerprint.py: exact Jaccard of
title+lead or of titles, plus `entity_boost` x Jaccard of entity ids) to reach `threshold`.
Candidates come from LSH buckets (lsh.py) the store keeps per article
(`StateStore.story_candidates`), so a lookup costs the size of a few buckets, not a scan of
recent articles. The best-scoring member (earliest on a tie) decides the story; the join is a
"copy" or an "update" (material.py). Links between members are pairwise, so a story can outlive
the window through a chain of close copies — what a developing story does.

Transactions: the index talks only to the StateStore interface (state/interface.py). Each
`assign_many` is one `store.transaction()` holding `store.lock_stories()`, so the look-up and
the insert are atomic across threads *and* processes: two workers cannot both found a story for
the same article, and re-assigning an article id returns what was stored (idempotent after a
crash). Fingerprints are computed before the transaction so the write lock is held only for the
store's reads and writes.

Pruning runs by the index clock (`clock`, default wall time; tests and the bench pass their
own): band entries of articles published more than `window_hours` ago go, memberships and
stories after `retain_hours`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, NamedTuple

from wirewatch.transforms.model import Article, EntityTag, utc_now
from wirewatch.transforms.state.interface import (
    StateStore,
    StoryCluster,
    StoryEntry,
    StoryLink,
)
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
from wirewatch.transforms.stories.settings import StorySettings
from wirewatch.transforms.stories.urlkey import url_key


def _ts(moment: datetime) -> float:
    """Unix seconds; a naive datetime is taken as UTC (feeds that omit the zone mean UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _summary(c: StoryCluster) -> StorySummary:
    return StorySummary(
        story_id=c.story_id,
        first_article_id=c.first_article_id,
        title=c.title,
        first_published=_dt(c.first_published),
        last_published=_dt(c.last_published),
        size=c.size,
        updates=c.updates,
    )


def _assignment(link: StoryLink) -> StoryAssignment:
    return StoryAssignment(
        story_id=link.story_id,
        is_new=link.kind == "new",
        kind=link.kind,
        first_article_id=link.first_article_id,
        similarity=link.similarity,
        basis=link.basis,
        matched_article_id=link.matched,
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
    bands: list[int]


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
        self.settings = settings or StorySettings()
        self._clock = clock
        self._last_prune: datetime | None = None
        store.prepare_stories()

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
        store = self._store
        with store.transaction():
            store.lock_stories()
            self._maybe_prune()
            stored = store.story_links(p.article.id for p in prepared)
            done: set[str] = set()
            for i in order:
                article_id = prepared[i].article.id
                if article_id in done:  # twice in one batch: what the first one stored
                    stored.update(store.story_links([article_id]))
                link = stored.get(article_id)
                out[i] = _assignment(link) if link else self._assign(prepared[i])
                done.add(article_id)
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
            bucket_keys(fp, s),
        )

    def _assign(self, p: _Prepared) -> StoryAssignment:
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
        m = self._store.story_by_url(key, lo, hi)
        return _Best(1.0, "url", m.article_id, m.story_id, m.published) if m else None

    def _text_match(self, p: _Prepared, lo: float, hi: float) -> _Best | None:
        """The most similar indexed article in the window (any score), or None."""
        if not p.bands:
            return None
        s = self.settings
        best: _Best | None = None
        for c in self._store.story_candidates(p.bands, lo, hi):
            other = Fingerprint(unpack(c.full_fp), unpack(c.title_fp), c.title_words, None, None)
            score, basis = similarity(p.fp, other, s.min_title_words)
            if p.entities and c.entities:
                score += s.entity_boost * jaccard(p.entities, c.entities)
            cand = _Best(min(score, 1.0), basis, c.article_id, c.story_id, c.published)
            if best is None or (cand.score, -cand.published) > (best.score, -best.published):
                best = cand
        return best

    def _found(self, p: _Prepared, published: float, near: _Best | None) -> StoryAssignment:
        """A new story; `near` (the best candidate below the threshold) is kept for tuning."""
        story_id = f"s-{p.article.id}"
        score, near_id = (near.score, near.article_id) if near else (0.0, None)
        entry = self._entry(p, story_id, published, "new", "new", score, near_id)
        self._store.found_story(entry, p.bands)
        return StoryAssignment(
            story_id=story_id,
            is_new=True,
            kind="new",
            first_article_id=p.article.id,
            similarity=round(score, 4),
            matched_article_id=near_id,
        )

    def _join(self, p: _Prepared, published: float, best: _Best) -> StoryAssignment:
        earlier, latest = self._store.story_markers(best.story_id)
        changed = bool(p.markers - earlier) and published >= latest
        kind = "update" if changed else "copy"
        entry = self._entry(
            p, best.story_id, published, kind, best.basis, best.score, best.article_id
        )
        first = self._store.join_story(entry, p.bands, updated=changed)
        return StoryAssignment(
            story_id=best.story_id,
            is_new=False,
            kind=kind,
            first_article_id=first,
            similarity=round(best.score, 4),
            basis=best.basis,
            matched_article_id=best.article_id,
        )

    @staticmethod
    def _entry(
        p: _Prepared,
        story_id: str,
        published: float,
        kind: str,
        basis: str,
        score: float,
        matched: str | None,
    ) -> StoryEntry:
        a = p.article
        return StoryEntry(
            article_id=a.id,
            story_id=story_id,
            feed_id=a.feed_id,
            title=a.title,
            link=a.link,
            url_key=p.url,
            published=published,
            kind=kind,
            basis=basis,
            similarity=round(score, 4),
            matched=matched,
            markers=p.markers,
            entities=p.entities,
            full_fp=pack(p.fp.full),
            title_fp=pack(p.fp.title),
            title_words=p.fp.title_words,
        )

    # --- pruning ------------------------------------------------------------------------------
    def _maybe_prune(self) -> None:
        now = self._clock()
        every = timedelta(minutes=self.settings.prune_every_minutes)
        if self._last_prune is None or now - self._last_prune >= every:
            self._prune(now)

    def prune(self, now: datetime | None = None) -> dict[str, int]:
        """Drop band entries older than the window, memberships older than retain_hours."""
        return self._prune(now or self._clock())

    def _prune(self, now: datetime) -> dict[str, int]:
        self._last_prune = now
        return self._store.prune_stories(
            index_before=_ts(now) - self.settings.window_hours * 3600,
            keep_after=_ts(now) - self.settings.retain_hours * 3600,
        )

    # --- reading ------------------------------------------------------------------------------
    def story_of(self, article_id: str) -> StoryAssignment | None:
        """The stored assignment of an article id, or None if it was never assigned."""
        link = self._store.story_links([article_id]).get(article_id)
        return _assignment(link) if link else None

    def members(self, story_id: str) -> list[StoryMember]:
        return [
            StoryMember(
                article_id=e.article_id,
                story_id=e.story_id,
                feed_id=e.feed_id,
                title=e.title,
                link=e.link,
                published=_dt(e.published),
                kind=e.kind,
                basis=e.basis,
                similarity=e.similarity,
                matched_article_id=e.matched,
            )
            for e in self._store.story_members(story_id)
        ]

    def recent(self, limit: int = 20, min_size: int = 1) -> list[StorySummary]:
        """Stories by latest activity, newest first; `min_size=2` shows only merges."""
        return [_summary(c) for c in self._store.story_clusters(limit, min_size)]

    def story(self, story_id: str) -> StorySummary | None:
        cluster = self._store.story_cluster(story_id)
        return _summary(cluster) if cluster else None

    def counts(self) -> dict[str, int]:
        return self._store.story_counts()
