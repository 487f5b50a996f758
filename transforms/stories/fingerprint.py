"""Title+lead fingerprints: content words, word features, MinHash signatures, similarity.

Why these features: a near-duplicate story is the same headline lightly edited, or the same
lead under a rewritten headline. Words are folded (case, accents, punctuation: the tagger's
`fold`), function words dropped and plurals folded ("talks" = "talk"), so "Mexico's talks"
and "Mexico talks" agree. Each text becomes the set of its content words *and* of its adjacent
content-word pairs: single words make a reordered headline still overlap, pairs make two
different stories that merely share names ("Trump", "Powell", "Fed") overlap much less.

Similarity is exact Jaccard over 32-bit feature hashes, the larger of:
  - title+lead ("full"): catches wire copy whose headline was rewritten but whose lead was not;
  - title alone, when both titles have enough content words: catches the same headline over
    leads that each outlet wrote (or cut) differently.
MinHash signatures of both sets feed the LSH index (lsh.py), which only finds candidates; the
decision is always the exact Jaccard, so LSH noise never merges anything.

MinHash is our own (MinHasher below, ~40 lines; numpy, already a dependency, takes the minima).
"""

from __future__ import annotations

import hashlib
from array import array
from functools import lru_cache
from operator import itemgetter
from typing import Iterable, NamedTuple

from wirewatch.transforms.tagging.text import fold

STOPWORDS = frozenset(
    """a about after against ahead all also am amid among an and any are as at
back be been before being between but by can could did do does during each even for from had has
have he her here his how i if in into is it its just may me might more most much my new no nor
not now of off on once only or other our out over own says said say she should since so some
still such than that the their them then there these they this those through to too under until
up upon us very via was we were what when where which while who whom why will with within would
yet you your""".split()
)
"""Function words carry no story identity. "not", "no" are here too: negation is judged by the
headline-change rule (material.py), not by similarity."""

NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "dozen": "12",
    "hundred": "100",
    "thousand": "1000",
    "million": "m",
    "billion": "bn",
}
"""Outlets spell small numbers differently ("nine" vs "9"); both mean the same figure."""


def stem(word: str) -> str:
    """Fold a plural or third-person "s" only: light, predictable, same on both sides."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
        if word.endswith("ie") and len(word) > 4:  # "companies" -> "company"
            word = word[:-2] + "y"
    return word


def content_words(text: str, limit: int | None = None) -> list[str]:
    """Folded, stop-word-free, stemmed words in order; at most `limit` of them."""
    out: list[str] = []
    known = _CONTENT
    if len(known) >= WORD_CACHE:
        known.clear()
    for word in fold(text).split():
        content = known.get(word)
        if content is None:
            content = known[word] = _content(word)
        if content:
            out.append(content)
            if limit is not None and len(out) >= limit:
                break
    return out


def _content(word: str) -> str:
    """The content word a folded word stands for; "" for a word that stands for none."""
    if word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
        return ""
    return stem(NUMBER_WORDS.get(word, word))


_CONTENT: dict[str, str] = {}
"""Folded word -> `_content` of it, remembered: headlines and leads reuse most words, and a
look-up costs less than the checks and the stemming (a pure function of the word)."""
WORD_CACHE = 50_000
"""Words remembered before `_CONTENT` starts again (a few MB)."""


def features(words: list[str]) -> set[str]:
    """Content words and adjacent content-word pairs (word 1- and 2-shingles)."""
    return set(words) | {f"{a} {b}" for a, b in zip(words, words[1:])}


class Fingerprint(NamedTuple):
    """What the index stores per article. Signatures are None when the set is empty or, for
    the title, when the title is too short to be compared on its own. (A tuple: a bundle
    builds one per candidate it checks, and a frozen dataclass costs 5x as much to make.)"""

    full: frozenset[int]
    title: frozenset[int]
    title_words: int
    full_sig: bytes | None  # the signature's values as little-endian 32-bit words (`packed`)
    title_sig: bytes | None


class MinHasher:
    """MinHash signatures over string features, `num_perm` 31-bit values each.

    One SHAKE-128 call per feature yields the feature's own 32-bit hash (bytes 0..3, used for
    exact Jaccard) and all `num_perm` hash values at once (lane i = bytes 4+4i..7+4i, top bit
    cleared). SHAKE output is a stream, so both are the same whatever `num_perm` is: changing
    the banding never changes stored feature hashes or the leading signature values.

    The per-lane minimum over an article's features is one numpy reduction over their lanes
    laid end to end (features x num_perm): about 10 µs per signature whatever the number of
    features, where folding them one by one in pure Python (packed integers compared lane-wise,
    SWAR) cost about 5 µs per feature, 0.16 ms per article. Deterministic across processes
    (unlike `hash()`).
    """

    def __init__(self, num_perm: int):
        self.num_perm = num_perm
        self._nbytes = 4 * (num_perm + 1)
        self._known: dict[str, tuple[int, bytes]] = {}
        self._old: dict[str, tuple[int, bytes]] = {}

    def hashes(self, feat: str) -> tuple[int, bytes]:
        """(the feature's own hash, its lanes as little-endian 32-bit words, top bits not yet
        cleared). Remembered per process: headlines and leads share most of their words, so most features were hashed
        for an earlier article (on the real snapshots over half of them; a look-up costs a
        tenth of a SHAKE call). Two generations of at most FEATURE_CACHE entries each: when
        the young one is full it becomes the old one and the oldest is forgotten, and a
        feature found in the old one moves back to the young one, so the words every headline
        uses stay while the one-off word pairs go. That bounds the memory (FEATURE_CACHE)."""
        found = self._known.get(feat)
        if found is None:
            found = self._old.get(feat)
            if found is None:
                digest = hashlib.shake_128(feat.encode("utf-8")).digest(self._nbytes)
                found = (int.from_bytes(digest[:4], "little"), digest[4:])
            if len(self._known) >= FEATURE_CACHE:
                self._old, self._known = self._known, {}
            self._known[feat] = found
        return found

    def lanes(self, feats: Iterable[str], own: set[int]) -> list[bytes]:
        """The lanes of each feature, in order; their own hashes go into `own`. Looked up all
        at once (one map over the young generation), then the few misses one by one."""
        feats = list(feats)
        found = list(map(self._known.get, feats))
        if None in found:
            hashes = self.hashes
            found = [had or hashes(feat) for had, feat in zip(found, feats)]
        own.update(map(_OWN, found))
        return list(map(_LANES, found))

    def minima(self, lanes: list[bytes], first: int):
        """(the per-lane minima of the first `first` features' lanes, of all of them): one
        numpy reduction each over the lanes laid end to end; None where there are none."""
        import numpy as np  # here: importing this module must not cost numpy's import

        if not lanes:
            return None, None
        rows = np.frombuffer(b"".join(lanes), dtype="<u4").reshape(len(lanes), self.num_perm)
        rows = rows & 0x7FFFFFFF
        return (rows[:first].min(axis=0) if first else None), rows.min(axis=0)

    def packed(self, minima) -> bytes | None:
        """The signature (`minima`'s, None: no features) as the bytes `lsh.band_keys` splits
        into bands: no Python int per value (making 72 of them and packing them again cost
        more than the minima)."""
        return None if minima is None else minima.astype("<u4", copy=False).tobytes()


_OWN, _LANES = itemgetter(0), itemgetter(1)

FEATURE_CACHE = 16_000
"""Features per generation of a MinHasher's cache: at most twice this many are remembered,
about 0.5 KB each at the default 72 values, so at most 16 MB (it was 24 MiB, cleared at 50,000
entries). On the bench's 50,000 synthetic articles the two generations find 53% of features
against 52% before; on the real snapshots 43% either way."""


@lru_cache(maxsize=8)
def minhasher(num_perm: int) -> MinHasher:
    return MinHasher(num_perm)


def fingerprint(
    title: str, lead: str, *, num_perm: int, lead_words: int, min_title_words: int
) -> Fingerprint:
    """Title features are folded first, so the title signature is a snapshot on the way."""
    hasher = minhasher(num_perm)
    title_w = content_words(title)
    title_f = features(title_w)
    lead_f = features(content_words(lead, lead_words)) - title_f if lead_words else set()
    title_own: set[int] = set()
    lanes = hasher.lanes(title_f, title_own)
    full_own = set(title_own)
    first = len(lanes)
    lanes += hasher.lanes(lead_f, full_own)
    title_min, full_min = hasher.minima(lanes, first)  # one pass over title and lead
    return Fingerprint(
        full=frozenset(full_own),
        title=frozenset(title_own),
        title_words=len(title_w),
        full_sig=hasher.packed(full_min),
        title_sig=hasher.packed(title_min) if len(title_w) >= min_title_words else None,
    )


def jaccard(a: frozenset[int] | set[int], b: frozenset[int] | set[int]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def similarity(a: Fingerprint, b: Fingerprint, min_title_words: int) -> tuple[float, str]:
    """(score, basis): the larger of the title+lead and the title-only Jaccard."""
    full = jaccard(a.full, b.full)
    if a.title_words >= min_title_words and b.title_words >= min_title_words:
        title = jaccard(a.title, b.title)
        if title > full:
            return title, "title"
    return full, "text"


def pack(hashes: frozenset[int]) -> bytes:
    """Feature hashes as a compact blob for the store (4 bytes each)."""
    return array("I", sorted(hashes)).tobytes()


def unpack(blob: bytes) -> frozenset[int]:
    """The hashes `pack` stored (a cast view, no copy: twice as fast as an array)."""
    return frozenset(memoryview(blob).cast("I"))
