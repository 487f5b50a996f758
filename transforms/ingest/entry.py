"""One feedparser entry (or a JSON Feed item shaped like one) to an `Article`.

Decisions (documented in docs/ingestion.md):
- id: see ids.py (guid, else canonical link, else hash of title + summary).
- title missing: the first words of the summary, else the link; an entry with no title, no
  summary and no link carries nothing to alert on and is dead-lettered ("empty_entry").
- link: resolved against xml:base / the feed URL by feedparser, then against the feed's home
  page; kept only when it ends up absolute http(s); tracking params and fragment removed.
- summary: the summary, else the first content block, as plain text, capped at SUMMARY_LIMIT;
  titles are capped at TITLE_LIMIT (a hostile feed must not make a 150 KB Slack title).
- dates: UTC; see dates.py for the fallback and future-date rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wirewatch.transforms.ingest.dates import choose_dates, from_struct
from wirewatch.transforms.ingest.ids import article_id, entry_key
from wirewatch.transforms.ingest.links import canonical_link
from wirewatch.transforms.ingest.text import plain_text
from wirewatch.transforms.model import Article

SUMMARY_LIMIT = 20_000
TITLE_LIMIT = 1_000
TITLE_FROM_SUMMARY = 120
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")


class EntryError(Exception):
    """This entry cannot become an Article; the rest of the feed still goes through."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class FeedContext:
    """What an entry needs from its feed: ids, link bases, defaults."""

    feed_id: str
    fetched_at: datetime
    base: str | None = None
    home: str | None = None
    language: str | None = None


def key_of(entry, ctx: FeedContext) -> str:
    """The identity key of an entry (ids.entry_key over this entry's fields)."""
    return entry_key(
        entry.get("id"), link_of(entry, ctx), entry.get("title") or "", entry.get("summary") or ""
    )


def link_of(entry, ctx: FeedContext) -> str | None:
    link = entry.get("link")
    return canonical_link(link, ctx.base) or canonical_link(link, ctx.home)


def to_article(entry, ctx: FeedContext) -> Article:
    link = link_of(entry, ctx)
    key = entry_key(entry.get("id"), link, entry.get("title") or "", entry.get("summary") or "")
    summary = _text(entry.get("summary"), entry.get("summary_detail"), limit=SUMMARY_LIMIT)
    if not summary:
        content = entry.get("content") or []
        if content:
            summary = _text(content[0].get("value"), content[0], limit=SUMMARY_LIMIT)
    title = _text(entry.get("title"), entry.get("title_detail"), limit=TITLE_LIMIT)
    if not title:
        title = plain_text(summary, is_html=False, limit=TITLE_FROM_SUMMARY) or link or ""
    if not title:
        raise EntryError("empty_entry", "entry has no title, no summary and no link")
    published, updated = choose_dates(
        from_struct(entry.get("published_parsed")),
        from_struct(entry.get("updated_parsed")),
        ctx.fetched_at,
    )
    guid = (entry.get("id") or "").strip() or None
    return Article(
        id=article_id(ctx.feed_id, key),
        feed_id=ctx.feed_id,
        title=title,
        link=link,
        summary=summary,
        published=published,
        updated=updated,
        authors=_authors(entry),
        categories=_categories(entry),
        language=_language(entry, ctx),
        guid=guid,
        fetched_at=ctx.fetched_at,
    )


def _text(value, detail, limit: int | None = None) -> str:
    kind = (detail or {}).get("type") or "text/html"
    return plain_text(value, is_html=kind in _HTML_TYPES, limit=limit)


def _authors(entry) -> tuple[str, ...]:
    names = _distinct_texts(entry.get("authors"), "name", "email")
    if not names and entry.get("author"):
        names.append(plain_text(entry.get("author"), is_html=False))
    return tuple(n for n in names if n)


def _categories(entry) -> tuple[str, ...]:
    return tuple(_distinct_texts(entry.get("tags"), "term", "label"))


def _distinct_texts(items, *keys: str) -> list[str]:
    """Each item's first non-empty `keys` value as plain text; empty and repeated ones dropped,
    first-seen order kept (feeds repeat an author or a tag across their two spellings)."""
    texts: list[str] = []
    for item in items or []:
        value = next((item.get(key) for key in keys if item.get(key)), "")
        text = plain_text(value, is_html=False)
        if text and text not in texts:
            texts.append(text)
    return texts


def _language(entry, ctx: FeedContext) -> str | None:
    for detail in (entry.get("summary_detail"), entry.get("title_detail")):
        lang = (detail or {}).get("language")
        if lang:
            return lang.strip().lower() or None
    return ctx.language
