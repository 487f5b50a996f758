"""Pre-scan for feeds that are not well-formed XML (feedparser's lenient path).

Real feeds are often slightly broken (an undefined `&nbsp;`, a stray merge-conflict marker),
and then feedparser's lenient sgmllib parser costs twice the strict one per entry. Its parse is
lexical: cutting out the exact bytes of a complete `<item>…</item>` (or `<entry>…</entry>`)
leaves every other entry parsed as before, provided the lexer is in its plain-text state where
the span starts. So we locate entry spans in the bytes, outside comments and CDATA, and cut the
spans of entries already seen, under two conditions that keep the cut invisible to the lexer:
each span is a well-formed element on its own (lxml, wrapped in the namespace declarations seen
before it; undefined entities like `&nbsp;` are tolerated, they are lexically harmless), and
every tag in the gap before it is complete (closed, quotes balanced). A span or gap that fails
stops all cutting after it: a broken quote can make the lexer swallow the next entries.

Also used for well-formed documents whose encoding makes re-serializing unsafe (see
prescan.UseByteScan): cutting bytes keeps everything else byte-for-byte.
Returns None (full parse) when the document uses xml:base (a span alone would lose its
base) or has no recognizable root start tag.
"""

from __future__ import annotations

import bisect
import re

from lxml import etree

from wirewatch.transforms.ingest.prescan import (
    _RSS_VERSIONS,
    KnownEntries,
    Scan,
    _parser,
    predict_key,
)
from wirewatch.transforms.ingest.seen_lookup import SeenLookup

_OPAQUE = re.compile(rb"<!\[CDATA\[.*?(?:\]\]>|$)|<!--.*?(?:-->|$)", re.DOTALL)
_ROOT = re.compile(rb"<((?:[\w.-]+:)?(?:rss|feed|RDF))(?=[\s>])[^>]*>")
_START = re.compile(rb"<((?:[\w.-]+:)?(?:item|entry))(?=[\s>])")
_XMLNS = re.compile(rb"\sxmlns(:[\w.-]+)?\s*=\s*[\"']([^\"'<>]*)[\"']")
_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)[A-Za-z_][\w.-]*;")
_TAG_OPEN = re.compile(rb"<[A-Za-z/?]")
_COMPLETE_TAG = re.compile(rb"<[A-Za-z/?][^<>\"']*(?:(?:\"[^\"<]*\"|'[^'<]*')[^<>\"']*)*>")
_DECLARATION = re.compile(rb"<\?xml[^>]*\?>")
_TTL = re.compile(rb"<ttl>\s*(\d{1,6})\s*</ttl>")


def select_new_lenient(
    data: bytes,
    *,
    feed_id: str,
    base: str | None,
    lookup: SeenLookup,
    keep_at_most: int | None = None,
) -> Scan | None:
    """Like prescan.select_new for a malformed document, or None for a full lenient parse."""
    if b"base=" in data:
        return None
    opaque = [(m.start(), m.end()) for m in _OPAQUE.finditer(data)]
    starts = [s for s, _ in opaque]
    root = _first_outside(_ROOT, data, 0, opaque, starts)
    if root is None:
        return None
    first = _first_outside(_START, data, root.end(), opaque, starts)
    head = data[root.start() : first.start() if first else len(data)]
    declaration = _DECLARATION.match(data)
    wrapper_open = (declaration.group(0) if declaration else b"") + _wrapper(head)
    wrapper_close = b"</wirewatch-envelope>"
    candidates: list[tuple[int, int, str | None]] = []  # span start, end, predicted id
    known = KnownEntries(feed_id, lookup, keep_at_most)
    total = 0
    pos = root.end()
    clean = True
    while True:
        start = _first_outside(_START, data, pos, opaque, starts)
        if start is None:
            break
        total += 1
        end = _span_end(data, start, opaque, starts)
        if end is None:
            break
        clean = clean and _clean_gap(data, pos, start.start(), opaque, starts)
        pos = end
        if not clean:
            continue
        element = _span_element(data[start.start() : end], wrapper_open, wrapper_close)
        if element is _BROKEN:
            clean = False
            continue
        key = None if element is None else predict_key(element, base or "")
        candidates.append((start.start(), end, known.ident(key), element))
    known.ask(ident for _, _, ident, _ in candidates)
    cuts = [(start, end) for start, end, ident, element in candidates if known.cut(ident, element)]
    return Scan(
        data=_cut(data, cuts),
        total=total,
        kept=total - len(cuts),
        skipped=known.skipped,
        duplicates=known.duplicates,
        held_back=known.held_back,
        ttl=_ttl(head),
        version=_version(root.group(0), b"netscape" in data[: root.start()].lower()),
    )


def _wrapper(head: bytes) -> bytes:
    """A start tag declaring every namespace declared before the first entry (last one wins)."""
    decls = {prefix: uri for prefix, uri in _XMLNS.findall(head)}
    attrs = b"".join(b" xmlns" + prefix + b'="' + uri + b'"' for prefix, uri in decls.items())
    return b"<wirewatch-envelope" + attrs + b">"


def _ttl(head: bytes) -> int | None:
    found = _TTL.search(head)
    minutes = int(found.group(1)) if found else 0
    return minutes if 0 < minutes <= 7 * 24 * 60 else None


def _version(root_tag: bytes, netscape: bool) -> str:
    if b"RDF" in root_tag[:12]:
        return "rss10" if b"purl.org/rss/1.0" in root_tag else "rss090"
    if b"feed" in root_tag[:12]:
        return "atom03" if b"purl.org/atom/ns#" in root_tag else "atom10"
    found = re.search(rb"version\s*=\s*[\"']([\d.]+)", root_tag)
    version = _RSS_VERSIONS.get(found.group(1).decode(), "rss") if found else "rss"
    return "rss091n" if version == "rss091u" and netscape else version


def _inside(pos: int, opaque: list[tuple[int, int]], starts: list[int]) -> bool:
    i = bisect.bisect_right(starts, pos) - 1
    return i >= 0 and opaque[i][0] <= pos < opaque[i][1]


def _first_outside(pattern: re.Pattern, data: bytes, pos: int, opaque, starts):
    for match in pattern.finditer(data, pos):
        if not _inside(match.start(), opaque, starts):
            return match
    return None


def _span_end(data: bytes, start: re.Match, opaque, starts) -> int | None:
    """End of the element opened at `start`: its first closing tag outside comments/CDATA."""
    close = re.compile(rb"</" + re.escape(start.group(1)) + rb"\s*>")
    for match in close.finditer(data, start.end()):
        if not _inside(match.start(), opaque, starts):
            return match.end()
    return None


_BROKEN = object()
"""Marker: the span is not a complete element (stop cutting from here on)."""


def _span_element(span: bytes, wrapper_open: bytes, wrapper_close: bytes):
    """The entry's element; None to keep it; _BROKEN when the span is not a complete element."""
    try:
        wrapper = etree.fromstring(wrapper_open + span + wrapper_close, _parser())
    except (etree.XMLSyntaxError, ValueError):
        try:  # undefined entities only: the span is sound, but its key cannot be trusted
            etree.fromstring(wrapper_open + _ENTITY.sub(b"?", span) + wrapper_close, _parser())
        except (etree.XMLSyntaxError, ValueError):
            return _BROKEN
        return None
    if len(wrapper) != 1:
        return _BROKEN
    return wrapper[0]


def _clean_gap(data: bytes, start: int, end: int, opaque, starts) -> bool:
    """Every tag-like `<x` in data[start:end] (outside comments/CDATA) is a complete tag."""
    for match in _TAG_OPEN.finditer(data, start, end):
        at = match.start()
        if _inside(at, opaque, starts):
            continue
        tag = _COMPLETE_TAG.match(data, at, end)
        if tag is None:
            return False
    for s, e in opaque:  # a comment or CDATA in the gap must be terminated inside it
        if start <= s < end and e > end:
            return False
    return True


def _cut(data: bytes, cuts: list[tuple[int, int]]) -> bytes:
    if not cuts:
        return data
    parts, pos = [], 0
    for start, end in cuts:
        parts.append(data[pos:start])
        pos = end
    parts.append(data[pos:])
    return b"".join(parts)
