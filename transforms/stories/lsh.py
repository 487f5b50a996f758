"""LSH banding: a MinHash signature becomes `bands` bucket keys; similar texts share a key.

Two sets with Jaccard s share at least one band of `rows` values with probability
1 - (1 - s**rows)**bands. With the default 32 bands x 3 rows: s=0.45 -> 0.96, s=0.6 -> 0.999,
s=0.1 -> 0.03, s=0.02 -> 0.0003. So a lookup reads a handful of buckets through a B-tree index
and returns the near-duplicates plus a few strangers; the exact Jaccard then decides.

Keys are signed 64-bit integers (SQLite's INTEGER), salted with the signature kind and the band
number so a title band never meets a full-text band or another band position.
"""

from __future__ import annotations

import hashlib
import struct


def band_keys(signature: tuple[int, ...], *, kind: str, bands: int, rows: int) -> list[int]:
    if len(signature) < bands * rows:
        raise ValueError(f"signature has {len(signature)} values; {bands} bands x {rows} rows "
                         f"need {bands * rows}")
    pack = struct.Struct(f"<{rows}I").pack
    salt = kind.encode("utf-8")
    keys = []
    for band in range(bands):
        chunk = pack(*signature[band * rows:(band + 1) * rows])
        digest = hashlib.blake2b(chunk, digest_size=8, salt=salt, person=band.to_bytes(16, "little"))
        keys.append(int.from_bytes(digest.digest(), "little", signed=True))
    return keys


def candidate_probability(similarity: float, *, bands: int, rows: int) -> float:
    """Chance that a pair with this Jaccard shares a bucket (for docs and tests)."""
    return 1 - (1 - similarity ** rows) ** bands
