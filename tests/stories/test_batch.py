"""batch.match scores a bundle's pairs all at once; it must decide exactly as comparing each
article with each of its candidates in turn (the plain rule below) does, ties included."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wirewatch.transforms.model import Article
from wirewatch.transforms.state.interface import StoryMatch
from wirewatch.transforms.stories import StorySettings, batch
from wirewatch.transforms.stories.batch import Best, Prepared, _url_match, match
from wirewatch.transforms.stories.fingerprint import Fingerprint, jaccard, pack, similarity

S = StorySettings(window_hours=2, threshold=0.5, min_title_words=2)
HOUR = 3600.0

hashes = st.frozensets(st.integers(0, 11), max_size=6)  # few values: ties and overlaps
known = st.tuples(
    hashes,  # title
    hashes,  # lead
    st.integers(0, 4),  # title words
    st.frozensets(st.sampled_from("abc"), max_size=2),  # entities
    st.frozensets(st.integers(0, 5), max_size=3),  # bands
    st.sampled_from([0.0, 1.0, 2.0, 3.0, 5.0]),  # hours: the window's edges and beyond
    st.sampled_from([None, "u1", "u2"]),  # URL key
)


def _fp(title, lead, words) -> Fingerprint:
    return Fingerprint(title | lead, title, words, None, None)


def _prepared(i: int, item) -> Prepared:
    title, lead, words, entities, bands, hours, url = item
    article = Article(
        id=f"a{i}",
        feed_id="f",
        title="t",
        published=datetime.fromtimestamp(hours * HOUR, timezone.utc),
    )
    return Prepared(
        article, hours * HOUR, entities, _fp(title, lead, words), url, frozenset(), sorted(bands)
    )


def _stored(i: int, item) -> StoryMatch:
    title, lead, words, entities, bands, hours, _ = item
    full = title | lead
    return StoryMatch(
        f"c{i}", f"s-c{i % 3}", hours * HOUR, pack(full), pack(title), words, entities, bands
    )


def _plainly(ordered, urls, candidates, s) -> list[tuple[str, Best | None, bool]]:
    """The rule, one candidate at a time: best score, then earliest published, then first."""
    window = s.window_hours * HOUR
    known = [
        (c.article_id, c.story_id, c.published, c.entities, _fp(*_unpacked(c)), set(c.bands))
        for c in candidates
    ]
    by_url: dict[str, list[Best]] = {}
    out = []
    for p in ordered:
        lo, hi = p.published - window, p.published + window
        best = _url_match(urls.get(p.url, ()), by_url.get(p.url, ()), lo, hi) if p.url else None
        if best is None:
            for article_id, story_id, published, entities, fp, bands in known:
                if not bands & set(p.bands) or not lo <= published <= hi:
                    continue
                score, basis = similarity(p.fp, fp, s.min_title_words)
                if p.entities and entities:
                    score += s.entity_boost * jaccard(p.entities, entities)
                score = min(score, 1.0)
                if (
                    best is None
                    or score > best.score
                    or (score == best.score and published < best.published)
                ):
                    best = Best(score, basis, article_id, story_id, published)
        joins = best is not None and best.score >= s.threshold
        story_id = best.story_id if joins else f"s-{p.article.id}"
        out.append((story_id, best, joins))
        known.append((p.article.id, story_id, p.published, p.entities, p.fp, set(p.bands)))
        if p.url:
            by_url.setdefault(p.url, []).append(
                Best(1.0, "url", p.article.id, story_id, p.published)
            )
    return out


def _unpacked(c: StoryMatch):
    from wirewatch.transforms.stories.fingerprint import unpack

    full, title = unpack(c.full_fp), unpack(c.title_fp)
    return title, full - title, c.title_words


@pytest.mark.parametrize("few", [0, 10**9], ids=["numpy", "one-by-one"])
@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(known, max_size=8), st.lists(known, min_size=1, max_size=8))
def test_scoring_all_pairs_at_once_decides_as_one_pair_at_a_time(few, stored, bundle):
    """Both ways of scoring (numpy for many pairs, a set intersection each for few)."""
    was, batch.FEW_PAIRS = batch.FEW_PAIRS, few
    try:
        _decides_plainly(stored, bundle)
    finally:
        batch.FEW_PAIRS = was


def _decides_plainly(stored, bundle):
    candidates = [_stored(i, item) for i, item in enumerate(stored)]
    ordered = sorted(
        (_prepared(i, item) for i, item in enumerate(bundle)),
        key=lambda p: (p.published, p.article.id),
    )
    urls: dict[str, list[StoryMatch]] = {}
    for c, item in zip(candidates, stored):
        if item[-1]:
            urls.setdefault(item[-1], []).append(c)
    got = [(d.story_id, d.best, d.joins) for d in match(ordered, urls, candidates, S)]
    assert got == _plainly(ordered, urls, candidates, S)
