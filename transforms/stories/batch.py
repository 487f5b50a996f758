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
from itertools import chain
from typing import Iterable, NamedTuple, Sequence

from wirewatch.transforms.model import Article
from wirewatch.transforms.state import interface
from wirewatch.transforms.state.band_index import int_array
from wirewatch.transforms.state.interface import (
    StoryCluster,
    StoryEntry,
    StoryHead,
    StoryLink,
    StoryMatch,
)
from wirewatch.transforms.stories.fingerprint import Fingerprint, jaccard, pack
from wirewatch.transforms.stories.settings import StorySettings

FEW_PAIRS = 40
"""Up to this many pairs a bundle's are scored one by one, above it all at once in numpy."""


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


def match(
    ordered: Sequence[Prepared],
    urls: interface.UrlMatches,
    candidates: Sequence[StoryMatch],
    s: StorySettings,
) -> list[Decision]:
    """Each article's story, in the order given (publication order): `urls` and `candidates`
    are what the store holds for the bundle's URL keys and buckets over the bundle's window.

    An article is compared with the stored candidates and the bundle's earlier articles that
    share one of its buckets, published within the window of it. Which pairs those are, and
    their scores, do not depend on any decision, so they are worked out first, all at once
    (`_best_pairs`); only the story each article joins needs the decisions before it."""
    window, stored = s.window_hours * 3600, len(candidates)
    by_band: dict[int, list[int]] = defaultdict(list)  # bucket -> known articles filed under it
    for position, c in enumerate(candidates):
        for band in c.bands:
            by_band[band].append(position)
    published = [c.published for c in candidates] + [p.published for p in ordered]
    # a bucket only a single article of the bundle is filed under pairs it with nothing later
    seen: set[int] = set()
    repeated: set[int] = set()
    for p in ordered:  # set operations in C, not a count per bucket
        repeated.update(seen.intersection(p.bands))
        seen.update(p.bands)
    pairs: list[tuple[int, int]] = []  # (article, known article it is compared with)
    for i, p in enumerate(ordered):
        if shared := by_band.keys() & p.bands:
            lo, hi = p.published - window, p.published + window
            known = sorted(set().union(*[by_band[band] for band in shared]))
            pairs += [(i, k) for k in known if lo <= published[k] <= hi]
        for band in repeated.intersection(p.bands):
            by_band[band].append(stored + i)
    best = _best_pairs(ordered, candidates, published, pairs, s) if pairs else {}
    stories = [c.story_id for c in candidates]
    ids = [c.article_id for c in candidates] + [p.article.id for p in ordered]
    by_url: dict[str, list[Best]] = defaultdict(list)  # the bundle's own, in assignment order
    out = []
    for i, p in enumerate(ordered):
        lo, hi = p.published - window, p.published + window
        found = _url_match(urls.get(p.url, ()), by_url.get(p.url, ()), lo, hi) if p.url else None
        if found is None and i in best:
            score, basis, k = best[i]
            found = Best(score, basis, ids[k], stories[k], published[k])
        joins = found is not None and found.score >= s.threshold
        story_id = found.story_id if joins else f"s-{p.article.id}"
        out.append(Decision(p, story_id, found, joins))
        stories.append(story_id)
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


def _best_pairs(
    ordered: Sequence[Prepared],
    candidates: Sequence[StoryMatch],
    published: list[float],
    pairs: list[tuple[int, int]],
    s: StorySettings,
) -> dict[int, tuple[float, str, int]]:
    """Article -> (score, basis, known article) of its most similar pair (any score; the
    earliest published on a tie, then the first known), all pairs scored at once in numpy.

    The score is `similarity` (fingerprint.py: the larger of the title+lead and the titles'
    exact Jaccard) plus the entity boost. Per pair, the known article's feature hashes are
    looked up among the article's (a key article x hash, searched in the sorted keys of the
    bundle's articles), and the matches counted: one pass however many pairs, where a set
    intersection per pair in Python cost ~3 us each (about 15 pairs an article at 50,000
    indexed). The divisions are float64 as Python's, so every score is bit for bit the same.
    Up to FEW_PAIRS pairs, one set intersection each costs less than numpy's fixed cost."""
    if len(pairs) <= FEW_PAIRS:
        return _one_by_one(ordered, candidates, published, pairs, s)
    import numpy as np  # here: importing this module must not cost numpy's import

    article = int_array([i for i, _ in pairs])
    known = int_array([k for _, k in pairs])
    full = _Hashes([c.full_fp for c in candidates], [p.fp.full for p in ordered])
    title = _Hashes([c.title_fp for c in candidates], [p.fp.title for p in ordered])
    stored, words = len(candidates), s.min_title_words
    score = full.jaccard(article, known, stored)
    title_words = int_array(
        [c.title_words for c in candidates] + [p.fp.title_words for p in ordered]
    )
    titled = (title_words[article + stored] >= words) & (title_words[known] >= words)
    by_title = title.jaccard(article, known, stored)
    use_title = titled & (by_title > score)
    score = np.where(use_title, by_title, score)
    entities = [c.entities for c in candidates] + [p.entities for p in ordered]
    boost = np.zeros(len(pairs))
    if any(p.entities for p in ordered) and any(entities):  # most stored articles have none
        for j, (i, k) in enumerate(pairs):
            if ordered[i].entities and entities[k]:
                boost[j] = jaccard(ordered[i].entities, entities[k])
    score = np.minimum(score + s.entity_boost * boost, 1.0)
    times = np.fromiter(published, dtype=np.float64, count=len(published))
    order = np.lexsort((known, times[known], -score, article))
    first = np.ones(len(order), dtype=bool)
    first[1:] = article[order][1:] != article[order][:-1]
    chosen = order[first]
    scores, titles = score[chosen].tolist(), use_title[chosen].tolist()
    return {
        pairs[j][0]: (score, "title" if title else "text", pairs[j][1])
        for j, score, title in zip(chosen.tolist(), scores, titles)
    }


def _one_by_one(ordered, candidates, published, pairs, s) -> dict[int, tuple[float, str, int]]:
    """`_best_pairs`, one set intersection per pair: a stored candidate's packed hashes are
    read in place (a cast view: no list of all of them made first, and none for a candidate
    outside its article's window)."""
    words, boost, stored = s.min_title_words, s.entity_boost, len(candidates)
    best: dict[int, tuple[float, str, int]] = {}
    for i, k in pairs:
        p = ordered[i]
        fp = p.fp
        if k < stored:
            c = candidates[k]
            theirs, their_title = _view(c.full_fp), _view(c.title_fp)
            their_words, their_entities = c.title_words, c.entities
        else:
            q = ordered[k - stored]
            theirs, their_title = q.fp.full, q.fp.title
            their_words, their_entities = q.fp.title_words, q.entities
        score, basis = 0.0, "text"
        if fp.full and theirs:
            inter = len(fp.full.intersection(theirs))
            score = inter / (len(fp.full) + len(theirs) - inter)
        if fp.title_words >= words and their_words >= words and fp.title and their_title:
            inter = len(fp.title.intersection(their_title))
            if (by_title := inter / (len(fp.title) + len(their_title) - inter)) > score:
                score, basis = by_title, "title"
        if p.entities and their_entities:
            score += boost * jaccard(p.entities, their_entities)
        score = min(score, 1.0)
        had = best.get(i)
        if had is None or score > had[0] or (score == had[0] and published[k] < published[had[2]]):
            best[i] = (score, basis, k)
    return best


def _view(blob: bytes) -> memoryview:
    """A `pack`ed blob's hashes, as a sequence of ints over its bytes."""
    return memoryview(blob).cast("I")


class _Hashes:
    """The feature hashes of the known articles (stored ones as `pack`ed blobs, then the
    bundle's sets) laid end to end, with the bundle's articles' as sorted keys."""

    def __init__(self, blobs: list[bytes], sets: list[frozenset[int]]):
        import numpy as np

        stored = np.frombuffer(b"".join(blobs), dtype=np.uint32)
        mine = int_array(list(chain.from_iterable(sets)), "I")
        self.values = np.concatenate((stored, mine)).astype(np.uint64)
        self.sizes = int_array([len(b) >> 2 for b in blobs] + list(map(len, sets)))
        self.starts = np.cumsum(self.sizes) - self.sizes
        owner = np.repeat(np.arange(len(sets), dtype=np.uint64), self.sizes[len(blobs) :])
        self.keys = np.sort((owner << np.uint64(32)) | self.values[len(stored) :])

    def jaccard(self, article, known, stored: int):
        """The Jaccard of each pair's hashes (0.0 where either has none): each pair's known
        hashes, keyed by its article, searched among the article's keys and counted."""
        import numpy as np

        sizes, keys = self.sizes[known], self.keys
        ends = np.cumsum(sizes)
        at = np.repeat(self.starts[known] - (ends - sizes), sizes) + np.arange(ends[-1])
        asked = np.repeat(article.astype(np.uint64) << np.uint64(32), sizes) | self.values[at]
        if len(keys):
            hits = np.append(keys.take(np.searchsorted(keys, asked), mode="clip") == asked, 0)
            inter = np.where(sizes > 0, np.add.reduceat(hits, ends - sizes, dtype=np.int64), 0)
        else:
            inter = np.zeros(len(known), dtype=np.int64)
        union = self.sizes[article + stored] + sizes - inter
        out = np.zeros(len(known))
        np.divide(inter, union, out=out, where=(sizes > 0) & (self.sizes[article + stored] > 0))
        return out


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
    a, fp = p.article, p.fp
    # tuple.__new__ in field order, not StoryEntry(...): its generated __new__ is one more
    # Python call, with 16 keywords, per member
    return _new(
        StoryEntry,
        (
            a.id,
            story_id,
            a.feed_id,
            a.title,
            a.link,
            p.url,
            p.published,
            kind,
            basis,
            score,
            matched,
            p.markers,
            p.entities,
            pack(fp.full),
            pack(fp.title),
            fp.title_words,
        ),
    )


_new = tuple.__new__
