"""LSH banding: a MinHash signature becomes `bands` bucket keys; similar texts share a key.

Two sets with Jaccard s share at least one band of `rows` values with probability
1 - (1 - s**rows)**bands. With the default 24 bands x 3 rows: s=0.5 -> 0.96, s=0.6 -> 0.995,
s=0.1 -> 0.024, s=0.02 -> 0.0002. An article is filed under 24 title+lead buckets and, when
its title is long enough to be compared alone, 24 title buckets; a lookup reads those 48
buckets through a B-tree index and returns the near-duplicates plus a few strangers; the exact
Jaccard then decides.

Why these numbers (bench/stories.py, real snapshots): every band is one more B-tree entry per
article at a random place, so one more dirty page per commit — 32 x 3 twice made the commit the
dominant cost. 2 rows per title band instead of 3 looked cheaper but made 0.45% of all pairs
of real headlines candidates (they share "Trump", "tariffs", "Fed"); 3 rows make it 0.07%, and
24 x 3 still finds every real headline edit that scores above the threshold.

Keys are signed 64-bit integers (SQLite's INTEGER), salted with the signature kind and the band
number so a title band never meets a full-text band or another band position.
"""

from __future__ import annotations

import hashlib
import struct
from functools import lru_cache


def band_keys(signature: bytes, *, kind: str, bands: int, rows: int) -> list[int]:
    """The keys of a signature, its values packed as little-endian 32-bit words
    (`MinHasher.packed`, what `fingerprint` gives)."""
    values = len(signature) // 4
    if values < bands * rows:
        raise ValueError(
            f"signature has {values} values; {bands} bands x {rows} rows need {bands * rows}"
        )
    hashers, split, keys = _banding(kind, bands, rows)
    packed = signature[: 4 * bands * rows]
    # a copy of each band's salted hasher (half the cost of making one), fed its band's bytes,
    # digested, the digests unpacked at once: each step one map over the bands, so no Python
    # code runs per band (a loop of copy, update, digest cost a quarter more)
    digests = list(map(_COPY, hashers))
    for _ in map(_UPDATE, digests, split(packed)):
        pass
    return list(keys(b"".join(map(_DIGEST, digests))))


_BLAKE2B = type(hashlib.blake2b())
_COPY, _UPDATE, _DIGEST = _BLAKE2B.copy, _BLAKE2B.update, _BLAKE2B.digest


@lru_cache(maxsize=8)
def _banding(kind: str, bands: int, rows: int) -> tuple:
    """(one salted, personalised BLAKE2b per band position, copied for every signature; the
    signature's split into one bytes per band; the digests' unpacking). The keys
    are stored (the index's buckets): tests/stories/test_parts.py pins them."""
    salt = kind.encode("utf-8")
    hashers = tuple(
        hashlib.blake2b(digest_size=8, salt=salt, person=band.to_bytes(16, "little"))
        for band in range(bands)
    )
    return (
        hashers,
        struct.Struct(f"{4 * rows}s" * bands).unpack,
        struct.Struct(f"<{bands}q").unpack,
    )


def candidate_probability(similarity: float, *, bands: int, rows: int) -> float:
    """Chance that a pair with this Jaccard shares a bucket (for docs and tests)."""
    return 1 - (1 - similarity**rows) ** bands
