"""JSON Feed (https://jsonfeed.org, versions 1 and 1.1) to feedparser-shaped entries.

feedparser 6.0 does not read JSON Feed. Items are mapped onto the keys `entry.to_article`
reads (id, link, title, summary + *_detail types, *_parsed dates, authors, tags) so that one
normalization serves both formats.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import urljoin


class NotJsonFeed(Exception):
    def __init__(self, reason: str, detail: str):
        self.reason = reason
        self.detail = detail
        super().__init__(detail)


def load(body: bytes) -> dict:
    """The decoded JSON Feed object; NotJsonFeed when it is not one."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise NotJsonFeed("bad_encoding", f"JSON must be UTF-8: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise NotJsonFeed("malformed_json", f"invalid JSON: {exc}"[:300]) from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
        ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
    ):
        raise NotJsonFeed("not_a_feed", "JSON that is not a JSON Feed (no jsonfeed.org version)")
    if not isinstance(doc.get("items", []), list):
        raise NotJsonFeed("not_a_feed", "JSON Feed 'items' is not a list")
    return doc


def feed_info(doc: dict) -> dict:
    return {
        "title": _str(doc.get("title")),
        "link": _str(doc.get("home_page_url")),
        "language": _str(doc.get("language")),
    }


def entries(doc: dict, feed_url: str) -> list:
    """Items as entry dicts; a non-object item is passed through for the caller to reject."""
    base = _str(doc.get("home_page_url")) or feed_url
    return [
        _entry(item, base) if isinstance(item, dict) else item for item in doc.get("items") or []
    ]


def _entry(item: dict, base: str) -> dict:
    url = _str(item.get("url")) or _str(item.get("external_url"))
    html, text, summary = (_str(item.get(k)) for k in ("content_html", "content_text", "summary"))
    authors = item.get("authors") or (
        [item["author"]] if isinstance(item.get("author"), dict) else []
    )
    return {
        "id": _str(item.get("id")),
        "link": urljoin(base, url) if url else None,
        "title": _str(item.get("title")),
        "title_detail": {"type": "text/plain"},
        "summary": summary or html or text,
        "summary_detail": {
            "type": "text/plain" if (summary or not html) else "text/html",
            "language": _str(item.get("language")),
        },
        "published_parsed": _date(item.get("date_published")),
        "updated_parsed": _date(item.get("date_modified")),
        "authors": [{"name": _str(a.get("name"))} for a in authors if isinstance(a, dict)],
        "tags": [{"term": t} for t in item.get("tags") or [] if isinstance(t, str)],
    }


def _str(value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else ""


def _date(value):
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).timetuple()
