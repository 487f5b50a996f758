"""Feed text (HTML fragments, entities, mojibake) to one line of plain text.

feedparser has already sanitized the HTML (scripts, styles, event handlers removed), so a tag
scanner is enough here; a DOM parse per entry would cost more than the whole entry parse.
Block-level tags become spaces so "one<br>two" does not read "onetwo"; inline tags vanish so
"Hel<b>lo</b>" stays "Hello".
"""

from __future__ import annotations

import html
import re

_DROP = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)|<!\[CDATA\[|\]\]>", re.DOTALL)
_BLOCK = re.compile(
    r"</?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|pre|hr|section|"
    r"article|header|footer|figure|figcaption|dd|dt|dl)\b[^>]*>",
    re.IGNORECASE,
)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_SPACE = re.compile(r"\s+")
_MOJIBAKE = re.compile("[ÃÂâ][\u0080-\u00bf\u2018-\u203a\u0152-\u0178\u02c6\u02dc\u20ac\u2122]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(value: str | None, *, is_html: bool = True, limit: int | None = None) -> str:
    """Plain, single-spaced text. `limit` cuts at a word boundary and appends an ellipsis."""
    if not value:
        return ""
    text = value
    if is_html:
        text = _DROP.sub(" ", text)
        text = _COMMENT.sub(" ", text)
        text = _BLOCK.sub(" ", text)
        text = _TAG.sub("", text)
    text = html.unescape(text) if "&" in text else text
    text = repair_mojibake(text)
    text = _CONTROL.sub("", text)
    text = _SPACE.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        text = text[: cut if cut > limit // 2 else limit].rstrip() + "…"
    return text


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 read as Windows-1252/Latin-1 ("Ã©" → "é", "â€™" → "’") when it round-trips.

    Cheap: only runs when a telltale pair is present, and only keeps the result if the bytes
    re-decode cleanly as UTF-8; otherwise the text is left as it was.
    """
    if not _MOJIBAKE.search(text):
        return text
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text
