"""Pre-scan: find each entry's id with lxml and keep only new entries for feedparser.

Full feedparser parsing costs ~0.5 ms per entry; in steady state most entries of a poll were
seen before. lxml (entities and network off, no DTD) reads the whole document in about the
time feedparser needs for two or three entries. We compute each entry's id the way
`entry.key_of` computes it from feedparser's output (same guid/link rules, same URI
resolution, using feedparser's own resolver), ask the state store once about all of them
(`seen_lookup`), drop the entries it has seen, and serialize
the rest of the document, the envelope, for feedparser. The channel/feed element and every
namespace declaration and xml:base stay, so the new entries parse exactly as in the full
document. Articles are still built from feedparser's output, so a wrong prediction can only
make an entry be parsed again, never change what an article contains.

Returns None (full parse) for an unknown feed shape; raises UseByteScan when the byte-span
pre-scan (prescan_bytes) must be used instead.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

from wirewatch.transforms.ingest.dedupe import text_hash
from wirewatch.transforms.ingest.ids import article_id, entry_key
from wirewatch.transforms.ingest.links import canonical_link
from wirewatch.transforms.ingest.seen_lookup import SeenLookup

ATOM10 = "{http://www.w3.org/2005/Atom}"
ATOM03 = "{http://purl.org/atom/ns#}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
RSS10 = "{http://purl.org/rss/1.0/}"
RSS090 = "{http://my.netscape.com/rdf/simple/0.9/}"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_RSS_VERSIONS = {
    "0.91": "rss091u",
    "0.92": "rss092",
    "0.93": "rss093",
    "0.94": "rss094",
    "2.0": "rss20",
    "2.00": "rss20",
    "2.0.1": "rss20",
}


class UseByteScan(Exception):
    """Re-serializing this document could change what feedparser reads: cut bytes instead.

    Raised when the XML is not well-formed (feedparser's lenient parser will read it), and when
    the document is not UTF-8 or the HTTP charset disagrees with it (feedparser trusts the
    header, lxml the XML declaration; a re-encoded envelope could then decode differently).
    """


class KnownEntries:
    """Which entries the pre-scan cuts: seen in an earlier poll, or a repeat of one of those
    in this feed. Shared by the lxml scan and the byte scan so both count the same way.

    A scan first predicts every entry's id (`ident`), asks about all of them at once (`ask`),
    then decides entry by entry, in document order (`cut`). With `keep_at_most`, the entries
    after that many kept ones are cut too (`held_back`): enough to tell whether anything is
    new (run --once's look), not a whole parse.
    """

    def __init__(self, feed_id: str, lookup: SeenLookup, keep_at_most: int | None = None):
        self.feed_id, self.lookup, self.keep_at_most = feed_id, lookup, keep_at_most
        self.seen_ids: set[str] = set()
        self.skipped = self.duplicates = self.kept = self.held_back = 0

    def ident(self, key: str | None) -> str | None:
        """The article id a predicted key gives (None: no prediction, the entry stays)."""
        return None if key is None else _article_id(self.feed_id, key)

    def ask(self, idents: Iterable[str | None]) -> None:
        self.lookup.ask(i for i in idents if i is not None)

    def cut(self, ident: str | None, element=None) -> bool:
        """Cut a seen entry whose raw title and summary hash as stored (`entry_digest`); an
        edited one, or one stored without a hash, stays for feedparser and DropSeen."""
        if ident is not None:
            if ident in self.seen_ids:
                self.duplicates += 1
                return True
            if self.lookup.unchanged(ident, lambda: entry_digest(element)):
                self.seen_ids.add(ident)
                self.skipped += 1
                return True
        if self.keep_at_most is not None and self.kept >= self.keep_at_most:
            self.held_back += 1
            return True
        self.kept += 1
        return False


@dataclass(frozen=True)
class Scan:
    """What is left for feedparser and the counts of what was left out of it.

    The lxml scan keeps its tree (`root`, seen entries removed) and the new entries' elements
    (`kept_entries`), so they can be built without a second parse (see `tree_entry`); its
    `envelope` bytes are serialized only if feedparser must read them after all.
    """

    data: bytes
    total: int
    kept: int
    skipped: int
    duplicates: int
    ttl: int | None
    version: str
    root: Any = None
    kept_entries: tuple = ()
    held_back: int = 0  # cut only for KnownEntries.keep_at_most
    kept_positions: tuple[int, ...] = ()
    """Where each kept entry is in the document (from 0): what an entry's dead letter names."""

    @classmethod
    def of_tree(cls, data: bytes, root, shape, known: KnownEntries | None = None) -> Scan:
        """The scan of an lxml tree whose cut entries (`known`'s) were removed from it."""
        version, entries, ttl = shape
        positions = tuple(i for i, element in enumerate(entries) if element.getparent() is not None)
        kept = tuple(entries[i] for i in positions)
        skipped, duplicates = (known.skipped, known.duplicates) if known else (0, 0)
        held_back = known.held_back if known else 0
        return cls(
            data,
            len(entries),
            len(kept),
            skipped,
            duplicates,
            ttl,
            version,
            root,
            kept,
            held_back,
            positions,
        )

    @cached_property
    def envelope(self) -> bytes:
        """The document as feedparser should read it: only the entries not cut."""
        if not self.reencoded:
            return self.data
        return etree.tostring(self.root.getroottree(), encoding="utf-8", xml_declaration=True)

    @property
    def reencoded(self) -> bool:
        """The envelope is the tree serialized as UTF-8, not the original bytes."""
        return self.root is not None and self.kept < self.total


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        strip_cdata=False,
        remove_comments=False,
        recover=False,
    )


def select_new(
    data: bytes,
    *,
    feed_id: str,
    base: str | None,
    lookup: SeenLookup,
    charset: str | None = None,
    keep_at_most: int | None = None,
) -> Scan | None:
    """The envelope holding only entries not yet seen, or None to fall back to a full parse.

    `charset` is the HTTP Content-Type charset, if any; `keep_at_most`: see KnownEntries.
    Raises UseByteScan (see there).
    """
    tree = _read(data, charset)
    if tree is None:
        return None
    root, (version, entries, ttl) = tree
    tracks_base = b"base=" in data
    known = KnownEntries(feed_id, lookup, keep_at_most)
    idents = [
        known.ident(predict_key(element, _base_of(element, base) if tracks_base else (base or "")))
        for element in entries
    ]
    known.ask(idents)
    for element, ident in zip(entries, idents):
        if known.cut(ident, element):
            element.getparent().remove(element)
    return Scan.of_tree(data, root, (version, entries, ttl), known)


def read_all(data: bytes, *, charset: str | None = None) -> Scan | None:
    """The tree with every entry kept (no store to ask), or None when feedparser must read
    the body itself: not well-formed, not UTF-8 (or the HTTP charset disagrees), unknown shape."""
    try:
        tree = _read(data, charset)
    except UseByteScan:
        return None
    if tree is None:
        return None
    return Scan.of_tree(data, *tree)


def _read(data: bytes, charset: str | None):
    """(root, shape) of a well-formed UTF-8 feed; None for an unknown shape; UseByteScan."""
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise UseByteScan(f"not well-formed: {exc}") from None
    if not (_is_utf8(root.getroottree().docinfo.encoding) and _is_utf8(charset or "utf-8")):
        raise UseByteScan("not UTF-8, or the HTTP charset disagrees with the document")
    shape = _shape(root)
    return None if shape is None else (root, shape)


def _is_utf8(name: str | None) -> bool:
    try:
        return codecs.lookup(name or "").name == "utf-8"
    except LookupError:
        return False


def _shape(root) -> tuple[str, list, int | None] | None:
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag == "rss":
        channel = root.find("channel")
        items = root.findall("channel/item")
        outside = root.findall("item")
        if outside:  # items beside the channel too: keep document order, as feedparser reads
            items = [el for el in root.iter("item") if el in items or el in outside]
        version = _RSS_VERSIONS.get(root.get("version", "").strip(), "rss")
        if (
            version == "rss091u"
            and "netscape" in (root.getroottree().docinfo.public_id or "").lower()
        ):
            version = "rss091n"
        return version, items, _ttl(channel)
    if tag == f"{RDF}RDF":
        items = root.findall(f"{RSS10}item")
        if items or root.find(f"{RSS10}channel") is not None:
            return "rss10", items, None
        return "rss090", root.findall(f"{RSS090}item"), None
    if tag == f"{ATOM10}feed":
        return "atom10", root.findall(f"{ATOM10}entry"), None
    if tag == f"{ATOM03}feed":
        return "atom03", root.findall(f"{ATOM03}entry"), None
    return None


def _ttl(channel) -> int | None:
    text = channel.findtext("ttl") if channel is not None else None
    try:
        minutes = int((text or "").strip())
    except ValueError:
        return None
    return minutes if 0 < minutes <= 7 * 24 * 60 else None


def _base_of(element, base: str | None) -> str:
    """feedparser's xml:base tracking (mixin.unknown_starttag), replayed root to element."""
    chain = [element] + list(element.iterancestors())
    current = base or ""
    for node in reversed(chain):
        declared = node.get(_XML_BASE) or node.get("base")
        if not declared:
            continue
        current = (
            (make_safe_absolute_uri(current, declared) or current)
            if current
            else _urljoin(current, declared)
        )
    return current


def predict_key(element, base: str) -> str | None:
    """`entry.key_of` for this element, or None when only a full parse can tell."""
    tag = element.tag
    ns = tag[: tag.index("}") + 1] if tag[0] == "{" else ""
    if ns in (ATOM10, ATOM03):
        ident = _text(_child(element, ns + "id"))
        if ident:
            return entry_key(_resolve(base, ident), None)
        return _link_key(_atom_link(element, ns), base)
    guid_el = _child(element, ns + "guid")
    guid = _text(guid_el)
    if guid:
        permalink = guid_el.get("isPermaLink", "true") == "true"
        return entry_key(_resolve(base, guid) if permalink else guid, None)
    if ns in (RSS10, RSS090) and element.get(f"{RDF}about"):
        return entry_key(element.get(f"{RDF}about"), None)
    return _link_key(_text(_child(element, ns + "link")), base)


def entry_digest(element) -> str | None:
    """`dedupe.content_hash` of the article this element would give, from its raw text: the
    title, and the summary (RSS description, else content:encoded; Atom summary, else content).
    None (no element, or no title) means only a parse can tell. A wrong digest can only make
    an entry be parsed again: the stored hash comes from a parsed article."""
    if element is None:
        return None
    tag = element.tag
    ns = tag[: tag.index("}") + 1] if tag[0] == "{" else ""
    title = _text(_child(element, ns + "title"))
    if not title:  # the article's title comes from its summary or link: parse it
        return None
    if ns in (ATOM10, ATOM03):
        summary = _text(_child(element, ns + "summary")) or _text(_child(element, ns + "content"))
    else:
        summary = _text(_child(element, ns + "description")) or _text(
            _child(element, _CONTENT_ENCODED)
        )
    return _text_hash(title, summary)


_text_hash = lru_cache(maxsize=32768)(text_hash)
"""Memoized: a listed entry comes back with the same text on every poll of its feed."""

_CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"


def _child(element, tag: str):
    """The first child with this tag (`find`, without its Python path machinery)."""
    return next(element.iterchildren(tag), None)


_article_id = lru_cache(maxsize=65536)(article_id)
"""Memoized: the same entries come back on every poll of a feed."""


@lru_cache(maxsize=65536)
def _resolve(base: str, uri: str) -> str:
    """feedparser's own URI join, memoized: the same guids come back on every poll."""
    return _urljoin(base, uri)


def _link_key(link: str | None, base: str) -> str | None:
    if not link:
        return None
    resolved = canonical_link(_resolve(base, link), base or None)
    return entry_key(None, resolved) if resolved else None


def _atom_link(element, ns: str) -> str | None:
    for link in element.findall(f"{ns}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("type", "text/html") in (
            "text/html",
            "application/xhtml+xml",
        ):
            return link.get("href")
    return None


def _text(element) -> str:
    if element is None:
        return ""
    if not len(element):
        return (element.text or "").strip()
    return "".join(element.itertext()).strip()
