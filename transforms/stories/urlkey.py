"""The URL key that makes two articles the same story regardless of how the link was dressed.

On top of `canonical_link` (tracking parameters and fragment removed, http(s) only) the key
ignores what still differs between copies of one page: the scheme, a leading "www.", a trailing
slash, and archive wrappers (archive.is/newest/<url>, archive.ph/<url>,
web.archive.org/web/<timestamp>/<url>) which some feeds put around every link.
A link to a site's front page is no key: broken feeds give every item the home page as link.
"""

from __future__ import annotations

import re

from wirewatch.transforms.ingest.links import canonical_link

_WRAPPER = re.compile(
    r"^https?://(?:www\.)?(?:archive\.(?:is|ph|today|li|vn|md|fo)/(?:newest/|oldest/|\d{14}/)?"
    r"|web\.archive\.org/web/\d{1,14}[a-z_]*/)(?=https?://)",
    re.IGNORECASE,
)


_PLAIN = re.compile(r"https?://[a-z0-9.\-]+/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*")
"""A link `canonical_link` gives back unchanged: lower-case http(s) scheme and host, no port,
a path of URL characters only, no query, no fragment, no white space (tests check this on
every link of the real feeds and on generated ones)."""


def canonical(link: str | None) -> str | None:
    """`canonical_link(link)`, without parsing a link that is already canonical (most are:
    the parser canonicalized them; an archive wrapper's inner link is one too)."""
    return link if link and _PLAIN.fullmatch(link) else canonical_link(link)


def url_key(link: str | None) -> str | None:
    link = canonical(link)
    for _ in range(3):  # a wrapper in a wrapper is possible, a loop is not
        if not link:
            return None
        unwrapped = _WRAPPER.sub("", link)
        if unwrapped == link:
            break
        link = canonical(unwrapped)
    if not link:
        return None
    host, path, query = _parts(link)
    path = path.rstrip("/")
    if not path and not query:
        return None
    return host.removeprefix("www.") + path + ("?" + query if query else "")


def _parts(link: str) -> tuple[str, str, str]:
    """(host, path, query) of a `canonical_link`: "scheme://host/path[?query]", the path never
    empty, no fragment, no "/", "?" or "#" in the host and no "?" in the path (urlsplit's
    answer for such a link, at a fifth of its cost: it runs once per article)."""
    rest = link[link.index("://") + 3 :]
    slash = rest.index("/")
    path, _, query = rest[slash:].partition("?")
    return rest[:slash], path, query
