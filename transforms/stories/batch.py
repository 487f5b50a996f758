"""One bundle's story decisions, made in memory between a few store reads and one write.

StoryIndex.assign_many reads for the whole bundle at once the stored URL matches of its URL
keys and the stored LSH candidates of the union of its buckets (a handful of round trips to
the store, however many articles: on a shared database every round trip is spent under the
story lock). `match` then walks the articles in (published, id) order exactly as assigning
them one by one would: each sees the stored index plus the articles of the bundle before it
(an overlay answering the same look-ups: the earliest URL match in its window, the candidates
under its buckets in insertion order), so the earliest copy founds the story and later copies
join it. `settle` needs only the markers of the stories involved (one more read) to call each
join a copy or an update, and returns what to write and what each article got.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, NamedTuple, Sequence

from wirewatch.transforms.model import Article
from wirewatch.transforms.state import interface
from wirewatch.transforms.state.interface import (
    StoryCluster,
    StoryEntry,
    StoryHead,
    StoryLink,
    StoryMatch,
)
from wirewatch.transforms.stories.fingerprint import Fingerprint, jaccard, pack
from wirewatch.transforms.stories.settings import StorySettings


class Prepared(NamedTuple):
    """An article with everything computed outside the write transaction."""

    article: Article
    published: float  # unix seconds
    entities: frozenset[str]
    fp: Fingerprint
    url: str | None
    markers: frozenset[str]
    bands: list[int]


class Best(NamedTuple):
    score: float
    basis: str
    article_id: str
    story_id: str
    published: float


class Decision(NamedTuple):
    """The story of one article: joined (`best` is the match) or founded (`best` is the
    closest article below the threshold, or None)."""

    p: Prepared
    story_id: str
    best: Best | None
    joins: bool


class _Known:
    """An article a later one can be compared with: a stored candidate or an article of the
    bundle assigned before. Its feature hashes are a frozenset, or for a stored one a view of
    the packed blob (`fingerprint.pack`: sorted, each once): `set.intersection` takes either,
    and not building a set per candidate saves a fifth of the comparison."""

    __slots__ = ("article_id", "story_id", "published", "entities", "full", "title")
    __slots__ += ("n_full", "n_title", "title_words")

    def __init__(self, article_id, story_id, published, entities, full, title, title_words):
        self.article_id, self.story_id, self.published = article_id, story_id, published
        self.entities, self.full, self.title, self.title_words = entities, full, title, title_words
        self.n_full, self.n_title = len(full), len(title)

    @classmethod
    def stored(cls, m: StoryMatch) -> _Known:
        full, title = memoryview(m.full_fp).cast("I"), memoryview(m.title_fp).cast("I")
        return cls(m.article_id, m.story_id, m.published, m.entities, full, title, m.title_words)


def match(
    ordered: Sequence[Prepared],
    urls: interface.UrlMatches,
    candidates: Sequence[StoryMatch],
    s: StorySettings,
) -> list[Decision]:
    """Each article's story, in the order given (publication order): `urls` and `candidates`
    are what the store holds for the bundle's URL keys and buckets over the bundle's window."""
    window = s.window_hours * 3600
    known = [_Known.stored(c) for c in candidates]
    by_band: dict[int, list[int]] = defaultdict(list)  # bucket -> positions in `known`
    for position, c in enumerate(candidates):
        for band in c.bands:
            by_band[band].append(position)
    by_url: dict[str, list[Best]] = defaultdict(list)  # the bundle's own, in assignment order
    out = []
    for p in ordered:
        lo, hi = p.published - window, p.published + window
        best = _url_match(urls.get(p.url, ()), by_url.get(p.url, ()), lo, hi) if p.url else None
        if best is None and p.bands:
            shared = by_band.keys() & p.bands
            positions = sorted(set().union(*[by_band[band] for band in shared]))
            best = _text_match(p, (known[i] for i in positions), lo, hi, s)
        joins = best is not None and best.score >= s.threshold
        story_id = best.story_id if joins else f"s-{p.article.id}"
        out.append(Decision(p, story_id, best, joins))
        for band in p.bands:
            by_band[band].append(len(known))
        fp = p.fp
        known.append(
            _Known(
                p.article.id, story_id, p.published, p.entities, fp.full, fp.title, fp.title_words
            )
        )
        if p.url:
            by_url[p.url].append(Best(1.0, "url", p.article.id, story_id, p.published))
    return out


def _url_match(
    stored: Iterable[StoryMatch], earlier: Iterable[Best], lo: float, hi: float
) -> Best | None:
    """The earliest article with the URL key in [lo, hi]; on a tie the first inserted (the
    stored ones were inserted before the bundle)."""
    first = next((m for m in stored if lo <= m.published <= hi), None)
    mine = None
    for b in earlier:
        if lo <= b.published <= hi and (mine is None or b.published < mine.published):
            mine = b
    if first is not None and (mine is None or first.published <= mine.published):
        return Best(1.0, "url", first.article_id, first.story_id, first.published)
    return mine


def _text_match(
    p: Prepared, candidates: Iterable[_Known], lo: float, hi: float, s: StorySettings
) -> Best | None:
    """The most similar candidate in [lo, hi] (any score; the earliest on a tie), or None.

    The score is `similarity` (fingerprint.py) plus the entity boost, with the two Jaccards
    written out here: this loop runs once per candidate of every article (about 15 at 50,000
    indexed articles), and the calls cost more than the set intersections."""
    best, top, when, why = None, 0.0, 0.0, ""
    fp, entities, words, boost = p.fp, p.entities, s.min_title_words, s.entity_boost
    full, title = fp.full, fp.title
    n_full, n_title, titled = len(full), len(title), fp.title_words >= words
    for c in candidates:
        published = c.published
        if not lo <= published <= hi:
            continue
        score, basis = 0.0, "text"
        if n_full and c.n_full:
            inter = len(full.intersection(c.full))
            score = inter / (n_full + c.n_full - inter)
        if titled and c.title_words >= words and n_title and c.n_title:
            inter = len(title.intersection(c.title))
            if (by_title := inter / (n_title + c.n_title - inter)) > score:
                score, basis = by_title, "title"
        if entities and c.entities:
            score += boost * jaccard(entities, c.entities)
        score = min(score, 1.0)
        if best is None or score > top or (score == top and published < when):
            best, top, when, why = c, score, published, basis
    return Best(top, why, best.article_id, best.story_id, when) if best else None


class _Story:
    """A story as the bundle grows it: what the next join compares with, what the batch adds."""

    __slots__ = ("first", "title", "markers", "latest", "lo", "hi", "size", "updates")

    def __init__(self, first: str, title: str, markers: frozenset[str], latest: float):
        self.first, self.title, self.markers, self.latest = first, title, set(markers), latest
        self.lo, self.hi, self.size, self.updates = float("inf"), float("-inf"), 0, 0

    def add(self, p: Prepared, kind: str) -> None:
        self.markers |= p.markers
        self.latest = max(self.latest, p.published)
        self.lo, self.hi = min(self.lo, p.published), max(self.hi, p.published)
        self.size += 1
        self.updates += kind == "update"


def settle(
    decisions: Sequence[Decision], heads: dict[str, StoryHead]
) -> tuple[list[tuple[StoryEntry, list[int]]], list[StoryCluster], dict[str, StoryLink]]:
    """(members to store with their buckets, what each story grows by, each article's link).

    A join is an update when its headline has a marker no earlier member's had and it is not
    older than the story's latest member (material.py); `heads` are the stored stories."""
    stories: dict[str, _Story] = {}
    members, links = [], {}
    for d in decisions:
        p = d.p
        story = stories.get(d.story_id)
        if story is None:
            head = heads.get(d.story_id)
            story = stories[d.story_id] = (
                _Story(head.first_article_id, head.title, head.markers, head.latest)
                if head
                else _Story(p.article.id, p.article.title, frozenset(), float("-inf"))
            )
        if d.joins:
            changed = bool(p.markers - story.markers) and p.published >= story.latest
            kind, basis = ("update" if changed else "copy"), d.best.basis
        else:
            kind = basis = "new"
        score, matched = (round(d.best.score, 4), d.best.article_id) if d.best else (0.0, None)
        story.add(p, kind)
        members.append((_entry(p, d.story_id, kind, basis, score, matched), p.bands))
        links[p.article.id] = StoryLink(d.story_id, kind, score, basis, matched, story.first)
    clusters = [
        StoryCluster(story_id, s.first, s.title, s.lo, s.hi, s.size, s.updates)
        for story_id, s in stories.items()
    ]
    return members, clusters, links


def _entry(
    p: Prepared, story_id: str, kind: str, basis: str, score: float, matched: str | None
) -> StoryEntry:
    a = p.article
    return StoryEntry(
        article_id=a.id,
        story_id=story_id,
        feed_id=a.feed_id,
        title=a.title,
        link=a.link,
        url_key=p.url,
        published=p.published,
        kind=kind,
        basis=basis,
        similarity=score,
        matched=matched,
        markers=p.markers,
        entities=p.entities,
        full_fp=pack(p.fp.full),
        title_fp=pack(p.fp.title),
        title_words=p.fp.title_words,
    )
