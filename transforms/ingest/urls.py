"""Which feed URLs the fetch asks: http or https, with a host (local files are read apart).

One rule for `wirewatch check`, which makes a feed URL the fetch would refuse on every poll a
config error, and for the fetch itself (a feed's URL, a redirect's Location). Kept free of
httpx: the config path must not import it (a nothing-new `run --once`'s start-up)."""

from __future__ import annotations

from urllib.parse import urlsplit


def url_problem(url: str) -> str | None:
    """Why the fetch refuses `url`, else None."""
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            which = f"not {parts.scheme}:" if parts.scheme else "and this has no scheme"
            return f"only http(s) URLs and local files are fetched, {which}"
        if not parts.hostname:
            return "the URL has no host"
    except ValueError as exc:  # a bad port, brackets
        return f"not a URL: {exc}"
    return None
