"""Stable article ids: the same entry gets the same id on every poll of the same feed.

Key preference: the feed's own guid/id (publishers keep it stable even when they edit the title
or the link's query), else the canonical link, else a hash of title and summary. The id is the
feed id plus the key, hashed to 16 hex characters: short, opaque, and different in two feeds
that reuse the same guid. The pre-scan computes the same key from raw XML (see prescan.py), so
an entry already seen is recognized before paying for a full parse.
"""

from __future__ import annotations

import hashlib


def entry_key(guid: str | None, link: str | None, title: str = "", summary: str = "") -> str:
    """The identity of an entry inside its feed, as a readable tagged string."""
    guid = (guid or "").strip()
    if guid:
        return "guid:" + guid
    if link:
        return "link:" + link
    digest = hashlib.sha1(f"{title}\x1f{summary}".encode()).hexdigest()
    return "hash:" + digest


def article_id(feed_id: str, key: str) -> str:
    return hashlib.sha1(f"{feed_id}\x1f{key}".encode()).hexdigest()[:16]
