"""New RSS entries built from the pre-scan's lxml tree, with feedparser's own rules.

A poll with new entries used to hand them to feedparser a second time (wrapped in the feed's
envelope): about 1 ms of feedparser's per-element Python per entry. The pre-scan has already
parsed the document with lxml, so here each new `<item>` becomes the same `FeedParserDict`
feedparser would build, by replaying what feedparser does at the end of each element
(`_FeedParserMixin.pop`: strip, resolve relative URIs, guess HTML, resolve relative URIs in the
markup, sanitize it, the UTF-8-read-as-Latin-1 repair, the Windows-1252 map) with feedparser's
own functions (`_urljoin`, `resolve_relative_uris`, `_sanitize_html`, `_parse_date`,
`looks_like_html`, `_add_tag`, `_sync_author_detail`). Text, entities, CDATA and encodings come
from lxml exactly as expat hands them to feedparser (the pre-scan only takes well-formed UTF-8).

Only a shape proven equal is built here: an RSS 0.9x/1.0/2.0 item whose children are all in
`_HANDLERS`, are leaves (no child elements, comments or processing instructions), and carry no
attribute beyond the few listed. Anything else (Atom, xml:base, `<source>`, `media:title`, a
second `<description>`, an unknown element, an attribute that changes how feedparser reads the
text) returns None and the caller lets feedparser parse the entries as before.
`bench/parse_equivalence.py` and tests/ingest/test_tree_entry.py compare every field with
feedparser's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import feedparser
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris
from feedparser.util import FeedParserDict

_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_RELATIVE = _FeedParserMixin.can_be_relative_uri
_MARKUP = _FeedParserMixin.can_contain_dangerous_markup
_HTML_TYPES = _FeedParserMixin.html_types
_looks_like_html = _FeedParserMixin.looks_like_html
_BROKEN_QUERY = re.compile("&([A-Za-z0-9_]+);")
_BASE_ATTRIBUTE = re.compile(rb"base\s*=", re.IGNORECASE)
_PREFIX_DECLARATION = re.compile(rb"xmlns:([\w.-]+)\s*=\s*[\"']([^\"']*)[\"']")


ARTICLE_KEYS = (
    "id",
    "link",
    "title",
    "title_detail",
    "summary",
    "summary_detail",
    "content",
    "published",
    "published_parsed",
    "updated",
    "updated_parsed",
    "author",
    "authors",
    "author_detail",
    "tags",
    "guidislink",
)
"""The entry keys `entry.to_article` and `entry.key_of` read, and the raw ones they come from:
what must equal feedparser's (the equivalence checks compare exactly these)."""


class Unsupported(Exception):
    """This entry needs feedparser itself (a shape this module does not replay)."""


class Document:
    """What an entry's reading depends on outside the entry, computed once per body."""

    def __init__(self, data: bytes, *, base: str, lang: str | None):
        self.data = data
        self.base = base  # feedparser's starting base URI (Content-Location), "" if none
        self.lang = lang  # feedparser's starting language (Content-Language)
        self.has_base = _BASE_ATTRIBUTE.search(data) is not None
        self._prefixes: dict[str, set[str]] | None = None

    def prefix_is_standard(self, prefix: str) -> bool:
        """feedparser names `dc:x` by the document's own binding of `dc`: it must be Dublin Core."""
        if self._prefixes is None:
            self._prefixes = {}
            for declared, uri in _PREFIX_DECLARATION.findall(self.data):
                name = declared.decode("ascii", "replace")
                self._prefixes.setdefault(name, set()).add(
                    _standard(uri.decode("utf-8", "replace"))
                )
        return self._prefixes.get(prefix, {prefix}) == {prefix}


def build_entries(elements: list, doc: Document) -> list[FeedParserDict] | None:
    """feedparser's entries for these `<item>` elements, or None when one needs feedparser."""
    if doc.has_base:  # feedparser's base tracking leaks across siblings: not replayed here
        return None
    try:
        return [_entry(element, doc) for element in elements]
    except Unsupported:
        return None


def _standard(uri: str) -> str | None:
    lower = uri.lower()
    if "backend.userland.com/rss" in lower:
        return ""
    return _NAMESPACES.get(lower)


def _name(element, doc: Document) -> str:
    """feedparser's element name (`dc:creator`, `pubdate`), or Unsupported."""
    tag = element.tag
    if not isinstance(tag, str):
        raise Unsupported("comment or processing instruction")
    if tag[0] != "{":
        return tag.lower()
    uri, local = tag[1:].split("}", 1)
    prefix = _standard(uri)
    if prefix is None:
        raise Unsupported(f"unknown namespace {uri}")
    if not prefix:
        return local.lower()
    if not doc.prefix_is_standard(prefix):
        raise Unsupported(f"prefix {prefix} bound to another namespace")
    return f"{prefix}:{local.lower()}"


class _State:
    """The parser state one entry's elements read and write (feedparser's attributes)."""

    def __init__(self, entry: FeedParserDict, base: str, lang: str | None):
        self.entry = entry
        self.base = base
        self.lang = lang
        self.guidislink = False
        self.title_done = False
        self.descriptions = 0

    def _get_context(self) -> FeedParserDict:  # what feedparser's helpers call on `self`
        return self.entry

    def detail(self, content_type: str, value: str) -> FeedParserDict:
        lang = self.lang.replace("_", "-") if self.lang else self.lang
        return FeedParserDict(type=content_type, language=lang, base=self.base, value=value)


def _entry(item, doc: Document) -> FeedParserDict:
    attrs = _attributes(item)
    if set(attrs) - {"rdf:about", "xml:lang", "lang"}:
        raise Unsupported("item attributes")
    chain = [*reversed(list(item.iterancestors())), item]
    lang = doc.lang
    for node in chain:
        lang = _lang(_attributes(node) if node is not item else attrs, lang)
    entry = FeedParserDict()
    if attrs.get("rdf:about"):
        entry["id"] = attrs["rdf:about"]
    state = _State(entry, _settled_base(doc.base, len(chain) + 1), lang)
    for child in item:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions between children: feedparser skips
        handler = _HANDLERS.get(_name(child, doc))
        if handler is None:
            raise Unsupported(f"element {child.tag}")
        if len(child):
            raise Unsupported(f"{child.tag} has child nodes")
        handler(state, child.text or "", _attributes(child))
    return entry


def _attributes(element) -> dict[str, str]:
    """feedparser's attribute dictionary: lower-case names, `xml:` for the XML namespace."""
    out = {}
    for key, value in element.attrib.items():
        if key == _XML_LANG:
            out["xml:lang"] = value
        elif key == _RDF_ABOUT:
            out["rdf:about"] = value
        elif key[0] == "{":
            raise Unsupported(f"namespaced attribute {key}")
        else:
            out[key.lower()] = value
    return out


def _lang(attrs: dict[str, str], inherited: str | None) -> str | None:
    """feedparser's xml:lang tracking (mixin.unknown_starttag) for one start tag."""
    lang = attrs.get("xml:lang", attrs.get("lang"))
    if lang == "":
        return None
    return inherited if lang is None else lang


@lru_cache(maxsize=1024)
def _settled_base(base: str, depth: int) -> str:
    """The base URI after `depth` start tags without xml:base: feedparser re-joins it with
    itself at every start tag (mixin.unknown_starttag)."""
    for _ in range(depth):
        base = (make_safe_absolute_uri(base, base) or base) if base else _urljoin(base, base)
    return base


def _pop(state: _State, name: str, text: str, content_type: str | None = None):
    """feedparser's `pop` for a leaf element: (output, content type after HTML guessing).

    `content_type` is the mapped type of a content element (title, description, content),
    None for a plain one (link, guid, dates, authors, categories).
    """
    output = text.strip()
    if name in _RELATIVE and output and (name != "id" or state.guidislink):
        output = _urljoin(state.base or "", output)
    if content_type == "text/plain" and _looks_like_html(output):
        content_type = "text/html"
    if (content_type or "text/html") in _HTML_TYPES and name in _MARKUP:
        output = _markup(output, state.base, content_type or "text/html")
    try:
        output = output.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return output.translate(_cp1252), content_type


def _markup(html: str, base: str, content_type: str) -> str:
    """feedparser's relative-URI resolution and sanitizing of embedded markup.

    Text with neither `<` nor `&` holds no markup: both passes then hand it back unchanged
    (sgmllib sees one run of data) except for the sanitizer's final strip and CRLF
    normalization, so they are skipped (tests/ingest/test_tree_entry.py checks this against
    the real functions).
    """
    if "<" not in html and "&" not in html:
        return html.strip().replace("\r\n", "\n") if feedparser.SANITIZE_HTML else html
    if feedparser.RESOLVE_RELATIVE_URIS:
        html = resolve_relative_uris(html, base, "utf-8", content_type)
    if feedparser.SANITIZE_HTML:
        html = _sanitize_html(html, "utf-8", content_type)
    return html


def _only(attrs: dict[str, str], *allowed: str) -> None:
    if set(attrs) - set(allowed):
        raise Unsupported(f"attributes {sorted(attrs)}")


def _title(state: _State, text: str, attrs: dict[str, str]) -> None:
    _only(attrs)
    output, content_type = _pop(state, "title", text, "text/plain")
    if state.title_done:  # feedparser keeps the first non-empty title (title_depth)
        return
    state.entry["title"] = output
    state.entry["title_detail"] = state.detail(content_type, output)
    state.title_done = bool(output)


def _description(state: _State, text: str, attrs: dict[str, str]) -> None:
    _only(attrs)
    state.descriptions += 1
    if state.descriptions > 1:  # feedparser turns a second one into content
        raise Unsupported("second description")
    output, content_type = _pop(state, "description", text, "text/html")
    state.entry["summary"] = output
    state.entry["summary_detail"] = state.detail(content_type, output)


def _content_encoded(state: _State, text: str, attrs: dict[str, str]) -> None:
    _only(attrs)
    output, content_type = _pop(state, "content", text, "text/html")
    state.entry.setdefault("content", []).append(state.detail(content_type, output))
    state.entry.setdefault("summary", output)  # _end_content copies html into summary


def _link(state: _State, text: str, attrs: dict[str, str]) -> None:
    _only(attrs)
    state.entry.setdefault("links", []).append(FeedParserDict(rel="alternate", type="text/html"))
    output, _ = _pop(state, "link", text)
    output = _BROKEN_QUERY.sub(r"&\g<1>", output.replace("&amp;", "&"))
    state.entry["link"] = output
    if output:
        state.entry["links"][-1]["href"] = output


def _guid(state: _State, text: str, attrs: dict[str, str]) -> None:
    _only(attrs, "ispermalink")
    state.guidislink = attrs.get("ispermalink", "true") == "true"
    output, _ = _pop(state, "id", text)
    state.entry["id"] = output
    state.entry.setdefault("guidislink", state.guidislink and "link" not in state.entry)
    if state.guidislink:
        state.entry.setdefault("link", output)


def _date(key: str) -> Callable[[_State, str, dict[str, str]], None]:
    def handle(state: _State, text: str, attrs: dict[str, str]) -> None:
        _only(attrs)
        output, _ = _pop(state, key, text)
        state.entry[key] = output
        state.entry[f"{key}_parsed"] = _parse_date(output)

    return handle


def _author(state: _State, text: str, attrs: dict[str, str]) -> None:
    _only(attrs)
    state.entry.setdefault("authors", []).append(FeedParserDict())
    output, _ = _pop(state, "author", text)
    state.entry["author"] = output
    _FeedParserMixin._sync_author_detail(state)


def _category(state: _State, text: str, attrs: dict[str, str]) -> None:
    _only(attrs, "domain")
    _FeedParserMixin._add_tag(state, None, attrs.get("domain"), None)
    output, _ = _pop(state, "category", text)
    if not output:
        return
    tags = state.entry["tags"]
    if tags and not tags[-1]["term"]:
        tags[-1]["term"] = output
    else:
        _FeedParserMixin._add_tag(state, output, None, None)


def _inert(state: _State, text: str, attrs: dict[str, str]) -> None:
    """Elements feedparser stores under keys no Article field reads (media, enclosures)."""


_HANDLERS: dict[str, Callable[[_State, str, dict[str, str]], None]] = {
    "title": _title,
    "link": _link,
    "description": _description,
    "guid": _guid,
    "pubdate": _date("published"),
    "author": _author,
    "category": _category,
    "comments": _inert,
    "enclosure": _inert,
    "dc:creator": _author,
    "dc:date": _date("updated"),
    "dc:subject": _category,
    "content:encoded": _content_encoded,
    "media:content": _inert,
    "media:thumbnail": _inert,
}
"""Item children replayed here (feedparser's lower-cased names); anything else: Unsupported."""
