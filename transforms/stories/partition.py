"""Split a cycle's articles into groups whose stories can be decided apart, and still exactly.

Assigning a cycle's articles one after another in publication order (batch.py) is serial by
nature, but an article's decision looks only at articles it shares something with: a bucket
(LSH band), a URL key, a stored story it may join (whose head `settle` grows), or its own id
(a second copy of one id takes the first one's answer). The connected components of "shares
something" are therefore independent: deciding each component alone, in publication order,
gives every article the story, kind and match that deciding the whole cycle together gives.
Groups are unions of whole components, so they can be assigned by different workers at once;
the store's mark-and-check (index.py) keeps them exact against other processes too.

Components are balanced over `parts` groups, largest first onto the lightest group, so a
backlog of unrelated articles spreads evenly; a cycle that is one big story stays one group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Collection, Iterable, NamedTuple, Sequence

from wirewatch.transforms.state.band_index import pack_bands, unpack_bands
from wirewatch.transforms.state.interface import StoryMatch, UrlMatches
from wirewatch.transforms.stories.batch import Prepared

if TYPE_CHECKING:
    import numpy as np


class Sketch(NamedTuple):
    """What partitioning needs of an article (not its fingerprints). Its buckets travel packed
    as the store files them (band_index.pack_bands): a cycle's 480,000 of them as Python ints cost the
    partition step a tenth of a second to unpickle and as much again to put in one array."""

    article_id: str
    published: float  # unix seconds
    url: str | None
    bands: bytes

    @classmethod
    def of(cls, p: Prepared) -> Sketch:
        return cls.made(p.article.id, p.published, p.url, p.bands)

    @classmethod
    def made(
        cls, article_id: str, published: float, url: str | None, bands: Sequence[int]
    ) -> Sketch:
        return cls(article_id, published, url, pack_bands(bands))

    def buckets(self) -> tuple[int, ...]:
        return unpack_bands(self.bands)


def stored_stories(
    candidates: Iterable[StoryMatch], urls: UrlMatches
) -> tuple[dict[int, set[str]], dict[str, set[str]]]:
    """The stored stories an article could join, by bucket and by URL key."""
    by_band: dict[int, set[str]] = {}
    for c in candidates:
        for band in c.bands:
            by_band.setdefault(band, set()).add(c.story_id)
    by_url = {url: {m.story_id for m in matches} for url, matches in urls.items()}
    return by_band, by_url


def cycle_bands(sketches: Sequence[Sketch]) -> tuple[list[int], set[int]]:
    """Every bucket of the cycle once (what to look up in the store), and the buckets two or
    more of its articles share: the only ones that can join two of them. A cold cycle of 10,000
    articles has 480,000 buckets and shares almost none, so `components` walks only those."""
    import numpy as np

    every, counts = np.unique(_flat(sketches), return_counts=True)
    return every.tolist(), set(every[counts > 1].tolist())


def _flat(sketches: Sequence[Sketch]) -> np.ndarray:
    """Every sketch's buckets, end to end."""
    import numpy as np

    return np.frombuffer(b"".join(s.bands for s in sketches), "<i8")


def _joining(sketches: Sequence[Sketch], joins: Collection[int]) -> dict[int, list[int]]:
    """Position -> its buckets that are in `joins` (in its order), for the sketches with any:
    one numpy test over all the cycle's buckets, not a set look-up per bucket."""
    import numpy as np

    if not joins:
        return {}
    flat = _flat(sketches)
    ends = np.cumsum([len(s.bands) // 8 for s in sketches])
    wanted = np.sort(np.fromiter(joins, np.int64, len(joins)))  # (numpy's isin: 4x the time)
    hits = np.flatnonzero(wanted[np.searchsorted(wanted, flat).clip(max=wanted.size - 1)] == flat)
    found: dict[int, list[int]] = {}
    owners = np.searchsorted(ends, hits, side="right").tolist()
    for i, band in zip(owners, flat[hits].tolist()):
        found.setdefault(i, []).append(band)
    return found


def components(
    sketches: Sequence[Sketch],
    by_band: dict[int, set[str]] | None = None,
    by_url: dict[str, set[str]] | None = None,
    shared: set[int] | None = None,
) -> list[list[int]]:
    """Positions in `sketches` grouped by connected component, each in input order, the
    components in the order of their first article. `shared`: the buckets more than one
    of them has (`cycle_bands`; computed when not given). A bucket only one article has and
    no stored story holds joins nothing, so it is not looked at."""
    if shared is None:
        shared = cycle_bands(sketches)[1]
    joining = _joining(sketches, shared.union(by_band) if by_band else shared)
    parent = list(range(len(sketches)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[object, int] = {}  # a shared thing -> the first article that has it
    for i, s in enumerate(sketches):
        bands = joining.get(i, ())
        things: list[object] = [("a", s.article_id), *bands]
        if s.url:
            things.append(("u", s.url))
            things += [("s", story) for story in (by_url or {}).get(s.url, ())]
        if by_band:
            things += [("s", story) for band in bands for story in by_band.get(band, ())]
        for thing in things:
            j = first.setdefault(thing, i)
            if j != i and (a := root(i)) != (b := root(j)):
                parent[max(a, b)] = min(a, b)  # the earlier article's root stays the root
    grouped: dict[int, list[int]] = {}
    for i in range(len(sketches)):
        grouped.setdefault(root(i), []).append(i)
    return list(grouped.values())


def partition(groups: list[list[int]], parts: int) -> list[int]:
    """The part (0..parts-1) of every position: largest component first onto the part with
    the fewest articles so far (the lowest part on a tie), so equal inputs split equally."""
    load = [0] * parts
    part_of = [0] * sum(map(len, groups))
    for group in sorted(groups, key=len, reverse=True):  # stable: ties keep their order
        part = min(range(parts), key=load.__getitem__)
        load[part] += len(group)
        for i in group:
            part_of[i] = part
    return part_of
