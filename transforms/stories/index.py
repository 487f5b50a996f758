"""StoryIndex: gives every article a story, in the state store, through an LSH index.

An article joins an existing story when, among articles published within `window_hours` of it,
one shares its URL key (urlkey.py), or one is similar enough (fingerprint.py: exact Jaccard of
title+lead or of titles, plus `entity_boost` x Jaccard of entity ids) to reach `threshold`.
Candidates come from LSH buckets (lsh.py) the store keeps per article
(`StateStore.story_candidates`), so a lookup costs the size of a few buckets, not a scan of
recent articles. The best-scoring member (earliest on a tie) decides the story; the join is a
"copy" or an "update" (material.py). Links between members are pairwise, so a story can outlive
the window through a chain of close copies — what a developing story does.

Transactions: the index talks only to the StateStore interface (state/interface.py). A bundle
is decided first and saved after (`draft`, then `commit`). The draft takes the store's mark,
reads the bundle's links, URL matches, candidates and story heads (a fixed handful of store
calls, however many articles: batch.py) and decides in memory, without a lock, so two workers
draft at once. The commit is one `store.transaction()` holding `store.lock_stories()`: it saves
the draft only if no article stored since the mark could change a decision (one of its ids,
a shared URL key or bucket, a story it grows); otherwise it decides again under the lock. So
the look-up and the insert are atomic across threads *and* processes as if every bundle had
held the lock throughout: two workers cannot both found a story for the same article, and
re-assigning an article id returns what was stored (idempotent after a crash). Bundles that
share nothing (partition.py) never redo each other's work.

Pruning runs by the index clock (`clock`, default the store's: on a shared store every host
prunes by the server's time; tests and the bench pass their own): band entries of articles
published more than `window_hours` ago go, memberships and stories after `retain_hours`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable, Iterable, NamedTuple, Sequence

from wirewatch.transforms.model import Article, EntityTag
from wirewatch.transforms.state.interface import (
    StateStore,
    StoryChain,
    StoryChange,
    StoryCluster,
    StoryEntry,
    StoryLink,
)
from wirewatch.transforms.stories.batch import Prepared, match, settle
from wirewatch.transforms.stories.fingerprint import Fingerprint, fingerprint
from wirewatch.transforms.stories.lsh import band_keys
from wirewatch.transforms.stories.material import markers
from wirewatch.transforms.stories.model import StoryAssignment, StoryMember, StorySummary
from wirewatch.transforms.stories.partition import Sketch, components, cycle_bands, stored_stories
from wirewatch.transforms.stories.settings import StorySettings
from wirewatch.transforms.stories.urlkey import url_key
from wirewatch.transforms.tagging.trusted import trusted


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
    """Built without validation (`trusted`): every value is one the index decided and stored
    (validating them again is pydantic work the index does not need)."""
    return trusted(
        StoryAssignment,
        {
            "story_id": link.story_id,
            "is_new": link.kind == "new",
            "kind": link.kind,
            "first_article_id": link.first_article_id,
            "similarity": float(link.similarity),
            "basis": link.basis,
            "matched_article_id": link.matched,
        },
    )


def article_fingerprint(article: Article, s: StorySettings) -> Fingerprint:
    """The article's title+lead and title fingerprints, as the settings shape them."""
    return fingerprint(article.title, article.summary, **_shape(s))


@lru_cache(maxsize=8)
def _shape(s: StorySettings) -> dict[str, int]:
    """The settings `fingerprint` takes, worked out once (a pydantic dump per article cost
    more than the article's content words)."""
    return {"num_perm": s.num_perm, **s.model_dump(include={"lead_words", "min_title_words"})}


def bucket_keys(fp: Fingerprint, s: StorySettings) -> list[int]:
    """The LSH buckets an article is filed under (and looked up in): title+lead, then title."""
    keys = band_keys(fp.full_sig, kind="f", bands=s.bands, rows=s.rows) if fp.full_sig else []
    if fp.title_sig:
        keys += band_keys(fp.title_sig, kind="t", bands=s.bands, rows=s.rows)
    return keys


def prepare(article: Article, entities: Iterable[EntityTag], s: StorySettings) -> Prepared:
    """What assignment needs of an article, computed without the store (so a runner can do it
    on any worker, before the articles meet under one key): fingerprints, buckets, URL key,
    headline markers. The signatures are dropped once they gave the buckets."""
    fp = article_fingerprint(article, s)
    return Prepared(
        article,
        _ts(article.published),
        frozenset(e.id for e in entities),
        Fingerprint(fp.full, fp.title, fp.title_words, None, None),
        url_key(article.link),
        markers(article.title),
        bucket_keys(fp, s),
    )


class Decided(NamedTuple):
    """What a bundle's decisions write (batch.settle), and each article's link."""

    members: list[tuple[StoryEntry, list[int]]]
    clusters: list[StoryCluster]
    links: dict[str, StoryLink]


_NOTHING = Decided([], [], {})


class Draft(NamedTuple):
    """A bundle decided on what the store held at `mark` (StoryIndex.draft), not yet saved."""

    prepared: list[Prepared]  # as given
    mark: int
    links: dict[str, StoryLink]  # the stored links of its articles, at the mark
    todo: list[Prepared]  # the articles without one, in publication order
    bands: list[int]  # their buckets, sorted, each once
    decided: Decided


def _unassigned(prepared: Iterable[Prepared], links: dict[str, StoryLink]) -> list[Prepared]:
    """The articles without a stored link, in (published, id) order; an id twice: the first."""
    todo, done = [], set(links)
    for p in sorted(prepared, key=lambda p: (p.article.published, p.article.id)):
        if p.article.id not in done:
            done.add(p.article.id)
            todo.append(p)
    return todo


def _bands(prepared: Iterable[Prepared]) -> list[int]:
    return sorted({band for p in prepared for band in p.bands})


def _stale(draft: Draft, changes: Iterable[StoryChange]) -> bool:
    """Whether an article stored since the draft's mark could change one of its decisions:
    it is one of the draft's articles, shares a URL key or a bucket with one, or joined a
    story the draft grows (whose head its settle read)."""
    changes = list(changes)
    if not changes:
        return False
    ids = {p.article.id for p in draft.todo}
    urls = {p.url for p in draft.todo if p.url}
    stories = {link.story_id for link in draft.decided.links.values()}
    return any(
        c.shares_band or c.article_id in ids or c.story_id in stories or c.url_key in urls
        for c in changes
    )


def _chained(store: StateStore, siblings: Siblings, draft: Draft) -> bool:
    """Under the lock: whether nothing but the siblings' saves came after the partition's
    mark (nothing at all, or the chain of their saves ends at the store's mark now), the
    draft saw that mark, and none of its articles has been stored since (a second run of
    this same part, which the chain would take for a sibling)."""
    if siblings.mark > draft.mark:
        return False
    now = store.story_mark()
    if now != siblings.mark and store.story_chain() != (siblings.token, siblings.mark, now):
        return False
    return not store.story_links(p.article.id for p in draft.todo)


class Siblings(NamedTuple):
    """The other parts of a cycle's partition (partition.py), as one part's commit sees them:
    the store's mark from before the partition looked at it, and the partition's token, under
    which the parts chain their saves (`StoryChain`)."""

    mark: int
    token: str


class StoryIndex:
    """`assign(article, entities)` -> StoryAssignment; `members()`, `recent()` for listing."""

    def __init__(
        self,
        store: StateStore,
        settings: StorySettings | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ):
        self._store = store
        self.settings = settings or StorySettings()
        self._clock = clock or store.now
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
        founds the story whatever order a bundle delivered them in (batch.py).
        """
        return self.assign_prepared(
            [
                prepare(*(item if isinstance(item, tuple) else (item, ())), self.settings)
                for item in items
            ]
        )

    def assign_prepared(
        self, prepared: list[Prepared], siblings: Siblings | None = None
    ) -> list[StoryAssignment]:
        """`assign_many` of articles already prepared (`prepare`, with these settings);
        `siblings`: when they are one part of a partition (`commit`)."""
        return self.commit(self.draft(prepared), siblings)

    def draft(self, prepared: list[Prepared]) -> Draft:
        """Decide without the lock, on what the store holds now (its mark): the slow part,
        which several workers can do at once. Nothing is written until `commit`."""
        self._maybe_prune()
        return self._draft(prepared, self._store.story_mark())

    def _draft(self, prepared: list[Prepared], mark: int) -> Draft:
        links = self._store.story_links(p.article.id for p in prepared)
        todo = _unassigned(prepared, links)
        bands = _bands(todo)
        decided = self._decide(todo, bands) if todo else _NOTHING
        return Draft(prepared, mark, links, todo, bands, decided)

    def commit(self, draft: Draft, siblings: Siblings | None = None) -> list[StoryAssignment]:
        """Save the draft's decisions under the story lock, if nothing they depend on was
        stored since its mark (another worker's copy of one of its stories, a link of one of
        its articles); else decide again under the lock, as if there had been no draft.

        With `siblings` (the draft is one part of a partition), when only they stored anything
        since the partition's mark, nothing is looked at: the partition found the parts sharing
        nothing in what the store held at that mark, and nobody else stored anything since.
        That skips testing each of their buckets against the draft's (0.13-0.23 s under the
        lock for the second of two 5,000-article parts). Only they: the parts chain their
        saves in the store (`StoryChain`), so a save by anyone else breaks the chain, even of
        an article with a sibling's id (another process's version of it, which can share
        buckets with this draft where the sibling's did not)."""
        store = self._store
        with store.transaction():
            store.lock_stories()
            chained = bool(draft.todo) and siblings is not None and _chained(store, siblings, draft)
            if draft.todo and not chained:
                if _stale(draft, store.story_changes(draft.mark, draft.bands)):
                    draft = self._draft(draft.prepared, draft.mark)
            links, decided = draft.links, draft.decided
            if draft.todo:
                store.save_stories(decided.members, decided.clusters)
                links = {**links, **decided.links}
                if chained:
                    chain = StoryChain(siblings.token, siblings.mark, store.story_mark())
                    store.save_story_chain(chain)
        return [_assignment(links[p.article.id]) for p in draft.prepared]

    def components(self, sketches: Sequence[Sketch]) -> list[list[int]]:
        """The articles (positions in `sketches`) whose stories can be decided apart, as
        partition.components, with what the store holds over their window."""
        if not sketches:
            return []
        store, (lo, hi) = self._store, self._window(s.published for s in sketches)
        every, shared = cycle_bands(sketches)
        by_band, by_url = stored_stories(
            store.story_candidates(every, lo, hi),
            store.story_urls({s.url for s in sketches if s.url}, lo, hi),
        )
        return components(sketches, by_band, by_url, shared)

    def _window(self, published: Iterable[float]) -> tuple[float, float]:
        """The times a candidate of any of these articles may have: their span, widened by
        the window on both sides."""
        times, window = list(published), self.settings.window_hours * 3600
        return min(times) - window, max(times) + window

    def _decide(self, ordered: list[Prepared], bands: list[int]) -> Decided:
        """The stories of articles never assigned, in publication order (reads only); `bands`:
        their buckets (`_bands`)."""
        store, (lo, hi) = self._store, self._window(p.published for p in ordered)
        urls = store.story_urls({p.url for p in ordered if p.url}, lo, hi)
        candidates = store.story_candidates(bands, lo, hi)
        decisions = match(ordered, urls, candidates, self.settings)
        heads = store.story_heads({d.story_id for d in decisions})
        return Decided(*settle(decisions, heads))

    # --- pruning ------------------------------------------------------------------------------
    def _maybe_prune(self) -> None:
        """Prune, under the lock, if it is time: before a draft reads, so it never reads what
        is about to go. (A prune by another process between a draft and its commit is not a
        change to it: the draft is then what it would have been just before that prune.)"""
        now = self._clock()
        every = timedelta(minutes=self.settings.prune_every_minutes)
        if self._last_prune is None or now - self._last_prune >= every:
            with self._store.transaction():
                self._store.lock_stories()
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
