"""Canonical article links: absolute http(s), no tracking parameters, no fragment.

The canonical link is the cross-feed dedupe key (the same story in two feeds is one article),
so everything that varies per click (utm_*, fbclid, ...) or per page position (#fragment) goes.
Non-http(s) links (javascript:, data:, mailto:) are dropped: links end up clickable in Slack.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs")
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gclsrc",
        "msclkid",
        "yclid",
        "igshid",
        "mkt_tok",
        "_ga",
        "_gl",
        "ocid",
        "cmpid",
        "smid",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "at_medium",
        "at_campaign",
        "xtor",
        "ref_src",
    }
)
"""Parameters that identify the click, not the page. Kept conservative: a query parameter that
selects content (id=, p=, story=) must survive."""


def canonical_link(link: str | None, base: str | None = None) -> str | None:
    """Absolute http(s) URL without tracking params and fragment; None if not http(s)."""
    if not link:
        return None
    link = link.strip()
    if base and not urlsplit(link).scheme:
        link = urljoin(base, link)
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        return None
    query = parts.query
    if query:
        kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _is_tracking(k)]
        query = urlencode(kept, doseq=True) if len(kept) != query.count("&") + 1 else query
    netloc = parts.netloc.lower()
    if scheme == "http" and netloc.endswith(":80"):
        netloc = netloc[:-3]
    elif scheme == "https" and netloc.endswith(":443"):
        netloc = netloc[:-4]
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key in _TRACKING or key.startswith(_TRACKING_PREFIXES)
