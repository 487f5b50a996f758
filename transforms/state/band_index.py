"""The SQLite store's LSH bucket index, held in memory: bucket key -> the seqs filed under it.

Why in memory: as a B-tree keyed by bucket, every article filed ~48 rows at random places of a
table of 2.26 million rows (50,000 articles in the window), so every commit dirtied ~48 pages
per article and the write-ahead log copied them twice: about 0.3 ms per article and most of a
bundle's cost (bench/stories.py). The file now keeps one row per article in
`stories_bandsets` (seq, its bucket keys packed as 8-byte integers), appended at the end of a
table keyed by seq, and each process answers bucket look-ups from this index of those rows.

Kept exact across processes: the index only learns from the file. Before each look-up it reads
the rows with a seq above the highest it holds (sqlite_stories.py skips that while the file's
data_version shows no other writer, and hands it this process's own rows at their commit);
seqs only grow (the table is AUTOINCREMENT: a seq is never reused),
so nothing committed is missed. With each bucket row it learns the article's candidate row
(`rows`: ids, time, packed features), so a look-up reads nothing else from the file. Rows
pruned since stay in the bucket arrays until the index is rebuilt, but leave `rows`: every
prune that takes articles out of the index logs itself in the file (`meta.stories_unfiled`:
its number, the highest seq then, its cut-off time), and each sync applies the prunes it has
not applied (`unfile`). Only tuples of strings, bytes and numbers are kept per row, so the
garbage collector stops tracking them. An index belongs to one file (its path and a random id the
file keeps in `meta`), and is shared by every store of the process that opens that file, so a
watch loop that re-opens the store each cycle reads the rows once; a file whose highest seq is
below what the index learnt (an older backup put back) is learnt again.

Layout: two sorted numpy arrays (keys, seqs), where each block of keys with the same top bits
starts (bucket keys are hashes, so blocks are even: a few keys each), plus a dict of the rows
synced since they were
last merged in; the merge inserts those at their sorted places (a copy of the arrays, ~20 ms
at 2.4 million entries) once MERGE_AT entries are waiting. About 16 bytes per
entry: ~40 MB at 50,000 articles in the window.
"""

from __future__ import annotations

import struct
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Collection, Iterable, Sequence

if TYPE_CHECKING:
    import numpy as np

MERGE_AT = 100_000
"""Entries waiting in the dict before they are merged into the arrays (~2,000 articles)."""
NARROW = 8
"""Keys a block is compared with at once; a block holding more is searched (band_index.lookup)."""
KEEP = 4
"""Indexes (files) a process keeps; the least recently used one goes first."""


def pack_bands(bands: Iterable[int]) -> bytes:
    """An article's bucket keys as one blob (each key once, in the order given)."""
    keys = dict.fromkeys(bands)
    return struct.pack(f"<{len(keys)}q", *keys)


def unpack_bands(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(blob) // 8}q", blob)


def int_array(values: Collection[int], code: str = "q") -> np.ndarray:
    """A numpy array of Python ints (`code`: "q" int64, "I" uint32), packed at once: numpy's
    own conversion of a list looks at every item's type first, about twice the cost."""
    import numpy as np

    return np.frombuffer(struct.pack(f"<{len(values)}{code}", *values), dtype=_DTYPES[code])


_DTYPES = {"q": "<i8", "I": "<u4"}


class BandIndex:
    """Bucket key -> seqs of one file's `stories_bandsets`, learnt through `add`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next sync reads the table again from the start."""
        import numpy as np  # here, not at the top: a store that never looks up skips its import

        self.last = 0  # the highest seq learnt
        self._keys = np.empty(0, np.int64)
        self._seqs = np.empty(0, np.int64)
        self._bits, self._starts = _starts(self._keys)
        self._recent: dict[int, int | tuple[int, ...]] = {}  # bucket -> seq(s) of rows waiting
        self._rows: list[tuple[int, bytes]] = []  # the rows waiting, in seq order
        self._waiting = 0  # their entries
        self._gone = 0  # entries pruned from the file since the last load
        self.rows: dict[int, tuple] = {}  # seq -> its candidate row (sqlite_stories.py), indexed
        self.unfiled = -1  # the last unfiling (prune) applied to `rows`; -1: none read yet
        self.log: str | None = None  # the file's log of unfilings, as last applied (its text)

    def forget(self, entries: int) -> None:
        """`entries` were pruned from the file: once a quarter of what is held is gone, start
        again from the file (the look-up filtered them; this bounds the memory they hold)."""
        self._gone += entries
        if self._gone * 4 >= self._keys.size + self._waiting:
            with self.lock:
                self.reset()

    def add(self, rows: Sequence[tuple[int, bytes]]) -> None:
        """Learn rows (seq, pack_bands blob) in seq order, every seq above `last`."""
        if not rows:
            return
        if not self.last and not self._keys.size:  # the first load: build the arrays at once
            self._keys, self._seqs = _arrays(rows)
            self._bits, self._starts = _starts(self._keys)
        else:
            self._rows += rows
            self._waiting += sum(len(blob) for _, blob in rows) // 8
            if self._waiting >= MERGE_AT:
                self._merge()
            else:
                recent = self._recent
                for seq, blob in rows:
                    for band in unpack_bands(blob):
                        had = recent.get(band)
                        recent[band] = seq if had is None else (*_seqs(had), seq)
        self.last = rows[-1][0]

    def unfile(self, log: Sequence[tuple[int, int, float]]) -> bool:
        """Drop from `rows` what the file's unfilings (prunes) not applied yet took out of the
        index. `log`: the latest unfilings, oldest first, as (number, the highest seq stored
        then, the time before which indexed articles left the index). False when only a
        `reset` is exact: the log no longer holds the next one needed, or the file went back."""
        latest = log[-1][0] if log else 0
        if latest < self.unfiled or (0 <= self.unfiled < latest and log[0][0] > self.unfiled + 1):
            return False
        # an unfiling reaches only rows stored before it; applied to rows learnt after it, it
        # changes nothing (they were read without what it took), so a fresh index applies all
        missed = [(seq, before) for n, seq, before in log if n > self.unfiled]
        if missed:
            self.rows = {
                seq: row
                for seq, row in self.rows.items()
                if not any(seq <= highest and row[2] < before for highest, before in missed)
            }
        self.unfiled = latest
        return True

    def _merge(self) -> None:
        import numpy as np

        keys, seqs = _arrays(self._rows)
        # every seq waiting is above every seq in the arrays: after the equal keys
        at = np.searchsorted(self._keys, keys, side="right")
        self._keys = np.insert(self._keys, at, keys)
        self._seqs = np.insert(self._seqs, at, seqs)
        self._bits, self._starts = _starts(self._keys)
        self._recent, self._rows, self._waiting = {}, [], 0

    def lookup(self, bands: Sequence[int]) -> dict[int, set[int]]:
        """seq -> which of `bands` it is filed under, for every seq filed under any."""
        import numpy as np

        found: dict[int, set[int]] = {}
        keys, recent = self._keys, self._recent
        if not keys.size and not recent:  # a cold index: 480,000 buckets made a set for nothing
            return found
        unique = set(bands)
        if keys.size and unique:
            asked = int_array(unique)
            # each key's block (its top bits) holds a few keys in a row: the key is compared
            # with the keys of its block (two cache misses per key, where a binary search over
            # 2.4 million keys took a dozen: 0.2 against 0.37 ms per look-up of 250 keys), all
            # blocks laid end to end in one flat array (a 2-D keys x NARROW comparison cost
            # numpy ~2,700 instructions a key in its iterator). A block with a crowded bucket
            # in it (a common headline word: hundreds of articles) is searched instead.
            top = (asked >> (64 - self._bits)) + (1 << (self._bits - 1))
            lo, hi = self._starts[top], self._starts[top + 1]
            size = hi - lo
            wide = size > NARROW
            size[wide] = 0
            ends = np.cumsum(size)
            owner = np.repeat(np.arange(asked.size), size)  # the asked key of each entry
            at = np.arange(ends[-1]) + np.repeat(lo - (ends - size), size)
            hit = np.flatnonzero(keys[at] == asked[owner])
            pairs = zip(asked[owner[hit]].tolist(), self._seqs[at[hit]].tolist())
            if wide.any():
                crowded = asked[wide]
                starts = np.searchsorted(keys, crowded).tolist()
                ends = np.searchsorted(keys, crowded, side="right").tolist()
                spans = [
                    (band, seq)
                    for band, start, end in zip(crowded.tolist(), starts, ends)
                    for seq in self._seqs[start:end].tolist()
                ]
                pairs = [*pairs, *spans]
            for band, seq in pairs:
                found.setdefault(seq, set()).add(band)
        if recent:
            for band in recent.keys() & unique:
                for seq in _seqs(recent[band]):
                    found.setdefault(seq, set()).add(band)
        return found


def _seqs(filed: int | tuple[int, ...]) -> tuple[int, ...]:
    """A bucket's seqs in the dict: nearly every bucket holds one article, kept as a bare int
    (a list per bucket made ~48 objects per article for the garbage collector to walk)."""
    return filed if isinstance(filed, tuple) else (filed,)


def _starts(keys: np.ndarray) -> tuple[int, np.ndarray]:
    """(bits, where each block of the sorted keys with the same top `bits` starts): ~2-4 keys
    a block, at most 2**20 blocks (8 MB of offsets at 2.4 million keys)."""
    import numpy as np

    bits = max(8, min(20, keys.size.bit_length() - 2))
    counts = np.bincount((keys >> (64 - bits)) + (1 << (bits - 1)), minlength=1 << bits)
    return bits, np.concatenate(([0], np.cumsum(counts)))


def _arrays(rows: Sequence[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    """(keys, seqs) sorted by key then seq, from rows in seq order."""
    import numpy as np

    keys = np.frombuffer(b"".join(blob for _, blob in rows), dtype="<i8").astype(np.int64)
    seqs = np.repeat(
        np.fromiter((seq for seq, _ in rows), np.int64, len(rows)),
        np.fromiter((len(blob) // 8 for _, blob in rows), np.int64, len(rows)),
    )
    order = np.argsort(keys, kind="stable")  # stable: equal keys stay in seq order
    return keys[order], seqs[order]


_indexes: OrderedDict[str, BandIndex] = OrderedDict()
_indexes_lock = threading.Lock()


def shared_index(token: str) -> BandIndex:
    """The process's index of the file `token` names (its path and `meta.stories_index`)."""
    with _indexes_lock:
        index = _indexes.get(token)
        if index is None:
            index = _indexes[token] = BandIndex()
            while len(_indexes) > KEEP:
                _indexes.popitem(last=False)
        _indexes.move_to_end(token)
        return index
