"""What the HTTP response says about a body: base URL, charset, language.

feedparser is given only the headers that change how it reads the bytes (Content-Type for the
charset, Content-Language, and Content-Location for relative links), never the rest.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)


def base_url(feed_url: str, headers: dict[str, str]) -> str | None:
    """The URL relative links resolve against: Content-Location (if any) over the feed URL.

    None for local files: a path is no base for a web link (the feed's home page is used).
    """
    if urlsplit(feed_url).scheme.lower() not in ("http", "https"):
        return None
    location = headers.get("content-location")
    return urljoin(feed_url, location) if location else feed_url


def feedparser_headers(headers: dict[str, str], base: str | None, *, utf8: bool) -> dict[str, str]:
    """The response headers feedparser sees. `utf8`: the body was re-serialized as UTF-8."""
    out = {k: v for k, v in headers.items() if k in ("content-type", "content-language")}
    if base:
        out["content-location"] = base
    if utf8 and "content-type" in out:
        out["content-type"] = (
            re.sub(r";\s*charset=[^;]*", "", out["content-type"]) + "; charset=utf-8"
        )
    return out


def charset(headers: dict[str, str]) -> str | None:
    found = _CHARSET.search(headers.get("content-type", ""))
    return found.group(1) if found else None


def language(value: str | None) -> str | None:
    return (value.strip().lower() or None) if isinstance(value, str) else None
