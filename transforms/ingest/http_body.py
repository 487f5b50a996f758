"""Read a response body under a byte cap that holds *after* decompression.

httpx decodes gzip/deflate without bounding the output of one chunk, so a small gzip bomb can
inflate to gigabytes before any check runs. We read the raw (still encoded) stream and inflate
it ourselves with `max_length`, so memory never exceeds the cap plus one chunk.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator


class BodyTooLarge(Exception):
    """The body (decoded) exceeded the cap. `received` is what was decoded when we stopped."""

    def __init__(self, limit: int, received: int):
        self.limit = limit
        self.received = received
        super().__init__(f"body larger than max_bytes={limit} (stopped after {received} bytes)")


class BadEncoding(Exception):
    """The Content-Encoding is unknown or the compressed stream is corrupt."""


_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _inflate(chunks: Iterable[bytes], wbits: int, limit: int) -> Iterator[bytes]:
    """Inflate chunk by chunk, never producing more than `limit + 1` bytes in total."""
    decoder = zlib.decompressobj(wbits)
    produced = 0
    first = True
    for chunk in chunks:
        data = chunk
        while data:
            try:
                out = decoder.decompress(data, limit + 1 - produced)
            except zlib.error as exc:
                if first and wbits == zlib.MAX_WBITS:  # "deflate" sent without zlib header
                    decoder, wbits = zlib.decompressobj(-zlib.MAX_WBITS), -zlib.MAX_WBITS
                    continue
                raise BadEncoding(
                    f"corrupt {('gzip' if wbits > 16 else 'deflate')} stream: {exc}"
                ) from None
            first = False
            produced += len(out)
            if out:
                yield out
            if produced > limit:
                return
            if decoder.eof:  # concatenated gzip members: start the next one
                data = decoder.unused_data
                decoder = zlib.decompressobj(wbits) if data else decoder
                if not data:
                    break
            else:
                data = decoder.unconsumed_tail
    try:
        tail = decoder.flush()
    except zlib.error as exc:
        raise BadEncoding(f"corrupt compressed stream: {exc}") from None
    if tail:
        yield tail[: limit + 1 - produced]


def decoded_chunks(
    raw: Iterable[bytes], content_encoding: str | None, limit: int
) -> Iterator[bytes]:
    """Decode the raw stream per Content-Encoding (identity, gzip, deflate; stacked allowed)."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    stream: Iterable[bytes] = raw
    for coding in reversed(codings):  # the last applied coding is undone first
        if coding == "identity":
            continue
        if coding not in _WBITS:
            raise BadEncoding(f"unsupported Content-Encoding {coding!r}")
        stream = _inflate(stream, _WBITS[coding], limit)
    return iter(stream)


def read_capped(chunks: Iterable[bytes], limit: int) -> bytes:
    """Join chunks; raise BodyTooLarge as soon as the total passes `limit`."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit, size)
        parts.append(chunk)
    return b"".join(parts)
