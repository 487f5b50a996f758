"""What to keep from a feed feedparser could only read leniently (`bozo`).

Real feeds are often slightly broken. A syntax error that loses nothing (a stray merge-conflict
marker, an undefined `&nbsp;`) is only worth a warning. A body that ends early (no closing root
tag after the last entry, or an entry left open) has lost its tail: the complete entries are
kept, the incomplete one is dropped, and the caller dead-letters the feed once as "truncated".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ENTRY_CLOSE = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_ROOT_CLOSE = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>")
_FEED_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:rss|feed|RDF|channel)[\s>/]")
_BENIGN = ("NonXMLContentType",)
"""feedparser flags feeds served without an XML Content-Type; they parse normally."""


@dataclass(frozen=True)
class Salvage:
    entries: list
    truncated: str | None = None
    warning: str | None = None


def salvage(parsed, data: bytes) -> Salvage:
    """The entries to keep from a bozo parse of `data`, and what to report about it."""
    entries = list(parsed.entries)
    problem = describe(parsed)
    if not _is_syntax_problem(parsed):
        benign = type(parsed.get("bozo_exception")).__name__ in _BENIGN
        return Salvage(entries, warning=None if benign else f"recovered: {problem}")
    closes = list(_ENTRY_CLOSE.finditer(data))
    complete = len(closes)
    after_entries = closes[-1].end() if closes else 0
    if complete < len(entries) or not _ROOT_CLOSE.search(data, after_entries):
        lost = max(len(entries) - complete, 0)
        kept = min(complete, len(entries))
        return Salvage(
            entries[:complete],
            truncated=(
                f"the document ends early: {lost} incomplete entr{'y' if lost == 1 else 'ies'} "
                f"dropped, {kept} kept; {problem}"
            ),
        )
    return Salvage(entries, warning=f"malformed XML parsed leniently: {problem}")


def describe(parsed) -> str:
    exc = parsed.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}"[:300] if exc is not None else "unknown problem"


def looks_like_feed_root(data: bytes) -> bool:
    """A feed's root element near the top: a parse that found nothing is then malformed XML."""
    return _FEED_ROOT.search(data[:4096]) is not None


def _is_syntax_problem(parsed) -> bool:
    exc = parsed.get("bozo_exception")
    if exc is None:
        return False
    return "SAX" in type(exc).__name__ or "not well-formed" in str(exc)
