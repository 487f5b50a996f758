"""Name what a body is when it is not a feed, for the dead-letter reason.

Run only on the failure path (and on a few bytes), so it costs nothing on good feeds.
"""

from __future__ import annotations

import re

from wirewatch.transforms.ingest.sanitize import to_utf8_if_wide

_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_XML_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_CONTROLS = bytes([b for b in range(32) if b not in (9, 10, 11, 12, 13)])


_HTML_PAGE = re.compile(rb"\s*(?:<!doctype\s+html|<html[\s>])", re.IGNORECASE)


def no_feed_at_all(body: bytes) -> str | None:
    """Why a fetched body cannot be a feed, judged on its first bytes: empty, binary, or an
    HTML page from its first tag (a login or consent page, a wrong URL). The fetch counts it
    as a failed poll, so the feed backs off and `wirewatch state` shows it failing (it was
    'last ok, failures 0' while every poll was dead-lettered). None: the parser decides."""
    body = to_utf8_if_wide(body)
    if looks_empty(body):
        return "the body is empty"
    if looks_binary(body):
        return "the body is binary data, not text"
    if _HTML_PAGE.match(body.lstrip(b"\xef\xbb\xbf")):
        return "an HTML page, not a feed (wrong URL, or a login/consent page?)"
    return None


def looks_empty(body: bytes) -> bool:
    return not body.strip(b" \t\r\n\x00\xef\xbb\xbf")


def looks_binary(body: bytes) -> bool:
    """NULs or many control bytes in the head: an image, an archive, a compressed body."""
    head = body[:1024]
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROLS))
    return controls > len(head) // 20


def looks_json(body: bytes) -> bool:
    return body.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] in (b"{", b"[")


def not_a_feed_reason(body: bytes) -> tuple[str, str]:
    """(reason, detail) for a body from which no feed could be read."""
    if looks_empty(body):
        return "empty_body", "the body is empty"
    if looks_binary(body):
        return "binary", "the body is binary data, not text"
    head = body[:4096]
    if _HTML.search(head):
        return "not_a_feed", "an HTML page, not a feed (wrong URL, or a login/consent page?)"
    if looks_json(body):
        return "not_a_feed", "JSON that is not a JSON Feed (no jsonfeed.org version)"
    root = _XML_ROOT.search(head)
    if root:
        name = root.group(1).decode("ascii", "replace")
        return "not_a_feed", f"XML whose root element <{name}> is not rss, feed or rdf:RDF"
    return "not_a_feed", "neither XML nor JSON"
