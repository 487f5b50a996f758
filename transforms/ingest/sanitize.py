"""Make feed bytes safe to hand to feedparser and lxml.

feedparser's loose (sgmllib) parser expands entities declared in a DOCTYPE internal subset, so a
160 KB "billion laughs" feed can take gigabytes; expat has its own limits but the loose parser
has none. We remove the internal subset (and any external DTD reference) before anything
parses the bytes. Only a Netscape RSS 0.91 DOCTYPE is kept, reduced to its public form, because
feedparser uses it to tell rss091n from rss091u.
UTF-16/32 documents are re-encoded to UTF-8 first so the byte-level scan can see the DOCTYPE.
"""

from __future__ import annotations

import codecs
import re

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_NETSCAPE = (
    b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
)
_XML_DECL_ENCODING = re.compile(rb"^(<\?xml[^>]*?encoding\s*=\s*)([\"'])[^\"']*\2")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDE = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)


def sanitize(body: bytes) -> bytes:
    """The same document without DOCTYPE internal subset or external DTD; wide encodings → UTF-8."""
    return strip_doctype(to_utf8_if_wide(body))


def to_utf8_if_wide(body: bytes) -> bytes:
    """UTF-16/32 (by BOM or by the `<?` pattern) decoded and re-declared as UTF-8."""
    encoding = next((enc for bom, enc in _BOMS if body.startswith(bom)), None)
    encoding = encoding or next((enc for head, enc in _WIDE if body.startswith(head)), None)
    if encoding is None:
        return body
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        text = body.decode(encoding, "replace")
    data = text.lstrip("\ufeff").encode("utf-8")
    return _XML_DECL_ENCODING.sub(rb"\1\2utf-8\2", data, count=1)


def strip_doctype(body: bytes) -> bytes:
    """Remove every DOCTYPE declaration found before the root element (there should be one)."""
    out: list[bytes] = []
    pos = 0
    while True:
        found = _DOCTYPE.search(body, pos)
        if found is None or _root_started(body, pos, found.start()):
            break
        end = _doctype_end(body, found.end())
        out.append(body[pos : found.start()])
        if b"netscape" in body[found.start() : end].lower():
            out.append(_NETSCAPE)
        pos = end
    out.append(body[pos:])
    return b"".join(out) if len(out) > 1 else body


def _root_started(body: bytes, start: int, doctype_at: int) -> bool:
    """True when an element starts between `start` and the DOCTYPE (then it is not a prolog)."""
    return re.search(rb"<[A-Za-z_]", body[start:doctype_at]) is not None


def _doctype_end(body: bytes, pos: int) -> int:
    """Index after the DOCTYPE's closing `>`, skipping quoted strings, comments and `[...]`."""
    depth = 0
    n = len(body)
    while pos < n:
        ch = body[pos]
        if ch in (0x22, 0x27):  # quoted literal
            close = body.find(bytes([ch]), pos + 1)
            pos = n if close < 0 else close + 1
            continue
        if body.startswith(b"<!--", pos):
            close = body.find(b"-->", pos + 4)
            pos = n if close < 0 else close + 3
            continue
        if ch == 0x5B:  # [
            depth += 1
        elif ch == 0x5D:  # ]
            depth = max(depth - 1, 0)
        elif ch == 0x3E and depth == 0:  # >
            return pos + 1
        pos += 1
    return n
