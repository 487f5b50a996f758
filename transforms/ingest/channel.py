"""The feed-level fields of a pre-scanned document, read by feedparser once per channel.

When the new entries were built from the tree (`tree_entry`), feedparser still reads the
channel: its link (the base for relative entry links), language, title and version, and whether
feedparser flags the document. It reads the document with every entry taken out and with the
channel's `<lastBuildDate>` and `<pubDate>` left out too: those change on every poll and set only
the feed's own dates, which nothing keeps. What is left changes only when the publisher changes
the channel, so the result is cached by those bytes (with the headers feedparser sees): one
feedparser call per feed instead of one per poll.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from functools import lru_cache

import feedparser
from lxml import etree

_VOLATILE = frozenset({"lastbuilddate", "pubdate"})
_BENIGN = ("NonXMLContentType",)
"""feedparser flags feeds served without an XML Content-Type; they parse normally."""


@dataclass(frozen=True)
class Channel:
    version: str
    link: str | None
    language: str | None
    title: str | None
    ttl: str | None
    trouble: bool  # feedparser flagged the document (other than a non-XML Content-Type)
    entries: int  # entries feedparser still finds (in places the pre-scan does not look)


def read_channel(root, entries: list, headers: dict[str, str]) -> Channel:
    """feedparser's reading of `root` without `entries` and without the volatile dates."""
    tree = copy.deepcopy(root.getroottree())  # the tree keeps the DOCTYPE (rss091n), a root not
    doomed = {id(element) for element in entries}
    cut = [
        element
        for original, element in zip(root.iter(), tree.getroot().iter())
        if id(original) in doomed or _volatile(element)
    ]
    for element in cut:
        element.getparent().remove(element)
    data = etree.tostring(tree, encoding="utf-8", xml_declaration=True)
    return _parse(data, tuple(sorted(headers.items())))


def _volatile(element) -> bool:
    tag, parent = element.tag, element.getparent()
    if not isinstance(tag, str) or parent is None or tag.lower() not in _VOLATILE:
        return False  # (a namespaced tag starts with "{" and is never in _VOLATILE)
    return parent.tag == "channel" and not element.attrib and not len(element)


@lru_cache(maxsize=512)
def _parse(data: bytes, headers: tuple[tuple[str, str], ...]) -> Channel:
    parsed = feedparser.parse(io.BytesIO(data), response_headers=dict(headers))
    feed = parsed.feed
    problem = parsed.get("bozo_exception")
    return Channel(
        version=parsed.get("version") or "",
        link=feed.get("link"),
        language=feed.get("language"),
        title=feed.get("title"),
        ttl=feed.get("ttl"),
        trouble=bool(parsed.get("bozo")) and type(problem).__name__ not in _BENIGN,
        entries=len(parsed.entries),
    )
